package wintar_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/wintar"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  bool
		ok   bool
	}{
		// Accepted.
		{"Files", false, true},
		{"Files", true, true},
		{"Files/", true, true},
		{"Hives/System_Delta", false, true},
		{"UtilityVM/Files/EFI/Microsoft/Boot/BCD", false, true},
		{"Files/a.txt", false, true},
		{"Files/dir/", true, true},
		{"Files/a.txt:stream", false, true},
		{"Files/a.txt:Zone.Identifier", false, true},
		{"Files/a.txt:s:$DATA", false, true},
		{"Files/.hidden", false, true},
		{"Files/...a", false, true},
		{"Files/.wh..wh..opq", false, true},
		{"Files/über/日本語", false, true},
		{"Files/a b", false, true},
		{"Files/a.txt:s.", false, true}, // the stream name may end with a dot

		// Refused.
		{"", false, false},
		{"..", false, false},
		{".", false, false},
		{"/abs", false, false},
		{"/Files/a", false, false},
		{"C:/x", false, false},
		{"C:", false, false},
		{"c:Files", false, false},
		{"Files/../x", false, false},
		{"Files/..", false, false},
		{"Files/a/..", true, false},
		{"Files/./x", false, false},
		{"Files/.", false, false},
		{"Files//x", false, false},
		{"Files/", false, false}, // trailing slash only for directories
		{"Files/dir//", true, false},
		{`Files/a\b`, false, false},
		{`Files\a`, false, false},
		{"Files/a\x00b", false, false},
		{"Files/a\nb", false, false},
		{"Files/a\x7f", false, false},
		{"Files/a<b", false, false},
		{"Files/a>b", false, false},
		{`Files/a"b`, false, false},
		{"Files/a|b", false, false},
		{"Files/a?b", false, false},
		{"Files/a*b", false, false},
		{"Other/x", false, false},
		{"files/x", false, false}, // roots are case-sensitive
		{"FILES", false, false},
		{"Filesx/a", false, false},
		{"x/Files/a", false, false},
		{"Files/a.", false, false},
		{"Files/a ", false, false},
		{"Files/dir./a", false, false},
		{"Files/a:b/c", false, false},  // ':' in a directory component
		{"Files/x:y./z", false, false}, // ... even when it ends with a dot
		{"Files/x:y /z", false, false}, // ... or a space
		{"Files/..:x", false, false},   // ".." with a stream
		{"Files/.:x", false, false},    // "." with a stream
		{"Files/a.:s", false, false},   // file part ends with a dot
		{"Files/a.txt:", false, false}, // empty stream name
		{"Files/:x", false, false},     // stream without a file
		{"Files:x", false, false},      // stream on a root
		{"Files:x/a", false, false},    // root with a stream as a directory
		{"UtilityVM:s", false, false},  // stream on a root
		{"Files/a/../../etc", false, false},
	} {
		err := wintar.ValidateName(tc.name, tc.dir)
		if tc.ok && err != nil {
			t.Errorf("ValidateName(%q, %v) = %v, want nil", tc.name, tc.dir, err)
		}
		if !tc.ok && !errors.Is(err, wintar.ErrUnsafeName) {
			t.Errorf("ValidateName(%q, %v) = %v, want ErrUnsafeName", tc.name, tc.dir, err)
		}
	}
}

// TestImportBreakouts: in strict mode every unsafe entry fails with an
// EntryError naming it, the LayerWriter never sees it, and the entries
// before it are imported; without strict mode the same tar passes (go-winio
// does not validate).
func TestImportBreakouts(t *testing.T) {
	ok := reg("Files/ok.txt", "ok", nil)
	for _, tc := range []struct {
		name     string
		bad      []entry // appended after ok; the first is the one refused
		wantErr  error
		lax      bool // go-winio's mode accepts the tar too
		nul      bool // archive/tar cannot carry the name
		attached bool // the bad entry is an ADS attached to ok.txt
	}{
		{"dotdot", []entry{reg("..", "x", nil)}, wintar.ErrUnsafeName, true, false, false},
		{"escape", []entry{reg("../escape.txt", "x", nil)}, wintar.ErrUnsafeName, true, false, false},
		{"absolute", []entry{reg("/abs.txt", "x", nil)}, wintar.ErrUnsafeName, true, false, false},
		{"drive letter", []entry{reg("C:/x", "x", nil)}, wintar.ErrUnsafeName, true, false, false},
		{"dotdot inside", []entry{reg("Files/../x", "x", nil)}, wintar.ErrUnsafeName, true, false, false},
		{"dotdot dir", []entry{dir("Files/..", nil)}, wintar.ErrUnsafeName, true, false, false},
		{"backslash", []entry{reg(`Files/a\b`, "x", nil)}, wintar.ErrUnsafeName, true, false, false},
		{"backslash dotdot", []entry{reg(`Files/..\..\x`, "x", nil)}, wintar.ErrUnsafeName, true, false, false},
		{"NUL", []entry{reg("Files/a\x00b", "x", nil)}, wintar.ErrUnsafeName, true, true, false},
		{"other root", []entry{reg("Other/x", "x", nil)}, wintar.ErrUnsafeName, true, false, false},
		{"double slash", []entry{reg("Files//x", "x", nil)}, wintar.ErrUnsafeName, true, false, false},
		{"dot component", []entry{reg("Files/./x", "x", nil)}, wintar.ErrUnsafeName, true, false, false},
		{"trailing dot", []entry{reg("Files/x.", "x", nil)}, wintar.ErrUnsafeName, true, false, false},
		{"colon in directory", []entry{reg("Files/a:b/c", "x", nil)}, wintar.ErrUnsafeName, true, false, false},
		{"colon in directory ending with a dot", []entry{reg("Files/a:b./c", "x", nil)}, wintar.ErrUnsafeName, true, false, false},
		{"hard link target escapes", []entry{link("Files/l", "../../etc/passwd")}, wintar.ErrUnsafeName, true, false, false},
		{"hard link target absolute", []entry{link("Files/l", "/etc/passwd")}, wintar.ErrUnsafeName, true, false, false},
		{"hard link target other root", []entry{link("Files/l", "Other/x")}, wintar.ErrUnsafeName, true, false, false},
		{"hard link name escapes", []entry{link("../l", "Files/ok.txt")}, wintar.ErrUnsafeName, true, false, false},
		{"hard link to a stream", []entry{link("Files/l", "Files/ok.txt:s")}, wintar.ErrUnsafeName, true, false, false},
		{"hard link named as a stream", []entry{link("Files/ok.txt:l", "Files/ok.txt")}, wintar.ErrUnsafeName, true, false, false},
		{"whiteout of Files", []entry{whiteout(".wh.Files")}, wintar.ErrUnsafeName, true, false, false},
		{"whiteout of Files via .wh.", []entry{whiteout("Files/.wh.")}, wintar.ErrUnsafeName, true, false, false},
		{"whiteout of Hives", []entry{whiteout(".wh.Hives")}, wintar.ErrUnsafeName, true, false, false},
		{"whiteout escaping", []entry{whiteout("Files/.wh...")}, wintar.ErrUnsafeName, true, false, false},
		{"whiteout outside roots", []entry{whiteout("../.wh.x")}, wintar.ErrUnsafeName, true, false, false},
		{"whiteout in other root", []entry{whiteout("Other/.wh.x")}, wintar.ErrUnsafeName, true, false, false},
		{"fifo", []entry{typed("Files/fifo", tar.TypeFifo)}, wintar.ErrUnsupportedType, true, false, false},
		{"char device", []entry{typed("Files/char", tar.TypeChar)}, wintar.ErrUnsupportedType, true, false, false},
		{"block device", []entry{typed("Files/block", tar.TypeBlock)}, wintar.ErrUnsupportedType, true, false, false},
		{"contiguous file", []entry{typed("Files/cont", tar.TypeCont)}, wintar.ErrUnsupportedType, true, false, false},
		{"old GNU sparse", []entry{{hdr: &tar.Header{Name: "Files/sparse", Typeflag: tar.TypeGNUSparse, Size: 0, Format: tar.FormatGNU}}}, wintar.ErrUnsupportedType, true, false, false},
		{"orphan stream", []entry{reg("Files/b.txt", "b", nil), reg("Files/ok.txt:s", "s", nil)}, wintar.ErrOrphanStream, true, false, false},
		{"stream as a directory", []entry{dir("Files/ok.txt:d/", nil)}, wintar.ErrOrphanStream, true, false, false},
		{"stream as a symlink", []entry{symlink("Files/s:x", "a", nil)}, wintar.ErrOrphanStream, true, false, false},
		// Attached streams are checked too: they never reach the loop.
		{"attached stream with a slash", []entry{reg("Files/ok.txt:x/../../../../y", "s", nil)}, wintar.ErrUnsafeName, true, false, true},
		{"attached stream with an empty name", []entry{reg("Files/ok.txt:", "s", nil)}, wintar.ErrUnsafeName, true, false, true},
		{"attached stream with a NUL", []entry{reg("Files/ok.txt:a\x00b", "s", nil)}, wintar.ErrUnsafeName, true, true, true},
		{"attached stream with a backslash", []entry{reg(`Files/ok.txt:a\..\..\b`, "s", nil)}, wintar.ErrUnsafeName, true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries := append([]entry{ok}, tc.bad...)
			entries = append(entries, reg("Files/after.txt", "after", nil))
			// A NUL cannot pass through archive/tar (its writer and reader
			// both refuse it); another TarReader may deliver one.
			sources := map[string]func() wintar.TarReader{
				"headers": func() wintar.TarReader { return newSliceTar(entries...) },
			}
			if !tc.nul {
				b := makeTar(t, entries...)
				sources["archive/tar"] = func() wintar.TarReader { return tar.NewReader(bytes.NewReader(b)) }
			}
			for src, open := range sources {
				rec := &recorder{}
				total, err := wintar.Import(context.Background(), open(), rec, wintar.WithStrictNames())
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("%s: error %v, want %v", src, err, tc.wantErr)
				}
				var ee *wintar.EntryError
				if !errors.As(err, &ee) || ee.Op != "validate" {
					t.Fatalf("%s: error %v, want an EntryError with Op validate", src, err)
				}
				bad := tc.bad[len(tc.bad)-1].hdr.Name
				if ee.Name != bad || ee.Index != len(tc.bad) {
					t.Errorf("%s: EntryError names %q index %d, want %q index %d", src, ee.Name, ee.Index, bad, len(tc.bad))
				}
				// Entries before the bad one are imported; an attached
				// stream fails its file, which then does not count.
				wantTotal := int64(len("ok")) + int64(len(tc.bad)-1)
				if tc.attached {
					wantTotal = 0
				}
				if rec.calls[0].name != `Files\ok.txt` || total != wantTotal {
					t.Errorf("%s: calls %v total %d, want Files\\ok.txt first and total %d", src, rec.calls, total, wantTotal)
				}
				for _, c := range rec.calls {
					if c.name == wintar.ToWindows(bad) || strings.Contains(c.name, "..") || c.name == "Files" || c.name == `Files\after.txt` {
						t.Errorf("%s: the LayerWriter saw %v", src, c)
					}
					parts, _ := parseStream(c.stream)
					for _, p := range parts {
						if p.name != "" && p.name != ":s:$DATA" {
							t.Errorf("%s: stream %q of %s was written", src, p.name, c.name)
						}
					}
				}
				if tc.lax {
					if _, err := wintar.Import(context.Background(), open(), &recorder{}); err != nil {
						t.Errorf("%s: go-winio mode refused the tar: %v", src, err)
					}
				}
			}
		})
	}
}

// TestImportStrictAccepts: strict mode passes well-formed layers unchanged
// and skips global PAX headers.
func TestImportStrictAccepts(t *testing.T) {
	b := makeTar(t,
		entry{hdr: &tar.Header{Name: "pax_global_header", Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "x"}}},
		dir("Files", nil),
		dir("Files/dir/", nil),
		reg("Files/a.txt", "a", nil),
		reg("Files/a.txt:stream", "s", nil),
		symlink("Files/abs", `C:\Windows`, nil), // symlink targets are not names in the layer
		symlink("Files/rel", `..\..\x`, nil),
		link("Files/l", "Files/a.txt"),
		whiteout("Files/.wh.gone"),
		whiteout("Files/dir/.wh..wh..opq"),
		dir("Hives", nil),
		reg("Hives/System_Delta", "h", nil),
		reg("UtilityVM/Files/EFI/Microsoft/Boot/BCD", "bcd", nil),
	)
	strict, lax := &recorder{}, &recorder{}
	n1, err := importTar(t, b, strict, wintar.WithStrictNames())
	if err != nil {
		t.Fatal(err)
	}
	n2, err := importTar(t, b, lax)
	if err != nil {
		t.Fatal(err)
	}
	if lax.calls[0].name != "pax_global_header" {
		t.Fatalf("go-winio mode should add the global header, got %v", lax.calls[0])
	}
	if len(strict.calls) != len(lax.calls)-1 || n1 != n2 {
		t.Fatalf("strict %v (%d), lax %v (%d)", strict.calls, n1, lax.calls, n2)
	}
	for i, c := range strict.calls {
		if c.String() != lax.calls[i+1].String() {
			t.Errorf("call %d: strict %v, lax %v", i, c, lax.calls[i+1])
		}
	}
}

// TestStrictSecurityDescriptor: in strict mode MSWINDOWS.rawsd is parsed
// before the entry is accepted: an empty or malformed descriptor is
// refused with an error naming the entry and the record (before, any
// bytes were passed on); go-winio mode still passes them on.
func TestStrictSecurityDescriptor(t *testing.T) {
	const good = "AQAEgBQAAAAkAAAAAAAAADAAAAABAgAAAAAABSAAAAAgAgAAAQEAAAAAAAUSAAAAAgAgAAEAAAAAABgA/wEfAAECAAAAAAAFIAAAACACAAA="
	damaged := "AQAEgBQAAAAkAAAAAAAAAMgAAAAB" + good[28:] // dacl offset 200
	for _, tc := range []struct {
		name, rawsd, want string
		lax               bool // go-winio mode accepts it
	}{
		{"empty", "", `entry 1 "Files/bad": MSWINDOWS.rawsd "": empty security descriptor (leave the record out for none)`, true},
		{"three bytes", "UkFX", `entry 1 "Files/bad": MSWINDOWS.rawsd "UkFX": not a valid security descriptor: descriptor is 3 bytes, shorter than the 20 byte header`, true},
		{"dacl out of bounds", damaged, `entry 1 "Files/bad": MSWINDOWS.rawsd "` + damaged[:64] + `...": not a valid security descriptor: dacl at offset 200: out of bounds of the 80 byte descriptor`, true},
		{"not base64", "abc!", `entry 1 "Files/bad": MSWINDOWS.rawsd "abc!": not base64 (illegal base64 data at input byte 3)`, false},
	} {
		for _, bad := range []entry{reg("Files/bad", "x", map[string]string{wintar.PAXRawSD: tc.rawsd}), dir("Files/bad", map[string]string{wintar.PAXRawSD: tc.rawsd})} {
			t.Run(tc.name+"/"+string(rune(bad.hdr.Typeflag)), func(t *testing.T) {
				b := makeTar(t, reg("Files/ok", "ok", map[string]string{wintar.PAXRawSD: good}), bad)
				rec := &recorder{}
				_, err := importTar(t, b, rec, wintar.WithStrictNames())
				want := tc.want
				if err == nil || err.Error() != want || !errors.Is(err, wintar.ErrInvalidPAX) {
					t.Fatalf("error %v\nwant %s", err, want)
				}
				for _, c := range rec.calls {
					if strings.HasPrefix(c.name, `Files\bad`) {
						t.Errorf("the LayerWriter saw %v", c)
					}
				}
				if _, err := importTar(t, b, &recorder{}); (err == nil) != tc.lax {
					t.Errorf("go-winio mode: error %v, want accepted: %v", err, tc.lax)
				}
			})
		}
	}
}
