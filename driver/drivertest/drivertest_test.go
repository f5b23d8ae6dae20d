package drivertest

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"strings"
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

// TestMountCalls: nested Gets mount once, the last Put unmounts once, a
// failed mount leaves no reference (the next Get mounts again), and a
// failing sandbox format leaves no layer.
func TestMountCalls(t *testing.T) {
	m := NewFakeMounter()
	d, err := driver.New(t.TempDir(), nil, driver.WithMounter(m))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Cleanup()
	for _, c := range [][2]string{{"base", ""}, {"l", "base"}} {
		if err := d.Create(c[0], c[1], nil); err != nil {
			t.Fatal(err)
		}
	}
	boom := errors.New("boom")
	m.FailOn("mount", boom)
	if _, err := d.Get("l", ""); !errors.Is(err, boom) || !strings.Contains(err.Error(), "l") {
		t.Fatalf("Get with a failing mounter: %v", err)
	}
	m.FailOn("mount", nil)
	for i := 0; i < 3; i++ {
		if _, err := d.Get("l", ""); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if err := d.Put("l"); err != nil {
			t.Fatal(err)
		}
	}
	want := "mount l rw|mount l rw|unmount l"
	if got := strings.Join(m.Calls(), "|"); got != want {
		t.Fatalf("calls %s, want %s", got, want)
	}
	if len(m.Mounted()) != 0 {
		t.Fatalf("still mounted: %v", m.Mounted())
	}
	m.FailOn("format", boom)
	if err := d.CreateReadWrite("sb", "base", nil); !errors.Is(err, boom) {
		t.Fatalf("CreateReadWrite with a failing format: %v", err)
	}
	if d.Exists("sb") {
		t.Fatal("a sandbox whose format failed exists")
	}
	m.FailOn("format", nil)
	m.FailOn("mount-sandbox", driver.ErrSizeLimitUnsupported)
	if err := d.CreateReadWrite("sb", "base", nil); !errors.Is(err, driver.ErrSizeLimitUnsupported) {
		t.Fatalf("CreateReadWrite with a failing sandbox mount: %v", err)
	}
	if d.Exists("sb") {
		t.Fatal("a sandbox that could not be mounted was kept")
	}
}
