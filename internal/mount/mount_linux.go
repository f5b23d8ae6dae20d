package mount

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Overlay mounts an overlay at target: lowers (nearest first) below
// upper, with work as overlayfs' work directory. With upper == "" the
// view is read-only (lowers alone). The new mount API's "lowerdir+" takes
// one layer per call, so the one-page limit of mount(2) data does not
// bound the chain; kernels without it fall back to mount(2).
func Overlay(target string, lowers []string, upper, work string) error {
	if len(lowers) == 0 {
		return errors.New("overlay: no lower directory")
	}
	err := overlayNewAPI(target, lowers, upper, work)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
		return err
	}
	opts := "lowerdir=" + strings.Join(escape(lowers), ":")
	if upper != "" {
		opts += ",upperdir=" + upper + ",workdir=" + work
	}
	if len(opts) >= os.Getpagesize() {
		return fmt.Errorf("overlay: %d layers do not fit in mount data and the kernel lacks lowerdir+: %w", len(lowers), err)
	}
	if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay at %s: %w", target, err)
	}
	return nil
}

func escape(dirs []string) []string {
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[i] = strings.NewReplacer(`\`, `\\`, ":", `\:`, ",", `\,`).Replace(d)
	}
	return out
}

func overlayNewAPI(target string, lowers []string, upper, work string) error {
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for _, l := range lowers {
		if err := unix.FsconfigSetString(fd, "lowerdir+", l); err != nil {
			return fmt.Errorf("overlay lowerdir+ %s: %w", l, err)
		}
	}
	if upper != "" {
		if err := unix.FsconfigSetString(fd, "upperdir", upper); err != nil {
			return fmt.Errorf("overlay upperdir %s: %w", upper, err)
		}
		if err := unix.FsconfigSetString(fd, "workdir", work); err != nil {
			return fmt.Errorf("overlay workdir %s: %w", work, err)
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("overlay create: %w", err)
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("overlay fsmount: %w", err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("overlay move_mount to %s: %w", target, err)
	}
	return nil
}

// Unmount unmounts target, detaching it lazily if it is busy. A target
// that is not mounted is not an error.
func Unmount(target string) error {
	err := unix.Unmount(target, 0)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(target, unix.MNT_DETACH)
	}
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("unmount %s: %w", target, err)
	}
	return nil
}

// IsMounted reports whether target is a mount point (it has another
// device than its parent directory, or /proc/self/mountinfo lists it).
func IsMounted(target string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && unescapeMountinfo(f[4]) == target {
			return true
		}
	}
	return false
}

func unescapeMountinfo(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// FormatSandbox creates a sparse ext4 image of size bytes at image (a new
// file) holding an empty directory Files (mode 0755): the Linux
// counterpart of a sandbox.vhdx, whose size is a hard limit (writes past
// it fail with ENOSPC). Needs mkfs.ext4 (ErrNotSupported without), not
// root.
func FormatSandbox(image string, size int64) error {
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		return fmt.Errorf("sandbox: mkfs.ext4 not found: %w", ErrNotSupported)
	}
	f, err := os.OpenFile(image, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(image)
		return err
	}
	// The file system's content comes from a directory (-d): Files, made
	// here rather than written into the mounted file system afterwards.
	root, err := os.MkdirTemp(filepath.Dir(image), ".sandbox-root-")
	if err != nil {
		os.Remove(image)
		return err
	}
	defer os.RemoveAll(root)
	if err := os.Chmod(root, 0o755); err != nil {
		os.Remove(image)
		return err
	}
	if err := os.Mkdir(filepath.Join(root, "Files"), 0o755); err != nil {
		os.Remove(image)
		return err
	}
	out, err := exec.Command(mkfs, "-q", "-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1", "-d", root, image).CombinedOutput()
	if err != nil {
		os.Remove(image)
		return fmt.Errorf("sandbox: mkfs.ext4: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Sandbox mounts the sandbox image at target through a loop device,
// formatting it first (size bytes) if it is missing. A target already
// mounted is left as it is. Needs root (ErrNotSupported without).
func Sandbox(image, target string, size int64) error {
	if _, err := os.Stat(image); errors.Is(err, os.ErrNotExist) {
		if err := FormatSandbox(image, size); err != nil {
			return err
		}
	}
	if IsMounted(target) {
		return nil
	}
	out, err := exec.Command("mount", "-o", "loop,nosuid,nodev", image, target).CombinedOutput()
	if err != nil {
		if os.Geteuid() != 0 {
			return fmt.Errorf("sandbox: mount needs root: %w", ErrNotSupported)
		}
		return fmt.Errorf("sandbox: mount %s: %v: %s", image, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// GrowSandbox grows a sandbox image to size bytes (never shrinks) and its
// file system: online when the kernel allows it, else offline — the
// sandbox is unmounted, checked, resized and mounted again, so nothing may
// be using it (no view mounted over it).
func GrowSandbox(image, target string, size int64) error {
	fi, err := os.Stat(image)
	if err != nil {
		return err
	}
	if fi.Size() >= size {
		return nil
	}
	if err := os.Truncate(image, size); err != nil {
		return err
	}
	if dev, err := loopDevice(image); err == nil {
		if out, err := exec.Command("losetup", "-c", dev).CombinedOutput(); err != nil {
			return fmt.Errorf("sandbox: losetup -c: %v: %s", err, out)
		}
		if exec.Command("resize2fs", dev).Run() == nil && fsSize(target) >= size*9/10 {
			return nil
		}
	}
	if err := Unmount(target); err != nil {
		return err
	}
	if out, err := exec.Command("e2fsck", "-f", "-y", image).CombinedOutput(); err != nil && !isFsckFixed(err) {
		return fmt.Errorf("sandbox: e2fsck: %v: %s", err, strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("resize2fs", image).CombinedOutput(); err != nil {
		return fmt.Errorf("sandbox: resize2fs: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return Sandbox(image, target, size)
}

// isFsckFixed reports e2fsck's exit status 1: errors found and corrected.
func isFsckFixed(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == 1
}

// fsSize returns the size in bytes of the file system mounted at target.
func fsSize(target string) int64 {
	var st unix.Statfs_t
	if unix.Statfs(target, &st) != nil {
		return 0
	}
	return int64(st.Blocks) * st.Bsize
}

func loopDevice(image string) (string, error) {
	out, err := exec.Command("losetup", "-j", image).Output()
	if err != nil {
		return "", err
	}
	dev, _, ok := strings.Cut(string(out), ":")
	if !ok {
		return "", fmt.Errorf("sandbox: %s is not attached to a loop device", image)
	}
	return dev, nil
}
