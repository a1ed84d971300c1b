package trust

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/fuzzseed"
	"github.com/fakepypi/fakepypi/internal/oidc"
)

// FuzzMint runs the whole mint-token pipeline on any body: the pydantic
// payload, the JWT (header, payload, signature checked against the
// fixture issuer's real RSA key fetched over HTTP), the claims, the
// publisher matching. Seeds are validly signed tokens, each with one
// claim changed or dropped, and the payload tests' strings. Every answer
// must be a success with a token, or a 422 in PyPI's codes; a 500 only
// where PyPI raises too (it records why).
func FuzzMint(f *testing.F) {
	fx := newFixture(f)
	good := ghClaims("fuzz-jti")
	f.Add(body(sign(f, good)))
	for k := range good {
		c := ghClaims("fuzz-" + k)
		delete(c, k)
		f.Add(body(sign(f, c)))
		c = ghClaims("fuzz-x-" + k)
		c[k] = []any{1, "two", nil}
		f.Add(body(sign(f, c)))
	}
	gl := ghClaims("gl")
	gl["iss"] = oidc.CanonicalIssuer(oidc.GitLab)
	f.Add(body(sign(f, gl)))
	enc := base64.RawURLEncoding.EncodeToString
	f.Add(body(enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(`{"iss":"https://token.actions.githubusercontent.com"}`)) + "."))
	for _, s := range fuzzseed.Strings(f, "trust_test.go") {
		f.Add([]byte(s))
	}
	codes := map[string]bool{CodeInvalidPayload: true, CodeNotEnabled: true, CodeInvalidToken: true,
		CodeInvalidPendingPublisher: true, CodeInvalidPublisher: true, CodeInvalidReuseToken: true}
	f.Fuzz(func(t *testing.T, b []byte) {
		var res Result
		fuzzseed.Within(t, 10*time.Second, len(b), func() { res = fx.x.Mint(b) })
		switch {
		case res.Internal:
			if res.Event.Why == "" {
				t.Fatal("a 500 without a reason")
			}
		case res.Code != "":
			if !codes[res.Code] || res.Description == "" {
				t.Fatalf("refusal %q %q", res.Code, res.Description)
			}
		default:
			if !strings.HasPrefix(res.Token, "pypi-") || res.Expires == 0 {
				t.Fatalf("success without a token: %+v", res)
			}
		}
		if _, err := json.Marshal(res.Event); err != nil {
			t.Fatalf("event does not marshal: %v", err)
		}
	})
}

// FuzzPayload: the pydantic emulation alone, on any body: it returns a
// token or a validation error, never both, never neither.
func FuzzPayload(f *testing.F) {
	for _, s := range fuzzseed.Strings(f, "trust_test.go") {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, perr := parsePayload(b)
		if perr != "" && tok != "" {
			t.Fatalf("both a token %q and an error %q", tok, perr)
		}
		if perr != "" && !strings.HasPrefix(perr, "1 validation error for TokenPayload\n") {
			t.Fatalf("error not in pydantic's shape: %q", perr)
		}
	})
}
