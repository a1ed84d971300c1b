package index

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"github.com/fakepypi/fakepypi/internal/controlplane"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/oidc"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testIssuer serves discovery + JWKS for one RSA key and signs tokens.
type testIssuer struct {
	srv     *httptest.Server
	key     *rsa.PrivateKey
	kid     string
	fetches atomic.Int32
}

var sharedKey *rsa.PrivateKey

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	if sharedKey == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		sharedKey = k
	}
	ti := &testIssuer{key: sharedKey, kid: "test-kid-1"}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"jwks_uri": ti.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		ti.fetches.Add(1)
		pub := jose.JSONWebKey{Key: &ti.key.PublicKey, KeyID: ti.kid, Algorithm: "RS256", Use: "sig"}
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	})
	ti.srv = httptest.NewServer(mux)
	t.Cleanup(ti.srv.Close)
	return ti
}

// sign returns an RS256 JWT with the given claims (kid set).
func (ti *testIssuer) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	return ti.signWith(t, claims, ti.kid, ti.key)
}

func (ti *testIssuer) signWith(t *testing.T, claims map[string]any, kid string, key *rsa.PrivateKey) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := sig.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsigned builds a JWT with an arbitrary header (alg none/HS256 tests).
func unsigned(header, claims map[string]any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(c) + "." + enc([]byte("signature"))
}

// githubClaims is a realistic GitHub Actions claim set for
// octo-org/sampleproject's release.yml at refs/tags/v1.0.
func githubClaims(jti string) map[string]any {
	now := t0.Unix()
	return map[string]any{
		"iss": oidc.GitHubIssuer, "aud": "pypi", "iat": now, "nbf": now - 5, "exp": now + 300, "jti": jti,
		"sub":              "repo:octo-org/sampleproject:ref:refs/tags/v1.0",
		"repository":       "octo-org/sampleproject",
		"repository_owner": "octo-org", "repository_owner_id": "1001",
		"workflow_ref":     "octo-org/sampleproject/.github/workflows/release.yml@refs/tags/v1.0",
		"job_workflow_ref": "octo-org/sampleproject/.github/workflows/release.yml@refs/tags/v1.0",
		"ref":              "refs/tags/v1.0", "sha": "0123456789abcdef0123456789abcdef01234567",
		"event_name": "push", "ref_type": "tag", "actor": "octocat", "actor_id": "1",
	}
}

const testSetup = `
audience: pypi
users:
  - name: alice
  - name: bob
    two_factor: false
projects:
  - name: sampleproject
    owners: [alice]
  - name: other-project
    owners: [bob]
publishers:
  - service: github
    owner: octo-org
    owner_id: "1001"
    repository: sampleproject
    workflow_filename: release.yml
    projects: [sampleproject]
tokens:
  - name: alice-all
    user: alice
  - name: alice-sample
    user: alice
    projects: [sampleproject]
`

// newTestServer starts an index whose four canonical issuers discover
// keys at ti, with the test setup and a fake clock at t0.
func newTestServer(t *testing.T, ti *testIssuer, setup string) (*Server, *clock.Fake) {
	t.Helper()
	f, err := indexconfig.Parse("test.yaml", []byte(setup))
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range oidc.Services {
		f.Issuers = append(f.Issuers, oidc.Issuer{URL: oidc.CanonicalIssuer(svc), Service: svc, Discovery: ti.srv.URL})
	}
	clk := clock.NewFake(t0)
	s, err := New(Config{Setup: *f, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

// do sends a request to the handler and returns status and body.
func do(t *testing.T, h http.Handler, method, path, body string) (int, string, http.Header) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if controlplane.IsControlPath(req.URL.Path) {
		req.Host = "localhost" // httptest's example.com may not reach /_fake/
	}
	jsonWrite(req)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b), rec.Result().Header
}

// jsonWrite labels a control-plane write as JSON, as the control plane
// requires (internal/controlplane).
func jsonWrite(req *http.Request) {
	if controlplane.IsControlPath(req.URL.Path) && req.Method != http.MethodGet && req.Method != http.MethodHead &&
		req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
}

func mintBody(tok string) string {
	b, _ := json.Marshal(map[string]string{"token": tok})
	return string(b)
}

// wantError is PyPI's 422 envelope, byte for byte: warehouse/oidc/views.py
// _invalid through the json renderer (warehouse/config.py: sort_keys,
// separators (",", ":")).
func wantError(code, desc string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // json.dumps leaves <, > and & alone
	enc.Encode(desc)
	return `{"errors":[{"code":"` + code + `","description":` + strings.TrimSuffix(b.String(), "\n") + `}],"message":"Token request failed"}`
}

func newOtherKey(t *testing.T) (*rsa.PrivateKey, error) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k, nil
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
