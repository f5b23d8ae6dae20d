package sddl

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Format converts a self-relative security descriptor into SDDL, the
// equivalent of ConvertSecurityDescriptorToStringSecurityDescriptorW with
// OWNER, GROUP, DACL and SACL security information requested. It is meant
// for diagnostics.
//
// Components print in the order O:, G:, D:, S:; a component is omitted
// when the descriptor does not have it (a zero owner or group offset, or a
// clear SE_DACL_PRESENT or SE_SACL_PRESENT bit). A present ACL with a zero
// offset (a NULL ACL) prints as NO_ACCESS_CONTROL. SIDs print as their
// two-letter alias when they have one, otherwise as S-1-... literals.
// Access masks print as a single code when one matches exactly (FA for
// 0x1F01FF), otherwise as a concatenation of single-bit codes when every
// set bit has one, otherwise as 0x... hexadecimal. Control bits that SDDL
// cannot express (such as SE_DACL_DEFAULTED) and data after the SID of an
// ACE are ignored.
//
// Format never panics: every offset and length in sd is bounds-checked,
// and malformed or unsupported input (not self-relative, a truncated SID
// or ACL, an ACE type or ACE flag SDDL cannot express) returns an error
// wrapping [ErrInvalid]. Whatever Format returns, [Compile] accepts, and
// compiling it and formatting the result gives the same string again.
func Format(sd []byte) (string, error) {
	if len(sd) < sdHeaderLen {
		return "", formatErr("descriptor is %d bytes, shorter than the %d byte header", len(sd), sdHeaderLen)
	}
	if sd[0] != sdRevision {
		return "", formatErr("unsupported descriptor revision %d", sd[0])
	}
	control := binary.LittleEndian.Uint16(sd[2:])
	if control&seSelfRelative == 0 {
		return "", formatErr("descriptor is not self-relative (control 0x%04x)", control)
	}
	owner := binary.LittleEndian.Uint32(sd[4:])
	group := binary.LittleEndian.Uint32(sd[8:])
	sacl := binary.LittleEndian.Uint32(sd[12:])
	dacl := binary.LittleEndian.Uint32(sd[16:])

	var b strings.Builder
	if owner != 0 {
		b.WriteString("O:")
		if err := writeSIDAt(&b, sd, owner, "owner"); err != nil {
			return "", err
		}
	}
	if group != 0 {
		b.WriteString("G:")
		if err := writeSIDAt(&b, sd, group, "group"); err != nil {
			return "", err
		}
	}
	if control&seDACLPresent != 0 {
		b.WriteString("D:")
		flags := aclFlagString(control, seDACLProtected, seDACLAutoInheritReq, seDACLAutoInherited)
		if err := writeACL(&b, sd, dacl, flags, "dacl"); err != nil {
			return "", err
		}
	}
	if control&seSACLPresent != 0 {
		b.WriteString("S:")
		flags := aclFlagString(control, seSACLProtected, seSACLAutoInheritReq, seSACLAutoInherited)
		if err := writeACL(&b, sd, sacl, flags, "sacl"); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

func formatErr(format string, args ...any) error {
	return fmt.Errorf("sddl: %s: %w", fmt.Sprintf(format, args...), ErrInvalid)
}

func aclFlagString(control, protected, autoInheritReq, autoInherited uint16) string {
	s := ""
	if control&protected != 0 {
		s += "P"
	}
	if control&autoInheritReq != 0 {
		s += "AR"
	}
	if control&autoInherited != 0 {
		s += "AI"
	}
	return s
}

// region returns sd[off:off+n] or false if that is out of bounds. It works
// in 64-bit arithmetic so that it cannot overflow on 32-bit platforms.
func region(sd []byte, off uint64, n uint64) ([]byte, bool) {
	if off > uint64(len(sd)) || n > uint64(len(sd))-off {
		return nil, false
	}
	return sd[off : off+n], true
}

func writeSIDAt(b *strings.Builder, sd []byte, off uint32, what string) error {
	sid, err := sidAt(sd, uint64(off))
	if err != nil {
		return formatErr("%s SID at offset %d: %s", what, off, err)
	}
	writeSID(b, sid)
	return nil
}

// sidAt returns the SID that starts at buf[off], checking that it fits.
// The returned error is a plain description for the caller to wrap.
func sidAt(buf []byte, off uint64) ([]byte, error) {
	hdr, ok := region(buf, off, 8)
	if !ok {
		return nil, fmt.Errorf("out of bounds of the %d byte buffer", len(buf))
	}
	if hdr[0] != sidRevision {
		return nil, fmt.Errorf("unsupported SID revision %d", hdr[0])
	}
	n := uint64(hdr[1])
	if n > maxSubAuths {
		return nil, fmt.Errorf("%d sub-authorities, more than %d", n, maxSubAuths)
	}
	sid, ok := region(buf, off, 8+4*n)
	if !ok {
		return nil, fmt.Errorf("%d sub-authorities run past the end of the %d byte buffer", n, len(buf))
	}
	return sid, nil
}

// writeSID prints a SID validated by sidAt.
func writeSID(b *strings.Builder, sid []byte) {
	if alias, ok := sidToAlias[string(sid)]; ok {
		b.WriteString(alias)
		return
	}
	var auth uint64
	for _, c := range sid[2:8] {
		auth = auth<<8 | uint64(c)
	}
	b.WriteString("S-1-")
	if auth > 0xffffffff {
		// ConvertSidToStringSid uses this form for authorities that do not
		// fit in 32 bits.
		fmt.Fprintf(b, "0x%012X", auth)
	} else {
		b.WriteString(strconv.FormatUint(auth, 10))
	}
	for i := 8; i+4 <= len(sid); i += 4 {
		b.WriteByte('-')
		b.WriteString(strconv.FormatUint(uint64(binary.LittleEndian.Uint32(sid[i:])), 10))
	}
}

func writeACL(b *strings.Builder, sd []byte, off uint32, flags, what string) error {
	b.WriteString(flags)
	if off == 0 {
		b.WriteString("NO_ACCESS_CONTROL")
		return nil
	}
	hdr, ok := region(sd, uint64(off), aclHeaderLen)
	if !ok {
		return formatErr("%s at offset %d is out of bounds of the %d byte descriptor", what, off, len(sd))
	}
	if rev := hdr[0]; rev < aclRevision || rev > aclRevisionDS {
		return formatErr("%s has unsupported revision %d", what, rev)
	}
	size := binary.LittleEndian.Uint16(hdr[2:])
	count := int(binary.LittleEndian.Uint16(hdr[4:]))
	if size < aclHeaderLen {
		return formatErr("%s size %d is smaller than the ACL header", what, size)
	}
	acl, ok := region(sd, uint64(off), uint64(size))
	if !ok {
		return formatErr("%s of %d bytes at offset %d runs past the end of the %d byte descriptor", what, size, off, len(sd))
	}
	pos := aclHeaderLen
	for i := 0; i < count; i++ {
		if len(acl)-pos < 4 {
			return formatErr("%s ACE %d starts past the end of the %d byte ACL", what, i, len(acl))
		}
		aceSize := int(binary.LittleEndian.Uint16(acl[pos+2:]))
		if aceSize > len(acl)-pos {
			return formatErr("%s ACE %d of %d bytes runs past the end of the %d byte ACL", what, i, aceSize, len(acl))
		}
		if err := writeACE(b, acl[pos:pos+aceSize]); err != nil {
			return formatErr("%s ACE %d: %s", what, i, err)
		}
		pos += aceSize // writeACE rejects ACEs shorter than 16 bytes
	}
	return nil
}

// writeACE prints one ACE; the returned error is a plain description.
func writeACE(b *strings.Builder, ace []byte) error {
	if len(ace) < 8 {
		return fmt.Errorf("ACE size %d is too small", len(ace))
	}
	typ, flags := ace[0], ace[1]
	info, ok := aceTypeByValue(typ)
	if !ok {
		return fmt.Errorf("unsupported ACE type 0x%02x", typ)
	}
	if flags&^knownACEFlags != 0 {
		return fmt.Errorf("ACE flags 0x%02x include bits SDDL cannot express", flags)
	}
	mask := binary.LittleEndian.Uint32(ace[4:])
	sidOff := uint64(8)
	var guids [2][]byte
	if info.object {
		if len(ace) < 12 {
			return fmt.Errorf("object ACE size %d is too small", len(ace))
		}
		objFlags := binary.LittleEndian.Uint32(ace[8:])
		if objFlags&^(aceObjectTypePresent|aceInheritedObjectTypePresent) != 0 {
			return fmt.Errorf("unsupported object ACE flags 0x%x", objFlags)
		}
		sidOff = 12
		for i, bit := range []uint32{aceObjectTypePresent, aceInheritedObjectTypePresent} {
			if objFlags&bit == 0 {
				continue
			}
			g, ok := region(ace, sidOff, 16)
			if !ok {
				return fmt.Errorf("object GUID runs past the end of the %d byte ACE", len(ace))
			}
			guids[i] = g
			sidOff += 16
		}
	}
	sid, err := sidAt(ace, sidOff)
	if err != nil {
		return fmt.Errorf("SID: %s", err)
	}

	b.WriteByte('(')
	b.WriteString(info.code)
	b.WriteByte(';')
	for _, fc := range aceFlags {
		if flags&fc.bit != 0 {
			b.WriteString(fc.code)
		}
	}
	b.WriteByte(';')
	writeRights(b, mask, typ == aceMandatoryLabel)
	for _, g := range guids {
		b.WriteByte(';')
		if g != nil {
			writeGUID(b, g)
		}
	}
	b.WriteByte(';')
	writeSID(b, sid)
	b.WriteByte(')')
	return nil
}

func writeRights(b *strings.Builder, mask uint32, label bool) {
	if mask == 0 {
		return
	}
	if label && mask&^0x7 == 0 {
		for _, r := range mandatoryLabelBits {
			if mask&r.mask != 0 {
				b.WriteString(r.code)
			}
		}
		return
	}
	for _, r := range accessRights {
		if r.mask == mask {
			b.WriteString(r.code)
			return
		}
	}
	for i := 0; i < 32; i++ {
		if mask&(1<<i) != 0 && rightBitNames[i] == "" {
			fmt.Fprintf(b, "0x%x", mask)
			return
		}
	}
	for i := 0; i < 32; i++ {
		if mask&(1<<i) != 0 {
			b.WriteString(rightBitNames[i])
		}
	}
}

func writeGUID(b *strings.Builder, g []byte) {
	fmt.Fprintf(b, "%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(g[0:]),
		binary.LittleEndian.Uint16(g[4:]),
		binary.LittleEndian.Uint16(g[6:]),
		g[8:10], g[10:16])
}
