package issuer

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// testSeed keeps keys deterministic and cached across the package's tests.
const testSeed = "issuer-tests"

func startTest(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Seed == "" {
		cfg.Seed = testSeed
	}
	return NewTestServer(t, cfg)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, body)
	}
}

// verifier checks tokens the way an index does: discovery, then jwks_uri,
// both over HTTP, then go-jose with RS256 only and Warehouse's rules.
type verifier struct {
	issuer string
	keys   jose.JSONWebKeySet
}

func discover(t *testing.T, discoveryURL string) verifier {
	t.Helper()
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, discoveryURL, &doc)
	var v verifier
	v.issuer = doc.Issuer
	getJSON(t, doc.JWKSURI, &v.keys)
	if len(v.keys.Keys) == 0 {
		t.Fatalf("empty JWKS at %s", doc.JWKSURI)
	}
	return v
}

var errAudienceNotString = errors.New("aud is not a single string")

// verify returns the claims of a valid token, or why it is not valid.
func (v verifier) verify(raw, audience string) (map[string]any, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var std jwt.Claims
	var all map[string]any
	if err := tok.Claims(&v.keys, &std, &all); err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	// Warehouse verifies with strict_aud: one JSON string (warehouse/oidc/services.py).
	if _, ok := all["aud"].(string); !ok {
		return nil, errAudienceNotString
	}
	err = std.ValidateWithLeeway(jwt.Expected{Issuer: v.issuer, AnyAudience: jwt.Audience{audience}, Time: time.Now()}, 30*time.Second)
	if err != nil {
		return nil, err
	}
	return all, nil
}

// requestToken calls the GitHub token endpoint as curl does in GitHub's docs.
func requestToken(t *testing.T, url, scheme, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if scheme != "" {
		req.Header.Set("Authorization", scheme+" "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func githubJWT(t *testing.T, s *Server, query string) string {
	t.Helper()
	status, body := requestToken(t, s.RequestURL()+query, "bearer", s.RequestToken())
	if status != 200 {
		t.Fatalf("token endpoint: %d %s", status, body)
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
		t.Fatalf("token endpoint body %s: %v", body, err)
	}
	return v.Value
}

func decodeSegment(t *testing.T, raw string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
