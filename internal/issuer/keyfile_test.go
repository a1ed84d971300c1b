package issuer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// TestKeyFile: random keys kept in a key file come back on the next
// start (same kids, so tokens of the first run still verify), the file
// is completed when more keys are asked for, is private to its owner,
// and a damaged file is refused with its name rather than replaced.
func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "issuer-keys.pem")
	a, err := New(Config{KeyFile: path})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	tok, err := a.Token(t.Context(), "pypi")
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{KeyFile: path})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.KeyIDs(), b.KeyIDs()) {
		t.Fatalf("kids changed across restarts: %v then %v", a.KeyIDs(), b.KeyIDs())
	}
	if ka, kb := a.keys.active(), b.keys.active(); !ka.priv.Equal(kb.priv) || ka.x5t != kb.x5t {
		t.Fatal("the key read back differs from the one written")
	}
	// The second server's JWKS verifies the first one's token.
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jws.Verify(&b.keys.active().priv.PublicKey); err != nil {
		t.Fatalf("the restarted issuer's key does not verify the first run's token: %v", err)
	}

	// Two keys: the first is kept, one is added and written.
	c, err := New(Config{KeyFile: path, Keys: 2})
	if err != nil {
		t.Fatal(err)
	}
	if ids := c.KeyIDs(); len(ids) != 2 || ids[0] != a.KeyIDs()[0] {
		t.Fatalf("Keys: 2 gave %v, first should be %v", ids, a.KeyIDs())
	}
	d, _ := New(Config{KeyFile: path, Keys: 2})
	if !slices.Equal(c.KeyIDs(), d.KeyIDs()) {
		t.Fatalf("second key not kept: %v then %v", c.KeyIDs(), d.KeyIDs())
	}
	// Asking for fewer keys uses the first ones and leaves the file alone.
	e, _ := New(Config{KeyFile: path})
	if ids := e.KeyIDs(); len(ids) != 1 || ids[0] != a.KeyIDs()[0] {
		t.Fatalf("Keys: 1 after 2 gave %v", ids)
	}

	// A seed wins over the file, which is not touched.
	before, _ := os.ReadFile(path)
	s, err := New(Config{KeyFile: path, Seed: "x"})
	if err != nil || slices.Contains(s.KeyIDs(), a.KeyIDs()[0]) {
		t.Fatalf("seeded server used the key file: %v %v", s.KeyIDs(), err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("a seeded server rewrote the key file")
	}

	for name, content := range map[string]string{
		"garbage":    "not pem at all",
		"no cert":    strings.SplitAfter(string(before), "-----END RSA PRIVATE KEY-----\n")[0],
		"wrong type": "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
	} {
		bad := filepath.Join(t.TempDir(), "bad.pem")
		os.WriteFile(bad, []byte(content), 0o600)
		if _, err := New(Config{KeyFile: bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s: err = %v, want one naming the file", name, err)
		}
	}
	// A certificate that belongs to another key is refused too.
	other := filepath.Join(t.TempDir(), "other.pem")
	if _, err := New(Config{KeyFile: other}); err != nil {
		t.Fatal(err)
	}
	o, _ := os.ReadFile(other)
	keyA := strings.SplitAfter(string(before), "-----END RSA PRIVATE KEY-----\n")[0]
	certO := "-----BEGIN CERTIFICATE-----" + strings.Split(string(o), "-----BEGIN CERTIFICATE-----")[1]
	mixed := filepath.Join(t.TempDir(), "mixed.pem")
	os.WriteFile(mixed, []byte(keyA+certO), 0o600)
	if _, err := New(Config{KeyFile: mixed}); err == nil || !strings.Contains(err.Error(), "not for the key") {
		t.Errorf("mismatched certificate: err = %v", err)
	}
}
