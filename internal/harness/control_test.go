package harness

import (
	"net/http"
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/internal/controlplane"
)

// TestControlPlaneGuarded is issue 11 item 4 end to end: through the proxy
// https://pypi.org/_fake/tokens listed every upload token and minted new
// ones for anybody; the direct listeners took any Host and text/plain
// writes. With a control token, every one of those is refused, and the
// harness's env hands the token to its own clients.
func TestControlPlaneGuarded(t *testing.T) {
	const tok = "harness-control-token"
	h := start(t, Options{Control: controlplane.Policy{Token: tok}})
	c := h.Client()
	bearer := []string{"Authorization", "Bearer " + tok}

	if got := envMap(h.Env())[controlplane.EnvToken]; got != tok {
		t.Errorf("env %s=%q, want the token", controlplane.EnvToken, got)
	}
	for _, u := range []string{
		"https://pypi.org/_fake/tokens",
		"https://test.pypi.org/_fake/tokens",
		h.IndexURL() + "/_fake/tokens",
		h.IssuerURL() + "/_fake/tokens",
		"https://token.actions.githubusercontent.com/_fake/context",
	} {
		if st, body := get(t, c, u); st != http.StatusUnauthorized {
			t.Errorf("%s without the token: %d %s", u, st, body)
		}
		if st, body := get(t, c, u, bearer...); st != http.StatusOK {
			t.Errorf("%s with the token: %d %s", u, st, body)
		}
	}
	// Health checks need nothing.
	if st, _ := get(t, c, h.IndexURL()+"/_fake/health"); st != 200 {
		t.Errorf("/_fake/health: %d", st)
	}
	// A page that rebinds its name to 127.0.0.1 sends its own Host.
	req, _ := http.NewRequest("GET", h.IndexURL()+"/_fake/tokens", nil)
	req.Host = "attacker.example"
	req.Header.Set(bearer[0], bearer[1])
	if st, body := call(t, h.CA().Client(), req); st != http.StatusForbidden {
		t.Errorf("foreign Host: %d %s", st, body)
	}
	// A cross-site form post (text/plain) creates nothing, token or not.
	req, _ = http.NewRequest("POST", "https://pypi.org/_fake/projects", strings.NewReader(`{"name": "csrf"}`))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set(bearer[0], bearer[1])
	if st, body := call(t, c, req); st != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain write: %d %s", st, body)
	}
	if _, ok := h.Index().Catalog.Project("csrf"); ok {
		t.Error("a text/plain write created a project")
	}
	// PyPI's own paths are untouched.
	if st, _ := get(t, c, "https://pypi.org/simple/"); st != 200 {
		t.Errorf("/simple/: %d", st)
	}
}

// TestControlDirectOnly: with DirectOnly the control plane is not reachable
// under any emulated hostname, only on the loopback listeners.
func TestControlDirectOnly(t *testing.T) {
	h := start(t, Options{Control: controlplane.Policy{DirectOnly: true}})
	c := h.Client()
	for u, want := range map[string]int{
		"https://pypi.org/_fake/tokens":                             404, // not routed at all
		"https://test.pypi.org/_fake/tokens":                        404,
		"https://token.actions.githubusercontent.com/_fake/context": 403,
		h.IndexURL() + "/_fake/tokens":                              200,
		h.IssuerURL() + "/_fake/context":                            200,
	} {
		if st, body := get(t, c, u); st != want {
			t.Errorf("%s: %d %s, want %d", u, st, body, want)
		}
	}
}
