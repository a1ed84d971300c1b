package testenv

import (
	"fmt"
	"os"
	"syscall"
	"testing"
)

// SmallDisk mounts a tmpfs of size bytes on a new temporary directory and
// returns it; the test's cleanup unmounts it. It is how tests meet a full
// disk for real. Mounting needs root (CAP_SYS_ADMIN): elsewhere the test
// skips, or fails under CI=true, where .ci/run runs as root.
func SmallDisk(t testing.TB, size int64) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		Unavailable(t, fmt.Sprintf("mounting a %d-byte tmpfs needs root: %v", size, err))
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
		os.Remove(dir)
	})
	return dir
}
