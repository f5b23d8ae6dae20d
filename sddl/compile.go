package sddl

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Compile converts an SDDL string into a self-relative security descriptor,
// the equivalent of ConvertStringSecurityDescriptorToSecurityDescriptorW
// with SDDL_REVISION_1. The result matches Wine's output byte for byte for
// the syntax both support (apart from the Wine bugs listed in the package
// documentation): a 20-byte header followed by each component in the
// order it appears in s.
//
// The empty string (or one of only spaces) is valid and, as with Wine,
// yields a bare 20-byte header whose only control bit is SE_SELF_RELATIVE:
// no owner, no group, no DACL and no SACL.
//
// See the package documentation for the accepted syntax. Spaces are
// allowed at the start of s, around ACL flags and ACEs, and around the
// fields of an ACE. Component letters, ACE types, ACE flags and access
// right codes are case-sensitive; SID aliases and the "S-" prefix of a SID
// literal are not.
//
// Errors wrap [ErrInvalid] and name the problem and its byte offset in s.
func Compile(s string) ([]byte, error) {
	if len(s) > maxSDDLLen {
		return nil, fmt.Errorf("sddl: input is %d bytes, longer than the %d byte limit: %w", len(s), maxSDDLLen, ErrInvalid)
	}
	p := parser{s: s}
	return p.descriptor()
}

type parser struct {
	s   string
	pos int
}

func (p *parser) errorf(off int, format string, args ...any) error {
	return fmt.Errorf("sddl: %s at offset %d: %w", fmt.Sprintf(format, args...), off, ErrInvalid)
}

func (p *parser) skipSpaces() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

// atComponent reports whether a component tag such as "D:" starts at pos.
func (p *parser) atComponent() bool {
	return p.pos+1 < len(p.s) && p.s[p.pos+1] == ':'
}

func (p *parser) descriptor() ([]byte, error) {
	sd := make([]byte, sdHeaderLen, 128)
	sd[0] = sdRevision
	control := uint16(seSelfRelative)
	var seen [4]bool // O, G, D, S

	p.skipSpaces()
	for p.pos < len(p.s) {
		start := p.pos
		if !p.atComponent() {
			return nil, p.errorf(start, "unexpected %s, expected a component (O:, G:, D: or S:)", quoteAt(p.s, start))
		}
		tag := p.s[start]
		p.pos += 2
		var (
			idx     int
			name    string
			hdrOff  int
			present uint16
		)
		switch tag {
		case 'O':
			idx, name, hdrOff = 0, "owner", 4
		case 'G':
			idx, name, hdrOff = 1, "group", 8
		case 'D':
			idx, name, hdrOff, present = 2, "dacl", 16, seDACLPresent
		case 'S':
			idx, name, hdrOff, present = 3, "sacl", 12, seSACLPresent
		default:
			return nil, p.errorf(start, "unknown component %q", p.s[start:start+2])
		}
		if seen[idx] {
			return nil, p.errorf(start, "duplicate %s component %q", name, p.s[start:start+2])
		}
		seen[idx] = true

		var part []byte
		if present == 0 {
			sid, err := p.sid()
			if err != nil {
				return nil, err
			}
			part = sid
		} else {
			flags, acl, err := p.acl(tag == 'S')
			if err != nil {
				return nil, err
			}
			control |= present | flags
			part = acl // nil for NO_ACCESS_CONTROL: offset stays 0
		}
		if part != nil {
			binary.LittleEndian.PutUint32(sd[hdrOff:], uint32(len(sd)))
			sd = append(sd, part...)
		}
		p.skipSpaces()
	}
	binary.LittleEndian.PutUint16(sd[2:], control)
	return sd, nil
}

// quoteAt describes the input at off for an error message.
func quoteAt(s string, off int) string {
	if off >= len(s) {
		return "end of input"
	}
	end := off + 8
	if end > len(s) {
		end = len(s)
	}
	return strconv.Quote(s[off:end])
}

// sid parses a SID (alias or S-1-... literal) at pos, after optional
// spaces, and returns its binary form.
func (p *parser) sid() ([]byte, error) {
	p.skipSpaces()
	start := p.pos
	s := p.s
	if start+1 < len(s) && (s[start] == 'S' || s[start] == 's') && s[start+1] == '-' {
		return p.sidLiteral()
	}
	if start+2 > len(s) || !isLetter(s[start]) || !isLetter(s[start+1]) {
		return nil, p.errorf(start, "expected a SID (S-1-... or a two-letter alias), found %s", quoteAt(s, start))
	}
	alias := strings.ToUpper(s[start : start+2])
	if b, ok := aliasToSID[alias]; ok {
		p.pos += 2
		return append([]byte(nil), b...), nil
	}
	if rid, ok := domainRelativeAliases[alias]; ok {
		return nil, p.errorf(start, "domain-relative SID alias %q is not supported (no domain SID to expand it with; write S-1-5-21-<domain>-%d)", s[start:start+2], rid)
	}
	return nil, p.errorf(start, "unknown SID alias %q", s[start:start+2])
}

func isLetter(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// sidLiteral parses S-1-<authority>(-<subauthority>)* at pos.
func (p *parser) sidLiteral() ([]byte, error) {
	start := p.pos
	p.pos += 2 // "S-"
	revOff := p.pos
	rev, err := p.number("SID revision", 0xff)
	if err != nil {
		return nil, err
	}
	if rev != sidRevision {
		return nil, p.errorf(revOff, "unsupported SID revision %d (only 1 exists)", rev)
	}
	if p.pos >= len(p.s) || p.s[p.pos] != '-' {
		return nil, p.errorf(p.pos, "SID literal has no identifier authority")
	}
	p.pos++
	auth, err := p.number("SID identifier authority", maxAuthority)
	if err != nil {
		return nil, err
	}
	var subs []uint32
	for p.pos < len(p.s) && p.s[p.pos] == '-' {
		p.pos++
		if len(subs) == maxSubAuths {
			return nil, p.errorf(start, "SID has more than %d sub-authorities", maxSubAuths)
		}
		sub, err := p.number("SID sub-authority", 0xffffffff)
		if err != nil {
			return nil, err
		}
		subs = append(subs, uint32(sub))
	}
	return encodeSID(auth, subs), nil
}

// number parses a decimal or 0x-prefixed hexadecimal number at pos.
func (p *parser) number(what string, limit uint64) (uint64, error) {
	start := p.pos
	s := p.s
	base := 10
	digitsAt := start
	if start+1 < len(s) && s[start] == '0' && (s[start+1] == 'x' || s[start+1] == 'X') {
		base = 16
		digitsAt = start + 2
	}
	end := digitsAt
	for end < len(s) && (base == 10 && isDigit(s[end]) || base == 16 && isHexDigit(s[end])) {
		end++
	}
	// A hex run directly followed by ':' has swallowed the letter of the
	// next component tag (only 'D' is also a hex digit), as in
	// "O:S-1-0x0123456789ABD:..."; give that letter back.
	if base == 16 && end < len(s) && s[end] == ':' && end > digitsAt {
		end--
	}
	if end == digitsAt {
		return 0, p.errorf(start, "expected a number for the %s, found %s", what, quoteAt(s, start))
	}
	v, err := strconv.ParseUint(s[digitsAt:end], base, 64)
	if err != nil || v > limit {
		return 0, p.errorf(start, "%s %q is out of range", what, s[start:end])
	}
	p.pos = end
	return v, nil
}

// acl parses the ACL flags and ACEs of a D: or S: component. It returns
// the control bits the flags map to and the binary ACL, which is nil for
// NO_ACCESS_CONTROL.
func (p *parser) acl(sacl bool) (uint16, []byte, error) {
	protected, autoInherited, autoInheritReq := uint16(seDACLProtected), uint16(seDACLAutoInherited), uint16(seDACLAutoInheritReq)
	if sacl {
		protected, autoInherited, autoInheritReq = seSACLProtected, seSACLAutoInherited, seSACLAutoInheritReq
	}
	aclStart := p.pos
	var flags uint16
	null := false
	for {
		p.skipSpaces()
		if p.pos >= len(p.s) || p.s[p.pos] == '(' || p.atComponent() {
			break
		}
		rest := p.s[p.pos:]
		switch {
		case strings.HasPrefix(rest, "NO_ACCESS_CONTROL"):
			null = true
			p.pos += len("NO_ACCESS_CONTROL")
		case rest[0] == 'P':
			flags |= protected
			p.pos++
		case strings.HasPrefix(rest, "AI"):
			flags |= autoInherited
			p.pos += 2
		case strings.HasPrefix(rest, "AR"):
			flags |= autoInheritReq
			p.pos += 2
		default:
			return 0, nil, p.errorf(p.pos, "unknown ACL flag %s (want P, AI, AR, NO_ACCESS_CONTROL or an ACE in parentheses)", quoteAt(p.s, p.pos))
		}
	}

	body := make([]byte, aclHeaderLen, 64)
	count := 0
	revision := byte(aclRevision)
	for {
		p.skipSpaces()
		if p.pos >= len(p.s) || p.s[p.pos] != '(' {
			break
		}
		if null {
			return 0, nil, p.errorf(p.pos, "a NO_ACCESS_CONTROL ACL cannot contain ACEs")
		}
		ace, object, err := p.ace()
		if err != nil {
			return 0, nil, err
		}
		if object {
			revision = aclRevisionDS
		}
		body = append(body, ace...)
		count++
		// Each ACE is at least 16 bytes, so this also caps the ACE count
		// at 4095 and the memory held at 64 KiB per ACL.
		if len(body) > maxACLSize {
			return 0, nil, p.errorf(aclStart, "ACL is larger than %d bytes after %d ACEs", maxACLSize, count)
		}
	}
	if null {
		return flags, nil, nil
	}
	body[0] = revision
	binary.LittleEndian.PutUint16(body[2:], uint16(len(body)))
	binary.LittleEndian.PutUint16(body[4:], uint16(count))
	return flags, body, nil
}

// field is one ';'-separated part of an ACE, with spaces trimmed.
type field struct {
	text string
	off  int // offset of text in the input
}

// ace parses one parenthesised ACE at pos and returns its binary form and
// whether it is an object ACE.
func (p *parser) ace() ([]byte, bool, error) {
	open := p.pos
	rel := strings.IndexByte(p.s[open:], ')')
	if rel < 0 {
		return nil, false, p.errorf(open, "ACE has no closing parenthesis")
	}
	closeAt := open + rel
	fields := splitFields(p.s, open+1, closeAt)
	p.pos = closeAt + 1

	typeField := fields[0]
	if reason, ok := unsupportedACETypes[typeField.text]; ok {
		return nil, false, p.errorf(typeField.off, "ACE type %q: %s", typeField.text, reason)
	}
	info, ok := lookupACEType(typeField.text)
	if !ok {
		return nil, false, p.errorf(typeField.off, "unknown ACE type %q", typeField.text)
	}
	if len(fields) != 6 {
		return nil, false, p.errorf(open, "ACE has %d fields, want 6 (type;flags;rights;object guid;inherit object guid;sid)", len(fields))
	}

	aceFlagBits, err := p.aceFlags(fields[1])
	if err != nil {
		return nil, false, err
	}
	mask, err := p.rights(fields[2])
	if err != nil {
		return nil, false, err
	}
	var objFlags uint32
	var guids []byte
	for i, bit := range []uint32{aceObjectTypePresent, aceInheritedObjectTypePresent} {
		f := fields[3+i]
		if f.text == "" {
			continue
		}
		if !info.object {
			return nil, false, p.errorf(f.off, "ACE type %q cannot carry an object GUID (only OA, OD, OU and OL can)", info.code)
		}
		g, err := p.guid(f)
		if err != nil {
			return nil, false, err
		}
		objFlags |= bit
		guids = append(guids, g...)
	}
	sidField := fields[5]
	sub := parser{s: p.s[:sidField.off+len(sidField.text)], pos: sidField.off}
	if sidField.text == "" {
		return nil, false, p.errorf(sidField.off, "ACE has an empty SID field")
	}
	sid, err := sub.sid()
	if err != nil {
		return nil, false, err
	}
	if sub.pos != len(sub.s) {
		return nil, false, p.errorf(sub.pos, "unexpected %q after ACE SID", p.s[sub.pos:len(sub.s)])
	}

	size := 8 + len(sid)
	if info.object {
		size += 4 + len(guids)
	}
	b := make([]byte, 0, size)
	b = append(b, info.typ, aceFlagBits, byte(size), byte(size>>8))
	b = binary.LittleEndian.AppendUint32(b, mask)
	if info.object {
		b = binary.LittleEndian.AppendUint32(b, objFlags)
		b = append(b, guids...)
	}
	b = append(b, sid...)
	return b, info.object, nil
}

// splitFields splits s[from:to] at ';' and trims spaces from each part.
func splitFields(s string, from, to int) []field {
	var out []field
	start := from
	for i := from; i <= to; i++ {
		if i < to && s[i] != ';' {
			continue
		}
		a, b := start, i
		for a < b && s[a] == ' ' {
			a++
		}
		for b > a && s[b-1] == ' ' {
			b--
		}
		out = append(out, field{text: s[a:b], off: a})
		start = i + 1
	}
	return out
}

func (p *parser) aceFlags(f field) (byte, error) {
	var flags byte
	t := f.text
	for i := 0; i < len(t); i += 2 {
		if i+2 > len(t) {
			return 0, p.errorf(f.off+i, "unknown ACE flag %q", t[i:])
		}
		code := t[i : i+2]
		found := false
		for _, fc := range aceFlags {
			if fc.code == code {
				flags |= fc.bit
				found = true
				break
			}
		}
		if !found {
			return 0, p.errorf(f.off+i, "unknown ACE flag %q", code)
		}
	}
	return flags, nil
}

func (p *parser) rights(f field) (uint32, error) {
	var mask uint32
	t := f.text
	for i := 0; i < len(t); {
		if i+1 < len(t) && t[i] == '0' && (t[i+1] == 'x' || t[i+1] == 'X') {
			j := i + 2
			for j < len(t) && isHexDigit(t[j]) {
				j++
			}
			if j == i+2 {
				return 0, p.errorf(f.off+i, "access mask %q has no hex digits", t[i:j])
			}
			v, err := strconv.ParseUint(t[i+2:j], 16, 32)
			if err != nil {
				return 0, p.errorf(f.off+i, "access mask %q does not fit in 32 bits", t[i:j])
			}
			mask |= uint32(v)
			i = j
			continue
		}
		if i+2 > len(t) {
			return 0, p.errorf(f.off+i, "unknown access right %q", t[i:])
		}
		v, ok := lookupRight(t[i : i+2])
		if !ok {
			return 0, p.errorf(f.off+i, "unknown access right %q", t[i:i+2])
		}
		mask |= v
		i += 2
	}
	return mask, nil
}

// guid parses a GUID in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx and
// returns its 16-byte binary (mixed-endian) form.
func (p *parser) guid(f field) ([]byte, error) {
	t := f.text
	bad := func() ([]byte, error) {
		return nil, p.errorf(f.off, "malformed GUID %q (want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", t)
	}
	if len(t) != 36 {
		return bad()
	}
	for i := 0; i < len(t); i++ {
		switch i {
		case 8, 13, 18, 23:
			if t[i] != '-' {
				return bad()
			}
		default:
			if !isHexDigit(t[i]) {
				return bad()
			}
		}
	}
	hex := func(s string) uint64 {
		v, _ := strconv.ParseUint(s, 16, 64) // digits checked above
		return v
	}
	b := make([]byte, 16)
	binary.LittleEndian.PutUint32(b[0:], uint32(hex(t[0:8])))
	binary.LittleEndian.PutUint16(b[4:], uint16(hex(t[9:13])))
	binary.LittleEndian.PutUint16(b[6:], uint16(hex(t[14:18])))
	binary.BigEndian.PutUint16(b[8:], uint16(hex(t[19:23])))
	v := hex(t[24:36])
	for i := 0; i < 6; i++ {
		b[10+i] = byte(v >> (8 * (5 - i)))
	}
	return b, nil
}
