// Package harness starts the whole fakepypi harness in one process: the
// local CA, the fake CI issuer, the fake index (PyPI and TestPyPI) and the
// intercepting proxy that answers PyPI's real hostnames. It returns the URLs
// and the environment a publish job needs, so that unmodified twine, uv,
// pip and gh-action-pypi-publish can run against it.
//
// `fakeindex up` is a thin command around Start; Go tests use it directly:
//
//	h, err := harness.Start(harness.Options{})
//	defer h.Close()
//	cmd := exec.Command("twine", "upload", "dist/*")
//	cmd.Env = h.Environ(os.Environ())
//
// Through the proxy (HTTPS_PROXY in Env) a client reaches:
//
//	https://pypi.org/{simple,pypi,_/oidc,integrity,.well-known/pytp}/...   the index
//	https://upload.pypi.org/legacy/ (+ /_/oidc/, /.well-known/pytp/)     uploads
//	https://files.pythonhosted.org/packages/...                          files
//	https://test.pypi.org/...                                            a second index, audience "testpypi"
//	https://token.actions.githubusercontent.com/...                      the issuer (GitHub's token endpoint, discovery, JWKS)
//
// and every other host is refused. The index and the issuer also listen
// directly on loopback ports (IndexURL, IssuerURL), reachable with or
// without the proxy; ACTIONS_ID_TOKEN_REQUEST_URL names the issuer's,
// because id >= 1.6 fetches the GitHub token with bare urllib3, which
// ignores HTTPS_PROXY. See docs/harness.md.
package harness

import (
	"bytes"
	"crypto/tls"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/controlplane"
	"github.com/fakepypi/fakepypi/internal/events"
	"github.com/fakepypi/fakepypi/internal/httpserver"
	"github.com/fakepypi/fakepypi/internal/index"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/issuer"
	"github.com/fakepypi/fakepypi/internal/localca"
	"github.com/fakepypi/fakepypi/internal/logging"
	"github.com/fakepypi/fakepypi/internal/oidc"
	"github.com/fakepypi/fakepypi/internal/pages"
	"github.com/fakepypi/fakepypi/internal/proxy"
	"github.com/fakepypi/fakepypi/internal/sigstore"
)

// DemoConfig is the index setup used when Options.Setup is nil: project
// "demo" with a GitHub trusted publisher matching issuer.Defaults(), so a
// publish from Env succeeds without any configuration. examples/demo.yaml
// is a copy (a test keeps them equal).
//
//go:embed demo.yaml
var DemoConfig []byte

// Public URLs of the emulated PyPI, as clients see them through the proxy.
const (
	UploadURL      = "https://upload.pypi.org/legacy/"
	SimpleURL      = "https://pypi.org/simple/"
	TestUploadURL  = "https://test.pypi.org/legacy/"
	TestSimpleURL  = "https://test.pypi.org/simple/"
	GitHubTokenURL = issuer.GitHubIssuer // the issuer's public base through the proxy
)

// IssuerKeyFile is the name of the file, in Dir/ca beside the CA, that
// keeps the fake issuer's signing keys across restarts.
const IssuerKeyFile = "issuer-keys.pem"

// Options configure Start. The zero value starts everything on free
// loopback ports with the demo configuration and a throw-away CA.
type Options struct {
	// Dir keeps what should outlive a run: the CA in Dir/ca (so a bundle
	// handed to clients or baked into an image stays valid) and the GitHub
	// runner files in Dir/runner. Empty: a temporary directory that Close
	// removes. Index state (projects, uploads) is in memory unless Persist
	// is set, so every start begins from the configuration.
	Dir string
	// Persist keeps each index's projects, releases and files under Dir
	// (Dir/index for PyPI, Dir/testpypi for TestPyPI, each laid out as
	// plain fakeindex's --data directory), so they survive a restart on
	// the same Dir; the configuration is applied on top at each start,
	// skipping projects the directory already holds, as plain fakeindex
	// does. It needs a Dir. It is opt-in because the default Dir of
	// `fakeindex up` is shared by every checkout, for the CA's sake, and
	// scripts and tests rely on a start being reproducible: with state
	// kept by default, a second run would see the first run's uploads
	// (and its re-upload of demo 1.0 would get "File already exists").
	// One harness at a time per persisted Dir: the catalog is one file.
	Persist bool
	// IndexAddr, IssuerAddr and ProxyAddr are where the index, the issuer
	// and the proxy listen; default 127.0.0.1:0 (a free port). The proxy
	// must stay on loopback: it answers for PyPI's hostnames.
	IndexAddr, IssuerAddr, ProxyAddr string
	// Scheme is what the direct index and issuer listeners speak:
	// SchemeBoth (default; TLS and plain HTTP on one port), SchemeHTTPS or
	// SchemeHTTP. The proxy always terminates TLS for the emulated hosts.
	Scheme string
	// Setup is the index's declarative state; nil loads DemoConfig.
	Setup *indexconfig.File
	// TestSetup is TestPyPI's index's, which is a separate warehouse;
	// nil uses a copy of Setup. Either way its audience is "testpypi"
	// and its domain test.pypi.org (unless it names another). Tokens
	// given by value go to the index whose domain issued them, so one
	// configuration can hold PyPI's and TestPyPI's.
	TestSetup *indexconfig.File
	// Issuer configures the fake issuer (run context, faults, keys...).
	// Addr and PublicURL are set by Start.
	Issuer issuer.Config
	// EnvCA, when set, is the CA bundle path the environment names
	// (REQUESTS_CA_BUNDLE, SSL_CERT_FILE, ...) instead of Dir/ca/ca.pem;
	// Start copies the bundle there. In a container, a path such as
	// /tmp/fakepypi-ca.pem lets the printed environment work on the host
	// too, once the host has fetched the bundle to the same path from
	// FAKEPYPI_CA_URL (the proxy's /_fake/ca.pem).
	EnvCA string
	// CI is the kind of CI job Env describes: issuer.GitHub (default) or
	// issuer.GitLab, whose tokens are minted into the environment at
	// Start, as GitLab does when a job starts.
	CI issuer.Kind
	// NoIssuer skips the fake issuer: tokens come from elsewhere (e.g. a
	// separate fakeissuer), and Env holds no CI variables.
	NoIssuer bool
	// NoProxy skips the proxy: clients use IndexURL directly and Env names
	// it instead of PyPI's hostnames (twine then does not attempt trusted
	// publishing; uv and gh-action-pypi-publish need https on it).
	NoProxy bool
	// NoTestPyPI skips the second index behind test.pypi.org.
	NoTestPyPI bool
	// SigstoreAddr is where the fake Sigstore listens (default a free
	// loopback port); SigstoreFaults are its faults from the start
	// (internal/sigstore: other-identity, expired-certificate,
	// missing-entry, bad-inclusion-proof, bad-signature).
	SigstoreAddr   string
	SigstoreFaults []string
	// Logger receives the components' records (index events, proxy
	// tunnels and refusals, issuer requests), each with a component
	// attribute: index, testpypi, issuer or proxy. nil discards them.
	Logger *slog.Logger
	// Control guards the /_fake/ control plane of both indexes and the
	// issuer (internal/controlplane). Its Token is exported to the env as
	// FAKEPYPI_CONTROL_TOKEN; with DirectOnly the proxy does not route
	// /_fake/ under PyPI's or GitHub's hostnames at all.
	Control controlplane.Policy
	// Limits bound slow and idle clients on every listener: index,
	// issuer, proxy and the proxy's tunnels (internal/httpserver); zero
	// fields take the defaults.
	Limits httpserver.Limits
	// WrapIndex, when set, wraps each index's handler (PyPI's, then
	// TestPyPI's) wherever it is served: on its loopback listener and
	// behind the proxy. `fakeindex conform` records every request an
	// uploader makes this way; nil serves the indexes unwrapped.
	WrapIndex func(http.Handler) http.Handler
}

// Harness is a running harness. Its methods are safe to call concurrently
// once Start has returned.
type Harness struct {
	dir, tmpDir string
	ca          *localca.CA
	idx, test   *index.Server
	iss         *issuer.Server
	prox        *proxy.Proxy
	servers     []*http.Server
	catalogs    []*catalog.Catalog // opened on data directories; closed last
	lns         []net.Listener

	sig                           *sigstore.Sigstore
	sigHandler                    http.Handler
	indexURL, issuerURL, proxyURL string
	sigstoreURL                   string
	ci                            issuer.Kind
	env, unset                    []string
	controlToken                  string
	limits                        httpserver.Limits
	panicLog                      *slog.Logger // nil: slog.Default()

	closeOnce sync.Once
	closeErr  error
}

// Start starts the CA, issuer, index and proxy. Every listener accepts
// connections when it returns, so its Env can be handed out at once.
func Start(opts Options) (_ *Harness, err error) {
	h := &Harness{}
	defer func() {
		if err != nil {
			h.Close()
		}
	}()
	logger := logging.OrDiscard(opts.Logger)
	if opts.Scheme == "" {
		opts.Scheme = SchemeBoth
	}
	for _, a := range []*string{&opts.IndexAddr, &opts.IssuerAddr, &opts.ProxyAddr} {
		if *a == "" {
			*a = "127.0.0.1:0"
		}
	}

	switch opts.CI {
	case "", issuer.GitHub, issuer.GitLab:
	default:
		// Buildkite's and CircleCI's jobs get their token from an agent
		// command, Google's from a metadata server: fakeissuer env
		// --ci KIND --bin-dir DIR provides those.
		return nil, fmt.Errorf("harness: a job environment for %q is not provided (github or gitlab; fakeissuer env --ci %s gives the others)", opts.CI, opts.CI)
	}
	if opts.Persist && opts.Dir == "" {
		// A temporary Dir is removed by Close: nothing would persist.
		return nil, errors.New("harness: Persist needs a Dir")
	}
	h.controlToken = opts.Control.Token
	h.limits, h.panicLog = opts.Limits, opts.Logger
	h.dir = opts.Dir
	if h.dir == "" {
		if h.tmpDir, err = os.MkdirTemp("", "fakepypi-"); err != nil {
			return nil, err
		}
		h.dir = h.tmpDir
	}
	if h.ca, err = localca.Open(filepath.Join(h.dir, "ca")); err != nil {
		return nil, err
	}
	tlsCfg := h.ca.TLSConfig()

	// Listen first: the URLs go into the issuer's documents and the env.
	indexLn, err := h.listen(opts.IndexAddr, opts.Scheme, tlsCfg)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	h.indexURL = baseURL(opts.Scheme, indexLn)
	var issuerLn, proxyLn net.Listener
	if !opts.NoIssuer {
		if issuerLn, err = h.listen(opts.IssuerAddr, opts.Scheme, tlsCfg); err != nil {
			return nil, fmt.Errorf("issuer: %w", err)
		}
		h.issuerURL = baseURL(opts.Scheme, issuerLn)
	}
	if !opts.NoProxy {
		if proxyLn, err = h.listen(opts.ProxyAddr, SchemeHTTP, nil); err != nil {
			return nil, fmt.Errorf("proxy: %w", err)
		}
		h.proxyURL = "http://" + advertisedAddr(proxyLn)
	}

	// One event log for the issuer and the PyPI index: the dashboard
	// shows each token beside the mint attempt that presented it.
	evs := events.New(0)
	if !opts.NoIssuer {
		cfg := opts.Issuer
		cfg.Addr = ""
		cfg.Control = opts.Control
		if cfg.Events == nil {
			cfg.Events = evs
		}
		// Behind the proxy the issuer is GitHub's real host, as on a
		// runner: documents, jwks_uri and ACTIONS_ID_TOKEN_REQUEST_URL
		// all name https://token.actions.githubusercontent.com, so the
		// index fetches keys exactly as PyPI does.
		cfg.PublicURL = h.issuerURL
		if cfg.Seed == "" && cfg.KeyFile == "" {
			// The issuer's keys live with the CA: a restart on the same
			// Dir reuses them instead of generating an RSA key, the
			// slowest part of a start.
			cfg.KeyFile = filepath.Join(h.dir, "ca", IssuerKeyFile)
		}
		if !opts.NoProxy {
			cfg.PublicURL = GitHubTokenURL
		}
		if cfg.Logger == nil {
			cfg.Logger = logger.With("component", "issuer")
		}
		if h.iss, err = issuer.New(cfg); err != nil {
			return nil, fmt.Errorf("issuer: %w", err)
		}
		h.serve(issuerLn, h.iss)
	}

	setup := opts.Setup
	if setup == nil {
		if setup, err = indexconfig.Parse("demo.yaml", DemoConfig); err != nil {
			return nil, err
		}
	}
	testSrc := setup
	if opts.TestSetup != nil {
		testSrc = opts.TestSetup
	}
	testSetup, err := copySetup(testSrc)
	if err != nil {
		return nil, err
	}
	client := h.ca.Client()
	if !opts.NoProxy {
		client = h.proxyClient()
	}
	indexLog := logger.With("component", "index")
	h.addIssuers(setup)
	idxCfg, err := h.indexConfig(opts, "index", index.Config{Setup: *setup, HTTPClient: client, Logger: indexLog, Control: opts.Control, Events: evs})
	if err != nil {
		return nil, err
	}
	if h.idx, err = index.New(idxCfg); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	idxH := wrapIndex(opts, h.idx)
	h.serve(indexLn, idxH)
	// The fake Sigstore shares the index's clock (so /_fake/clock moves
	// certificate and log times too) and its issuers.
	sigLn, err := h.startSigstore(opts, setup.Issuers, client, h.idx.Clock())
	if err != nil {
		return nil, fmt.Errorf("sigstore: %w", err)
	}
	h.idx.SetTrustedRoot(h.sig.TrustedRoot())

	if !opts.NoProxy {
		if !opts.NoTestPyPI {
			// TestPyPI is a separate warehouse: its own projects and
			// audience "testpypi", tokens located at test.pypi.org.
			testSetup.Audience = "testpypi"
			if testSetup.Domain == "" || testSetup.Domain == "pypi.org" {
				testSetup.Domain = "test.pypi.org"
			}
			h.addIssuers(testSetup)
			testLog := logger.With("component", "testpypi")
			var testCfg index.Config
			testCfg, err = h.indexConfig(opts, "testpypi", index.Config{Setup: *testSetup, HTTPClient: client, Logger: testLog, Control: opts.Control})
			if err != nil {
				return nil, err
			}
			if h.test, err = index.New(testCfg); err != nil {
				return nil, fmt.Errorf("testpypi index: %w", err)
			}
			// TestPyPI trusts Sigstore's staging instance; the harness has
			// one fake for both.
			h.test.SetTrustedRoot(h.sig.TrustedRoot())
		}
		plog := logger.With("component", "proxy")
		h.prox = proxy.New(h.ca, proxy.WithLogger(plog), proxy.WithLimits(opts.Limits))
		var testH http.Handler
		if h.test != nil {
			testH = wrapIndex(opts, h.test)
		}
		for host, hh := range hostRoutes(idxH, testH, opts.Control.DirectOnly) {
			h.prox.Handle(host, hh)
		}
		if h.iss != nil {
			h.prox.Handle("token.actions.githubusercontent.com", h.iss)
		}
		for _, host := range sigstoreHosts {
			h.prox.Handle(host, h.sigHandler)
		}
		// The harness's own loopback listeners are reachable through the
		// proxy too, dispatched by port. ACTIONS_ID_TOKEN_REQUEST_URL names
		// the issuer's loopback listener because id >= 1.6 (twine's token
		// source) fetches it with bare urllib3, which ignores HTTPS_PROXY,
		// while requests, curl and uv send the same URL through the proxy.
		direct := map[string]http.Handler{advertisedAddr(indexLn): idxH, advertisedAddr(sigLn): h.sigHandler}
		if h.iss != nil {
			direct[advertisedAddr(issuerLn)] = h.iss
		}
		for host, hh := range loopbackRoutes(direct) {
			h.prox.Handle(host, hh)
		}
		h.serve(proxyLn, h.prox.Front(h.ca))
	}

	if err := h.buildEnv(opts); err != nil {
		return nil, err
	}
	h.idx.SetLanding(h.landing)
	if h.iss != nil {
		// The dashboard's "in force" panel names the issuer's faults too.
		index := h.idx.Pages.InForce
		h.idx.Pages.InForce = func() []string { return append(index(), h.iss.FaultsInForce()...) }
	}
	return h, nil
}

func wrapIndex(opts Options, s *index.Server) http.Handler {
	if opts.WrapIndex == nil {
		return s
	}
	return opts.WrapIndex(s)
}

// listen records the listener, so Close releases it even when Start
// fails before serving on it.
func (h *Harness) listen(addr, scheme string, cfg *tls.Config) (net.Listener, error) {
	ln, err := listen(addr, scheme, cfg)
	if err == nil {
		h.lns = append(h.lns, ln)
	}
	return ln, err
}

// serve runs hd on ln until Close.
func (h *Harness) serve(ln net.Listener, hd http.Handler) {
	srv := httpserver.New(hd, h.limits, h.panicLog)
	h.servers = append(h.servers, srv)
	go srv.Serve(ln)
}

func baseURL(scheme string, ln net.Listener) string {
	// SchemeBoth advertises https: uv and gh-action-pypi-publish force it,
	// and http:// still works on the same port.
	if scheme == SchemeHTTP {
		return "http://" + advertisedAddr(ln)
	}
	return "https://" + advertisedAddr(ln)
}

// addIssuers points the index at the fake issuer for each canonical issuer
// the setup does not map itself. Behind the proxy GitHub's discovery URL is
// the real one, answered by the issuer through the proxy.
func (h *Harness) addIssuers(f *indexconfig.File) {
	if h.iss == nil {
		return
	}
	have := map[string]bool{}
	for _, is := range f.Issuers {
		have[is.URL] = true
	}
	infos := h.iss.Issuers()
	for _, svc := range oidc.Services {
		canon := oidc.CanonicalIssuer(svc)
		info, ok := infos[issuer.Kind(svc)]
		if have[canon] || !ok || info.Issuer != canon {
			continue
		}
		base := strings.TrimSuffix(info.DiscoveryURL, "/.well-known/openid-configuration")
		f.Issuers = append(f.Issuers, oidc.Issuer{URL: canon, Service: svc, Discovery: base})
	}
}

// copySetup deep-copies a setup, so the TestPyPI index's normalization
// cannot touch the PyPI index's slices.
func copySetup(f *indexconfig.File) (*indexconfig.File, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	var c indexconfig.File
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// proxyClient sends everything through the proxy, trusting only the CA:
// how the index fetches JWKS from https://token.actions.githubusercontent.com.
func (h *Harness) proxyClient() *http.Client {
	u, _ := url.Parse(h.proxyURL)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = http.ProxyURL(u)
	t.TLSClientConfig = &tls.Config{RootCAs: h.ca.CertPool()}
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// Client returns an HTTP client that behaves like a harnessed publishing
// client: through the proxy (when running) and trusting only the CA.
func (h *Harness) Client() *http.Client {
	if h.proxyURL != "" {
		return h.proxyClient()
	}
	return h.ca.Client()
}

func (h *Harness) buildEnv(opts Options) error {
	add := func(k, v string) { h.env = append(h.env, k+"="+v) }
	if h.iss != nil {
		kind := opts.CI
		if kind == "" {
			kind = issuer.GitHub
		}
		h.ci = kind
		// GitLab puts one token per audience in the job's environment:
		// PYPI_ID_TOKEN for PyPI, TESTPYPI_ID_TOKEN for TestPyPI.
		e, err := h.iss.Env(kind, issuer.EnvOptions{Audiences: []string{"pypi", "testpypi"}})
		if err != nil {
			return err
		}
		h.unset = e.Unset
		for _, v := range e.Vars {
			if v.Name == "ACTIONS_ID_TOKEN_REQUEST_URL" {
				// Same path and query, on the loopback listener: reachable
				// with and without the proxy (see Start).
				if u, err := url.Parse(v.Value); err == nil {
					v.Value = h.issuerURL + u.RequestURI()
				}
			}
			add(v.Name, v.Value)
		}
		if len(e.Files) > 0 {
			// gh-action-pypi-publish reads GITHUB_EVENT_PATH and appends
			// to GITHUB_STEP_SUMMARY: real files, as on a runner.
			runner := filepath.Join(h.dir, "runner")
			if err := os.MkdirAll(runner, 0o755); err != nil {
				return err
			}
			add("RUNNER_TEMP", runner)
			for _, f := range e.Files {
				p := filepath.Join(runner, f.Name)
				if err := os.WriteFile(p, []byte(f.Content), 0o644); err != nil {
					return err
				}
				add(f.Var, p)
			}
		}
	}
	if h.proxyURL != "" {
		// Both spellings (curl reads only lower-case http_proxy), and an
		// empty NO_PROXY so an inherited list cannot bypass the proxy.
		for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"} {
			add(k, h.proxyURL)
		}
		add("NO_PROXY", "")
		add("no_proxy", "")
	}
	bundle := h.ca.BundlePath()
	if opts.EnvCA != "" {
		// A copy where clients outside this filesystem (the host of a
		// container) can keep one too: the same path works on both sides.
		if err := os.WriteFile(opts.EnvCA, h.ca.CertPEM(), 0o644); err != nil {
			return fmt.Errorf("EnvCA: %w", err)
		}
		bundle = opts.EnvCA
	}
	for _, kv := range h.ca.Env() {
		k, _, _ := strings.Cut(kv, "=")
		add(k, bundle)
	}
	if h.proxyURL == "" {
		// Without the proxy the clients' defaults (PyPI's real URLs) lead
		// nowhere: name the direct listener.
		upload, simple := h.indexURL+"/legacy/", h.indexURL+"/simple/"
		add("TWINE_REPOSITORY_URL", upload)
		add("UV_PUBLISH_URL", upload)
		add("PIP_INDEX_URL", simple)
		add("UV_DEFAULT_INDEX", simple)
	}
	// Through the proxy no index variable is set: a GitHub runner sets
	// none, the clients' defaults already are https://upload.pypi.org/legacy/
	// and https://pypi.org/simple/ (answered by the fakes), and a variable
	// would change what a job does: TWINE_REPOSITORY_URL outranks
	// `twine upload -r testpypi`, UV_PUBLISH_URL conflicts with
	// `uv publish --index`.
	// twine asks the keyring for a password before it tries trusted
	// publishing; on a desktop that can hang on D-Bus or find a stale
	// password. The null backend makes the lookup fail fast.
	add("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
	add("FAKEPYPI_INDEX_URL", h.indexURL)
	if h.issuerURL != "" {
		add("FAKEPYPI_ISSUER_URL", h.issuerURL)
	}
	if h.proxyURL != "" {
		add("FAKEPYPI_PROXY_URL", h.proxyURL)
		add("FAKEPYPI_CA_URL", h.proxyURL+proxy.CAPath)
	}
	if h.sigstoreURL != "" {
		// fakeindex attest signs here (Fulcio and Rekor paths).
		add("FAKEPYPI_SIGSTORE_URL", h.sigstoreURL)
	}
	add("FAKEPYPI_CA_BUNDLE", bundle)
	if h.controlToken != "" {
		add(controlplane.EnvToken, h.controlToken)
	}
	return nil
}

// Env returns the environment a publish job needs, as "KEY=value"
// entries: the GitHub Actions job variables (GITHUB_ACTIONS,
// ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN, GITHUB_REPOSITORY...), the proxy
// (HTTPS_PROXY...), the CA bundle (REQUESTS_CA_BUNDLE, SSL_CERT_FILE,
// PIP_CERT...), index URLs for twine, uv and pip only without the proxy
// (through it the clients' defaults reach the fakes, as on a runner), and
// FAKEPYPI_* URLs of the direct listeners. Variables of other CI systems should be removed
// from the inherited environment first: use Environ.
func (h *Harness) Env() []string { return append([]string(nil), h.env...) }

// Unset lists variables a job must not inherit: other CI systems'
// triggers, which would make the id package detect the wrong CI.
func (h *Harness) Unset() []string { return append([]string(nil), h.unset...) }

// Environ returns base without the Unset variables and without the ones
// Env sets, followed by Env: ready for exec.Cmd.Env.
func (h *Harness) Environ(base []string) []string {
	drop := map[string]bool{}
	for _, k := range h.unset {
		drop[k] = true
	}
	for _, kv := range h.env {
		k, _, _ := strings.Cut(kv, "=")
		drop[k] = true
	}
	var out []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	return append(out, h.env...)
}

// Shell renders the environment for a POSIX shell (`eval` or `. file`):
// one `unset` line, then `export K='V'` lines.
func (h *Harness) Shell() string {
	var b strings.Builder
	b.WriteString("# fakepypi harness environment (fakeindex up)\n")
	if len(h.unset) > 0 {
		u := append([]string(nil), h.unset...)
		sort.Strings(u)
		fmt.Fprintf(&b, "unset %s\n", strings.Join(u, " "))
	}
	for _, kv := range h.env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(v))
	}
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// WriteEnvFile writes Shell to path atomically (a temporary file in the
// same directory, then a rename), so a script waiting for path never
// reads half of it.
func (h *Harness) WriteEnvFile(path string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".fakepypi-env-*")
	if err != nil {
		return err
	}
	_, werr := io.Copy(f, bytes.NewBufferString(h.Shell()))
	cerr := f.Close()
	// 0600: the file holds ACTIONS_ID_TOKEN_REQUEST_TOKEN and the control
	// token (CreateTemp makes it 0600 already; kept explicit).
	if err := errors.Join(werr, cerr, os.Chmod(f.Name(), 0o600)); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

// IndexURL is the index's direct base URL (https://127.0.0.1:N with the
// default Scheme; http:// works on the same port).
func (h *Harness) IndexURL() string { return h.indexURL }

// IssuerURL is the issuer's direct base URL, "" with NoIssuer.
func (h *Harness) IssuerURL() string { return h.issuerURL }

// ProxyURL is the proxy's URL for HTTPS_PROXY, "" with NoProxy.
func (h *Harness) ProxyURL() string { return h.proxyURL }

// ControlToken is the token /_fake/ requests must carry ("" for none).
func (h *Harness) ControlToken() string { return h.controlToken }

// CABundle is the path of the PEM bundle clients must trust.
func (h *Harness) CABundle() string { return h.ca.BundlePath() }

// Dir is the data directory (temporary unless Options.Dir was set).
func (h *Harness) Dir() string { return h.dir }

// CA returns the local CA.
func (h *Harness) CA() *localca.CA { return h.ca }

// Index returns the PyPI index.
func (h *Harness) Index() *index.Server { return h.idx }

// TestIndex returns the TestPyPI index, nil if not started.
func (h *Harness) TestIndex() *index.Server { return h.test }

// Issuer returns the fake issuer, nil with NoIssuer.
func (h *Harness) Issuer() *issuer.Server { return h.iss }

// Proxy returns the proxy, nil with NoProxy. Its Refused lists the
// destinations clients were refused.
func (h *Harness) Proxy() *proxy.Proxy { return h.prox }

// indexConfig completes cfg for one index: with opts.Persist, its catalog
// and files live in Dir/sub, read back from an earlier run.
func (h *Harness) indexConfig(opts Options, sub string, cfg index.Config) (index.Config, error) {
	if !opts.Persist {
		return cfg, nil
	}
	// One clock for the server and its catalog, as plain fakeindex has,
	// so /_fake/clock moves the catalog's time rules too.
	clk := clock.NewOffset(clock.Real{})
	cat, blobs, err := index.OpenData(filepath.Join(h.dir, sub), clk)
	if err != nil {
		return cfg, fmt.Errorf("%s data: %w", sub, err)
	}
	h.catalogs = append(h.catalogs, cat)
	cfg.Clock, cfg.Catalog, cfg.Blobs = clk, cat, blobs
	return cfg, nil
}

// Close stops every listener and tunnel and removes a temporary Dir.
// Later calls return the first call's result.
func (h *Harness) Close() error {
	h.closeOnce.Do(func() { h.closeErr = h.close() })
	return h.closeErr
}

func (h *Harness) close() error {
	var errs []error
	// Proxy first: its tunnels hold hijacked connections the servers no
	// longer track.
	if h.prox != nil {
		errs = append(errs, h.prox.Close())
	}
	for i := len(h.servers) - 1; i >= 0; i-- {
		errs = append(errs, h.servers[i].Close())
	}
	h.servers = nil
	for _, c := range h.catalogs {
		errs = append(errs, c.Close()) // folds each journal into catalog.json
	}
	h.catalogs = nil
	for _, ln := range h.lns {
		ln.Close() // already closed by its server, unless Start failed first
	}
	h.lns = nil
	if h.tmpDir != "" {
		errs = append(errs, os.RemoveAll(h.tmpDir))
		h.tmpDir = ""
	}
	return errors.Join(errs...)
}

// secretVars are left out of the landing page, which is not behind the
// control plane's protection.
var secretVars = map[string]bool{"ACTIONS_ID_TOKEN_REQUEST_TOKEN": true}

// landing tells the index's landing page what else is running.
func (h *Harness) landing(r *http.Request, l *pages.Landing) {
	l.Program = "fakeindex up"
	l.IssuerURL, l.ProxyURL, l.CABundle = h.issuerURL, h.proxyURL, h.ca.BundlePath()
	for _, kv := range h.env {
		k, v, _ := strings.Cut(kv, "=")
		if secretVars[k] {
			v = "(left out here: see the env file, or the issuer's /_fake/env)"
		}
		l.Env = append(l.Env, pages.EnvVar{Name: k, Value: v})
	}
}

// CI is the kind of CI job Env describes (issuer.GitHub unless
// Options.CI said otherwise).
func (h *Harness) CI() issuer.Kind { return h.ci }
