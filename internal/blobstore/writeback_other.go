//go:build !linux

package blobstore

import "os"

// startWriteback does nothing where sync_file_range does not exist; the
// final fsync writes everything.
func startWriteback(f *os.File, off, n int64) {}
