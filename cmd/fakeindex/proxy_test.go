package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/testenv"
)

// TestProxyCommand runs `fakeindex proxy` against two upstreams and checks
// both listeners: CONNECT through --addr and direct TLS on --tls-addr reach
// the right upstream with the emulated Host and X-Forwarded-Proto; other
// hosts are refused; /_fake/health and /_fake/ca.pem answer directly; and
// `fakeindex healthcheck` agrees.
func TestProxyCommand(t *testing.T) {
	upstream := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s host=%s proto=%s path=%s", name, r.Host, r.Header.Get("X-Forwarded-Proto"), r.URL.Path)
		}))
		t.Cleanup(s.Close)
		return s
	}
	index, iss := upstream("index"), upstream("issuer")
	caDir := filepath.Join(t.TempDir(), "ca")

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testenv.LogBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"proxy", "--addr", "127.0.0.1:0", "--tls-addr", "127.0.0.1:0",
			"--ca-dir", caDir, "--index", index.URL, "--issuer", iss.URL}, &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy: %v", err)
		}
	})
	var proxyURL, tlsAddr string
	tlsRe := regexp.MustCompile(`direct HTTPS listening.*addr=(\S+)`)
	for deadline := time.Now().Add(10 * time.Second); proxyURL == ""; {
		if m := tlsRe.FindStringSubmatch(stderr.String()); m != nil && strings.HasSuffix(stdout.String(), "\n") {
			proxyURL, tlsAddr = strings.TrimSpace(stdout.String()), m[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy not ready\nstdout: %s\nstderr: %s", stdout.String(), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	pemBytes, err := os.ReadFile(filepath.Join(caDir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	pu, _ := url.Parse(proxyURL)
	viaProxy := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: pool}}}
	// Direct TLS: every hostname resolves to the --tls-addr listener, as
	// with a compose network alias.
	direct := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, tlsAddr)
		},
	}}
	body := func(c *http.Client, u string) (string, int) {
		t.Helper()
		resp, err := c.Get(u)
		if err != nil {
			return err.Error(), 0
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp.StatusCode
	}
	for _, c := range []struct {
		client *http.Client
		url    string
		want   string
	}{
		{viaProxy, "https://upload.pypi.org/legacy/", "index host=upload.pypi.org proto=https path=/legacy/"},
		{viaProxy, "https://token.actions.githubusercontent.com/.well-known/jwks", "issuer host=token.actions.githubusercontent.com proto=https path=/.well-known/jwks"},
		{direct, "https://pypi.org/simple/", "index host=pypi.org proto=https path=/simple/"},
		{direct, "https://files.pythonhosted.org/packages/x", "index host=files.pythonhosted.org proto=https path=/packages/x"},
		{direct, "https://token.actions.githubusercontent.com/x", "issuer host=token.actions.githubusercontent.com proto=https path=/x"},
	} {
		if got, code := body(c.client, c.url); code != http.StatusOK || got != c.want {
			t.Errorf("GET %s: %d %q, want %q", c.url, code, got, c.want)
		}
	}
	if got, code := body(viaProxy, "https://example.com/"); code == http.StatusOK {
		t.Errorf("example.com through the proxy: %d %q, want a refusal", code, got)
	}
	if got, code := body(http.DefaultClient, proxyURL+"/_fake/ca.pem"); code != http.StatusOK || got != string(pemBytes) {
		t.Errorf("/_fake/ca.pem: %d %q", code, got)
	}

	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"healthcheck", "--url", proxyURL + "/_fake/health"}, &out, &errOut); err != nil {
		t.Errorf("healthcheck of the proxy: %v", err)
	}
	if err := run(context.Background(), []string{"healthcheck", "--url", proxyURL + "/nope"}, &out, &errOut); err == nil {
		t.Error("healthcheck of a 400 passed")
	}
}
