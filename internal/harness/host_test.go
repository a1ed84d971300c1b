package harness

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnvFromAllInterfaces: listeners on every interface (a container
// with published ports) are advertised as 127.0.0.1, never as [::] or
// 0.0.0.0; EnvCA names a copy of the bundle; the proxy's port serves the
// bundle at /_fake/ca.pem and its health at /_fake/health.
func TestEnvFromAllInterfaces(t *testing.T) {
	envCA := filepath.Join(t.TempDir(), "fakepypi-ca.pem")
	h := start(t, Options{IndexAddr: "0.0.0.0:0", IssuerAddr: "[::]:0", ProxyAddr: "0.0.0.0:0", EnvCA: envCA})
	env := map[string]string{}
	for _, kv := range h.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, k := range []string{"FAKEPYPI_INDEX_URL", "FAKEPYPI_ISSUER_URL", "FAKEPYPI_PROXY_URL", "HTTPS_PROXY", "ACTIONS_ID_TOKEN_REQUEST_URL", "FAKEPYPI_CA_URL"} {
		if v := env[k]; !strings.Contains(v, "://127.0.0.1:") {
			t.Errorf("%s=%q, want a 127.0.0.1 URL", k, v)
		}
	}
	for _, k := range []string{"REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "PIP_CERT", "CURL_CA_BUNDLE", "FAKEPYPI_CA_BUNDLE"} {
		if env[k] != envCA {
			t.Errorf("%s=%q, want %s", k, env[k], envCA)
		}
	}
	copied, err := os.ReadFile(envCA)
	if err != nil || !bytes.Equal(copied, h.CA().CertPEM()) {
		t.Fatalf("EnvCA copy: %v", err)
	}

	// The direct listeners answer on the advertised addresses, and the
	// proxy routes them (by 127.0.0.1:port) too.
	c := h.Client()
	resp, err := c.Get(env["FAKEPYPI_INDEX_URL"] + "/_/oidc/audience")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("index through the proxy at its advertised URL: %v %v", err, resp)
	}
	resp.Body.Close()

	// The proxy's own port, asked directly (not as a proxy): the bundle
	// and the health check, as fakeindex proxy serves them.
	resp, err = http.Get(env["FAKEPYPI_CA_URL"])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(b, h.CA().CertPEM()) {
		t.Errorf("GET %s: %d %.80q", env["FAKEPYPI_CA_URL"], resp.StatusCode, b)
	}
	resp, err = http.Get(env["FAKEPYPI_PROXY_URL"] + "/_fake/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("proxy health: %d", resp.StatusCode)
	}
}
