package harness

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/fakepypi/fakepypi/internal/attestation"
	"github.com/fakepypi/fakepypi/internal/sigstore"
)

// TestSigstoreThroughProxy signs the way gh-action-pypi-publish does on a
// runner: a GitHub token with audience "sigstore", then Sigstore's
// production hosts (answered by the fake through the proxy); the trusted
// root fetched from the same host verifies the result.
func TestSigstoreThroughProxy(t *testing.T) {
	h, err := Start(Options{NoTestPyPI: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	c := h.Client()
	req, _ := http.NewRequest("GET", h.Issuer().RequestURL()+"&audience=sigstore", nil)
	req.Header.Set("Authorization", "bearer "+h.Issuer().RequestToken())
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Value string }
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	a, err := sigstore.NewAttester(sigstore.Client{FulcioURL: sigstore.FulcioURL, RekorURL: sigstore.RekorURL, HTTP: c}, tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	const name, sum = "demo-1.0.tar.gz", "0000000000000000000000000000000000000000000000000000000000000000"
	att, err := a.Attest(name, sum)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = c.Get(sigstore.RekorURL + sigstore.TrustedRootPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	root, err := attestation.ParseTrustedRoot(body)
	if err != nil {
		t.Fatal(err)
	}
	pub := attestation.Publisher{Kind: "GitHub", Repository: "octo-org/octo-repo", Workflow: "release.yml"}
	if _, err := attestation.Verify(att, pub, attestation.Distribution{Name: name, SHA256: sum}, root); err != nil {
		t.Fatalf("verify: %v", err)
	}
	// The index trusts the same root.
	if got := h.Sigstore().LogSize(); got != 1 {
		t.Errorf("log size %d, want 1", got)
	}
}
