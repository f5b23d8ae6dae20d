package wintar

import (
	"fmt"
	"regexp"
	"strings"
)

// IsDeviceName reports whether a file name (one path component, without
// a stream part) names a DOS device on Windows, so that opening it opens
// the device instead of a file: CON, PRN, AUX, NUL, COM1 to COM9 and LPT1
// to LPT9, also with the superscript digits ¹ ² ³ (COM¹, LPT³) that
// Windows counts as digits, and CONIN$ and CONOUT$; in any case
// (aux, Aux); followed by spaces (Windows strips trailing spaces before
// the check: "NUL  "); and followed by any extension, since Windows
// before 11 opens the device for "aux.txt", "nul.tar.gz" and "CON .txt"
// too. COM0 and LPT0 are not devices (the Win32 path parser accepts only
// the digits 1 to 9 and the superscripts). This is the rule of Go's
// filepath.IsLocal on Windows, with every extension counted as reserved.
func IsDeviceName(file string) bool {
	base := file
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	base = strings.TrimRight(base, " ")
	switch asciiUpper(base) {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) < 4 {
		return false
	}
	switch asciiUpper(base[:3]) {
	case "COM", "LPT":
	default:
		return false
	}
	switch d := base[3:]; d {
	case "1", "2", "3", "4", "5", "6", "7", "8", "9", "\u00b9", "\u00b2", "\u00b3":
		return true
	}
	return false
}

// asciiUpper upper-cases the ASCII letters of s only, as the Win32 device
// name check does (so "conın$" with a dotless i is not CONIN$).
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// hexName matches the 64-hex-digit ids docker save uses for directories
// and config files.
var hexName = regexp.MustCompile(`^[0-9a-f]{64}(\.json)?$`)

// linuxRoots are top-level directories of a Linux root file system.
var linuxRoots = map[string]bool{
	"bin": true, "boot": true, "dev": true, "etc": true, "home": true, "lib": true,
	"lib32": true, "lib64": true, "libx32": true, "media": true, "mnt": true, "opt": true,
	"proc": true, "root": true, "run": true, "sbin": true, "srv": true, "sys": true,
	"tmp": true, "usr": true, "var": true, WhiteoutPrefix + WhiteoutPrefix + ".opq": true,
}

// checkRoot refuses a name whose first component is not a layer root and
// says what the input looks like when the name gives it away: a Linux
// layer, a docker-save archive or an OCI image layout.
func checkRoot(parts []string) error {
	root, _, _ := strings.Cut(parts[0], ":")
	switch root {
	case RootFiles, RootHives, RootUtilityVM:
		return nil
	}
	first := root
	if first == "." && len(parts) > 1 {
		first = parts[1]
	}
	const outside = "entries outside Files/, Hives/, UtilityVM/"
	var hint string
	switch {
	case first == "manifest.json" || first == "repositories" || hexName.MatchString(first):
		hint = "this looks like a docker-save archive (manifest.json + */layer.tar), not a layer: import its layer.tar files, or load it with docker load"
	case first == "oci-layout" || first == "index.json" || first == "blobs":
		hint = "this looks like an OCI image layout (oci-layout, index.json, blobs/), not a layer: import its layer blobs"
	case first == ".":
		// "./" alone, the first entry of 'tar -C DIR -cf x.tar .': what DIR
		// held comes only in the next entries.
		hint = "this looks like a directory tarred whole (tar -C DIR .): a Linux layer, or an OCI image layout or docker-save archive tarred up, not a Windows layer"
	case root == "." || linuxRoots[first] || strings.HasPrefix(first, WhiteoutPrefix):
		hint = "this looks like a Linux layer"
	default:
		return fmt.Errorf("%s (a Windows layer holds nothing else): %w", outside, ErrUnsafeName)
	}
	return fmt.Errorf("%s: %s: %w", outside, hint, ErrUnsafeName)
}
