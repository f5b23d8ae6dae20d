package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/winlayer/winlayer/layer"
)

// setPullPoint installs f as the pull's test point until the test ends.
func setPullPoint(t *testing.T, f func(where, id string)) {
	t.Helper()
	pullPoint.Store(&f)
	t.Cleanup(func() { pullPoint.Store(nil) })
}

// ageFiles sets the modification time of every file in dir two hours back,
// beyond staleTemp.
func ageFiles(t *testing.T, dir string) {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleTemp)
	for _, de := range des {
		if err := os.Chtimes(filepath.Join(dir, de.Name()), old, old); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRemoveDuringPull runs an image rm of another image at the points
// where a pull in flight has layers and blobs that no record names yet.
// The rm must never wait for the pull, must say it deferred the collection,
// and the pull must record an image whose layers and kept blobs are all
// there — or, when a layer it found present was removed by hand, fail
// naming it (layer.ErrNotExist) and record nothing.
func TestRemoveDuringPull(t *testing.T) {
	host := testRegistry(t)
	base := testLayerTars(51, 2)
	refA := pushTest(t, host, "race/a:1", testImage(t, "windows", "amd64", "10.0.20348.1", base, false)).String()
	refB := pushTest(t, host, "race/b:1", testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(52, 1), false)).String()
	refC := pushTest(t, host, "race/c:1", testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(53, 2), false)).String()
	refE := pushTest(t, host, "race/e:1", testImage(t, "windows", "amd64", "10.0.20348.1", append(slices.Clone(base), testLayerTars(54, 3)[2]), false)).String()

	// orphans leaves A's layers and kept blobs in the store, named by no
	// record and two hours old, as a pull that failed (or an image removed
	// during a pull) leaves them long before a retry.
	orphans := func(t *testing.T, s *Store) {
		pullOne(t, s, refA, PullOptions{})
		release, err := s.pullLease()
		if err != nil {
			t.Fatal(err)
		}
		if res, err := s.Remove(refA); err != nil || !res.Deferred {
			t.Fatalf("rm a during a pull: %+v, %v", res, err)
		}
		release()
		ageFiles(t, filepath.Join(s.home, blobsDir, "sha256"))
	}
	rmOther := func(t *testing.T, s *Store, name string) {
		res, err := s.Remove(name)
		if err != nil {
			t.Errorf("rm %s during the pull: %v", name, err)
			return
		}
		if !res.Deferred || res.Blobs != 0 || len(res.Layers) != 0 {
			t.Errorf("rm %s during the pull: %+v, want the collection deferred", name, res)
		}
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T, s *Store)
		pull    string
		at      string // the pull point
		during  func(t *testing.T, s *Store, id string)
		wantErr error // nil: the pull succeeds
	}{
		{
			name: "skipped layers' old blobs, rm before the record", prepare: orphans, pull: refA, at: "record",
			during: func(t *testing.T, s *Store, _ string) { rmOther(t, s, refB) },
		},
		{
			name: "skipped layers' old blobs, rm as a layer is found present", prepare: orphans, pull: refA, at: "present",
			during: func(t *testing.T, s *Store, _ string) { rmOther(t, s, refB) },
		},
		{
			name: "blob temp file idle for an hour", pull: refC, at: "blob",
			during: func(t *testing.T, s *Store, _ string) {
				ageFiles(t, filepath.Join(s.home, blobsDir, "tmp"))
				rmOther(t, s, refB)
			},
		},
		{
			name: "present layer's image removed", pull: refE, at: "present",
			prepare: func(t *testing.T, s *Store) { pullOne(t, s, refA, PullOptions{}) },
			during:  func(t *testing.T, s *Store, _ string) { rmOther(t, s, refA) },
		},
		{
			name: "present layer removed by hand", pull: refE, at: "present",
			prepare: func(t *testing.T, s *Store) { pullOne(t, s, refA, PullOptions{}) },
			during: func(t *testing.T, s *Store, id string) {
				if _, err := s.Remove(refA); err != nil {
					t.Error(err)
				}
				if err := s.layers.Remove(context.Background(), id); err != nil {
					t.Errorf("remove layer %s by hand: %v", id, err)
				}
			},
			wantErr: layer.ErrNotExist,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			pullOne(t, s, refB, PullOptions{})
			if tc.prepare != nil {
				tc.prepare(t, s)
			}
			var once sync.Once
			setPullPoint(t, func(where, id string) {
				if where == tc.at {
					// The last present layer for "present": the top of A.
					if where == "present" && id != lastPresentID(tc.pull, refE, base) {
						return
					}
					once.Do(func() { tc.during(t, s, id) })
				}
			})
			loc, err := ParseLocation(tc.pull)
			if err != nil {
				t.Fatal(err)
			}
			rs, err := s.Pull(context.Background(), loc, Config{}, PullOptions{})
			pullPoint.Store(nil)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("pull: %v, want %v", err, tc.wantErr)
				}
				if _, err := s.Lookup(tc.pull); !errors.Is(err, ErrNoImage) {
					t.Errorf("after the failed pull, Lookup: %v, want ErrNoImage", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("pull: %v", err)
			}
			r := rs[0]
			for _, d := range []string{r.ManifestDigest, r.ConfigDigest} {
				if !s.hasBlob(mustHash(d)) {
					t.Errorf("blob %s of the pulled image missing", d)
				}
			}
			for i, l := range r.Layers {
				if !s.layers.Exists(l.ID) {
					t.Errorf("layer %d %s of the pulled image missing", i, l.ID)
				}
				if !s.hasBlob(mustHash(l.Digest)) {
					t.Errorf("kept blob of layer %d (%s) missing: push would recompress it", i, l.Digest)
				}
			}
			// Once no pull runs, a collection takes what the deferred one left
			// and nothing the pulled image needs.
			res, err := s.Collect()
			if err != nil || res.Deferred {
				t.Fatalf("collect after the pull: %+v, %v", res, err)
			}
			for _, l := range r.Layers {
				if !s.layers.Exists(l.ID) || !s.hasBlob(mustHash(l.Digest)) {
					t.Errorf("collect took layer %s or its blob, which the pulled image uses", l.ID)
				}
			}
		})
	}
}

// lastPresentID is the id of the layer the "present" cases act on: the top
// of the shared base when pulling refE, else the base.
func lastPresentID(pull, refE string, base [][]byte) string {
	diffIDs := make([]v1.Hash, len(base))
	for i, b := range base {
		diffIDs[i] = sha256Of(b)
	}
	ids := ChainIDs(diffIDs)
	if pull == refE {
		return ids[len(ids)-1].Hex
	}
	return ids[0].Hex
}
