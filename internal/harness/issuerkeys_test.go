package harness

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fakepypi/fakepypi/internal/issuer"
)

// TestIssuerKeysKeptWithCA: a second start on the same Dir reuses the
// issuer's keys from Dir/ca (the same kids, no RSA key generation); a
// seeded issuer does not touch the file.
func TestIssuerKeysKeptWithCA(t *testing.T) {
	dir := t.TempDir()
	kids := func(opts Options) []string {
		t.Helper()
		opts.Dir = dir
		h, err := Start(opts)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		return h.Issuer().KeyIDs()
	}
	first := kids(Options{})
	path := filepath.Join(dir, "ca", IssuerKeyFile)
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v", path, st, err)
	}
	if second := kids(Options{}); !slices.Equal(first, second) {
		t.Fatalf("kids changed across starts: %v then %v", first, second)
	}
	before, _ := os.ReadFile(path)
	if seeded := kids(Options{Issuer: issuer.Config{Seed: "s"}}); slices.Equal(seeded, first) {
		t.Fatal("a seeded issuer used the kept keys")
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("a seeded issuer rewrote the key file")
	}
}
