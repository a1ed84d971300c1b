package localca

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOpenPersists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	ca1, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode = %v, want 0600", fi.Mode().Perm())
	}
	if got := ca1.BundlePath(); got != filepath.Join(dir, CertFile) {
		t.Errorf("BundlePath = %q", got)
	}
	ca2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !ca1.Certificate().Equal(ca2.Certificate()) {
		t.Fatal("second Open created a new CA instead of loading the existing one")
	}
	// A leaf from the reloaded CA verifies against the first bundle.
	leaf, err := ca2.Leaf("pypi.org")
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := os.ReadFile(ca1.BundlePath())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(bundle) {
		t.Fatal("bundle holds no certificate")
	}
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: "pypi.org", Roots: pool}); err != nil {
		t.Fatal(err)
	}
}

func TestOpenConcurrent(t *testing.T) {
	dir := t.TempDir()
	cas := make([]*CA, 4)
	var wg sync.WaitGroup
	for i := range cas {
		wg.Go(func() {
			ca, err := Open(dir)
			if err != nil {
				t.Error(err)
				return
			}
			cas[i] = ca
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, ca := range cas[1:] {
		if !ca.Certificate().Equal(cas[0].Certificate()) {
			t.Fatal("concurrent Opens ended up with different CAs")
		}
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{KeyFile, CertFile}) { // ReadDir sorts
		t.Errorf("dir holds %v, want only the CA files", names)
	}
}

func TestOpenRejectsMismatchedFiles(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if _, err := Open(a); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(b); err != nil {
		t.Fatal(err)
	}
	other, _ := os.ReadFile(filepath.Join(b, CertFile))
	os.WriteFile(filepath.Join(a, CertFile), other, 0o644)
	_, err := Open(a)
	if err == nil || !strings.Contains(err.Error(), "do not belong together") {
		t.Fatalf("err = %v", err)
	}
}

func TestLeaf(t *testing.T) {
	ca, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "::1", "[::1]", "upload.pypi.org", "Upload.PyPI.org."} {
		c, err := ca.Leaf(host)
		if err != nil {
			t.Fatal(err)
		}
		want := normalize(host)
		if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: want, Roots: ca.CertPool()}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
		if d := time.Until(c.Leaf.NotAfter); d < 360*24*time.Hour || d > LeafValidity {
			t.Errorf("%s: leaf valid for %v", host, d)
		}
	}
	c, _ := ca.Leaf("127.0.0.1")
	if len(c.Leaf.IPAddresses) != 1 || !c.Leaf.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) || len(c.Leaf.DNSNames) != 0 {
		t.Errorf("127.0.0.1 leaf SANs: IPs %v DNS %v", c.Leaf.IPAddresses, c.Leaf.DNSNames)
	}
	c2, _ := ca.Leaf("127.0.0.1")
	if c2 != c {
		t.Error("leaf not cached")
	}
	if len(c.Leaf.AuthorityKeyId) == 0 || len(c.Leaf.SubjectKeyId) == 0 {
		t.Error("leaf lacks AKID/SKID, which strict verifiers require")
	}
}

// serve starts a TLS server using ca.TLSConfig and returns its address.
func serve(t *testing.T, ca *CA) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", ca.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Host+" "+r.TLS.ServerName)
	}), ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestTLSConfigSNIAndAllowList(t *testing.T) {
	ca, err := New(WithAllow(func(h string) bool { return strings.HasSuffix(h, ".example.test") }))
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, ca)
	dial := func(name string) (*x509.Certificate, error) {
		conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, RootCAs: ca.CertPool()})
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0], nil
	}
	for _, name := range []string{"pypi.org", "oidc.circleci.com", "a.example.test"} {
		c, err := dial(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !slices.Equal(c.DNSNames, []string{name}) {
			t.Errorf("%s: SANs %v", name, c.DNSNames)
		}
	}
	if _, err := dial("evil.example.com"); err == nil {
		t.Error("handshake for a name outside the allow-list succeeded")
	}

	// No SNI (an IP dial) gets the certificate naming every default host.
	client := ca.Client()
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	c := resp.TLS.PeerCertificates[0]
	for _, h := range DefaultHosts {
		if c.VerifyHostname(h) != nil {
			t.Errorf("default certificate does not cover %s", h)
		}
	}
}

func TestWriteBundleAndEnv(t *testing.T) {
	ca, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if ca.BundlePath() != "" || ca.Env() != nil {
		t.Fatal("in-memory CA claims a bundle before WriteBundle")
	}
	p := filepath.Join(t.TempDir(), "bundle.pem")
	if err := ca.WriteBundle(p); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	if !bytes.Equal(got, ca.CertPEM()) || !bytes.HasPrefix(got, []byte("-----BEGIN CERTIFICATE-----")) {
		t.Fatalf("bundle content:\n%s", got)
	}
	env := ca.Env()
	for _, k := range []string{"REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "PIP_CERT"} {
		if !slices.Contains(env, k+"="+p) {
			t.Errorf("Env lacks %s: %v", k, env)
		}
	}
}
