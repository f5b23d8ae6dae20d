package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func gzipOf(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func zstdOf(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, err := zstd.NewWriter(&out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// plainTar is a tar of regular files with the given names and contents.
func plainTar(t *testing.T, files ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for i := 0; i+1 < len(files); i += 2 {
		if err := tw.WriteHeader(&tar.Header{Name: files[i], Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[i+1]))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[i+1]))
	}
	tw.Close()
	return b.Bytes()
}

// dotDirTar is plainTar's files after a "./" directory entry, as
// 'tar -C DIR -cf x.tar .' writes them.
func dotDirTar(t *testing.T, files ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	tw.Flush()
	b.Write(plainTar(t, files...))
	return b.Bytes()
}

// storeSnapshot lists every path under dir with its size.
func storeSnapshot(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, _ := d.Info()
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel+" "+fi.Mode().String())
		return nil
	})
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// TestImportInputErrors: what a user may feed import by mistake is refused
// with an error that says what the input is or which record is wrong, in
// words and not Go function names, and the store is left as it was.
// Before: "unexpected EOF" for a truncated .tar.gz, a gzip stream without
// its trailer imported, "invalid tar header" for zstd or random data,
// "FileInfoFromHeader: strconv.ParseUint: ..." for a bad record.
func TestImportInputErrors(t *testing.T) {
	sample := readFile(t, "sample.tar")
	gz := gzipOf(t, sample)
	badCRC := append([]byte(nil), gz...)
	badCRC[len(badCRC)-8] ^= 0xff
	zs := zstdOf(t, sample)
	random := bytes.Repeat([]byte{0x93, 0x11, 0xee, 0x07}, 1024)
	for _, tc := range []struct {
		name, want string
		in         []byte
	}{
		{"truncated gzip", "truncated gzip stream", gz[:len(gz)/2]},
		{"gzip without its trailer", "truncated gzip stream", gz[:len(gz)-8]},
		{"gzip with a wrong CRC", "gzip stream: the CRC-32 or size in its trailer does not match the data", badCRC},
		{"truncated zstd", "truncated zstd stream", zs[:len(zs)-10]},
		{"bzip2", "not a tar: the input is bzip2-compressed", append([]byte("BZh91AY&SY"), random...)},
		{"random data", "not a tar: the input is neither a tar nor a compressed tar", random},
		{"empty", "not a tar: the input is empty", nil},
		{"docker-save archive", "this looks like a docker-save archive", plainTar(t, "manifest.json", "[]", "repositories", "{}")},
		{"OCI layout", "this looks like an OCI image layout", plainTar(t, "oci-layout", "{}", "index.json", "{}")},
		{"Linux layer", "entries outside Files/, Hives/, UtilityVM/: this looks like a Linux layer", plainTar(t, "etc/passwd", "root:x:0:0::/root:/bin/sh\n")},
		// tar -C layout -cf x.tar . (was called a Linux layer)
		{"OCI layout tarred whole", "this looks like a directory tarred whole (tar -C DIR .): a Linux layer, or an OCI image layout or docker-save archive tarred up", dotDirTar(t, "./oci-layout", "{}")},
		{"bad fileattr", `entry 0 "Files/f.txt": MSWINDOWS.fileattr "0x20": not a decimal number`, readFile(t, "errors/bad-fileattr.tar")},
		{"bad creation time", `entry 0 "Files/f.txt": LIBARCHIVE.creationtime "12.3x": not a PAX time`, readFile(t, "errors/bad-creationtime.tar")},
		{"bad rawsd base64", `entry 0 "Files/f.txt": MSWINDOWS.rawsd "not base64!": not base64`, readFile(t, "errors/bad-rawsd.tar")},
		{"empty rawsd", `MSWINDOWS.rawsd "": empty security descriptor`, readFile(t, "errors/empty-rawsd.tar")},
		{"rawsd that is no descriptor", `MSWINDOWS.rawsd "UkFX": not a valid security descriptor: descriptor is 3 bytes`, readFile(t, "errors/rawsd-and-sd.tar")},
		{"bad SDDL", `MSWINDOWS.sd "this is not SDDL": not SDDL`, readFile(t, "errors/bad-sddl.tar")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := t.TempDir()
			if _, errOut, code := run(t, readFile(t, "sample.rebuilt.tar"), "--store", store, "import", "base"); code != 0 {
				t.Fatalf("import base: %s", errOut)
			}
			before := storeSnapshot(t, store)
			_, errOut, code := run(t, tc.in, "--store", store, "import", "x")
			if code != 1 || !strings.Contains(errOut, tc.want) || !strings.HasPrefix(errOut, "winlayer: import x: ") {
				t.Fatalf("code %d, stderr %q; want 1 and %q", code, errOut, tc.want)
			}
			for _, internal := range []string{"FileInfoFromHeader", "WriteBackupStreamFromTarFile", "strconv.", "import x: import x:"} {
				if strings.Contains(errOut, internal) {
					t.Errorf("stderr %q shows %q", errOut, internal)
				}
			}
			if after := storeSnapshot(t, store); after != before {
				t.Errorf("store changed:\nbefore\n%s\nafter\n%s", before, after)
			}
		})
	}
}

// TestImportCompressed: gzip and zstd input import as the tar inside them,
// with the same DiffID (the uncompressed tar's).
func TestImportCompressed(t *testing.T) {
	sample := readFile(t, "sample.rebuilt.tar")
	store := t.TempDir()
	var want string
	for _, tc := range []struct {
		name string
		in   []byte
	}{{"plain", sample}, {"gzip", gzipOf(t, sample)}, {"zstd", zstdOf(t, sample)}} {
		out, errOut, code := run(t, tc.in, "--store", store, "import", "--json", tc.name)
		if code != 0 {
			t.Fatalf("%s: %d %s", tc.name, code, errOut)
		}
		i := strings.Index(out, `"diff_id"`)
		if i < 0 {
			t.Fatalf("%s: no diff_id in %q", tc.name, out)
		}
		got := out[i : i+len(`"diff_id": "sha256:`)+64]
		if want == "" {
			want = got
		} else if got != want {
			t.Errorf("%s: %s, want %s", tc.name, got, want)
		}
		if exp, _, code := run(t, nil, "--store", store, "export", tc.name); code != 0 || exp != string(sample) {
			t.Errorf("%s: export is not the tar inside", tc.name)
		}
	}
}

// TestErrorMessages: other messages a user reads: no doubled prefix, the
// bad character of an id as typed with the allowed ones.
func TestErrorMessages(t *testing.T) {
	store := t.TempDir()
	if _, errOut, code := run(t, readFile(t, "sample.rebuilt.tar"), "--store", store, "import", "app"); code != 0 {
		t.Fatal(errOut)
	}
	// Damage a file so that export's checksum fails.
	target := filepath.Join(store, "app", "Files", "hello.txt")
	b, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if err := os.WriteFile(target, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args       []string
		want, deny string
	}{
		{[]string{"export", "app"}, `winlayer: export app: file integrity checksum failed for "Files/hello.txt"`, "export app: export app:"},
		{[]string{"import", "a€b"}, `"a€b": character 2 is '€' (U+20AC) (an id is letters A-Z a-z, digits 0-9 and _ . -, starting with a letter or digit): invalid layer id`, "â"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, errOut, code := run(t, nil, append([]string{"--store", store}, tc.args...)...)
			if code == 0 || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, tc.deny) {
				t.Errorf("code %d, stderr %q; want %q and no %q", code, errOut, tc.want, tc.deny)
			}
		})
	}
}

// TestRecordsDumpCompressed: records dump reads gzip and zstd input as the
// tar inside (before, gzip was "invalid tar header").
func TestRecordsDumpCompressed(t *testing.T) {
	sample := readFile(t, "sample.tar")
	want, errOut, code := run(t, sample, "records", "dump")
	if code != 0 {
		t.Fatal(errOut)
	}
	for name, in := range map[string][]byte{"gzip": gzipOf(t, sample), "zstd": zstdOf(t, sample)} {
		got, errOut, code := run(t, in, "records", "dump")
		if code != 0 || got != want {
			t.Errorf("%s: code %d, stderr %q, records differ: %v", name, code, errOut, got != want)
		}
	}
	gz := gzipOf(t, sample)
	if _, errOut, code := run(t, gz[:len(gz)-8], "records", "dump"); code != 1 || !strings.Contains(errOut, "truncated gzip stream") {
		t.Errorf("gzip without its trailer: code %d, stderr %q", code, errOut)
	}
}

// TestRecordsBuildErrorText: the error line says what is wrong without the
// exporter's Go function name, which stays in the JSON error record (the
// shape of go-winio's .stderr vectors).
func TestRecordsBuildErrorText(t *testing.T) {
	_, errOut, code := run(t, readFile(t, "errors/size-mismatch.jsonl"), "records", "build")
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	last := lines[len(lines)-1]
	if code != 1 || !strings.HasPrefix(last, `winlayer: records build: record 0 "Files\\m.txt": `) || strings.Contains(last, "WriteTarFileFromBackupStream") {
		t.Errorf("code %d, error line %q", code, last)
	}
	if !strings.Contains(lines[0], `"error":"WriteTarFileFromBackupStream: `) {
		t.Errorf("error record %q lost go-winio's wording", lines[0])
	}
}
