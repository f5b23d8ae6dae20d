package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	lt "github.com/winlayer/winlayer/layer/layertest"
	"github.com/winlayer/winlayer/wintar"
)

// snapshot lists every path under dir with its type and size.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel+" "+fi.Mode().String()+" "+string(rune('0'+fi.Size()%10)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestBreakouts imports hostile tars: each must fail with an error that
// names the offending entry, write nothing outside the layer directory,
// and leave the store exactly as it was.
func TestBreakouts(t *testing.T) {
	cases := []struct {
		name    string
		tar     []byte
		entry   string // the entry the error must name
		wantErr error
	}{
		{"dotdot", lt.Tar(lt.Dir("Files"), lt.File("../escape.txt", []byte("x"))), "../escape.txt", wintar.ErrUnsafeName},
		{"dotdot inside", lt.Tar(lt.Dir("Files"), lt.File("Files/../../escape.txt", []byte("x"))), "Files/../../escape.txt", wintar.ErrUnsafeName},
		{"absolute", lt.Tar(lt.File("/abs.txt", []byte("x"))), "/abs.txt", wintar.ErrUnsafeName},
		{"drive letter", lt.Tar(lt.File("C:/Windows/x", []byte("x"))), "C:/Windows/x", wintar.ErrUnsafeName},
		{"backslash", lt.Tar(lt.Dir("Files"), lt.File(`Files/a\..\..\x`, []byte("x"))), `Files/a\..\..\x`, wintar.ErrUnsafeName},
		{"outside roots", lt.Tar(lt.File("Other/x", []byte("x"))), "Other/x", wintar.ErrUnsafeName},
		{"through symlink", lt.Tar(lt.Dir("Files"), lt.Entry{Name: "Files/link", Type: tar.TypeSymlink, Link: "/tmp"},
			lt.File("Files/link/x", []byte("x"))), "Files/link/x", ErrInvalidEntry},
		{"through junction", lt.Tar(lt.Dir("Files"), lt.Entry{Name: "Files/j", Type: tar.TypeSymlink, Link: `C:\`,
			PAX: map[string]string{"MSWINDOWS.mountpoint": "1", "MSWINDOWS.fileattr": "1040"}},
			lt.File("Files/j/x", []byte("x"))), "Files/j/x", ErrInvalidEntry},
		{"beneath a file", lt.Tar(lt.Dir("Files"), lt.File("Files/f", []byte("x")), lt.File("Files/f/x", []byte("x"))), "Files/f/x", ErrInvalidEntry},
		{"hard link escape", lt.Tar(lt.Dir("Files"), lt.Entry{Name: "Files/h", Type: tar.TypeLink, Link: "../../etc/passwd"}), "Files/h", wintar.ErrUnsafeName},
		{"hard link absolute", lt.Tar(lt.Dir("Files"), lt.Entry{Name: "Files/h", Type: tar.TypeLink, Link: "/etc/passwd"}), "Files/h", wintar.ErrUnsafeName},
		{"hard link to nothing", lt.Tar(lt.Dir("Files"), lt.Entry{Name: "Files/h", Type: tar.TypeLink, Link: "Files/none"}), "Files/h", ErrInvalidEntry},
		{"hard link to dir", lt.Tar(lt.Dir("Files"), lt.Dir("Files/d"), lt.Entry{Name: "Files/h", Type: tar.TypeLink, Link: "Files/d"}), "Files/h", ErrInvalidEntry},
		{"duplicate", lt.Tar(lt.Dir("Files"), lt.File("Files/a", []byte("1")), lt.File("Files/a", []byte("2"))), "Files/a", ErrInvalidEntry},
		{"case collision", lt.Tar(lt.Dir("Files"), lt.File("Files/a.txt", []byte("1")), lt.File("Files/A.TXT", []byte("2"))), "Files/A.TXT", ErrInvalidEntry},
		{"whiteout of own entry", lt.Tar(lt.Dir("Files"), lt.File("Files/a", []byte("1")), lt.Entry{Name: "Files/.wh.a", NoMeta: true}), "Files/.wh.a", ErrInvalidEntry},
		{"whiteout of root", lt.Tar(lt.Entry{Name: ".wh.Files", NoMeta: true}), ".wh.Files", wintar.ErrUnsafeName},
		{"whiteout escape", lt.Tar(lt.Entry{Name: "Files/../.wh.x", NoMeta: true}), "Files/../.wh.x", wintar.ErrUnsafeName},
		{"stream name escape", lt.Tar(lt.Dir("Files"), lt.File("Files/a", []byte("1")), lt.File("Files/a:x/../../y", []byte("2"))), "Files/a", nil},
		{"orphan stream", lt.Tar(lt.Dir("Files"), lt.File("Files/a", []byte("1")), lt.File("Files/b", []byte("1")), lt.File("Files/a:s", []byte("2"))), "Files/a:s", wintar.ErrOrphanStream},
		{"fifo", lt.Tar(lt.Dir("Files"), lt.Entry{Name: "Files/fifo", Type: tar.TypeFifo}), "Files/fifo", wintar.ErrUnsupportedType},
		{"device", lt.Tar(lt.Dir("Files"), lt.Entry{Name: "Files/dev", Type: tar.TypeChar}), "Files/dev", wintar.ErrUnsupportedType},
		{"bad fileattr", lt.Tar(lt.Entry{Name: "Files", Type: tar.TypeDir, PAX: map[string]string{"MSWINDOWS.fileattr": "0x10"}}), "Files", nil},
		{"bad rawsd", lt.Tar(lt.Dir("Files"), lt.Entry{Name: "Files/a", Type: tar.TypeReg, PAX: map[string]string{"MSWINDOWS.rawsd": "!!"}}), "Files/a", nil},
		{"truncated at a block boundary", lt.Tar(lt.Dir("Files"), lt.File("Files/a", bytes.Repeat([]byte("x"), 5000)))[:2560], "", ErrTruncated},
		{"truncated in data", lt.Tar(lt.Dir("Files"), lt.File("Files/a", bytes.Repeat([]byte("x"), 5000)))[:4000], "Files/a", nil},
		{"truncated after data", lt.Tar(lt.Dir("Files"), lt.File("Files/a", bytes.Repeat([]byte("x"), 5000)))[:3072+5120], "", ErrTruncated},
	}
	outside := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			home := filepath.Join(outside, "store-"+strings.ReplaceAll(tc.name, " ", "-"))
			s, err := Open(home)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Import(context.Background(), "base", nil, bytes.NewReader(lt.Tar(lt.Dir("Files"), lt.File("Files/keep.txt", []byte("keep"))))); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, home)
			beforeOutside := snapshot(t, outside)
			_, err = s.Import(context.Background(), "evil", []string{s.Dir("base")}, bytes.NewReader(tc.tar))
			if err == nil {
				t.Fatal("hostile tar imported without error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), "evil") || !strings.Contains(err.Error(), strings.ReplaceAll(tc.entry, `\`, `\\`)) {
				t.Errorf("error %q does not name the layer and the entry %q", err, tc.entry)
			}
			if after := snapshot(t, home); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Errorf("store changed:\nbefore %v\nafter  %v", before, after)
			}
			if after := snapshot(t, outside); len(after) != len(beforeOutside) {
				t.Errorf("something was written outside the store: %d paths, had %d", len(after), len(beforeOutside))
			}
			if s.Exists("evil") {
				t.Error("failed layer exists")
			}
		})
	}
}

// TestImportExistingID refuses to import over an existing layer.
func TestImportExistingID(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	in := lt.Tar(lt.Dir("Files"))
	if _, err := s.Import(context.Background(), "a", nil, bytes.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(context.Background(), "a", nil, bytes.NewReader(in)); !errors.Is(err, ErrExists) {
		t.Fatalf("second import: %v, want ErrExists", err)
	}
	for _, id := range []string{"", "../x", "a/b", "-x", "x-removing", strings.Repeat("a", 129), ".staging"} {
		if _, err := s.Import(context.Background(), id, nil, bytes.NewReader(in)); !errors.Is(err, ErrInvalidID) {
			t.Errorf("import %q: %v, want ErrInvalidID", id, err)
		}
	}
}
