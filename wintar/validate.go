package wintar

import (
	"archive/tar"
	"errors"
	"fmt"
	"strings"

	"github.com/winlayer/winlayer/sddl"
)

// ErrUnsafeName reports a tar entry name (or link target) that a layer
// store must not write: outside the three layer roots, absolute, with a
// drive letter, `..`, `.` or empty components, a backslash, NUL or a
// character Windows forbids in file names.
var ErrUnsafeName = errors.New("unsafe entry name")

// ErrUnsupportedType reports a tar entry type a Windows layer cannot hold
// (devices, FIFOs, old GNU sparse files).
var ErrUnsupportedType = errors.New("unsupported entry type")

// ErrOrphanStream reports an alternate-data-stream entry ("file:stream")
// that does not directly follow its file.
var ErrOrphanStream = errors.New("alternate data stream without its file before it")

// Layer roots: the first component of every name in a layer tar.
const (
	RootFiles     = "Files"
	RootHives     = "Hives"
	RootUtilityVM = "UtilityVM"
)

// ValidateName checks a tar name (slash form) as a layer store must before
// writing it: relative, first component exactly Files, Hives or UtilityVM,
// no empty, "." or ".." components (one trailing "/" is allowed when dir
// is true), no component ending in a dot or space, no backslash, NUL,
// control character or any of <>"|?*, and a ':' only in the last component
// (an alternate data stream "file:stream", both parts non-empty, the file
// part under the same rules), and valid UTF-8 ([ErrNameNotUTF8]). The
// error wraps [ErrUnsafeName] and says what is wrong.
func ValidateName(name string, dir bool) error {
	if name == "" {
		return fmt.Errorf("empty name: %w", ErrUnsafeName)
	}
	if dir && len(name) > 1 && strings.HasSuffix(name, "/") {
		name = name[:len(name)-1]
	}
	if name[0] == '/' {
		return fmt.Errorf("absolute name: %w", ErrUnsafeName)
	}
	if err := checkUTF8(name); err != nil {
		return err
	}
	if len(name) >= 2 && name[1] == ':' {
		return fmt.Errorf("drive letter: %w", ErrUnsafeName)
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '\\':
			return fmt.Errorf("backslash in name: %w", ErrUnsafeName)
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("control character %#x in name: %w", c, ErrUnsafeName)
		case strings.IndexByte(`<>"|?*`, c) >= 0:
			return fmt.Errorf("character %q not allowed on Windows: %w", c, ErrUnsafeName)
		}
	}
	parts := strings.Split(name, "/")
	if err := checkRoot(parts); err != nil {
		return err
	}
	for i, p := range parts {
		// A component is "file" or, in the last one only, "file:stream";
		// the file part obeys the file-name rules on its own.
		file, stream, hasStream := strings.Cut(p, ":")
		switch {
		case p == "":
			return fmt.Errorf("empty path component: %w", ErrUnsafeName)
		case file == "." || file == "..":
			return fmt.Errorf("%q path component: %w", p, ErrUnsafeName)
		case hasStream && i < len(parts)-1:
			return fmt.Errorf("':' in directory component %q: %w", p, ErrUnsafeName)
		case file == "":
			return fmt.Errorf("stream %q without a file name: %w", p, ErrUnsafeName)
		case strings.HasSuffix(file, ".") || strings.HasSuffix(file, " "):
			// Windows strips trailing dots and spaces, so "a." and "a" collide.
			return fmt.Errorf("component %q ends with a dot or space: %w", p, ErrUnsafeName)
		case hasStream && stream == "":
			// "a.txt::$DATA" would be the file's own data stream.
			return fmt.Errorf("empty stream name in %q: %w", p, ErrUnsafeName)
		case IsDeviceName(file):
			return fmt.Errorf("%q is a Windows device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, also with an extension): %w", p, ErrUnsafeName)
		}
	}
	if strings.Contains(parts[0], ":") {
		return fmt.Errorf("stream on a layer root: %w", ErrUnsafeName)
	}
	return nil
}

// checkStrict applies the store-mode rules to one header before the import
// loop acts on it. skip is true for a global PAX header, which strict mode
// ignores instead of adding as a file.
func checkStrict(hdr *tar.Header) (skip bool, err error) {
	if target, ok := WhiteoutTarget(hdr.Name); ok {
		if err := ValidateName(hdr.Name, true); err != nil {
			return false, err
		}
		switch target {
		case RootFiles, RootHives, RootUtilityVM, ".":
			return false, fmt.Errorf("whiteout of the layer root %q: %w", target, ErrUnsafeName)
		}
		return false, ValidateName(target, true)
	}
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return true, nil
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink:
	case tar.TypeLink:
		if err := ValidateName(hdr.Name, false); err != nil {
			return false, err
		}
		if hasStream(hdr.Name) {
			return false, fmt.Errorf("hard link on an alternate data stream: %w", ErrUnsafeName)
		}
		if err := ValidateName(hdr.Linkname, false); err != nil {
			return false, fmt.Errorf("link target %q: %w", hdr.Linkname, err)
		}
		if hasStream(hdr.Linkname) {
			return false, fmt.Errorf("link target %q is an alternate data stream: %w", hdr.Linkname, ErrUnsafeName)
		}
		return false, nil
	default:
		return false, fmt.Errorf("typeflag %q: %w", hdr.Typeflag, ErrUnsupportedType)
	}
	if err := ValidateName(hdr.Name, hdr.Typeflag == tar.TypeDir); err != nil {
		return false, err
	}
	if hasStream(hdr.Name) {
		return false, ErrOrphanStream
	}
	return false, checkSecurityDescriptor(hdr)
}

// checkSecurityDescriptor parses the entry's MSWINDOWS.rawsd before the
// store accepts it (go-winio passes any bytes on to Windows, which would
// refuse them only when the layer is used): an empty value, or bytes that
// are not a well-formed self-relative security descriptor
// ([sddl.Validate]), give a *[PAXError].
func checkSecurityDescriptor(hdr *tar.Header) error {
	raw, ok := hdr.PAXRecords[PAXRawSD]
	if !ok {
		return nil
	}
	if raw == "" {
		return &PAXError{Key: PAXRawSD, Value: raw, Reason: "empty security descriptor (leave the record out for none)"}
	}
	sd, err := SecurityDescriptorFromHeader(hdr)
	if err != nil {
		return err
	}
	if err := sddl.Validate(sd); err != nil {
		return &PAXError{Key: PAXRawSD, Value: raw,
			Reason: "not a valid security descriptor: " + sddlReason(err), Err: err}
	}
	return nil
}

// checkStream applies the store-mode rules to an alternate-data-stream
// entry ("file:stream") that [WriteBackupStreamFromTarFile] attaches to the
// file before it: the whole name must pass [ValidateName], so the stream
// name is not empty and holds no '/' or other unsafe character.
func checkStream(hdr *tar.Header) error {
	return ValidateName(hdr.Name, false)
}

// hasStream reports whether the last component of a tar name (a trailing
// '/' ignored) names an alternate data stream.
func hasStream(name string) bool {
	name = strings.TrimSuffix(name, "/")
	return strings.Contains(name[strings.LastIndexByte(name, '/')+1:], ":")
}
