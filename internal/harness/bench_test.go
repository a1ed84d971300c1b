package harness

import (
	"testing"
)

// BenchmarkStart starts and stops the whole harness (CA, issuer, PyPI,
// TestPyPI, proxy) on a data directory that already exists, as a second
// `fakeindex up` does. The target (issue 14) is ready in < 50 ms median.
func BenchmarkStart(b *testing.B) {
	dir := b.TempDir()
	h, err := Start(Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	h.Close()
	for b.Loop() {
		h, err := Start(Options{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		h.Close()
	}
}
