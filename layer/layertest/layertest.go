// Package layertest builds Windows layer tars for tests: a small
// description of entries in, the bytes of a PAX tar as go-winio's exporter
// writes them out.
package layertest

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// SD is a small self-relative security descriptor (O:BAG:SYD:(A;;FA;;;BA)).
const SD = "AQAEgBQAAAAkAAAAAAAAADAAAAABAgAAAAAABSAAAAAgAgAAAQEAAAAAAAUSAAAAAgAgAAEAAAAAABgA/wEfAAECAAAAAAAFIAAAACACAAA="

// Entry describes one tar entry.
type Entry struct {
	// Name is the tar name.
	Name string
	// Type is the typeflag (tar.TypeReg when 0).
	Type byte
	// Data is the content of a regular file.
	Data []byte
	// Link is the link target of a symlink or hard link.
	Link string
	// PAX adds or overrides PAX records.
	PAX map[string]string
	// NoMeta leaves out the Windows PAX records.
	NoMeta bool
}

// Dir returns a directory entry.
func Dir(name string) Entry { return Entry{Name: name, Type: tar.TypeDir} }

// File returns a regular file entry.
func File(name string, data []byte) Entry { return Entry{Name: name, Type: tar.TypeReg, Data: data} }

// Tar writes the entries as a PAX tar with Windows metadata (file
// attributes, security descriptor, creation time) on every entry.
func Tar(entries ...Entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	t := time.Date(2023, 5, 1, 12, 0, 0, 123456700, time.UTC)
	for _, e := range entries {
		typ := e.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.Name, Typeflag: typ, Linkname: e.Link, Format: tar.FormatPAX,
			ModTime: t, AccessTime: t, ChangeTime: t, PAXRecords: map[string]string{}}
		if !e.NoMeta {
			attr := 32
			if typ == tar.TypeDir {
				attr = 16
			}
			h.PAXRecords["MSWINDOWS.fileattr"] = strconv.Itoa(attr)
			h.PAXRecords["MSWINDOWS.rawsd"] = SD
			h.PAXRecords["LIBARCHIVE.creationtime"] = "1635930900.0000001"
		}
		for k, v := range e.PAX {
			h.PAXRecords[k] = v
		}
		switch typ {
		case tar.TypeReg:
			h.Mode = 0o100000
			h.Size = int64(len(e.Data))
		case tar.TypeDir:
			h.Mode = 0o40000
		case tar.TypeSymlink:
			h.Mode = 0o120000
		}
		if err := tw.WriteHeader(h); err != nil {
			panic(fmt.Sprintf("layertest: %s: %v", e.Name, err))
		}
		if _, err := tw.Write(e.Data); err != nil {
			panic(fmt.Sprintf("layertest: %s: %v", e.Name, err))
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Bytes returns n deterministic pseudo-random bytes.
func Bytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// Mixed returns a layer tar exercising every kind of entry: the roots,
// nested directories, files of several sizes (some over a megabyte, so
// that their data arrives in several writes), an EA, an alternate data
// stream, a symlink, a junction, a hard link, a whiteout, an opaque
// marker and a hive.
func Mixed() []byte {
	es := []Entry{Dir("Files"), Dir("Files/dir")}
	for i := 0; i < 40; i++ {
		es = append(es, File(fmt.Sprintf("Files/dir/f%02d.bin", i), Bytes(uint64(i), 37*i*i+1)))
	}
	es = append(es,
		Entry{Name: "Files/big.bin", Type: tar.TypeReg, Data: Bytes(99, 3<<20+12345),
			PAX: map[string]string{"MSWINDOWS.xattr.user.test": base64.StdEncoding.EncodeToString([]byte("ea value"))}},
		File("Files/big.bin:stream", Bytes(7, 70000)),
		Entry{Name: "Files/link", Type: tar.TypeSymlink, Link: "dir/f01.bin"},
		Entry{Name: "Files/junction", Type: tar.TypeSymlink, Link: `C:\ProgramData`, PAX: map[string]string{"MSWINDOWS.mountpoint": "1", "MSWINDOWS.fileattr": "1040"}},
		Entry{Name: "Files/hard.bin", Type: tar.TypeLink, Link: "Files/dir/f03.bin"},
		Entry{Name: "Files/.wh.gone.txt", NoMeta: true},
		Dir("Files/opq"),
		Entry{Name: "Files/opq/.wh..wh..opq", NoMeta: true},
		Dir("Hives"),
		File("Hives/System_Delta", Bytes(5, 4096)),
	)
	return Tar(es...)
}
