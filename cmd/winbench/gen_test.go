package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/layer"
)

// TestGenerateReadsBack reads each kind's tar back at a tiny scale and
// checks it against the generator's stats and the shape of a Windows
// layer.
func TestGenerateReadsBack(t *testing.T) {
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			var buf bytes.Buffer
			st, err := Generate(&buf, kind, 0.002)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(buf.Bytes())
			if st.SHA256 != hex.EncodeToString(sum[:]) || st.TarBytes != int64(buf.Len()) {
				t.Errorf("stats say %d bytes, sha256 %s; the tar has %d, %x", st.TarBytes, st.SHA256, buf.Len(), sum)
			}
			var names []string
			var files, dirs int
			var payload int64
			tr := tar.NewReader(&buf)
			for {
				h, err := tr.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, h.Name)
				if h.Format&tar.FormatPAX == 0 {
					t.Errorf("%s: format %v, want PAX", h.Name, h.Format)
				}
				for _, k := range []string{paxFileAttr, paxRawSD, paxCreationTime, "mtime", "atime", "ctime"} {
					if h.PAXRecords[k] == "" {
						t.Errorf("%s: no PAX record %s", h.Name, k)
					}
				}
				switch h.Typeflag {
				case tar.TypeDir:
					dirs++
					if h.PAXRecords[paxFileAttr] != attrDirectory {
						t.Errorf("%s: fileattr %s", h.Name, h.PAXRecords[paxFileAttr])
					}
				case tar.TypeReg:
					n, err := io.Copy(io.Discard, tr)
					if err != nil {
						t.Fatal(err)
					}
					files++
					payload += n
				default:
					t.Errorf("%s: type %q", h.Name, h.Typeflag)
				}
			}
			if len(names) != st.Entries() || files != st.Files || dirs != st.Dirs || payload != st.Payload {
				t.Errorf("read %d entries (%d files, %d dirs, %d bytes); stats say %d (%d, %d, %d)",
					len(names), files, dirs, payload, st.Entries(), st.Files, st.Dirs, st.Payload)
			}
			if names[0] != "Files" || names[len(names)-2] != "Hives" || names[len(names)-1] != "Hives/System_Delta" {
				t.Errorf("entries %q … %q", names[0], names[len(names)-2:])
			}
			for _, n := range names {
				if !strings.HasPrefix(n, "Files") && !strings.HasPrefix(n, "Hives") {
					t.Errorf("entry %q outside Files and Hives", n)
				}
			}
		})
	}
}

func TestGenerateCounts(t *testing.T) {
	st, err := Generate(io.Discard, KindSmall, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 1000+1 { // + Hives/System_Delta
		t.Errorf("small at 0.01: %d files, want 1001", st.Files)
	}
	if perDir := float64(st.Files) / float64(st.Dirs); perDir < 12 || perDir > 28 {
		t.Errorf("small at 0.01: %.1f files per directory, want about 20", perDir)
	}
	st, err = Generate(io.Discard, KindMix, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(math.Round(0.01*(1<<30))) + hiveSize; st.Payload < want-2 || st.Payload > want+2 {
		t.Errorf("mix at 0.01: %d payload bytes, want %d", st.Payload, want)
	}
	again, _ := Generate(io.Discard, KindMix, 0.01)
	if again.SHA256 != st.SHA256 {
		t.Errorf("mix is not deterministic: %s, then %s", st.SHA256, again.SHA256)
	}
}

// TestGenerateImports imports a generated tar into a layer store and
// exports it back byte for byte, as the benchmark does.
func TestGenerateImports(t *testing.T) {
	var buf bytes.Buffer
	st, err := Generate(&buf, KindSmall, 0.002)
	if err != nil {
		t.Fatal(err)
	}
	s, err := layer.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(context.Background(), "gen", nil, &buf); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Export(context.Background(), "gen")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != st.SHA256 {
		t.Errorf("export sha256 %s, want %s", got, st.SHA256)
	}
}
