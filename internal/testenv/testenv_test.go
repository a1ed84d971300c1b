package testenv

import (
	"strings"
	"sync"
	"testing"
)

func TestSlowEnabled(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("FAKEPYPI_SLOW", "")
	if SlowEnabled() {
		t.Fatal("slow tests enabled with neither CI nor FAKEPYPI_SLOW")
	}
	t.Setenv("FAKEPYPI_SLOW", "1")
	if !SlowEnabled() {
		t.Fatal("FAKEPYPI_SLOW=1 did not enable slow tests")
	}
	t.Setenv("FAKEPYPI_SLOW", "")
	t.Setenv("CI", "true")
	if !SlowEnabled() || !OnCI() {
		t.Fatal("CI=true did not enable slow tests")
	}
}

func TestNeedCommandFindsSh(t *testing.T) {
	if p := NeedCommand(t, "sh", "a POSIX shell"); p == "" {
		t.Fatal("empty path for sh")
	}
}

// TestLogBufferConcurrent: writers on other goroutines and a reader at the
// same time (run with -race to see the lock matter); every write arrives.
func TestLogBufferConcurrent(t *testing.T) {
	var l LogBuffer
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				l.Write([]byte("x"))
			}
		})
	}
	for range 10 {
		_ = l.String()
	}
	wg.Wait()
	if got := l.String(); got != strings.Repeat("x", 400) {
		t.Fatalf("got %d bytes %q, want 400 x", len(got), got)
	}
}
