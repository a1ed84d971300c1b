package index

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/issuer"
	"github.com/fakepypi/fakepypi/internal/oidc"
)

// startPair runs fakeissuer and a fakeindex that trusts it for all four
// canonical issuers, over real HTTP.
func startPair(t *testing.T) (*issuer.Server, *Server) {
	t.Helper()
	iss := issuer.NewTestServer(t, issuer.Config{})
	setup := `
users: [{name: alice}]
projects: [{name: octo-repo, owners: [alice]}]
publishers:
  - {service: github, owner: octo-org, repository: octo-repo, workflow_filename: release.yml, projects: [octo-repo]}
`
	f, err := indexconfig.Parse("e2e.yaml", []byte(setup))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []issuer.Kind{issuer.GitHub, issuer.GitLab, issuer.Google, issuer.ActiveState} {
		f.Issuers = append(f.Issuers, oidc.Issuer{URL: iss.Issuer(k), Service: string(k), Discovery: iss.DiscoveryURL(k)})
	}
	idx, err := Start(Config{Setup: *f})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	return iss, idx
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestFakeIssuerEndToEnd(t *testing.T) {
	iss, idx := startPair(t)
	ctx := context.Background()
	tok, err := iss.Token(ctx, "pypi")
	if err != nil {
		t.Fatal(err)
	}
	code, body := post(t, idx.URL()+"/_/oidc/mint-token", mintBody(tok))
	if code != 200 || !strings.Contains(body, `"token":"pypi-AgEIcHlwaS5vcmcCJ`) {
		t.Fatalf("mint: %d %s", code, body)
	}

	invalidToken := wantError("invalid-token", "malformed or invalid token")
	cases := map[string]string{
		"expired":                invalidToken,
		"not-yet-valid":          invalidToken,
		"issued-in-future":       invalidToken,
		"aud-list":               invalidToken,
		"wrong-audience":         invalidToken,
		"unknown-kid":            invalidToken,
		"bad-signature":          invalidToken,
		"alg-none":               invalidToken,
		"hs256-public-key":       invalidToken,
		"wrong-issuer":           wantError("invalid-payload", "unknown trusted publishing issuer"),
		"missing:iss":            wantError("invalid-payload", "malformed JWT"),
		"missing:jti":            wantError("invalid-publisher", "valid token, but no corresponding publisher (Missing claim 'jti')"),
		"missing:sha":            wantError("invalid-publisher", "valid token, but no corresponding publisher (Missing claim 'sha')"),
		"pull-request-target":    wantError("invalid-publisher", "valid token, but no corresponding publisher (Publishing from a workflow invoked via 'pull_request_target' is not supported.)"),
		"reusable-other-repo":    "invalid-publisher",
		"claim:environment=prod": "", // no environment configured: accepted
	}
	for name, want := range cases {
		f, err := issuer.ParseFault(name)
		if err != nil {
			t.Fatalf("fault %s: %v", name, err)
		}
		tok, err := iss.Token(ctx, "pypi", f)
		if err != nil {
			t.Fatalf("fault %s: %v", name, err)
		}
		code, body := post(t, idx.URL()+"/_/oidc/mint-token", mintBody(tok))
		switch {
		case want == "":
			if code != 200 {
				t.Errorf("fault %s: %d %s", name, code, body)
			}
		case !strings.HasPrefix(want, "{"):
			if code != 422 || !strings.Contains(body, `"code":"`+want+`"`) {
				t.Errorf("fault %s: %d %s", name, code, body)
			}
		case body != want:
			t.Errorf("fault %s:\n got %s\nwant %s", name, body, want)
		}
	}

	// Concurrent mints of one JWT over HTTP: exactly one success.
	tok, _ = iss.Token(ctx, "pypi")
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[int]int{}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := post(t, idx.URL()+"/_/oidc/mint-token", mintBody(tok))
			mu.Lock()
			results[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if results[200] != 1 || results[422] != 15 {
		t.Fatalf("concurrent results %v", results)
	}

	// Every attempt is in /_fake/events.
	resp, err := http.Get(idx.URL() + "/_fake/events?kind=mint")
	if err != nil {
		t.Fatal(err)
	}
	var evs struct{ Events []json.RawMessage }
	json.NewDecoder(resp.Body).Decode(&evs)
	resp.Body.Close()
	if len(evs.Events) < len(cases)+17 {
		t.Fatalf("events: %d", len(evs.Events))
	}
}
