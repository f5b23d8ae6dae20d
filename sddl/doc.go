// Package sddl converts between Windows Security Descriptor Definition
// Language (SDDL) strings and self-relative SECURITY_DESCRIPTOR bytes
// without calling into Windows.
//
// Windows container layer tarballs normally carry a file's security
// descriptor in the PAX record MSWINDOWS.rawsd as base64-encoded binary.
// Older writers used MSWINDOWS.sd instead, which holds SDDL text; on
// Windows, go-winio turns that text into binary with
// ConvertStringSecurityDescriptorToSecurityDescriptorW. [Compile] does the
// same conversion portably, so a layer can be processed on any platform.
// The binary layout follows Wine's implementation of that function, which
// the golden test vectors were produced with:
//
//   - a 20-byte SECURITY_DESCRIPTOR_RELATIVE header (revision 1, control
//     SE_SELF_RELATIVE plus the present/protected/auto-inherit bits);
//   - then each component in the order it appears in the string: an owner
//     or group SID, or a SACL or DACL (ACL revision 2, or 4 when the ACL
//     holds object ACEs). For the usual "O:..G:..D:.." order this gives
//     owner SID, group SID, DACL.
//
// [Format] is the reverse direction, for diagnostics such as
// `winlayer inspect`. It prints the components in the order O:, G:, D:,
// S: and prefers SID aliases ("BA") and two-letter access rights ("FA")
// the way Wine and Windows do, falling back to S-1-... literals and 0x...
// masks.
//
// Supported SDDL:
//
//   - components O:, G:, D: and S:, each at most once, in any order;
//   - ACL flags P, AI, AR and NO_ACCESS_CONTROL (a NULL ACL);
//   - ACE types A, D, AU, AL, ML and the object types OA, OD, OU, OL
//     (with optional object and inherited-object GUIDs);
//   - ACE flags CI, OI, NP, IO, ID, SA, FA;
//   - access rights as two-letter codes (GA GR GW GX RC SD WD WO RP WP CC
//     DC LC SW LO DT CR FA FR FW FX KA KR KW KX NR NW NX), hexadecimal
//     "0x..." masks, or a concatenation of both;
//   - SIDs as S-1-... literals (decimal or 0x-prefixed numbers, a 48-bit
//     identifier authority and up to 15 sub-authorities) or as the
//     well-known two-letter aliases that do not depend on a domain.
//
// Rejected: conditional (callback) ACEs, resource attribute ACEs, scoped
// policy ACEs and other ACE types; aliases such as DA or DU that stand for
// a SID relative to the machine or domain SID (write the full
// S-1-5-21-... SID instead); duplicate components; and input longer than
// 1 MiB. Every error wraps [ErrInvalid].
//
// Where Wine is known to be wrong, Compile follows Windows instead:
// NO_ACCESS_CONTROL produces a NULL ACL (present bit set, offset 0) rather
// than an empty one, the P, AI and AR flags of an S: component set the
// SE_SACL_* control bits rather than the SE_DACL_* ones, and malformed
// text that Wine silently skips (unknown ACL flags, text after an owner or
// group SID) is an error.
package sddl
