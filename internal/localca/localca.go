// Package localca is the harness's own certificate authority.
//
// Unmodified publishing clients only speak HTTPS to PyPI's real hostnames
// (twine attempts trusted publishing only for https://upload.pypi.org/legacy/
// and https://test.pypi.org/legacy/; twine, uv and gh-action-pypi-publish
// always call https://<host>/_/oidc/...). The fakes can only stand in for
// those hosts if the clients trust a CA that the harness controls. This
// package creates that CA, keeps it on disk so a bundle handed to clients
// stays valid across restarts, and issues leaf certificates for the emulated
// hostnames on demand.
//
// Clients are pointed at the CA with REQUESTS_CA_BUNDLE (requests: twine,
// gh-action-pypi-publish), SSL_CERT_FILE (uv, OpenSSL-based tools, Go),
// PIP_CERT (pip) and CURL_CA_BUNDLE; see [CA.Env] and docs/https-and-proxy.md.
//
// Keys are ECDSA P-256: cheap to generate (a test run mints many leaves)
// and accepted by every TLS stack the clients use.
package localca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultHosts are the names every CA issues certificates for without being
// asked: loopback, PyPI's and TestPyPI's hostnames, and the OIDC issuers and
// token endpoints of the CI providers PyPI trusts. Code that emulates more
// hosts may append to it before creating a CA; a CA copies the list when it
// is created.
var DefaultHosts = []string{
	"localhost",
	"127.0.0.1",
	"::1",
	"pypi.org",
	"upload.pypi.org",
	"test.pypi.org",
	"files.pythonhosted.org",
	"test-files.pythonhosted.org",
	// Legacy names twine still knows (it forces https for them), and the
	// one twine 4's --skip-existing queries (/pypi/<name>/json).
	"pypi.python.org",
	"testpypi.python.org",
	"token.actions.githubusercontent.com",
	"gitlab.com",
	"accounts.google.com",
	"metadata.google.internal",
	"platform.activestate.com",
	"agent.buildkite.com",
	"oidc.circleci.com",
	// Sigstore's public-good Fulcio and Rekor, where gh-action-pypi-publish
	// signs PEP 740 attestations (the harness's fake Sigstore answers).
	"fulcio.sigstore.dev",
	"rekor.sigstore.dev",
}

// File names inside a CA directory.
const (
	CertFile = "ca.pem"     // the CA certificate; also the bundle clients trust
	KeyFile  = "ca-key.pem" // the CA private key (PKCS#8), mode 0600
)

const (
	caValidity = 10 * 365 * 24 * time.Hour
	// LeafValidity is how long issued leaf certificates are valid. One year
	// stays under the 398-day limit some TLS stacks enforce for leaves.
	LeafValidity = 365 * 24 * time.Hour
	// Leaves are reissued this long before they expire, so a long-running
	// emulator never serves an expired certificate.
	leafRenewBefore = 7 * 24 * time.Hour
	// Certificates are backdated so that a client whose clock is slightly
	// behind still accepts a certificate minted a moment ago.
	backdate = time.Hour
)

// CA is a certificate authority with a cache of leaf certificates. It is
// safe for concurrent use.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
	dir     string // "" for an in-memory CA

	hosts map[string]bool
	allow func(host string) bool

	mu         sync.Mutex
	bundlePath string
	leaves     map[string]*tls.Certificate
	defLeaf    *tls.Certificate
}

// Option configures a CA.
type Option func(*CA)

// WithHosts replaces DefaultHosts as the names the CA serves without being
// asked (the no-SNI certificate lists all of them as SANs).
func WithHosts(hosts ...string) Option {
	return func(ca *CA) {
		ca.hosts = map[string]bool{}
		for _, h := range hosts {
			ca.hosts[normalize(h)] = true
		}
	}
}

// WithAllow lets [CA.GetCertificate] mint certificates for further names
// requested through SNI, for which allow returns true. Without it only the
// configured hosts are served: a harness must not hand out certificates for
// arbitrary names, or a misrouted client would appear to reach a real host.
func WithAllow(allow func(host string) bool) Option {
	return func(ca *CA) { ca.allow = allow }
}

// New returns a CA that exists only in memory, for tests. Call
// [CA.WriteBundle] to hand it to a non-Go client.
func New(opts ...Option) (*CA, error) {
	key, cert, err := generate()
	if err != nil {
		return nil, err
	}
	return newCA(cert, key, "", opts), nil
}

// Open loads the CA kept in dir, or creates one there if dir holds none
// (creating dir too). Reusing the CA matters: a bundle already given to
// clients, or installed in a container image, stays valid when the harness
// restarts. Several processes may call Open on the same empty dir at once;
// exactly one CA is created and all of them load it.
func Open(dir string, opts ...Option) (*CA, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("localca: %w", err)
	}
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	if _, err := os.Stat(keyPath); errors.Is(err, os.ErrNotExist) {
		if err := create(dir); err != nil {
			return nil, err
		}
	}
	cert, key, err := load(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	ca := newCA(cert, key, dir, opts)
	ca.bundlePath = certPath
	return ca, nil
}

func newCA(cert *x509.Certificate, key crypto.Signer, dir string, opts []Option) *CA {
	ca := &CA{
		cert:    cert,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		key:     key,
		dir:     dir,
		leaves:  map[string]*tls.Certificate{},
	}
	WithHosts(DefaultHosts...)(ca)
	for _, o := range opts {
		o(ca)
	}
	return ca
}

func generate() (crypto.Signer, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("localca: generate key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject: pkix.Name{
			Organization: []string{"fakepypi"},
			// The date tells apart CAs from different runs when a user
			// inspects a bundle or a client error message.
			CommonName: "fakepypi local CA " + now.UTC().Format("2006-01-02T15:04:05Z"),
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		// MaxPathLen 0: this CA signs leaves only, never another CA.
		MaxPathLenZero: true,
		KeyUsage:       x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("localca: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return key, cert, nil
}

// create generates a CA and installs it in dir. Concurrent creators in
// other processes are expected (parallel test binaries sharing a cache
// dir): a hard link, which fails if the name exists, elects one of them.
func create(dir string) error {
	key, cert, err := generate()
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("localca: %w", err)
	}
	tmpCert, err := writeTemp(dir, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644)
	if err != nil {
		return err
	}
	defer os.Remove(tmpCert)
	tmpKey, err := writeTemp(dir, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmpKey)
	// Whoever links ca-key.pem.new first creates the CA; the others wait
	// for it. ca.pem goes in before ca-key.pem, so a present key file
	// always has its certificate beside it (a stale ca.pem left by a crash
	// is simply replaced).
	pending := filepath.Join(dir, KeyFile+".new")
	if err := os.Link(tmpKey, pending); err != nil {
		if errors.Is(err, os.ErrExist) {
			return waitForOther(dir)
		}
		return fmt.Errorf("localca: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); err == nil {
		// Another process finished between our Stat in Open and the link.
		os.Remove(pending)
		return nil
	}
	if err := os.Rename(tmpCert, filepath.Join(dir, CertFile)); err != nil {
		os.Remove(pending)
		return fmt.Errorf("localca: %w", err)
	}
	if err := os.Rename(pending, filepath.Join(dir, KeyFile)); err != nil {
		return fmt.Errorf("localca: %w", err)
	}
	return nil
}

// waitForOther waits for a concurrent create in another process to finish.
func waitForOther(dir string) error {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(dir, KeyFile)); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("localca: %s exists but %s never appeared; another process may have crashed while creating the CA: remove %s and retry",
		filepath.Join(dir, KeyFile+".new"), KeyFile, filepath.Join(dir, KeyFile+".new"))
}

func writeTemp(dir string, data []byte, mode os.FileMode) (string, error) {
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("localca: %w", err)
	}
	name := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("localca: %w", err)
	}
	return name, nil
}

func load(certPath, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, fmt.Errorf("localca: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("localca: %w", err)
	}
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("localca: %s: no CERTIFICATE PEM block", certPath)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("localca: %s: %w", certPath, err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, fmt.Errorf("localca: %s: no PEM block", keyPath)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("localca: %s: %w", keyPath, err)
	}
	key, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("localca: %s: unsupported key type %T", keyPath, k)
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, nil, fmt.Errorf("localca: %s and %s do not belong together; remove both to create a new CA", certPath, keyPath)
	}
	if !cert.IsCA {
		return nil, nil, fmt.Errorf("localca: %s is not a CA certificate", certPath)
	}
	if time.Now().After(cert.NotAfter) {
		return nil, nil, fmt.Errorf("localca: the CA in %s expired on %s; remove %s and %s to create a new one",
			certPath, cert.NotAfter.Format(time.DateOnly), certPath, keyPath)
	}
	return cert, key, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n
}

// normalize turns a host as seen in a URL, a CONNECT line or SNI into the
// form used for lookups: lower case, no trailing dot, no IPv6 brackets.
func normalize(host string) string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}

// Certificate returns the CA certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertPEM returns the CA certificate in PEM form: the content of a bundle.
func (ca *CA) CertPEM() []byte { return bytes.Clone(ca.certPEM) }

// Dir returns the directory the CA was opened from, or "" when in memory.
func (ca *CA) Dir() string { return ca.dir }

// BundlePath returns the path of a PEM file holding only the CA certificate,
// for REQUESTS_CA_BUNDLE, SSL_CERT_FILE and PIP_CERT: the CA's own cert file
// for a CA from [Open], the last [CA.WriteBundle] path for one from [New],
// or "" if none was written.
func (ca *CA) BundlePath() string {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return ca.bundlePath
}

// WriteBundle writes the CA certificate as PEM to path (mode 0644), which
// then becomes [CA.BundlePath].
func (ca *CA) WriteBundle(path string) error {
	if err := os.WriteFile(path, ca.certPEM, 0o644); err != nil {
		return fmt.Errorf("localca: %w", err)
	}
	ca.mu.Lock()
	ca.bundlePath = path
	ca.mu.Unlock()
	return nil
}

// Env returns environment entries ("KEY=value") that make Python, pip, uv,
// curl, maturin and Go clients trust only this CA, or nil when no bundle
// has been written. The variables replace the system trust store; that is
// intended, since a harnessed client must reach nothing but the fakes.
func (ca *CA) Env() []string {
	p := ca.BundlePath()
	if p == "" {
		return nil
	}
	var env []string
	for _, k := range []string{"REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "PIP_CERT", "CURL_CA_BUNDLE", "MATURIN_CA_BUNDLE"} {
		env = append(env, k+"="+p)
	}
	return env
}

// CertPool returns a pool holding only the CA certificate.
func (ca *CA) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pool
}

// Client returns an HTTP client that trusts only this CA and ignores proxy
// environment variables, for Go tests talking straight to a TLS server.
func (ca *CA) Client() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.TLSClientConfig = &tls.Config{RootCAs: ca.CertPool()}
	return &http.Client{Transport: t}
}

// TLSConfig returns a server configuration whose certificates come from
// [CA.GetCertificate]. It offers HTTP/1.1 only: PyPI reports upload errors
// in the HTTP/1.1 reason phrase, which HTTP/2 does not have. Do not pass
// it to httptest's StartTLS, which adds its own certificate: a tls.Config
// ignores GetCertificate once Certificates is set.
func (ca *CA) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"http/1.1"},
		GetCertificate: ca.GetCertificate,
	}
}

// GetCertificate is a tls.Config.GetCertificate callback. With no SNI (a
// client dialling an IP address sends none) it returns one certificate
// naming all the configured hosts; otherwise a leaf for the SNI name if it
// is a configured host or the allow function accepts it. Any other name is
// refused, which fails the handshake.
func (ca *CA) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := normalize(hello.ServerName)
	if name == "" {
		return ca.defaultLeaf()
	}
	if !ca.hosts[name] && (ca.allow == nil || !ca.allow(name)) {
		return nil, fmt.Errorf("localca: refusing to issue a certificate for %q: not an emulated host", name)
	}
	return ca.Leaf(name)
}

// Leaf returns a certificate for host (a DNS name or an IP address),
// issuing it on first use and caching it. Unlike GetCertificate it applies
// no allow-list: callers that mint for arbitrary names decide themselves.
func (ca *CA) Leaf(host string) (*tls.Certificate, error) {
	name := normalize(host)
	if name == "" {
		return nil, errors.New("localca: empty host name")
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c := ca.leaves[name]; c != nil && fresh(c) {
		return c, nil
	}
	c, err := ca.issue([]string{name})
	if err != nil {
		return nil, err
	}
	ca.leaves[name] = c
	return c, nil
}

func (ca *CA) defaultLeaf() (*tls.Certificate, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if ca.defLeaf != nil && fresh(ca.defLeaf) {
		return ca.defLeaf, nil
	}
	var names []string
	for _, h := range DefaultHosts { // keep a stable, readable SAN order
		if ca.hosts[normalize(h)] {
			names = append(names, normalize(h))
		}
	}
	var extra []string
	for h := range ca.hosts {
		if !slices.Contains(names, h) {
			extra = append(extra, h)
		}
	}
	slices.Sort(extra)
	names = append(names, extra...)
	if len(names) == 0 {
		return nil, errors.New("localca: no hosts configured and the client sent no SNI")
	}
	c, err := ca.issue(names)
	if err != nil {
		return nil, err
	}
	ca.defLeaf = c
	return c, nil
}

func fresh(c *tls.Certificate) bool {
	return time.Until(c.Leaf.NotAfter) > leafRenewBefore
}

// issue signs a new leaf for names; the caller holds ca.mu.
func (ca *CA) issue(names []string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("localca: generate leaf key: %w", err)
	}
	now := time.Now()
	notAfter := now.Add(LeafValidity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"fakepypi"}, CommonName: names[0]},
		NotBefore:    now.Add(-backdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		// Clients check SANs only; CN is for humans reading a certificate.
		BasicConstraintsValid: true,
		SubjectKeyId:          skid(key),
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("localca: issue certificate for %v: %w", names, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// skid derives a subject key identifier; strict verifiers (Python 3.13's
// VERIFY_X509_STRICT) want SKID and AKID present, and Go only fills the
// SKID in automatically for CA certificates.
func skid(key *ecdsa.PrivateKey) []byte {
	pub, _ := x509.MarshalPKIXPublicKey(key.Public())
	sum := sha256.Sum256(pub)
	return sum[:20]
}
