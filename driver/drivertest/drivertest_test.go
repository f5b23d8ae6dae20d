package drivertest

import (
	"bytes"
	"os"
	"runtime"
	"testing"

	"github.com/winlayer/winlayer/driver"
)

func TestMain(m *testing.M) {
	if driver.ReexecInit() {
		return
	}
	os.Exit(m.Run())
}

// TestFake runs the suite through FakeMounter: the driver's logic, as any
// user.
func TestFake(t *testing.T) {
	Suite(t, func(t *testing.T, home string) *driver.Driver {
		d, err := driver.New(home, nil, driver.WithMounter(NewFakeMounter()))
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

// TestPlatform runs the suite with the platform's own mounter (overlayfs
// and loop devices on Linux), which needs root.
func TestPlatform(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the platform mounter is tested on Linux only here")
	}
	if os.Geteuid() != 0 {
		t.Skip("overlay mounts need root")
	}
	if b, err := os.ReadFile("/proc/filesystems"); err != nil || !bytes.Contains(b, []byte("overlay")) {
		t.Skip("kernel has no overlayfs")
	}
	Suite(t, func(t *testing.T, home string) *driver.Driver {
		d, err := driver.New(home, nil)
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}
