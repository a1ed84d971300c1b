package upload_test

import (
	"os"
	"testing"

	"github.com/fakepypi/fakepypi/internal/testenv"
	"golang.org/x/sys/unix"
)

// fsImmutableFL is FS_IMMUTABLE_FL of linux/fs.h.
const fsImmutableFL = 0x10

// setImmutable sets or clears a file's immutable attribute (chattr +i),
// which makes every write fail, even root's. It needs root and a
// filesystem with attributes (ext4, xfs, btrfs).
func setImmutable(t *testing.T, path string, on bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		testenv.Unavailable(t, "file attributes: "+err.Error())
	}
	if on {
		flags |= fsImmutableFL
	} else {
		flags &^= fsImmutableFL
	}
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags)); err != nil {
		testenv.Unavailable(t, "chattr +i needs root: "+err.Error())
	}
}
