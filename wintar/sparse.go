package wintar

import (
	"archive/tar"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrSparse reports a sparse tar entry: GNU's old sparse type 'S' or a
// file carrying GNU.sparse.* PAX records (GNU sparse formats 0.0, 0.1 and
// 1.0). Go's tar reader expands such an entry to its real size, so a layer
// store could neither keep its bytes (the export would differ from the
// import) nor trust its size (GNU.sparse.realsize is whatever the tar
// says); go-winio never writes one, so strict mode refuses it before
// anything of it is written.
var ErrSparse = errors.New("sparse tar entries cannot be part of a Windows layer (go-winio never writes them)")

// PAXGNUSparsePrefix starts the PAX records of GNU sparse files.
const PAXGNUSparsePrefix = "GNU.sparse."

// checkSparse refuses a sparse entry, naming the PAX record (or the type
// flag) that makes it one.
func checkSparse(hdr *tar.Header) error {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return fmt.Errorf("type flag 'S' (old GNU sparse file, %d bytes once expanded): %w: %w", hdr.Size, ErrSparse, ErrUnsupportedType)
	}
	var keys []string
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, PAXGNUSparsePrefix) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	key := keys[0]
	// Name the record that says "sparse" most plainly.
	for _, k := range []string{"GNU.sparse.realsize", "GNU.sparse.size", "GNU.sparse.major", "GNU.sparse.map"} {
		if _, ok := hdr.PAXRecords[k]; ok {
			key = k
			break
		}
	}
	version := "0.0 or 0.1"
	if major, ok := hdr.PAXRecords["GNU.sparse.major"]; ok {
		version = major + "." + hdr.PAXRecords["GNU.sparse.minor"]
	}
	return fmt.Errorf("PAX record %s=%q (GNU sparse format %s): %w", key, hdr.PAXRecords[key], version, ErrSparse)
}
