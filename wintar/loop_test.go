package wintar_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/wintar"
)

func importTar(t *testing.T, b []byte, w wintar.LayerWriter, opts ...wintar.ImportOption) (int64, error) {
	t.Helper()
	opts = append([]wintar.ImportOption{wintar.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	return wintar.Import(context.Background(), tar.NewReader(bytes.NewReader(b)), w, opts...)
}

// TestImportCalls: the calls of the import loop for each kind of entry,
// and the total it returns.
func TestImportCalls(t *testing.T) {
	b := makeTar(t,
		dir("Files", nil),
		reg("Files/a.txt", "hello", nil),
		reg("Files/a.txt:s", "stream-not-counted", nil),
		dir("Files/trailing/", nil),
		whiteout("Files/dir/.wh.gone.txt"),
		whiteout("Files/dir/.wh..wh..opq"),
		whiteout("Files/.wh."),
		whiteout(".wh.Files"),
		dir("Files/.wh.dir", nil), // a whiteout whatever its type
		link("Files/hard", "Files/a.txt"),
		link("Files/.wh.link", "Files/a.txt"), // the whiteout test runs first
		symlink("Files/sym", "a.txt", nil),
		reg("Files/b.txt", "0123456789", nil),
		reg("Files/a.txt:orphan", "orphan counted", nil),
		reg("Files/back\\slash", "", nil),
		typed("Files/fifo", tar.TypeFifo),
		reg("Hives/System_Delta", "hive", nil),
	)
	rec := &recorder{}
	total, err := importTar(t, b, rec)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range rec.calls {
		got = append(got, c.String())
	}
	stream := func(parts ...part) string {
		return "(" + strconv.Itoa(len(streamOf(t, parts...))) + " stream bytes)"
	}
	want := []string{
		`add Files (0 stream bytes)`,
		`add Files\a.txt ` + stream(part{id: backupstream.StreamData, data: "hello"}, part{id: backupstream.StreamAlternateData, name: ":s:$DATA", data: "stream-not-counted"}),
		`add Files\trailing\ (0 stream bytes)`,
		`remove Files\dir\gone.txt`,
		`remove Files\dir\.wh..opq`,
		`remove Files`,
		`remove Files`,
		`remove Files\dir`,
		`link Files\hard -> Files\a.txt`,
		`remove Files\link`,
		`add Files\sym ` + stream(part{id: backupstream.StreamReparseData, data: string(backupstream.EncodeReparsePoint(&backupstream.ReparsePoint{Target: "a.txt"}))}),
		`add Files\b.txt ` + stream(part{id: backupstream.StreamData, data: "0123456789"}),
		`add Files\a.txt:orphan ` + stream(part{id: backupstream.StreamData, data: "orphan counted"}),
		`add Files\back\slash ` + stream(part{id: backupstream.StreamData}),
		`add Files\fifo (0 stream bytes)`,
		`add Hives\System_Delta ` + stream(part{id: backupstream.StreamData, data: "hive"}),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("calls\n got %q\nwant %q", got, want)
	}
	if wantTotal := int64(len("hello") + len("0123456789") + len("orphan counted") + len("hive")); total != wantTotal {
		t.Errorf("total %d, want %d (regular files added, not attached streams)", total, wantTotal)
	}
}

func TestImportEmpty(t *testing.T) {
	rec := &recorder{}
	total, err := importTar(t, makeTar(t), rec)
	if err != nil || total != 0 || len(rec.calls) != 0 {
		t.Fatalf("empty tar: %d, %v, %v", total, err, rec.calls)
	}
	total, err = importTar(t, nil, rec)
	if err != nil || total != 0 {
		t.Fatalf("zero bytes: %d, %v", total, err)
	}
}

// TestImportEntryError: each failing step gives an *EntryError naming the
// step, the entry and its index (counting every header, attached streams
// included).
func TestImportEntryError(t *testing.T) {
	errLayer := errors.New("layer writer failed")
	failOn := func(op, name string) func(string, string) error {
		return func(o, n string) error {
			if o == op && n == name {
				return errLayer
			}
			return nil
		}
	}
	base := []entry{
		reg("Files/a", "a", nil),    // 0
		reg("Files/a:s1", "1", nil), // 1
		reg("Files/a:s2", "2", nil), // 2
		whiteout("Files/.wh.x"),     // 3
		link("Files/l", "Files/a"),  // 4
		dir("Files/d", nil),         // 5
		reg("Files/d/f", "f", nil),  // 6
	}
	with := func(extra ...entry) []byte { return makeTar(t, append(append([]entry{}, base...), extra...)...) }
	for _, tc := range []struct {
		name      string
		tar       []byte
		fail      func(string, string) error
		wantOp    string
		wantName  string
		wantIndex int
		wantIs    error
		wantTotal int64 // files written in full before the failure
	}{
		{"bad fileattr", with(reg("Files/bad", "", map[string]string{wintar.PAXFileAttr: "0x20"})), nil, "FileInfoFromHeader", "Files/bad", 7, strconv.ErrSyntax, 2},
		{"bad creation time", with(reg("Files/bad", "", map[string]string{wintar.PAXCreationTime: "12.3x"})), nil, "FileInfoFromHeader", "Files/bad", 7, tar.ErrHeader, 2},
		{"bad rawsd", with(dir("Files/bad", map[string]string{wintar.PAXRawSD: "!"})), nil, "WriteBackupStreamFromTarFile", "Files/bad", 7, nil, 2},
		{"EA too long", with(reg("Files/bad", "", map[string]string{wintar.PAXEAPrefix + string(bytes.Repeat([]byte("n"), 300)): ""})), nil, "WriteBackupStreamFromTarFile", "Files/bad", 7, backupstream.ErrEANameTooLarge, 2},
		{"Add fails", with(), failOn("add", `Files\d\f`), "Add", "Files/d/f", 6, errLayer, 1},
		{"Add fails on the first entry", with(), failOn("add", `Files\a`), "Add", "Files/a", 0, errLayer, 0},
		{"Write fails", with(), failOn("write", `Files\d\f`), "WriteBackupStreamFromTarFile", "Files/d/f", 6, errLayer, 1},
		{"Remove fails", with(), failOn("remove", `Files\x`), "Remove", "Files/.wh.x", 3, errLayer, 1},
		{"AddLink fails", with(), failOn("link", `Files\l`), "AddLink", "Files/l", 4, errLayer, 1},
		{"truncated content", with(reg("Files/big", string(make([]byte, 2000)), nil))[:len(with())-1024+512+1000], nil, "WriteBackupStreamFromTarFile", "Files/big", 7, io.ErrUnexpectedEOF, 2},
		{"unreadable first header", bytes.Repeat([]byte{'x'}, 512), nil, "read", "", 0, tar.ErrHeader, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{fail: tc.fail}
			total, err := importTar(t, tc.tar, rec)
			var ee *wintar.EntryError
			if !errors.As(err, &ee) {
				t.Fatalf("error %v (%T), want *EntryError", err, err)
			}
			if ee.Op != tc.wantOp || ee.Name != tc.wantName || ee.Index != tc.wantIndex {
				t.Errorf("EntryError{Op: %q, Name: %q, Index: %d}, want {%q, %q, %d}", ee.Op, ee.Name, ee.Index, tc.wantOp, tc.wantName, tc.wantIndex)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			if total != tc.wantTotal {
				t.Errorf("total %d, want %d", total, tc.wantTotal)
			}
		})
	}
}

// TestImportReadErrorIndex: a header that cannot be read after a whiteout
// is reported with the index it would have had.
func TestImportReadErrorIndex(t *testing.T) {
	b := makeTar(t, whiteout("Files/.wh.a"), whiteout("Files/.wh.b"))
	b = append(b[:1024], bytes.Repeat([]byte{'x'}, 512)...)
	_, err := importTar(t, b, &recorder{})
	var ee *wintar.EntryError
	if !errors.As(err, &ee) || ee.Op != "read" || ee.Index != 2 || !errors.Is(err, tar.ErrHeader) {
		t.Fatalf("error %v, want read error at index 2", err)
	}
	if want := `entry 2 (after "Files/.wh.b"): reading the tar header: archive/tar: invalid tar header`; err.Error() != want {
		t.Errorf("text %q, want %q", err, want)
	}
}

func TestEntryErrorText(t *testing.T) {
	err := &wintar.EntryError{Op: wintar.OpFileInfo, Name: "Files/a", Index: 3, Err: errors.New("boom")}
	if want := `entry 3 "Files/a": boom`; err.Error() != want {
		t.Errorf("%q, want %q", err, want)
	}
	if want := `FileInfoFromHeader: boom`; err.GoWinioText() != want {
		t.Errorf("go-winio text %q, want %q", err.GoWinioText(), want)
	}
}

// cancelWriter cancels its context when a given file is added.
type cancelWriter struct {
	recorder
	at     string
	cancel context.CancelFunc
}

func (c *cancelWriter) Add(name string, info *backupstream.FileBasicInfo) error {
	if name == c.at {
		c.cancel()
	}
	return c.recorder.Add(name, info)
}

// TestImportCancel: the context is checked before every entry; the entry
// being written when it is cancelled completes, no later one starts.
func TestImportCancel(t *testing.T) {
	b := makeTar(t, reg("Files/a", "a", nil), reg("Files/a:s", "s", nil), reg("Files/b", "bb", nil), reg("Files/c", "c", nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &cancelWriter{at: `Files\a`, cancel: cancel}
	total, err := wintar.Import(ctx, tar.NewReader(bytes.NewReader(b)), w)
	var ee *wintar.EntryError
	if !errors.As(err, &ee) || !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled in an EntryError", err)
	}
	if ee.Name != "Files/b" || ee.Index != 2 {
		t.Errorf("cancelled at %q index %d, want Files/b index 2", ee.Name, ee.Index)
	}
	if len(w.calls) != 1 || total != 1 {
		t.Errorf("calls %v total %d, want only Files\\a (1 byte)", w.calls, total)
	}
	if parts, err := parseStream(w.calls[0].stream); err != nil || len(parts) != 2 {
		t.Errorf("the entry in progress was not completed: %v %v", parts, err)
	}

	// Already cancelled: nothing is called.
	w2 := &recorder{}
	if _, err := wintar.Import(ctx, tar.NewReader(bytes.NewReader(b)), w2); !errors.Is(err, context.Canceled) || len(w2.calls) != 0 {
		t.Errorf("cancelled before start: %v, calls %v", err, w2.calls)
	}
}

// TestBCDBackupName: only the four exact names.
func TestBCDBackupName(t *testing.T) {
	for name, want := range map[string]string{
		"UtilityVM/Files/EFI/Microsoft/Boot/BCD":      "bcd.bak",
		"UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG":  "bcd.log.bak",
		"UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG1": "bcd.log1.bak",
		"UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG2": "bcd.log2.bak",
		"UtilityVM/Files/EFI/Microsoft/Boot/bcd":      "",
		"UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG3": "",
		`UtilityVM\Files\EFI\Microsoft\Boot\BCD`:      "",
		"Files/EFI/Microsoft/Boot/BCD":                "",
	} {
		got, ok := wintar.BCDBackupName(name)
		if got != want || ok != (want != "") {
			t.Errorf("BCDBackupName(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

// TestImportErrorNamesItsEntry: an error is reported on the entry where it
// happened: a damaged header after a file is the next entry (before, the
// file was named), a truncated alternate data stream is that stream.
func TestImportErrorNamesItsEntry(t *testing.T) {
	twoFiles := makeTar(t, reg("Files/a", "aaaa", nil), reg("Files/b", "bbbb", nil))
	bigFile := makeTar(t, reg("Files/a", strings.Repeat("a", 600), nil))
	withADS := makeTar(t, reg("Files/a", "aaaa", nil), reg("Files/a:s", strings.Repeat("s", 600), nil))
	// Each header is one block (no PAX) plus one payload block.
	damaged := append([]byte(nil), twoFiles...)
	copy(damaged[1024:1024+512], bytes.Repeat([]byte{'x'}, 512))
	for _, tc := range []struct {
		name, want string
		tar        []byte
		wantIndex  int
		wantName   string
	}{
		{"damaged header after a file", `entry 1 (after "Files/a"): reading the tar header: archive/tar: invalid tar header`, damaged, 1, ""},
		{"cut inside a stream's payload", `entry 1 "Files/a:s": unexpected EOF`, withADS[:1024+512+100], 1, "Files/a:s"},
		{"cut inside a file's payload", `entry 0 "Files/a": unexpected EOF`, bigFile[:612], 0, "Files/a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := importTar(t, tc.tar, &recorder{})
			var ee *wintar.EntryError
			if !errors.As(err, &ee) || ee.Index != tc.wantIndex || ee.Name != tc.wantName {
				t.Fatalf("error %#v, want index %d name %q", err, tc.wantIndex, tc.wantName)
			}
			if err.Error() != tc.want {
				t.Errorf("error %q, want %q", err, tc.want)
			}
		})
	}
}
