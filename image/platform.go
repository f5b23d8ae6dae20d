package image

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Errors of platform choice, for callers to test with errors.Is.
var (
	// ErrNoMatch is returned by Select when no Windows manifest of the index
	// fits the requested platform; the message lists what the index has.
	ErrNoMatch = errors.New("no matching Windows manifest")
	// ErrAmbiguous is returned by Select when several Windows manifests fit
	// and nothing says which one to take; the message lists the candidates
	// (os.version and digest), one per line.
	ErrAmbiguous = errors.New("more than one Windows manifest matches")
	// ErrNotWindows is returned when an image (or a requested platform) is
	// not Windows, for example a Linux-only index.
	ErrNotWindows = errors.New("winlayer handles Windows images only")
)

// Defaults of a Platform whose fields are empty.
const (
	defaultOS   = "windows"
	defaultArch = "amd64"
)

// win32kFeature is the os.features entry Windows images carry for the
// win32k kernel driver. Every Windows host has it, so it never excludes an
// entry.
const win32kFeature = "win32k"

// Platform is what the user asked for with --platform and --host-build.
type Platform struct {
	OS, Architecture, Variant string
	OSVersion                 string // "", 3-part "10.0.20348" or 4-part "10.0.20348.2340"
	HostBuild                 int    // 0 = not set
}

// ParsePlatform parses "windows/amd64", "windows/amd64:10.0.20348", "windows/amd64:10.0.20348.2340"; empty = default windows/amd64 any version.
//
// The general form is OS[/ARCH[/VARIANT]][:OSVERSION]. OS must be windows
// (any case); a missing ARCH is amd64. Architecture aliases are normalized
// (x86_64 and x86-64 to amd64, aarch64 to arm64; arm64's default variant v8
// is dropped). OSVERSION is stored in canonical form. A non-Windows OS fails
// with ErrNotWindows. HostBuild is left 0: it comes from its own flag.
func ParsePlatform(s string) (Platform, error) {
	p := Platform{OS: defaultOS, Architecture: defaultArch}
	if s == "" {
		return p, nil
	}
	spec, version, hasVersion := strings.Cut(s, ":")
	parts := strings.Split(spec, "/")
	if len(parts) > 3 {
		return Platform{}, fmt.Errorf("platform %q: want OS/ARCH[/VARIANT][:OSVERSION], such as windows/amd64:10.0.20348", s)
	}
	for i, part := range parts {
		if !isPlatformWord(part) {
			what := [...]string{"OS", "architecture", "variant"}[i]
			if _, err := parseWindowsVersion(part); err == nil && i > 0 && !hasVersion {
				// windows/amd64/10.0.20348: the version after a slash.
				fixed := strings.Join(parts[:i], "/") + ":" + part
				return Platform{}, fmt.Errorf("platform %q: %q is an OS version, which goes after a colon: %s", s, part, fixed)
			}
			return Platform{}, fmt.Errorf("platform %q: %s %q is not a lower-case word (letters, digits, _ and -)", s, what, part)
		}
	}
	p.OS = strings.ToLower(parts[0])
	if p.OS != defaultOS {
		return Platform{}, fmt.Errorf("platform %q: OS %q is not windows: %w", s, parts[0], ErrNotWindows)
	}
	if len(parts) > 1 {
		p.Architecture = normalizeArch(parts[1])
	}
	if len(parts) > 2 {
		p.Variant = normalizeVariant(p.Architecture, parts[2])
	}
	if hasVersion {
		v, err := parseWindowsVersion(version)
		if err != nil {
			return Platform{}, fmt.Errorf("platform %q: os.version %q: %w", s, version, err)
		}
		p.OSVersion = v.String()
	}
	return p, nil
}

// isPlatformWord reports whether s is a non-empty word of ASCII letters,
// digits, '_' and '-', as OS, architecture and variant names are.
func isPlatformWord(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// normalizeArch lower-cases an architecture and maps common aliases to
// the GOARCH names the OCI image spec uses.
func normalizeArch(arch string) string {
	switch a := strings.ToLower(arch); a {
	case "x86_64", "x86-64":
		return "amd64"
	case "aarch64":
		return "arm64"
	default:
		return a
	}
}

// normalizeVariant lower-cases a variant and drops arm64's default v8.
func normalizeVariant(arch, variant string) string {
	v := strings.ToLower(variant)
	if arch == "arm64" && v == "v8" {
		return ""
	}
	return v
}

// String returns p in the form ParsePlatform reads, with empty OS and
// architecture shown as their defaults: "windows/amd64",
// "windows/arm64/v9:10.0.26100". HostBuild is not part of it.
func (p Platform) String() string {
	os, arch := p.OS, p.Architecture
	if os == "" {
		os = defaultOS
	}
	if arch == "" {
		arch = defaultArch
	}
	s := os + "/" + arch
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	if p.OSVersion != "" {
		s += ":" + p.OSVersion
	}
	return s
}

// request is a checked Platform, ready to be matched against index entries.
type request struct {
	Platform
	version    windowsVersion
	hasVersion bool
}

// newRequest checks p and fills in its defaults.
func newRequest(p Platform) (request, error) {
	r := request{Platform: p}
	if r.OS == "" {
		r.OS = defaultOS
	}
	if !strings.EqualFold(r.OS, defaultOS) {
		return request{}, fmt.Errorf("platform %s: OS %q is not windows: %w", p, p.OS, ErrNotWindows)
	}
	r.OS = defaultOS
	if r.Architecture == "" {
		r.Architecture = defaultArch
	}
	r.Architecture = normalizeArch(r.Architecture)
	r.Variant = normalizeVariant(r.Architecture, r.Variant)
	if r.OSVersion != "" {
		v, err := parseWindowsVersion(r.OSVersion)
		if err != nil {
			return request{}, fmt.Errorf("platform %s: os.version %q: %w", p, p.OSVersion, err)
		}
		r.version, r.hasVersion = v, true
		r.OSVersion = v.String()
	}
	if r.HostBuild < 0 || int64(r.HostBuild) > math.MaxUint32 {
		return request{}, fmt.Errorf("host build %d: want a Windows build number such as 20348", r.HostBuild)
	}
	return r, nil
}

// describe is the request as shown in messages, host build included.
func (r request) describe() string {
	s := r.Platform.String()
	if r.HostBuild != 0 {
		s += " on host build " + strconv.Itoa(r.HostBuild)
	}
	return s
}

// candidate is a Windows index entry that fits a request.
type candidate struct {
	desc v1.Descriptor
	// version is the entry's parsed os.version; known is false when the
	// entry has none (or one that does not parse), which matches anything
	// but ranks below every entry with a version.
	version windowsVersion
	known   bool
}

// rank orders candidates: a known os.version above an unknown one, then
// numerically higher versions (build, then revision) first.
func (c candidate) rank(d candidate) int {
	if c.known != d.known {
		if c.known {
			return 1
		}
		return -1
	}
	if !c.known {
		return 0
	}
	return c.version.compare(d.version)
}

// match reports whether the Windows entry d fits r.
//
//   - Architecture must be equal (after alias normalization); a requested
//     variant must be equal, no requested variant accepts any.
//   - Every os.features entry must be win32k: other features are
//     requirements winlayer cannot promise.
//   - An entry without os.version fits any version request. An entry whose
//     os.version does not parse fits only when no version is asked for.
//   - A 4-part request needs the same version; a 3-part request the same
//     build (any revision); an entry's 3-part version fits any revision of
//     its build.
//   - A host build needs a 10.0 entry whose build that host runs
//     (hostRunsBuild).
func (r request) match(d v1.Descriptor) (candidate, bool) {
	pl := d.Platform
	if normalizeArch(pl.Architecture) != r.Architecture {
		return candidate{}, false
	}
	if r.Variant != "" && normalizeVariant(r.Architecture, pl.Variant) != r.Variant {
		return candidate{}, false
	}
	for _, f := range pl.OSFeatures {
		if !strings.EqualFold(f, win32kFeature) {
			return candidate{}, false
		}
	}
	c := candidate{desc: d}
	if pl.OSVersion == "" {
		return c, true
	}
	v, err := parseWindowsVersion(pl.OSVersion)
	if err != nil {
		return c, !r.hasVersion && r.HostBuild == 0
	}
	c.version, c.known = v, true
	if r.hasVersion {
		w := r.version
		if v.major != w.major || v.minor != w.minor || v.build != w.build {
			return candidate{}, false
		}
		if w.hasRevision && v.hasRevision && v.revision != w.revision {
			return candidate{}, false
		}
	}
	if r.HostBuild != 0 && (!v.isWindows10() || !hostRunsBuild(uint32(r.HostBuild), v.build)) {
		return candidate{}, false
	}
	return c, true
}

// isWindowsOS reports whether an index entry's os is Windows.
func isWindowsOS(os string) bool {
	return strings.EqualFold(os, defaultOS)
}

// Select picks the manifest descriptor of idx for p (rules below); errors list candidates.
//
// Only entries with a Windows platform are considered; Select never falls
// back to another OS. An index without Windows entries fails with
// ErrNotWindows naming the platforms it has. Entries are matched as
// described on request.match; among the entries that fit, a known
// os.version beats a missing one and the numerically highest version wins
// (build, then revision: .1000 beats .999).
//
// explicit says whether the user chose p (--platform). When it is false and
// no host build is set, more than one fitting entry fails with ErrAmbiguous
// listing them: winlayer does not guess between Windows versions. A host
// build is a choice too: then the newest build that host runs wins. Two
// different manifests that rank equal also fail with ErrAmbiguous. When
// nothing fits, the error wraps ErrNoMatch and lists the Windows entries.
func Select(idx *v1.IndexManifest, p Platform, explicit bool) (v1.Descriptor, error) {
	r, err := newRequest(p)
	if err != nil {
		return v1.Descriptor{}, err
	}
	if idx == nil || len(idx.Manifests) == 0 {
		return v1.Descriptor{}, fmt.Errorf("%w for %s: the index lists no manifests", ErrNoMatch, r.describe())
	}
	var windows []v1.Descriptor
	var others []string
	for _, d := range idx.Manifests {
		switch {
		case d.Platform == nil:
		case isWindowsOS(d.Platform.OS):
			windows = append(windows, d)
		case isAttestation(d.Platform):
		default:
			others = appendUnique(others, platformName(d.Platform))
		}
	}
	if len(windows) == 0 {
		if len(others) == 0 {
			return v1.Descriptor{}, fmt.Errorf("%w for %s: no manifest of the index names its platform", ErrNoMatch, r.describe())
		}
		what := "has no Windows manifest"
		if allLinux(others) {
			what = "is a Linux image"
		}
		return v1.Descriptor{}, fmt.Errorf("the image %s (%s); %w", what, strings.Join(others, ", "), ErrNotWindows)
	}

	var cands []candidate
	for _, d := range windows {
		if c, ok := r.match(d); ok {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		lines := make([]string, len(windows))
		for i, d := range windows {
			lines[i] = entryLine(d, true)
		}
		return v1.Descriptor{}, fmt.Errorf("%w for %s; the image has:\n%s", ErrNoMatch, r.describe(), strings.Join(lines, "\n"))
	}
	// Best first; equal ranks keep index order.
	slices.SortStableFunc(cands, func(a, b candidate) int { return b.rank(a) })

	if !explicit && r.HostBuild == 0 && distinctDigests(cands) > 1 {
		return v1.Descriptor{}, fmt.Errorf("%w %s and no --platform says which; choose one with --platform %s:OSVERSION:\n%s",
			ErrAmbiguous, r.describe(), r.Platform.String(), candidateLines(cands))
	}
	best := cands[0]
	n := 1
	for n < len(cands) && cands[n].rank(best) == 0 {
		n++
	}
	if distinctDigests(cands[:n]) > 1 {
		return v1.Descriptor{}, fmt.Errorf("%w %s equally well:\n%s", ErrAmbiguous, r.describe(), candidateLines(cands[:n]))
	}
	return best.desc, nil
}

// isAttestation reports whether pl is the unknown/unknown platform that
// build tools give attestation manifests; such entries are no image.
func isAttestation(pl *v1.Platform) bool {
	return pl.OS == "unknown" && pl.Architecture == "unknown"
}

// allLinux reports whether every platform name is a Linux one.
func allLinux(names []string) bool {
	for _, n := range names {
		if !strings.HasPrefix(strings.ToLower(n), "linux/") {
			return false
		}
	}
	return true
}

// platformName is os/arch[/variant] of an index entry.
func platformName(pl *v1.Platform) string {
	s := pl.OS + "/" + pl.Architecture
	if pl.Variant != "" {
		s += "/" + pl.Variant
	}
	return s
}

// appendUnique appends s to list unless it is there already.
func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// distinctDigests counts the different manifest digests among cands.
func distinctDigests(cands []candidate) int {
	var seen []v1.Hash
	for _, c := range cands {
		if !slices.Contains(seen, c.desc.Digest) {
			seen = append(seen, c.desc.Digest)
		}
	}
	return len(seen)
}

// candidateLines lists cands one per line as "  OSVERSION DIGEST", sorted
// by version (numerically, entries without os.version first).
func candidateLines(cands []candidate) string {
	sorted := slices.Clone(cands)
	slices.SortStableFunc(sorted, func(a, b candidate) int {
		if c := a.rank(b); c != 0 {
			return c
		}
		return cmp.Compare(a.desc.Digest.String(), b.desc.Digest.String())
	})
	lines := make([]string, len(sorted))
	for i, c := range sorted {
		lines[i] = entryLine(c.desc, false)
	}
	return strings.Join(lines, "\n")
}

// entryLine describes one Windows index entry for a message:
// "  10.0.20348.2340 sha256:…", with its platform first when withPlatform
// is set, and its os.features when it has any.
func entryLine(d v1.Descriptor, withPlatform bool) string {
	version := d.Platform.OSVersion
	if version == "" {
		version = "(no os.version)"
	}
	s := "  "
	if withPlatform {
		s += platformName(d.Platform) + " "
	}
	s += version + " " + d.Digest.String()
	if len(d.Platform.OSFeatures) > 0 {
		s += " os.features=" + strings.Join(d.Platform.OSFeatures, ",")
	}
	return s
}
