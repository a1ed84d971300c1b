package blobstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks Linux to start writing n bytes of f at off to disk
// now (sync_file_range with SYNC_FILE_RANGE_WRITE returns at once). The
// kernel would otherwise keep a large upload in the page cache until the
// final fsync (background writeback starts only past a share of memory),
// and that fsync would then write the whole file while the client waits.
// Durability still comes from the fsync: this only moves work earlier.
// Errors are ignored for the same reason.
func startWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}
