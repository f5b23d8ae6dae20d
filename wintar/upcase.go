package wintar

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// Case folding as NTFS does it.
//
// NTFS compares names without case by mapping every UTF-16 code unit
// through the volume's $UpCase table (64Ki entries, one per code unit)
// and comparing the results code unit by code unit. There is no full case
// mapping (ß stays ß, it does not become SS), no normalization, and
// surrogates map to themselves, so characters outside the Basic
// Multilingual Plane never fold.
//
// The table is the one Windows Vista and later write when they format a
// volume (also what ntfs-3g and Apple's NTFS driver generate): simple
// upper-case mappings of the BMP as Windows defines them, which differ
// from Unicode's in places that matter for names:
//
//   - ς (final sigma) and σ both map to Σ: σ/ς/Σ collide;
//   - K (U+212A KELVIN SIGN) and Å (U+212B) are their own upper case, so
//     K does not collide with k or K (Unicode folds them together);
//   - ß has no upper case and ẞ (U+1E9E) no lower case: they do not collide;
//   - ı (dotless i), ſ (long s), µ (micro sign) and the combining
//     ypogegrammeni keep their own code units: no mapping into ASCII or
//     onto Greek, unlike Unicode's simple upper case.
//
// The table is built from the runs below, each a fact about that table.
var upcase = sync.OnceValue(buildUpcase)

// upcaseRun maps every code unit in [lo, hi) to itself plus delta.
type upcaseRun struct {
	lo, hi rune
	delta  int32
}

// upcasePairs are runs of alternating upper/lower pairs: in (lo, hi], every
// code unit lo+1, lo+3, … maps to the one before it.
type upcasePairs struct{ lo, hi rune }

var upcaseRuns = []upcaseRun{
	{0x0061, 0x007b, -32}, {0x00e0, 0x00f7, -32}, {0x00f8, 0x00ff, -32},
	{0x0256, 0x0258, -205}, {0x028a, 0x028c, -217}, {0x037b, 0x037e, 130},
	{0x03ac, 0x03ad, -38}, {0x03ad, 0x03b0, -37}, {0x03b1, 0x03c2, -32},
	{0x03c2, 0x03c3, -31}, {0x03c3, 0x03cc, -32}, {0x03cc, 0x03cd, -64},
	{0x03cd, 0x03cf, -63}, {0x0430, 0x0450, -32}, {0x0450, 0x0460, -80},
	{0x0561, 0x0587, -48}, {0x1f00, 0x1f08, 8}, {0x1f10, 0x1f16, 8},
	{0x1f20, 0x1f28, 8}, {0x1f30, 0x1f38, 8}, {0x1f40, 0x1f46, 8},
	{0x1f51, 0x1f52, 8}, {0x1f53, 0x1f54, 8}, {0x1f55, 0x1f56, 8},
	{0x1f57, 0x1f58, 8}, {0x1f60, 0x1f68, 8}, {0x1f70, 0x1f72, 74},
	{0x1f72, 0x1f76, 86}, {0x1f76, 0x1f78, 100}, {0x1f78, 0x1f7a, 128},
	{0x1f7a, 0x1f7c, 112}, {0x1f7c, 0x1f7e, 126}, {0x1f80, 0x1f88, 8},
	{0x1f90, 0x1f98, 8}, {0x1fa0, 0x1fa8, 8}, {0x1fb0, 0x1fb2, 8},
	{0x1fb3, 0x1fb4, 9}, {0x1fcc, 0x1fcd, -9}, {0x1fd0, 0x1fd2, 8},
	{0x1fe0, 0x1fe2, 8}, {0x1fe5, 0x1fe6, 7}, {0x1ffc, 0x1ffd, -9},
	{0x2170, 0x2180, -16}, {0x24d0, 0x24ea, -26}, {0x2c30, 0x2c5f, -48},
	{0x2d00, 0x2d26, -7264}, {0xff41, 0xff5b, -32},
}

var upcaseAlternating = []upcasePairs{
	{0x0100, 0x012f}, {0x0132, 0x0137}, {0x0139, 0x0149}, {0x014a, 0x0178},
	{0x0179, 0x017e}, {0x01a0, 0x01a6}, {0x01b3, 0x01b7}, {0x01cd, 0x01dd},
	{0x01de, 0x01ef}, {0x01f4, 0x01f5}, {0x01f8, 0x01f9}, {0x01fa, 0x0220},
	{0x0222, 0x0234}, {0x023b, 0x023c}, {0x0241, 0x0242}, {0x0246, 0x024f},
	{0x03d8, 0x03ef}, {0x03f7, 0x03f8}, {0x03fa, 0x03fb}, {0x0460, 0x0481},
	{0x048a, 0x04bf}, {0x04c1, 0x04c4}, {0x04c5, 0x04c8}, {0x04c9, 0x04ce},
	{0x04ec, 0x04ed}, {0x04d0, 0x04eb}, {0x04ee, 0x04f5}, {0x04f6, 0x0513},
	{0x1e00, 0x1e95}, {0x1ea0, 0x1ef9}, {0x2183, 0x2184}, {0x2c60, 0x2c61},
	{0x2c67, 0x2c6c}, {0x2c75, 0x2c76}, {0x2c80, 0x2ce3},
}

// upcaseSingles are code units with a mapping of their own: {from, to}.
var upcaseSingles = [][2]rune{
	{0x00ff, 0x0178}, {0x0180, 0x0243}, {0x0183, 0x0182}, {0x0185, 0x0184},
	{0x0188, 0x0187}, {0x018c, 0x018b}, {0x0192, 0x0191}, {0x0195, 0x01f6},
	{0x0199, 0x0198}, {0x019a, 0x023d}, {0x019e, 0x0220}, {0x01a8, 0x01a7},
	{0x01ad, 0x01ac}, {0x01b0, 0x01af}, {0x01b9, 0x01b8}, {0x01bd, 0x01bc},
	{0x01bf, 0x01f7}, {0x01c6, 0x01c4}, {0x01c9, 0x01c7}, {0x01cc, 0x01ca},
	{0x01dd, 0x018e}, {0x01f3, 0x01f1}, {0x023a, 0x2c65}, {0x023e, 0x2c66},
	{0x0253, 0x0181}, {0x0254, 0x0186}, {0x0259, 0x018f}, {0x025b, 0x0190},
	{0x0260, 0x0193}, {0x0263, 0x0194}, {0x0268, 0x0197}, {0x0269, 0x0196},
	{0x026b, 0x2c62}, {0x026f, 0x019c}, {0x0272, 0x019d}, {0x0275, 0x019f},
	{0x027d, 0x2c64}, {0x0280, 0x01a6}, {0x0283, 0x01a9}, {0x0288, 0x01ae},
	{0x0289, 0x0244}, {0x028c, 0x0245}, {0x0292, 0x01b7}, {0x03f2, 0x03f9},
	{0x04cf, 0x04c0}, {0x1d7d, 0x2c63}, {0x214e, 0x2132},
}

func buildUpcase() *[1 << 16]uint16 {
	var t [1 << 16]uint16
	for i := range t {
		t[i] = uint16(i)
	}
	for _, r := range upcaseRuns {
		for c := r.lo; c < r.hi; c++ {
			t[c] = uint16(int32(t[c]) + r.delta)
		}
	}
	for _, p := range upcaseAlternating {
		for c := p.lo + 1; c <= p.hi; c += 2 {
			t[c]--
		}
	}
	for _, s := range upcaseSingles {
		t[s[0]] = uint16(s[1])
	}
	return &t
}

// UpcaseNTFS returns name upper-cased as NTFS compares names (see the
// rule above): each BMP character through the NTFS upcase table,
// characters outside the BMP and bytes that are not valid UTF-8 unchanged.
// Two names collide on NTFS exactly when their UpcaseNTFS are equal.
func UpcaseNTFS(name string) string {
	t := upcase()
	var b strings.Builder
	for i := 0; i < len(name); {
		c := name[i]
		if c < utf8.RuneSelf {
			b.WriteByte(byte(t[c]))
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(name[i:])
		if r == utf8.RuneError && size == 1 || r > 0xffff {
			b.WriteString(name[i : i+size])
		} else {
			b.WriteRune(rune(t[r]))
		}
		i += size
	}
	return b.String()
}

// EqualFoldNTFS reports whether a and b name the same file on NTFS: equal
// after [UpcaseNTFS].
func EqualFoldNTFS(a, b string) bool { return UpcaseNTFS(a) == UpcaseNTFS(b) }
