package oidc

import (
	"errors"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/fuzzseed"
)

// FuzzVerify: any string offered as an OIDC token is peeked at and
// verified against a real RS256 key served as a JWKS over HTTP. Seeds are
// correctly signed tokens (one per claim dropped or retyped), tokens
// signed by another key or with another kid, and the tests' strings.
// Verification must refuse with an *Error or accept only a token whose
// signature is the real key's.
func FuzzVerify(f *testing.F) {
	e := newEnv(f)
	a, b := keys(f)
	base := baseClaims()
	f.Add(sign(f, a, "k1", base))
	f.Add(sign(f, b, "k1", base))
	f.Add(sign(f, a, "k2", base))
	f.Add(sign(f, a, "", base))
	for k := range base {
		c := baseClaims()
		delete(c, k)
		f.Add(sign(f, a, "k1", c))
		c = baseClaims()
		c[k] = map[string]any{"x": []any{1.5, nil, true}}
		f.Add(sign(f, a, "k1", c))
	}
	for _, s := range fuzzseed.Strings(f, "oidc_test.go") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var err error
		fuzzseed.Within(t, 10*time.Second, raw, func() {
			if u, perr := Peek(raw); perr == nil {
				_, err = e.v.VerifyPeeked(raw, u, e.iss, "pypi")
			} else {
				_, err = e.v.Verify(raw, e.iss, "pypi")
			}
		})
		var oe *Error
		if err != nil && (!errors.As(err, &oe) || oe.Reason == "") {
			t.Fatalf("%q: %v is not an *oidc.Error with a reason", raw, err)
		}
	})
}
