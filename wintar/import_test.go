package wintar_test

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/wintar"
)

const (
	sdRaw  = "AQAEgBQAAAAkAAAAAAAAADAAAAABAgAAAAAABSAAAAAgAgAAAQEAAAAAAAUSAAAAAgAgAAEAAAAAABgA/wEfAAECAAAAAAAFIAAAACACAAA=" // sample.dump.jsonl record 5
	sdSDDL = "O:BAG:SYD:(A;;FA;;;BA)"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// streamFromTar runs WriteBackupStreamFromTarFile on the first entry of
// the tar built from entries and returns the stream, the next header's
// name ("" at io.EOF) and the error.
func streamFromTar(t *testing.T, entries ...entry) ([]streamPart, string, error) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(makeTar(t, entries...)))
	hdr, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	next, err := wintar.WriteBackupStreamFromTarFile(&buf, tr, hdr)
	nextName := ""
	switch {
	case err == io.EOF:
		err = nil
	case err != nil:
		return nil, "", err
	default:
		nextName = next.Name
	}
	parts, perr := parseStream(buf.Bytes())
	if perr != nil {
		t.Fatalf("the stream written does not parse: %v", perr)
	}
	return parts, nextName, err
}

func TestWriteBackupStreamFromTarFile(t *testing.T) {
	sd, _ := base64.StdEncoding.DecodeString(sdRaw)
	const (
		S = backupstream.StreamSecurity
		E = backupstream.StreamEAData
		R = backupstream.StreamReparseData
		D = backupstream.StreamData
		A = backupstream.StreamAlternateData
	)
	for _, tc := range []struct {
		name     string
		entries  []entry
		wantIDs  []backupstream.StreamID
		wantNext string
		check    func(t *testing.T, parts []streamPart)
	}{
		{
			name: "order SD, EA, data, ADS; ADS named :x:$DATA",
			entries: []entry{
				reg("Files/a.txt", "hello", map[string]string{wintar.PAXRawSD: sdRaw, wintar.PAXEAPrefix + "B": b64("2"), wintar.PAXEAPrefix + "A": b64("1")}),
				reg("Files/a.txt:x", "xx", nil),
				reg("Files/a.txt:Zone.Identifier", "zone", map[string]string{wintar.PAXFileAttr: "999"}),
				reg("Files/b.txt", "", nil),
			},
			wantIDs:  []backupstream.StreamID{S, E, D, A, A},
			wantNext: "Files/b.txt",
			check: func(t *testing.T, p []streamPart) {
				if !bytes.Equal(p[0].data, sd) {
					t.Errorf("SD %x, want %x", p[0].data, sd)
				}
				eas, err := backupstream.DecodeEAs(p[1].data)
				if err != nil || len(eas) != 2 || eas[0].Name != "A" || eas[1].Name != "B" || string(eas[0].Value) != "1" {
					t.Errorf("EAs %v %v, want A=1 then B=2", eas, err)
				}
				if string(p[2].data) != "hello" || p[2].name != "" {
					t.Errorf("data %q name %q", p[2].data, p[2].name)
				}
				if p[3].name != ":x:$DATA" || string(p[3].data) != "xx" {
					t.Errorf("ADS %q %q, want :x:$DATA xx", p[3].name, p[3].data)
				}
				if p[4].name != ":Zone.Identifier:$DATA" || string(p[4].data) != "zone" {
					t.Errorf("ADS %q %q", p[4].name, p[4].data)
				}
				for _, q := range p {
					if q.attr != 0 {
						t.Errorf("stream %v has attributes %d, want 0", q.id, q.attr)
					}
				}
			},
		},
		{
			name:    "empty regular file still has a data stream",
			entries: []entry{reg("Files/empty", "", nil)},
			wantIDs: []backupstream.StreamID{D},
			check: func(t *testing.T, p []streamPart) {
				if len(p[0].data) != 0 {
					t.Errorf("data %q", p[0].data)
				}
			},
		},
		{
			name:     "directory: metadata only",
			entries:  []entry{dir("Files/d", map[string]string{wintar.PAXRawSD: sdRaw}), reg("Files/d/a", "a", nil)},
			wantIDs:  []backupstream.StreamID{S},
			wantNext: "Files/d/a",
		},
		{
			name:    "bare directory: empty stream",
			entries: []entry{dir("Files/d", nil)},
			wantIDs: []backupstream.StreamID{},
		},
		{
			name:    "ADS attached to a directory",
			entries: []entry{dir("Files/d", nil), reg("Files/d:meta", "m", nil)},
			wantIDs: []backupstream.StreamID{A},
		},
		{
			name:    "symlink: SD, EA, reparse",
			entries: []entry{symlink("Files/l", "hello.txt", map[string]string{wintar.PAXRawSD: sdRaw, wintar.PAXEAPrefix + "X": ""})},
			wantIDs: []backupstream.StreamID{S, E, R},
			check: func(t *testing.T, p []streamPart) {
				rp, err := backupstream.DecodeReparsePoint(p[2].data)
				if err != nil || rp.Target != "hello.txt" || rp.IsMountPoint || len(p[2].data) != 60 {
					t.Errorf("reparse %+v %v (%d bytes), want relative symlink hello.txt in 60 bytes", rp, err, len(p[2].data))
				}
			},
		},
		{
			name:    "symlink target slashes become backslashes",
			entries: []entry{symlink("Files/l", "../bin/sh", nil)},
			wantIDs: []backupstream.StreamID{R},
			check: func(t *testing.T, p []streamPart) {
				rp, err := backupstream.DecodeReparsePoint(p[0].data)
				if err != nil || rp.Target != `..\bin\sh` {
					t.Errorf("reparse %+v %v", rp, err)
				}
			},
		},
		{
			name:    "mount point: any value of MSWINDOWS.mountpoint",
			entries: []entry{symlink("Files/j", `C:\ProgramData`, map[string]string{wintar.PAXMountPoint: ""})},
			wantIDs: []backupstream.StreamID{R},
			check: func(t *testing.T, p []streamPart) {
				rp, err := backupstream.DecodeReparsePoint(p[0].data)
				if err != nil || !rp.IsMountPoint || rp.Target != `C:\ProgramData` || len(p[0].data) != 84 {
					t.Errorf("reparse %+v %v (%d bytes), want junction in 84 bytes", rp, err, len(p[0].data))
				}
			},
		},
		{
			name:    "mount point PAX on a regular file is ignored",
			entries: []entry{reg("Files/f", "data", map[string]string{wintar.PAXMountPoint: "1"})},
			wantIDs: []backupstream.StreamID{D},
		},
		{
			name:     "orphan ADS is not attached",
			entries:  []entry{reg("Files/b.txt", "b", nil), reg("Files/a.txt:s", "s", nil)},
			wantIDs:  []backupstream.StreamID{D},
			wantNext: "Files/a.txt:s",
		},
		{
			name:     "prefix must include the colon",
			entries:  []entry{reg("Files/a", "a", nil), reg("Files/ab:s", "s", nil)},
			wantIDs:  []backupstream.StreamID{D},
			wantNext: "Files/ab:s",
		},
		{
			name:     "a non-regular stream entry ends the file",
			entries:  []entry{reg("Files/a", "a", nil), dir("Files/a:s", nil), reg("Files/a:t", "t", nil)},
			wantIDs:  []backupstream.StreamID{D},
			wantNext: "Files/a:s",
		},
		{
			name:    "empty rawsd writes no security stream",
			entries: []entry{reg("Files/a", "a", map[string]string{wintar.PAXRawSD: ""})},
			wantIDs: []backupstream.StreamID{D},
		},
		{
			name:    "rawsd wins over sd and is not validated",
			entries: []entry{reg("Files/a", "a", map[string]string{wintar.PAXRawSD: "UkFX", wintar.PAXSD: "not sddl"})},
			wantIDs: []backupstream.StreamID{S, D},
			check: func(t *testing.T, p []streamPart) {
				if string(p[0].data) != "RAW" {
					t.Errorf("SD %q, want RAW", p[0].data)
				}
			},
		},
		{
			name:    "legacy SDDL compiled",
			entries: []entry{reg("Files/a", "a", map[string]string{wintar.PAXSD: sdSDDL})},
			wantIDs: []backupstream.StreamID{S, D},
			check: func(t *testing.T, p []streamPart) {
				if got := base64.StdEncoding.EncodeToString(p[0].data); got != sdRaw {
					t.Errorf("SD %s, want %s", got, sdRaw)
				}
			},
		},
		{
			name:    "empty EA name accepted",
			entries: []entry{reg("Files/a", "", map[string]string{wintar.PAXEAPrefix: b64("v")})},
			wantIDs: []backupstream.StreamID{E, D},
			check: func(t *testing.T, p []streamPart) {
				if len(p[0].data) != 12 {
					t.Errorf("EA buffer %d bytes, want 12", len(p[0].data))
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts, next, err := streamFromTar(t, tc.entries...)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(parts); !reflect.DeepEqual(got, tc.wantIDs) && !(len(got) == 0 && len(tc.wantIDs) == 0) {
				t.Fatalf("stream ids %v, want %v", got, tc.wantIDs)
			}
			if next != tc.wantNext {
				t.Errorf("next header %q, want %q", next, tc.wantNext)
			}
			if tc.check != nil {
				tc.check(t, parts)
			}
		})
	}
}

// TestWriteBackupStreamFromTarFileEAOrder: the EA list is sorted by name
// whatever the map order, so the stream is the same on every run.
func TestWriteBackupStreamFromTarFileEAOrder(t *testing.T) {
	pax := map[string]string{}
	for _, n := range []string{"Z", "A", "M", "a", "B", "$KERNEL.PURGE.ESBCACHE", "Q", "x", "0"} {
		pax[wintar.PAXEAPrefix+n] = b64(n + "-value")
	}
	var first []byte
	for i := 0; i < 20; i++ {
		tr := tar.NewReader(bytes.NewReader(makeTar(t, reg("Files/a", "", pax))))
		hdr, _ := tr.Next()
		var buf bytes.Buffer
		if _, err := wintar.WriteBackupStreamFromTarFile(&buf, tr, hdr); err != io.EOF {
			t.Fatal(err)
		}
		if i == 0 {
			first = buf.Bytes()
			parts, _ := parseStream(first)
			eas, err := backupstream.DecodeEAs(parts[0].data)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, ea := range eas {
				names = append(names, ea.Name)
			}
			if want := []string{"$KERNEL.PURGE.ESBCACHE", "0", "A", "B", "M", "Q", "Z", "a", "x"}; !reflect.DeepEqual(names, want) {
				t.Fatalf("EA order %v, want %v", names, want)
			}
		} else if !bytes.Equal(buf.Bytes(), first) {
			t.Fatalf("run %d gave a different stream", i)
		}
	}
}

func TestWriteBackupStreamFromTarFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		entries  []entry
		wantText string
		wantIs   error
	}{
		{"rawsd not base64", []entry{reg("Files/a", "", map[string]string{wintar.PAXRawSD: "abc!"})}, "illegal base64 data at input byte 3", nil},
		{"rawsd URL alphabet", []entry{reg("Files/a", "", map[string]string{wintar.PAXRawSD: "ab-_"})}, "illegal base64 data at input byte 2", nil},
		{"rawsd missing padding", []entry{reg("Files/a", "", map[string]string{wintar.PAXRawSD: "UkE"})}, "illegal base64 data at input byte 0", nil},
		{"xattr not base64", []entry{reg("Files/a", "", map[string]string{wintar.PAXEAPrefix + "X": "%%%%"})}, "illegal base64 data at input byte 0", nil},
		{"sd not SDDL", []entry{reg("Files/a", "", map[string]string{wintar.PAXSD: "junk"})}, "", wintar.ErrInvalidPAX},
		{"EA name too long", []entry{reg("Files/a", "", map[string]string{wintar.PAXEAPrefix + strings.Repeat("N", 256): ""})}, "extended attribute name too large", backupstream.ErrEANameTooLarge},
		{"EA value too long", []entry{reg("Files/a", "", map[string]string{wintar.PAXEAPrefix + "V": b64(strings.Repeat("v", 65536))})}, "extended attribute value too large", backupstream.ErrEAValueTooLarge},
		{"symlink target too long", []entry{symlink("Files/l", strings.Repeat("t", 20000), nil)}, "", wintar.ErrReparseTargetTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := streamFromTar(t, tc.entries...)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.wantText != "" && goWinioText(err) != tc.wantText {
				t.Errorf("error %q, want go-winio's %q", err, tc.wantText)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
		})
	}
	// Limits are inclusive: 255-byte names and 65535-byte values pass.
	if _, _, err := streamFromTar(t, reg("Files/a", "", map[string]string{
		wintar.PAXEAPrefix + strings.Repeat("N", 255): b64(strings.Repeat("v", 65535)),
	})); err != nil {
		t.Errorf("EA at the limits: %v", err)
	}
}

// TestWriteBackupStreamFromTarFileTruncated: a tar cut inside the file's
// content or inside the next header passes the tar reader's error through.
func TestWriteBackupStreamFromTarFileTruncated(t *testing.T) {
	full := makeTar(t, reg("Files/a", strings.Repeat("x", 1000), nil), reg("Files/a:s", strings.Repeat("s", 1000), nil), reg("Files/b", "b", nil))
	for _, cut := range []int{1024, 1536 + 100, 2048 + 100, 3072 + 100} {
		tr := tar.NewReader(bytes.NewReader(full[:cut]))
		hdr, err := tr.Next()
		if err != nil {
			t.Fatal(err)
		}
		_, err = wintar.WriteBackupStreamFromTarFile(io.Discard, tr, hdr)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d: %v, want unexpected EOF", cut, err)
		}
	}
}

// TestSecurityDescriptorFromHeader covers the selection rules of §4.2.
func TestSecurityDescriptorFromHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		pax  map[string]string
		want string // base64; "" for none
	}{
		{"none", nil, ""},
		{"rawsd", map[string]string{wintar.PAXRawSD: "UkFX"}, "UkFX"},
		{"sd", map[string]string{wintar.PAXSD: sdSDDL}, sdRaw},
		{"rawsd first", map[string]string{wintar.PAXRawSD: "UkFX", wintar.PAXSD: sdSDDL}, "UkFX"},
		{"empty rawsd hides sd", map[string]string{wintar.PAXRawSD: "", wintar.PAXSD: sdSDDL}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sd, err := wintar.SecurityDescriptorFromHeader(&tar.Header{PAXRecords: tc.pax})
			if err != nil {
				t.Fatal(err)
			}
			if got := base64.StdEncoding.EncodeToString(sd); got != tc.want {
				t.Errorf("SD %s, want %s", got, tc.want)
			}
		})
	}
}

// shortTar is a TarReader whose entries hold fewer bytes than their
// headers say.
type shortTar struct {
	sliceTar
	claim int64
}

func (s *shortTar) Next() (*tar.Header, error) {
	h, err := s.sliceTar.Next()
	if err == nil && h.Typeflag == tar.TypeReg {
		h.Size = s.claim
	}
	return h, err
}

// TestWriteBackupStreamFromTarFileShortEntry: a TarReader that delivers
// less content than the header's size must not produce a short stream,
// whether the entry is followed by a stream, a file or the end.
func TestWriteBackupStreamFromTarFileShortEntry(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []entry
	}{
		{"end of tar", []entry{reg("Files/a", "abc", nil)}},
		{"next file", []entry{reg("Files/a", "abc", nil), dir("Files/d", nil)}},
		{"next stream", []entry{reg("Files/a", "abc", nil), reg("Files/a:s", "s", nil)}},
		{"short stream", []entry{reg("Files/a", "abcdefghij", nil), reg("Files/a:s", "s", nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &shortTar{sliceTar: *newSliceTar(tc.entries...), claim: 10}
			hdr, _ := st.Next()
			_, err := wintar.WriteBackupStreamFromTarFile(io.Discard, st, hdr)
			if !errors.Is(err, backupstream.ErrMissingBytes) {
				t.Fatalf("error %v, want ErrMissingBytes", err)
			}
		})
	}
}

// TestStreamPAXErrorText: a malformed base64 or SDDL record is reported by
// its key and value.
func TestStreamPAXErrorText(t *testing.T) {
	for _, tc := range []struct {
		pax  map[string]string
		want string
	}{
		{map[string]string{wintar.PAXRawSD: "abc!"}, `MSWINDOWS.rawsd "abc!": not base64 (illegal base64 data at input byte 3)`},
		{map[string]string{wintar.PAXEAPrefix + "X": "%%%%"}, `MSWINDOWS.xattr.X "%%%%": not base64 (illegal base64 data at input byte 0)`},
		{map[string]string{wintar.PAXRawSD: strings.Repeat("A", 100) + "!"}, `MSWINDOWS.rawsd "` + strings.Repeat("A", 64) + `...": not base64 (illegal base64 data at input byte 100)`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, _, err := streamFromTar(t, reg("Files/a", "", tc.pax))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %q, want %q", err, tc.want)
			}
		})
	}
}

// goWinioText is err as go-winio words it: a PAX error by its cause.
func goWinioText(err error) string {
	var pe *wintar.PAXError
	if errors.As(err, &pe) && pe.Err != nil {
		return pe.Err.Error()
	}
	return err.Error()
}
