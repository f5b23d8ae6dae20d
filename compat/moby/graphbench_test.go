//go:build linux

package moby

import (
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/docker/daemon/graphdriver"
	"github.com/docker/docker/daemon/graphdriver/graphtest"
	_ "github.com/docker/docker/daemon/graphdriver/overlay2" // registers "overlay2"
	"github.com/docker/docker/pkg/stringid"
	"golang.org/x/sys/unix"
)

// moby's graphbench benchmarks, with the parameters of moby's
// overlay2_test.go, for winlayer's windowsfilter and moby's overlay2 side
// by side: BenchmarkWindowsfilter/<name> and BenchmarkOverlay2/<name>.
//
// graphtest keeps one package-level driver and GetDriver hands out that one
// whatever the name asked for; each graphbench function takes a fresh
// driver with GetDriver and drops it with PutDriver, so the two drivers'
// benchmarks run one after the other and never share a driver.
func BenchmarkWindowsfilter(b *testing.B) { benchDriver(b, DriverName) }

func BenchmarkOverlay2(b *testing.B) { benchDriver(b, "overlay2") }

func benchDriver(b *testing.B, name string) {
	// Make sure no driver is left over (say from a test run without its
	// Teardown): GetDriver would return it instead of name.
	d := graphtest.GetDriver(b, name)
	got := d.String()
	graphtest.PutDriver(b)
	if got != name {
		b.Fatalf("graphtest holds driver %q, want %q", got, name)
	}

	run := func(sub string, f func(b *testing.B)) {
		b.Run(sub, func(b *testing.B) {
			// Each round of a sub-benchmark starts with the previous
			// round's driver home removed but its blocks not yet
			// discarded ("discard" mounts) nor its journal committed:
			// sync first, before the graphbench function (which resets
			// the timer after its setup) so that is not timed.
			unix.Sync()
			f(b)
		})
	}
	run("Exists", func(b *testing.B) { graphtest.DriverBenchExists(b, name) })
	run("GetEmpty", func(b *testing.B) { graphtest.DriverBenchGetEmpty(b, name) })
	run("DiffBase", func(b *testing.B) { graphtest.DriverBenchDiffBase(b, name) })
	run("DiffSmallUpper", func(b *testing.B) { graphtest.DriverBenchDiffN(b, 10, 10, name) })
	run("Diff10KFileUpper", func(b *testing.B) { graphtest.DriverBenchDiffN(b, 10, 10000, name) })
	run("Diff10KFilesBottom", func(b *testing.B) { graphtest.DriverBenchDiffN(b, 10000, 10, name) })
	run("DiffApply100", func(b *testing.B) { graphtest.DriverBenchDiffApplyN(b, 100, name) })
	run("Diff20Layers", func(b *testing.B) { graphtest.DriverBenchDeepLayerDiff(b, 20, name) })
	run("Read20Layers", func(b *testing.B) { graphtest.DriverBenchDeepLayerRead(b, 20, name) })

	// Not in graphbench: DiffN with the parent passed, Diff(upper, base).
	// graphbench's Diff(upper, "") makes overlay2 (whose native diff needs
	// the real parent) fall back to its naive diff, a tar of the whole
	// merged view; windowsfilter ignores parent and always exports the
	// layer's own files. With the parent both export only the upper layer.
	run("DiffSmallUpperWithParent", func(b *testing.B) { benchDiffWithParent(b, 10, 10, name) })
	run("Diff10KFileUpperWithParent", func(b *testing.B) { benchDiffWithParent(b, 10, 10000, name) })
	run("Diff10KFilesBottomWithParent", func(b *testing.B) { benchDiffWithParent(b, 10000, 10, name) })
}

// benchDiffWithParent is graphtest.DriverBenchDiffN with Diff(upper, base).
func benchDiffWithParent(b *testing.B, bottom, top int, name string) {
	driver := graphtest.GetDriver(b, name)
	defer graphtest.PutDriver(b)
	base, upper := stringid.GenerateRandomID(), stringid.GenerateRandomID()
	if err := driver.Create(base, "", nil); err != nil {
		b.Fatal(err)
	}
	if err := addManyFiles(driver, base, bottom, 3); err != nil {
		b.Fatal(err)
	}
	if err := driver.Create(upper, base, nil); err != nil {
		b.Fatal(err)
	}
	if err := addManyFiles(driver, upper, top, 6); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		arch, err := driver.Diff(upper, base)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, arch); err != nil {
			b.Fatalf("Error copying archive: %s", err)
		}
		arch.Close()
	}
}

// addManyFiles is graphtest's (unexported) addManyFiles: count files of 64
// bytes, 100 a directory.
func addManyFiles(drv graphdriver.Driver, layer string, count int, seed int64) error {
	root, err := drv.Get(layer, "")
	if err != nil {
		return err
	}
	defer drv.Put(layer)
	for i := 0; i < count; i += 100 {
		dir := filepath.Join(root, fmt.Sprintf("directory-%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for j := 0; i+j < count && j < 100; j++ {
			file := filepath.Join(dir, fmt.Sprintf("file-%d", i+j))
			if err := os.WriteFile(file, randomContent(64, seed+int64(i+j)), 0o755); err != nil {
				return err
			}
		}
	}
	return nil
}

// randomContent is graphtest's (unexported) randomContent.
func randomContent(size int, seed int64) []byte {
	s := rand.NewSource(seed)
	content := make([]byte, size)
	for i := 0; i < len(content); i += 7 {
		val := s.Int63()
		for j := 0; i+j < len(content) && j < 7; j++ {
			content[i+j] = byte(val)
			val >>= 8
		}
	}
	return content
}
