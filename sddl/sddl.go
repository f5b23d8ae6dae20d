package sddl

import (
	"encoding/binary"
	"errors"
)

// ErrInvalid is wrapped by every error that [Compile] and [Format] return.
// Test for it with errors.Is(err, sddl.ErrInvalid).
var ErrInvalid = errors.New("invalid security descriptor")

// maxSDDLLen bounds the input of Compile. The longest string Format can
// produce is about 620 KB (two ACLs at the 65535-byte limit, each packed
// with 4095 minimal ACEs that print with every flag and right spelled
// out), so Format's output always stays below this limit and always
// compiles. The parser itself only ever holds a few small slices, and the
// binary output is bounded by the ACL size limit, so memory stays bounded
// regardless.
const maxSDDLLen = 1 << 20

// Binary layout constants.
const (
	sdHeaderLen  = 20     // SECURITY_DESCRIPTOR_RELATIVE
	aclHeaderLen = 8      // ACL
	maxACLSize   = 0xffff // ACL.AclSize is a WORD
	maxSubAuths  = 15     // SID_MAX_SUB_AUTHORITIES
	maxAuthority = 1<<48 - 1

	sdRevision    = 1
	sidRevision   = 1
	aclRevision   = 2 // ACL_REVISION
	aclRevisionDS = 4 // ACL_REVISION_DS, required for object ACEs
)

// SECURITY_DESCRIPTOR_CONTROL bits.
const (
	seDACLPresent        = 0x0004
	seSACLPresent        = 0x0010
	seDACLAutoInheritReq = 0x0100
	seSACLAutoInheritReq = 0x0200
	seDACLAutoInherited  = 0x0400
	seSACLAutoInherited  = 0x0800
	seDACLProtected      = 0x1000
	seSACLProtected      = 0x2000
	seSelfRelative       = 0x8000
)

// ACE types.
const (
	aceAccessAllowed       = 0x00
	aceAccessDenied        = 0x01
	aceSystemAudit         = 0x02
	aceSystemAlarm         = 0x03
	aceAccessAllowedObject = 0x05
	aceAccessDeniedObject  = 0x06
	aceSystemAuditObject   = 0x07
	aceSystemAlarmObject   = 0x08
	aceMandatoryLabel      = 0x11
)

// Object ACE flags.
const (
	aceObjectTypePresent          = 0x1
	aceInheritedObjectTypePresent = 0x2
)

type aceTypeInfo struct {
	code   string
	typ    byte
	object bool
}

// aceTypes lists the ACE types both directions support.
var aceTypes = []aceTypeInfo{
	{"A", aceAccessAllowed, false},
	{"D", aceAccessDenied, false},
	{"AU", aceSystemAudit, false},
	{"AL", aceSystemAlarm, false},
	{"OA", aceAccessAllowedObject, true},
	{"OD", aceAccessDeniedObject, true},
	{"OU", aceSystemAuditObject, true},
	{"OL", aceSystemAlarmObject, true},
	{"ML", aceMandatoryLabel, false},
}

// unsupportedACETypes are valid SDDL ACE types that this package rejects,
// with the reason given in the error.
var unsupportedACETypes = map[string]string{
	"XA": "callback (conditional) ACEs are not supported",
	"XD": "callback (conditional) ACEs are not supported",
	"XU": "callback (conditional) ACEs are not supported",
	"ZA": "callback (conditional) ACEs are not supported",
	"RA": "resource attribute ACEs are not supported",
	"SP": "scoped policy ACEs are not supported",
	"TL": "process trust label ACEs are not supported",
	"FL": "access filter ACEs are not supported",
}

func lookupACEType(code string) (aceTypeInfo, bool) {
	for _, t := range aceTypes {
		if t.code == code {
			return t, true
		}
	}
	return aceTypeInfo{}, false
}

func aceTypeByValue(typ byte) (aceTypeInfo, bool) {
	for _, t := range aceTypes {
		if t.typ == typ {
			return t, true
		}
	}
	return aceTypeInfo{}, false
}

type flagCode struct {
	code string
	bit  byte
}

// aceFlags is in the order Format prints them (Wine's order).
var aceFlags = []flagCode{
	{"OI", 0x01}, // OBJECT_INHERIT_ACE
	{"CI", 0x02}, // CONTAINER_INHERIT_ACE
	{"NP", 0x04}, // NO_PROPAGATE_INHERIT_ACE
	{"IO", 0x08}, // INHERIT_ONLY_ACE
	{"ID", 0x10}, // INHERITED_ACE
	{"SA", 0x40}, // SUCCESSFUL_ACCESS_ACE_FLAG
	{"FA", 0x80}, // FAILED_ACCESS_ACE_FLAG
}

const knownACEFlags = 0x01 | 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80

type rightCode struct {
	code string
	mask uint32
}

// accessRights is the table of two-letter access right codes. When
// formatting, a mask equal to one entry prints as the first such entry,
// which is the rule Wine uses.
var accessRights = []rightCode{
	{"GA", 0x10000000}, // GENERIC_ALL
	{"GR", 0x80000000}, // GENERIC_READ
	{"GW", 0x40000000}, // GENERIC_WRITE
	{"GX", 0x20000000}, // GENERIC_EXECUTE

	{"RC", 0x00020000}, // READ_CONTROL
	{"SD", 0x00010000}, // DELETE
	{"WD", 0x00040000}, // WRITE_DAC
	{"WO", 0x00080000}, // WRITE_OWNER

	{"RP", 0x00000010}, // ADS_RIGHT_DS_READ_PROP
	{"WP", 0x00000020}, // ADS_RIGHT_DS_WRITE_PROP
	{"CC", 0x00000001}, // ADS_RIGHT_DS_CREATE_CHILD
	{"DC", 0x00000002}, // ADS_RIGHT_DS_DELETE_CHILD
	{"LC", 0x00000004}, // ADS_RIGHT_ACTRL_DS_LIST
	{"SW", 0x00000008}, // ADS_RIGHT_DS_SELF
	{"LO", 0x00000080}, // ADS_RIGHT_DS_LIST_OBJECT
	{"DT", 0x00000040}, // ADS_RIGHT_DS_DELETE_TREE
	{"CR", 0x00000100}, // ADS_RIGHT_DS_CONTROL_ACCESS

	{"FA", 0x001f01ff}, // FILE_ALL_ACCESS
	{"FR", 0x00120089}, // FILE_GENERIC_READ
	{"FW", 0x00120116}, // FILE_GENERIC_WRITE
	{"FX", 0x001200a0}, // FILE_GENERIC_EXECUTE

	{"KA", 0x000f003f}, // KEY_ALL_ACCESS
	{"KR", 0x00020019}, // KEY_READ
	{"KW", 0x00020006}, // KEY_WRITE
	{"KX", 0x00020019}, // KEY_EXECUTE (same value as KEY_READ)

	{"NR", 0x00000001}, // SYSTEM_MANDATORY_LABEL_NO_READ_UP
	{"NW", 0x00000002}, // SYSTEM_MANDATORY_LABEL_NO_WRITE_UP
	{"NX", 0x00000004}, // SYSTEM_MANDATORY_LABEL_NO_EXECUTE_UP
}

// rightBitNames names single bits of an access mask, in bit order; a mask
// made only of named bits prints as the concatenation of their names.
var rightBitNames = [32]string{
	0: "CC", 1: "DC", 2: "LC", 3: "SW", 4: "RP", 5: "WP", 6: "DT", 7: "LO", 8: "CR",
	16: "SD", 17: "RC", 18: "WD", 19: "WO",
	28: "GA", 29: "GX", 30: "GW", 31: "GR",
}

// mandatoryLabelBits names the bits of a mandatory label ACE's mask.
var mandatoryLabelBits = []rightCode{
	{"NR", 0x1},
	{"NW", 0x2},
	{"NX", 0x4},
}

func lookupRight(code string) (uint32, bool) {
	for _, r := range accessRights {
		if r.code == code {
			return r.mask, true
		}
	}
	return 0, false
}

// sidAlias is a well-known SID with a two-letter SDDL alias.
type sidAlias struct {
	alias string
	auth  uint64
	subs  []uint32
}

// wellKnownSIDs lists the aliases that stand for a fixed SID. Format uses
// the first alias whose SID matches.
var wellKnownSIDs = []sidAlias{
	{"WD", 1, []uint32{0}},                 // Everyone
	{"CO", 3, []uint32{0}},                 // Creator owner
	{"CG", 3, []uint32{1}},                 // Creator group
	{"OW", 3, []uint32{4}},                 // Owner rights
	{"NU", 5, []uint32{2}},                 // Network
	{"IU", 5, []uint32{4}},                 // Interactive
	{"SU", 5, []uint32{6}},                 // Service
	{"AN", 5, []uint32{7}},                 // Anonymous logon
	{"ED", 5, []uint32{9}},                 // Enterprise domain controllers
	{"PS", 5, []uint32{10}},                // Principal self
	{"AU", 5, []uint32{11}},                // Authenticated users
	{"RC", 5, []uint32{12}},                // Restricted code
	{"SY", 5, []uint32{18}},                // Local system
	{"LS", 5, []uint32{19}},                // Local service
	{"NS", 5, []uint32{20}},                // Network service
	{"WR", 5, []uint32{33}},                // Write restricted code
	{"BA", 5, []uint32{32, 544}},           // Builtin administrators
	{"BU", 5, []uint32{32, 545}},           // Builtin users
	{"BG", 5, []uint32{32, 546}},           // Builtin guests
	{"PU", 5, []uint32{32, 547}},           // Power users
	{"AO", 5, []uint32{32, 548}},           // Account operators
	{"SO", 5, []uint32{32, 549}},           // Server operators
	{"PO", 5, []uint32{32, 550}},           // Printer operators
	{"BO", 5, []uint32{32, 551}},           // Backup operators
	{"RE", 5, []uint32{32, 552}},           // Replicator
	{"RU", 5, []uint32{32, 554}},           // Pre-Windows 2000 compatible access
	{"RD", 5, []uint32{32, 555}},           // Remote desktop users
	{"NO", 5, []uint32{32, 556}},           // Network configuration operators
	{"MU", 5, []uint32{32, 558}},           // Performance monitor users
	{"LU", 5, []uint32{32, 559}},           // Performance log users
	{"IS", 5, []uint32{32, 568}},           // IIS_IUSRS
	{"CY", 5, []uint32{32, 569}},           // Cryptographic operators
	{"ER", 5, []uint32{32, 573}},           // Event log readers
	{"CD", 5, []uint32{32, 574}},           // Certificate service DCOM access
	{"RA", 5, []uint32{32, 575}},           // RDS remote access servers
	{"ES", 5, []uint32{32, 576}},           // RDS endpoint servers
	{"MS", 5, []uint32{32, 577}},           // RDS management servers
	{"HA", 5, []uint32{32, 578}},           // Hyper-V administrators
	{"AA", 5, []uint32{32, 579}},           // Access control assistance operators
	{"RM", 5, []uint32{32, 580}},           // Remote management users
	{"UD", 5, []uint32{84, 0, 0, 0, 0, 0}}, // User-mode drivers
	{"AC", 15, []uint32{2, 1}},             // All application packages
	{"LW", 16, []uint32{4096}},             // Low mandatory level
	{"ME", 16, []uint32{8192}},             // Medium mandatory level
	{"MP", 16, []uint32{8448}},             // Medium plus mandatory level
	{"HI", 16, []uint32{12288}},            // High mandatory level
	{"SI", 16, []uint32{16384}},            // System mandatory level
	{"AS", 18, []uint32{1}},                // Authentication authority asserted identity
	{"SS", 18, []uint32{2}},                // Service asserted identity
}

// domainRelativeAliases stand for S-1-5-21-<domain>-RID (or the forest
// root domain); Compile has no domain SID to expand them with.
var domainRelativeAliases = map[string]uint32{
	"RO": 498, // Enterprise read-only domain controllers
	"LA": 500, // Local administrator
	"LG": 501, // Local guest
	"DA": 512, // Domain admins
	"DU": 513, // Domain users
	"DG": 514, // Domain guests
	"DC": 515, // Domain computers
	"DD": 516, // Domain controllers
	"CA": 517, // Certificate publishers
	"SA": 518, // Schema admins
	"EA": 519, // Enterprise admins
	"PA": 520, // Group policy creator owners
	"CN": 522, // Cloneable domain controllers
	"AP": 525, // Protected users
	"KA": 526, // Key admins
	"EK": 527, // Enterprise key admins
	"RS": 553, // RAS and IAS servers
}

var (
	aliasToSID = map[string][]byte{}
	sidToAlias = map[string]string{}
)

func init() {
	for _, a := range wellKnownSIDs {
		b := encodeSID(a.auth, a.subs)
		aliasToSID[a.alias] = b
		if _, dup := sidToAlias[string(b)]; !dup {
			sidToAlias[string(b)] = a.alias
		}
	}
}

// encodeSID returns the binary form of S-1-auth-subs...
func encodeSID(auth uint64, subs []uint32) []byte {
	b := make([]byte, 8+4*len(subs))
	b[0] = sidRevision
	b[1] = byte(len(subs))
	for i := 0; i < 6; i++ {
		b[2+i] = byte(auth >> (8 * (5 - i)))
	}
	for i, s := range subs {
		binary.LittleEndian.PutUint32(b[8+4*i:], s)
	}
	return b
}
