package image

import (
	"errors"
	"strconv"
	"strings"
)

// Windows build numbers of the long-term servicing (LTSC) releases of
// Windows Server that matter for choosing a container image.
const (
	// buildLTSC2019 is Windows Server 2019 (version 1809, "RS5").
	buildLTSC2019 = 17763
	// buildLTSC2022 is Windows Server 2022 (21H2). From this release on a
	// host also runs containers of the previous stable-ABI LTSC.
	buildLTSC2022 = 20348
	// buildLTSC2025 is Windows Server 2025 (24H2).
	buildLTSC2025 = 26100
)

// stableABIReleases are the LTSC builds whose containers later hosts keep
// running with process isolation, in ascending order (the list containerd's
// Windows matcher keeps).
var stableABIReleases = []uint32{buildLTSC2022, buildLTSC2025}

// windowsVersion is a parsed os.version: major.minor.build[.revision],
// e.g. 10.0.20348.2340.
type windowsVersion struct {
	major, minor, build, revision uint32
	// hasRevision is false for a 3-part version such as 10.0.20348.
	hasRevision bool
}

// errBadVersion is returned by parseWindowsVersion for text that is not a
// 3- or 4-part decimal version.
var errBadVersion = errors.New("want 3 or 4 decimal numbers such as 10.0.20348 or 10.0.20348.2340")

// parseWindowsVersion parses a 3-part ("10.0.20348") or 4-part
// ("10.0.20348.2340") Windows version. Every part is a decimal number that
// fits in 32 bits; signs, spaces and empty parts are refused.
func parseWindowsVersion(s string) (windowsVersion, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 && len(parts) != 4 {
		return windowsVersion{}, errBadVersion
	}
	var n [4]uint32
	for i, part := range parts {
		if part == "" || strings.TrimLeft(part, "0123456789") != "" {
			return windowsVersion{}, errBadVersion
		}
		u, err := strconv.ParseUint(part, 10, 32)
		if err != nil {
			return windowsVersion{}, errBadVersion
		}
		n[i] = uint32(u)
	}
	return windowsVersion{
		major:       n[0],
		minor:       n[1],
		build:       n[2],
		revision:    n[3],
		hasRevision: len(parts) == 4,
	}, nil
}

// String returns the version in canonical form (no leading zeros).
func (v windowsVersion) String() string {
	s := strconv.FormatUint(uint64(v.major), 10) + "." +
		strconv.FormatUint(uint64(v.minor), 10) + "." +
		strconv.FormatUint(uint64(v.build), 10)
	if v.hasRevision {
		s += "." + strconv.FormatUint(uint64(v.revision), 10)
	}
	return s
}

// compare orders versions numerically part by part (so .1000 is above
// .999); a 3-part version sorts as revision 0.
func (v windowsVersion) compare(w windowsVersion) int {
	a := [4]uint32{v.major, v.minor, v.build, v.revision}
	b := [4]uint32{w.major, w.minor, w.build, w.revision}
	for i := range a {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}

// isWindows10 reports whether v is a Windows NT 10.0 version, the only
// kernel version Windows containers have shipped for.
func (v windowsVersion) isWindows10() bool {
	return v.major == 10 && v.minor == 0
}

// hostRunsBuild reports whether a Windows 10.0 host of build host runs a
// container of build ctr with process isolation. This is containerd's host
// rule: below Windows Server 2022 the builds must be equal; from 20348 on a
// host runs every build from the newest stable-ABI LTSC below it (20348
// itself for a 20348 host) up to its own build. A 26100 host thus runs
// 20348 to 26100, a 25398 host 20348 to 25398, a 27000 host 26100 to 27000.
func hostRunsBuild(host, ctr uint32) bool {
	if host < buildLTSC2022 {
		return host == ctr
	}
	low := uint32(buildLTSC2022)
	for _, r := range stableABIReleases {
		if r < host {
			low = r
		}
	}
	return low <= ctr && ctr <= host
}
