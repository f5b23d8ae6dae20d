package wintar

import (
	"archive/tar"
	"strconv"
	"strings"
	"time"
)

// PAX record keys of Windows layer tars.
const (
	PAXFileAttr     = "MSWINDOWS.fileattr"      // decimal FILE_ATTRIBUTE_* bits
	PAXRawSD        = "MSWINDOWS.rawsd"         // base64 self-relative security descriptor
	PAXSD           = "MSWINDOWS.sd"            // legacy: SDDL text
	PAXMountPoint   = "MSWINDOWS.mountpoint"    // present: the symlink is a junction
	PAXEAPrefix     = "MSWINDOWS.xattr."        // + EA name: base64 EA value
	PAXCreationTime = "LIBARCHIVE.creationtime" // PAX time of the creation time
)

// Unix mode type bits BasicInfoHeader and WriteTarFileFromBackupStream set.
const (
	modeDir     = 0o40000
	modeRegular = 0o100000
	modeSymlink = 0o120000
)

// ParsePAXTime parses a PAX time ("secs[.frac]", secs may be negative) as
// go-winio does: the fraction is truncated or zero-padded to 9 digits and,
// for a negative seconds part, subtracted. Malformed input gives
// tar.ErrHeader ("archive/tar: invalid tar header").
func ParsePAXTime(s string) (time.Time, error) {
	secStr, fracStr, hasFrac := strings.Cut(s, ".")
	secs, err := strconv.ParseInt(secStr, 10, 64)
	if err != nil {
		return time.Time{}, tar.ErrHeader
	}
	if !hasFrac || fracStr == "" {
		return time.Unix(secs, 0), nil
	}
	for i := 0; i < len(fracStr); i++ {
		if fracStr[i] < '0' || fracStr[i] > '9' {
			return time.Time{}, tar.ErrHeader
		}
	}
	if len(fracStr) > 9 {
		fracStr = fracStr[:9]
	}
	nsecs, _ := strconv.ParseInt(fracStr, 10, 64)
	for i := len(fracStr); i < 9; i++ {
		nsecs *= 10
	}
	if secStr != "" && secStr[0] == '-' {
		return time.Unix(secs, -nsecs), nil
	}
	return time.Unix(secs, nsecs), nil
}

// FormatPAXTime formats t as a PAX time: whole seconds when there is no
// sub-second part, otherwise up to 9 fraction digits with trailing zeros
// trimmed; times before 1970 get a leading '-' and a complemented fraction.
func FormatPAXTime(t time.Time) string {
	secs, nsecs := t.Unix(), int64(t.Nanosecond())
	if nsecs == 0 {
		return strconv.FormatInt(secs, 10)
	}
	sign := ""
	if secs < 0 {
		sign = "-"
		secs = -(secs + 1)
		nsecs = 1e9 - nsecs
	}
	frac := strconv.FormatInt(nsecs, 10)
	frac = strings.Repeat("0", 9-len(frac)) + frac
	return sign + strconv.FormatInt(secs, 10) + "." + strings.TrimRight(frac, "0")
}
