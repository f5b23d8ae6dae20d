//go:build linux

package moby

import (
	"os"
	"testing"

	"github.com/containerd/log"
	"github.com/docker/docker/daemon/graphdriver/graphtest"

	"github.com/winlayer/winlayer/driver"
)

// TestMain serves ApplyDiff's re-executed child before running the tests
// and benchmarks.
func TestMain(m *testing.M) {
	if driver.ReexecInit() {
		return
	}
	// graphdriver.New logs "[graphdriver] trying configured driver" at
	// info level for every driver; in benchmarks that is once a round,
	// interleaved with the result lines.
	_ = log.SetLevel("warn")
	os.Exit(m.Run())
}

// As in moby's overlay2 tests, one driver is shared by the tests between
// TestWindowsfilterSetup and TestWindowsfilterTeardown: keep new tests
// between the two.
func TestWindowsfilterSetup(t *testing.T) {
	if d := graphtest.GetDriver(t, DriverName); d.String() != DriverName {
		t.Fatalf("graphtest holds driver %q, want %q", d.String(), DriverName)
	}
}

func TestWindowsfilterCreateEmpty(t *testing.T) {
	graphtest.DriverTestCreateEmpty(t, DriverName)
}

func TestWindowsfilterCreateBase(t *testing.T) {
	graphtest.DriverTestCreateBase(t, DriverName)
}

func TestWindowsfilterCreateSnap(t *testing.T) {
	graphtest.DriverTestCreateSnap(t, DriverName)
}

func TestWindowsfilter128LayerRead(t *testing.T) {
	graphtest.DriverTestDeepLayerRead(t, 128, DriverName)
}

func TestWindowsfilterDiffApply10Files(t *testing.T) {
	graphtest.DriverTestDiffApply(t, 10, DriverName)
}

func TestWindowsfilterChanges(t *testing.T) {
	graphtest.DriverTestChanges(t, DriverName)
}

func TestWindowsfilterSetQuota(t *testing.T) {
	graphtest.DriverTestSetQuota(t, DriverName, true)
}

func TestWindowsfilterTeardown(t *testing.T) {
	graphtest.PutDriver(t)
}
