package image

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/winlayer/winlayer/internal/atomicfile"
	"github.com/winlayer/winlayer/internal/directio"
)

// ErrDigestMismatch is returned when content does not hash to the digest
// its descriptor names (a corrupt or tampered download).
var ErrDigestMismatch = errors.New("digest mismatch")

// blobPath is where the blob of digest d lives: .blobs/sha256/<hex>.
func (s *Store) blobPath(d v1.Hash) string {
	return filepath.Join(s.home, blobsDir, d.Algorithm, d.Hex)
}

// hasBlob reports whether the blob of digest d is stored.
func (s *Store) hasBlob(d v1.Hash) bool {
	fi, err := os.Lstat(s.blobPath(d))
	return err == nil && fi.Mode().IsRegular()
}

// readBlob returns the stored blob of digest d.
func (s *Store) readBlob(d v1.Hash) ([]byte, error) {
	b, err := os.ReadFile(s.blobPath(d))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	return b, nil
}

// putBlob stores small content (a manifest, config or index) after
// checking that it hashes to d.
func (s *Store) putBlob(d v1.Hash, b []byte) error {
	w, err := s.newBlobWriter()
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		w.abort()
		return err
	}
	return w.commit(d)
}

// blobWriter writes a blob to a temporary file in .blobs/tmp/ and, once its
// digest is checked, renames it into place.
type blobWriter struct {
	s  *Store
	f  *os.File
	bw interface {
		io.Writer
		Close() error // writes what is buffered
	}
	h hash.Hash // nil: the caller hashes (see commitHashed)
	n int64
	// release drops the lock that keeps other pulls' sweeps off f.
	release func()
}

// bufWriter is a bufio.Writer whose Close flushes.
type bufWriter struct{ *bufio.Writer }

func (b bufWriter) Close() error { return b.Flush() }

func (s *Store) newBlobWriter() (*blobWriter, error) {
	tmp := filepath.Join(s.home, blobsDir, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	// The temporary files of killed pulls (and loads) go first: a running
	// one holds its file locked (see atomicfile.CreateTemp).
	f, release, err := atomicfile.CreateTemp(tmp, "blob-")
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	// Readable by all, like the rest of the store, so that other users'
	// read-only verbs (image save, push) can send the kept blobs.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		release()
		return nil, fmt.Errorf("blob store: %w", err)
	}
	return &blobWriter{s: s, f: f, bw: bufWriter{bufio.NewWriterSize(f, 256<<10)}, h: sha256.New(), release: release}, nil
}

// newHashedBlobWriter is a blobWriter for content its caller hashes
// already (a layer blob on its way to the import): commit it with
// commitHashed. A layer blob is large and read by nothing soon: it is
// written with O_DIRECT where the file system allows (see
// directio.StreamWriter), on a goroutine of its own, instead of being
// copied into the page cache and written back at the fsync.
func (s *Store) newHashedBlobWriter() (*blobWriter, error) {
	w, err := s.newBlobWriter()
	if err == nil {
		w.h = nil
		w.bw = directio.NewStreamWriter(w.f)
	}
	return w, err
}

// Write implements io.Writer.
func (w *blobWriter) Write(p []byte) (int, error) {
	n, err := w.bw.Write(p)
	if w.h != nil {
		w.h.Write(p[:n])
	}
	w.n += int64(n)
	return n, err
}

// commit checks the digest, flushes the file and renames it into place;
// on any error the temporary file is removed. A blob already stored (by a
// concurrent pull) is simply replaced by identical content.
func (w *blobWriter) commit(d v1.Hash) error {
	got := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(w.h.Sum(nil))}
	if got != d {
		w.abort()
		return fmt.Errorf("blob %s: %w: the content hashes to %s", d, ErrDigestMismatch, got)
	}
	return w.commitHashed(d)
}

// commitHashed is commit for content whose digest the caller checked.
func (w *blobWriter) commitHashed(d v1.Hash) error {
	defer w.release()
	err := w.bw.Close()
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	dst := w.s.blobPath(d)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(dst), 0o755)
	}
	if err == nil {
		err = os.Rename(w.f.Name(), dst)
	}
	if err != nil {
		os.Remove(w.f.Name())
		return fmt.Errorf("blob %s: %w", d, err)
	}
	return atomicfile.SyncDir(filepath.Dir(dst))
}

// abort drops the temporary file.
func (w *blobWriter) abort() {
	w.bw.Close()
	w.f.Close()
	os.Remove(w.f.Name())
	w.release()
}

// staleTemp is how long a temporary blob file must have been left alone
// before a garbage collection removes it: a pull in progress writes to its
// file all the time.
const staleTemp = time.Hour

// blobDigests lists the digests of the stored blobs.
func (s *Store) blobDigests() ([]v1.Hash, error) {
	des, err := os.ReadDir(filepath.Join(s.home, blobsDir, "sha256"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []v1.Hash
	for _, de := range des {
		if len(de.Name()) == 64 && isHex(de.Name()) && de.Type().IsRegular() {
			out = append(out, v1.Hash{Algorithm: "sha256", Hex: de.Name()})
		}
	}
	return out, nil
}

// removeStaleTemps removes the temporary blob files of dead writers (no
// lock on them; see atomicfile.CreateTemp) and those nobody wrote for
// staleTemp (where there is no flock).
func (s *Store) removeStaleTemps(now time.Time) error {
	dir := filepath.Join(s.home, blobsDir, "tmp")
	atomicfile.RemoveStale(dir, "blob-")
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, de := range des {
		if !strings.HasPrefix(de.Name(), "blob-") {
			continue
		}
		fi, err := de.Info()
		if err != nil || now.Sub(fi.ModTime()) < staleTemp {
			continue
		}
		if err := os.Remove(filepath.Join(dir, de.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sha256Of is the digest of b.
func sha256Of(b []byte) v1.Hash {
	h, _, _ := v1.SHA256(bytes.NewReader(b))
	return h
}

// bytesReader reads b.
func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
