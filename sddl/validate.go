package sddl

import (
	"encoding/binary"
	"fmt"
)

// Validate checks that sd is a well-formed self-relative security
// descriptor, as Windows's IsValidSecurityDescriptor and the ACL and SID
// checks of SetFileSecurity would: at least the 20-byte header, revision
// 1, the SE_SELF_RELATIVE control bit, owner and group SIDs (where
// present) inside the buffer with revision 1 and at most 15
// sub-authorities, each present ACL inside the buffer with revision 2 to
// 4, a size of at least its header, and ACEs that fit in it; ACEs whose
// type this package knows must hold a valid SID. ACE types it does not
// know are accepted when their size fits: Validate checks structure, not
// whether SDDL can express the descriptor (that is [Format]'s job).
//
// The error wraps [ErrInvalid] and says what is wrong and where.
func Validate(sd []byte) error {
	if len(sd) < sdHeaderLen {
		return formatErr("descriptor is %d bytes, shorter than the %d byte header", len(sd), sdHeaderLen)
	}
	if sd[0] != sdRevision {
		return formatErr("unsupported descriptor revision %d (want 1)", sd[0])
	}
	control := binary.LittleEndian.Uint16(sd[2:])
	if control&seSelfRelative == 0 {
		return formatErr("descriptor is not self-relative (control 0x%04x)", control)
	}
	for _, c := range []struct {
		what string
		at   int
	}{{"owner", 4}, {"group", 8}} {
		off := binary.LittleEndian.Uint32(sd[c.at:])
		if off == 0 {
			continue
		}
		if off < sdHeaderLen {
			return formatErr("%s SID offset %d points into the header", c.what, off)
		}
		if _, err := sidAt(sd, uint64(off)); err != nil {
			return formatErr("%s SID at offset %d: %s", c.what, off, err)
		}
	}
	for _, a := range []struct {
		what    string
		present uint16
		at      int
	}{{"sacl", seSACLPresent, 12}, {"dacl", seDACLPresent, 16}} {
		off := binary.LittleEndian.Uint32(sd[a.at:])
		if control&a.present == 0 || off == 0 {
			continue // absent, or a NULL ACL
		}
		if off < sdHeaderLen {
			return formatErr("%s offset %d points into the header", a.what, off)
		}
		if err := validateACL(sd, off); err != nil {
			return formatErr("%s at offset %d: %s", a.what, off, err)
		}
	}
	return nil
}

// validateACL checks the ACL at sd[off:]; the error is a plain description.
func validateACL(sd []byte, off uint32) error {
	hdr, ok := region(sd, uint64(off), aclHeaderLen)
	if !ok {
		return fmt.Errorf("out of bounds of the %d byte descriptor", len(sd))
	}
	if rev := hdr[0]; rev < aclRevision || rev > aclRevisionDS {
		return fmt.Errorf("unsupported ACL revision %d", rev)
	}
	size := binary.LittleEndian.Uint16(hdr[2:])
	count := int(binary.LittleEndian.Uint16(hdr[4:]))
	if size < aclHeaderLen {
		return fmt.Errorf("size %d is smaller than the ACL header", size)
	}
	acl, ok := region(sd, uint64(off), uint64(size))
	if !ok {
		return fmt.Errorf("%d bytes run past the end of the %d byte descriptor", size, len(sd))
	}
	pos := aclHeaderLen
	for i := 0; i < count; i++ {
		if len(acl)-pos < 4 {
			return fmt.Errorf("ACE %d starts past the end of the %d byte ACL", i, len(acl))
		}
		aceSize := int(binary.LittleEndian.Uint16(acl[pos+2:]))
		if aceSize < 8 || aceSize > len(acl)-pos {
			return fmt.Errorf("ACE %d has size %d, outside 8..%d", i, aceSize, len(acl)-pos)
		}
		ace := acl[pos : pos+aceSize]
		if info, known := aceTypeByValue(ace[0]); known {
			sidOff := uint64(8)
			if info.object {
				if len(ace) < 12 {
					return fmt.Errorf("object ACE %d of %d bytes is too small", i, len(ace))
				}
				flags := binary.LittleEndian.Uint32(ace[8:])
				sidOff = 12
				for _, bit := range []uint32{aceObjectTypePresent, aceInheritedObjectTypePresent} {
					if flags&bit != 0 {
						sidOff += 16
					}
				}
			}
			if _, err := sidAt(ace, sidOff); err != nil {
				return fmt.Errorf("ACE %d SID: %s", i, err)
			}
		}
		pos += aceSize
	}
	return nil
}
