package wintar

import (
	"path"
	"strings"
)

// ToWindows turns a tar name into a Windows name by replacing every '/'
// with '\' (existing backslashes stay and so become separators). It does
// not clean the name: "Files/dir/" becomes `Files\dir\`.
func ToWindows(name string) string { return strings.ReplaceAll(name, "/", `\`) }

// ToSlash turns a Windows name into a tar name by replacing every '\' with '/'.
func ToSlash(name string) string { return strings.ReplaceAll(name, `\`, "/") }

// WhiteoutPrefix marks an AUFS whiteout entry: ".wh.<name>" deletes <name>.
const WhiteoutPrefix = ".wh."

// OpaqueMarker is the base name of an AUFS opaque-directory marker.
const OpaqueMarker = ".wh..wh..opq"

// WhiteoutTarget reports whether the tar name is a whiteout (its base name
// starts with ".wh.", whatever its type) and returns the tar name it
// deletes, cleaned as hcsshim cleans it: "Files/.wh.a" → "Files/a",
// "Files/d/.wh..wh..opq" → "Files/d/.wh..opq", "Files/.wh." → "Files".
func WhiteoutTarget(name string) (string, bool) {
	base := path.Base(name)
	if !strings.HasPrefix(base, WhiteoutPrefix) {
		return "", false
	}
	return path.Join(path.Dir(name), base[len(WhiteoutPrefix):]), true
}

// WhiteoutName returns the tar name of the whiteout entry that deletes the
// Windows name: `Files\dir\a.txt` → "Files/dir/.wh.a.txt".
func WhiteoutName(winName string) string {
	n := ToSlash(winName)
	return path.Join(path.Dir(n), WhiteoutPrefix+path.Base(n))
}

// bcdBackups maps the four UtilityVM BCD files (exact, case-sensitive tar
// names) to the backup files kept in the layer root.
var bcdBackups = map[string]string{
	"UtilityVM/Files/EFI/Microsoft/Boot/BCD":      "bcd.bak",
	"UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG":  "bcd.log.bak",
	"UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG1": "bcd.log1.bak",
	"UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG2": "bcd.log2.bak",
}

// BCDBackupName returns the name of the backup file (in the layer root)
// that keeps the original bytes of a UtilityVM BCD file, for the four exact
// tar names of those files, and false for every other name.
func BCDBackupName(tarName string) (string, bool) {
	b, ok := bcdBackups[tarName]
	return b, ok
}
