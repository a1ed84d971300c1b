//go:build !linux

package testenv

import "testing"

// SmallDisk needs Linux's tmpfs; elsewhere the test skips (or fails under
// CI=true).
func SmallDisk(t testing.TB, size int64) string {
	t.Helper()
	Unavailable(t, "a small disk needs Linux's tmpfs")
	return ""
}
