// Package pypitest runs fakepypi inside a Go test: a fake CI OIDC issuer and
// a fake PyPI that verifies its tokens, served on loopback with a throw-away
// local CA, in the manner of net/http/httptest.
//
//	h := pypitest.New(t, pypitest.WithConfig(`
//	projects: [{name: demo}]
//	publishers:
//	  - {service: github, owner: octo-org, repository: octo-repo, workflow_filename: release.yml, projects: [demo]}
//	`))
//	token := h.PublishToken()                       // OIDC token from "CI", exchanged at mint-token
//	res, err := h.Upload(token, "demo-1.0-py3-none-any.whl", pypitest.Wheel("demo", "1.0"))
//	// res.Status == 200; h.Events("upload") says what the index decided and why
//
// Every Harness is independent (own ports, keys, CA and state), so tests
// may run in parallel. The fake issuer's run context defaults to a push to
// main of octo-org/octo-repo running .github/workflows/release.yml; change
// it with WithContext or SetContext. Both servers share one clock, which
// AdvanceClock moves ("15 minutes later") without waiting.
//
// For subprocess clients (twine, pip, uv), Env returns the variables a
// publish job needs: index URLs, the CA bundle, and the CI job variables.
package pypitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/events"
	"github.com/fakepypi/fakepypi/internal/harness"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/indexfault"
	"github.com/fakepypi/fakepypi/internal/issuer"
	"github.com/fakepypi/fakepypi/internal/readapi"
)

// Event is one decision of the index (a mint attempt or an upload) with the
// harness's explanation in Why; PyPI itself never says why.
type Event = events.Event

// Harness is a running issuer + index (+ CA, and the intercepting proxy
// with WithProxy). Its methods are safe for concurrent use.
type Harness struct {
	h  *harness.Harness
	tb testing.TB // set by New: helpers fail the test instead of panicking
}

type options struct {
	config     []byte
	configName string
	issuer     []byte
	contexts   [][2]string
	faults     []string
	proxy      bool
	log        io.Writer
	control    string
	sigFaults  []string
}

// Option configures New and Start.
type Option func(*options) error

// WithConfig sets the index's setup from YAML in fakeindex's configuration
// format (docs/fakeindex.md): users, projects, publishers, pending
// publishers, tokens, audience, flags. Without it the index holds the demo
// setup: project "demo" with a GitHub publisher matching the default run
// context. Issuers need not be listed: the canonical ones are pointed at
// the fake issuer.
func WithConfig(yaml string) Option {
	return func(o *options) error {
		o.config, o.configName = []byte(yaml), "config.yaml"
		return nil
	}
}

// WithConfigFile reads the index's setup from a YAML file.
func WithConfigFile(path string) Option {
	return func(o *options) error {
		b, err := os.ReadFile(path)
		o.config, o.configName = b, path
		return err
	}
}

// WithIssuerConfig sets the fake issuer's configuration from YAML in
// fakeissuer's format (docs/fakeissuer.md): run context, lifetime, faults,
// seed. Addresses in it are ignored.
func WithIssuerConfig(yaml string) Option {
	return func(o *options) error {
		o.issuer = []byte(yaml)
		return nil
	}
}

// WithContext sets one field of the run context by its dotted name, as
// `fakeissuer --set` does: WithContext("github.ref", "refs/tags/v1.0").
func WithContext(path, value string) Option {
	return func(o *options) error {
		o.contexts = append(o.contexts, [2]string{path, value})
		return nil
	}
}

// WithFaults makes every token wrong in the named ways ("expired",
// "wrong-audience", "missing:jti"...; issuer.FaultNames lists them).
func WithFaults(names ...string) Option {
	return func(o *options) error {
		o.faults = append(o.faults, names...)
		return nil
	}
}

// WithProxy also starts the intercepting proxy that answers pypi.org,
// upload.pypi.org, files.pythonhosted.org and
// token.actions.githubusercontent.com, so unmodified clients with
// HTTPS_PROXY (from Env) talk to the harness. Without it clients use
// IndexURL directly.
func WithProxy() Option {
	return func(o *options) error {
		o.proxy = true
		return nil
	}
}

// WithControlToken protects the /_fake/ control plane of the index and
// the issuer with token (internal/controlplane): requests there must
// carry "Authorization: Bearer <token>". Env exports it as
// FAKEPYPI_CONTROL_TOKEN for subprocess clients; ControlToken returns it.
func WithControlToken(token string) Option {
	return func(o *options) error {
		o.control = token
		return nil
	}
}

// WithLog sends the components' logs (one text record per line, per
// decision) to w. New logs to the test log by default.
func WithLog(w io.Writer) Option {
	return func(o *options) error {
		o.log = w
		return nil
	}
}

// New starts a harness for the test and stops it in tb.Cleanup. It fails
// the test if the harness cannot start (a bad configuration, for instance).
func New(tb testing.TB, opts ...Option) *Harness {
	tb.Helper()
	opts = append([]Option{WithLog(tbWriter{tb})}, opts...)
	h, err := Start(opts...)
	if err != nil {
		tb.Fatalf("pypitest: %v", err)
	}
	h.tb = tb
	tb.Cleanup(func() { h.Close() })
	return h
}

// tbWriter forwards log lines to the test log.
type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Start is New for callers without a testing.TB (a TestMain, a testscript
// Setup): the caller must Close the harness.
func Start(opts ...Option) (*Harness, error) {
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	hopts := harness.Options{NoProxy: !o.proxy, NoTestPyPI: true}
	if o.log != nil {
		hopts.Logger = slog.New(slog.NewTextHandler(o.log, nil))
	}
	hopts.Control.Token = o.control
	hopts.SigstoreFaults = o.sigFaults
	if o.config != nil {
		setup, err := indexconfig.Parse(o.configName, o.config)
		if err != nil {
			return nil, err
		}
		hopts.Setup = setup
	}
	if o.issuer != nil {
		cfg, err := issuer.ParseConfig("issuer.yaml", o.issuer)
		if err != nil {
			return nil, err
		}
		hopts.Issuer = cfg
	}
	for _, kv := range o.contexts {
		if err := hopts.Issuer.Context.Set(kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	faults, err := issuer.ParseFaults(o.faults)
	if err != nil {
		return nil, err
	}
	hopts.Issuer.Faults = append(hopts.Issuer.Faults, faults...)

	// One clock for CI and PyPI: the issuer asks the index's clock, which
	// exists only once Start has built the index, hence the pointer.
	var started atomic.Pointer[harness.Harness]
	hopts.Issuer.Now = func() time.Time {
		if h := started.Load(); h != nil {
			return h.Index().Clock().Now()
		}
		return time.Now()
	}
	h, err := harness.Start(hopts)
	if err != nil {
		return nil, err
	}
	started.Store(h)
	return &Harness{h: h}, nil
}

// Close stops the servers and removes the CA's temporary directory.
func (h *Harness) Close() error { return h.h.Close() }

// IndexURL is the index's base URL, e.g. https://127.0.0.1:41234. It
// speaks HTTPS (trusting the CA: Client, CABundle) and plain HTTP on the
// same port.
func (h *Harness) IndexURL() string { return h.h.IndexURL() }

// UploadURL is the legacy upload endpoint, IndexURL + "/legacy/".
func (h *Harness) UploadURL() string { return h.h.IndexURL() + "/legacy/" }

// SimpleURL is the simple index, IndexURL + "/simple/".
func (h *Harness) SimpleURL() string { return h.h.IndexURL() + "/simple/" }

// IssuerURL is the fake issuer's base URL.
func (h *Harness) IssuerURL() string { return h.h.IssuerURL() }

// ControlToken is the token /_fake/ requests must carry, "" for none
// (WithControlToken).
func (h *Harness) ControlToken() string { return h.h.ControlToken() }

// CABundle is the path of a PEM file holding the CA certificate, for
// REQUESTS_CA_BUNDLE, SSL_CERT_FILE, PIP_CERT.
func (h *Harness) CABundle() string { return h.h.CABundle() }

// Client returns an HTTP client trusting the harness's CA (and going
// through the proxy with WithProxy, which answers only PyPI's and
// GitHub's hostnames).
func (h *Harness) Client() *http.Client { return h.h.Client() }

// direct is the client for the harness's own calls to IndexURL and
// IssuerURL, which the proxy would refuse.
func (h *Harness) direct() *http.Client { return h.h.CA().Client() }

// Env returns the environment of a GitHub Actions publish job against this
// harness as KEY=value entries: ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN and the
// GITHUB_* variables, the CA bundle variables, FAKEPYPI_INDEX_URL /
// FAKEPYPI_ISSUER_URL and, without WithProxy, TWINE_REPOSITORY_URL,
// PIP_INDEX_URL and UV_PUBLISH_URL naming the index (with the proxy the
// clients' defaults reach it, as on a runner).
func (h *Harness) Env() []string { return h.h.Env() }

// Environ returns base without other CI systems' variables and with Env
// appended: ready for exec.Cmd.Env.
func (h *Harness) Environ(base []string) []string { return h.h.Environ(base) }

// SetContext changes one field of the issuer's run context for the tokens
// minted from now on: SetContext("github.environment", "pypi").
func (h *Harness) SetContext(path, value string) error {
	var err error
	uerr := h.h.Issuer().UpdateContext(func(rc *issuer.RunContext) { err = rc.Set(path, value) })
	return errors.Join(err, uerr)
}

// SetFaults replaces the faults applied to every token from now on; no
// names clears them.
func (h *Harness) SetFaults(names ...string) error {
	f, err := issuer.ParseFaults(names)
	if err != nil {
		return err
	}
	h.h.Issuer().ClearFaults()
	h.h.Issuer().SetFaults(f...)
	return nil
}

// QueueFaults applies the named faults to the next token only.
func (h *Harness) QueueFaults(names ...string) error {
	f, err := issuer.ParseFaults(names)
	if err != nil {
		return err
	}
	h.h.Issuer().QueueFaults(f...)
	return nil
}

// SetIndexFaults makes the fake PyPI's endpoint ("audience",
// "mint-token", "upload", "simple", "json", "files", "integrity",
// "discovery", or "any") misbehave on every request: faults are
// "status:503", "non-json", "no-value", "delay:6s", "reset"
// (docs/fakeindex.md, "Faults"). No faults removes that endpoint's.
func (h *Harness) SetIndexFaults(endpoint string, faults ...string) error {
	r, err := indexRule(endpoint, faults)
	if err != nil {
		return err
	}
	return h.h.Index().Faults.SetSticky(r.Endpoint, r.Faults...)
}

// QueueIndexFaults applies faults to the next count requests to endpoint
// only (count < 1 means 1).
func (h *Harness) QueueIndexFaults(endpoint string, count int, faults ...string) error {
	r, err := indexRule(endpoint, faults)
	if err != nil {
		return err
	}
	return h.h.Index().Faults.Queue(r.Endpoint, count, r.Faults...)
}

// ClearIndexFaults removes every index fault, sticky or queued.
func (h *Harness) ClearIndexFaults() { h.h.Index().Faults.Clear() }

func indexRule(endpoint string, names []string) (indexfault.Rule, error) {
	r := indexfault.Rule{Endpoint: endpoint}
	for _, n := range names {
		f, err := indexfault.ParseFault(n)
		if err != nil {
			return r, err
		}
		r.Faults = append(r.Faults, f)
	}
	return r, r.Validate()
}

// OIDCToken is what a CI job of kind ("github", "gitlab", "google",
// "activestate"...) gets from its OIDC provider for audience ("" means
// "pypi"). A GitHub token is fetched over HTTP from
// ACTIONS_ID_TOKEN_REQUEST_URL, as the id package does, so token-endpoint
// faults apply; the others are minted directly.
func (h *Harness) OIDCToken(kind, audience string) (string, error) {
	if audience == "" {
		audience = "pypi"
	}
	k, err := issuer.ParseKind(kind)
	if err != nil {
		return "", err
	}
	iss := h.h.Issuer()
	if k != issuer.GitHub {
		return iss.TokenFor(context.Background(), k, audience)
	}
	req, err := http.NewRequest("GET", iss.RequestURL()+"&audience="+audience, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "bearer "+iss.RequestToken())
	// The token URL is GitHub's own host when the proxy runs: Client
	// goes through it, as the job would.
	resp, err := h.Client().Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v struct{ Value string }
	if resp.StatusCode != 200 || json.Unmarshal(body, &v) != nil || v.Value == "" {
		return "", fmt.Errorf("GitHub: OIDC token request failed (code=%d, body=%q)", resp.StatusCode, body)
	}
	return v.Value, nil
}

// MintResponse is mint-token's answer.
type MintResponse struct {
	Status  int         `json:"-"`
	Success bool        `json:"success"`
	Token   string      `json:"token"`
	Expires int64       `json:"expires"`
	Message string      `json:"message"`
	Errors  []MintError `json:"errors"`
	Body    []byte      `json:"-"`
}

// MintError is one entry of a refused mint's errors list.
type MintError struct {
	Code        string `json:"code"`
	Description string `json:"description"`
}

// Exchange posts {"token": oidcToken} to /_/oidc/mint-token as every
// trusted-publishing client does. A refusal (422) is a MintResponse with
// Errors, not an error; err is for transport failures.
func (h *Harness) Exchange(oidcToken string) (*MintResponse, error) {
	body, _ := json.Marshal(map[string]string{"token": oidcToken})
	return h.ExchangeBody(body)
}

// ExchangeBody posts body as is to /_/oidc/mint-token, for malformed
// requests.
func (h *Harness) ExchangeBody(body []byte) (*MintResponse, error) {
	resp, err := h.direct().Post(h.IndexURL()+"/_/oidc/mint-token", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	m := &MintResponse{Status: resp.StatusCode, Body: b}
	if err := json.Unmarshal(b, m); err != nil {
		return m, fmt.Errorf("mint-token: %d with a non-JSON body: %q", resp.StatusCode, b)
	}
	return m, nil
}

// PublishToken runs the whole trusted-publishing exchange for a job of
// kind (default "github") and returns the minted PyPI API token. If the
// exchange fails it fails the test (a Harness from Start panics); use
// OIDCToken and Exchange to test refusals.
func (h *Harness) PublishToken(kind ...string) string {
	k := "github"
	if len(kind) > 0 {
		k = kind[0]
	}
	jwt, err := h.OIDCToken(k, "")
	if err != nil {
		h.fatalf("pypitest: %v", err)
		return ""
	}
	m, err := h.Exchange(jwt)
	if err != nil {
		h.fatalf("pypitest: mint-token: %v", err)
		return ""
	}
	if m.Token == "" {
		h.fatalf("pypitest: mint-token refused (%d): %s", m.Status, m.Body)
	}
	return m.Token
}

func (h *Harness) fatalf(format string, args ...any) {
	if h.tb != nil {
		h.tb.Helper()
		h.tb.Fatalf(format, args...)
	}
	panic(fmt.Sprintf(format, args...))
}

// APIToken returns a user API token declared under tokens: in the config.
func (h *Harness) APIToken(name string) (string, bool) { return h.h.Index().Token(name) }

// Events returns the index's recorded decisions of kind ("mint",
// "upload", or "" for all), oldest first.
func (h *Harness) Events(kind string) []Event {
	return h.h.Index().Events.List(events.Filter{Kind: kind})
}

// AdvanceClock moves the shared clock of the index and the issuer forward:
// minted tokens expire after 15 minutes, OIDC tokens after 5, releases
// close to new files after 14 days.
func (h *Harness) AdvanceClock(d time.Duration) time.Time {
	if c, ok := h.h.Index().Clock().(interface{ Advance(time.Duration) time.Time }); ok {
		return c.Advance(d)
	}
	panic("pypitest: the index clock cannot be moved")
}

// Now is the harness's current time.
func (h *Harness) Now() time.Time { return h.h.Index().Clock().Now() }

// Seed puts an existing file into the index without the upload checks,
// as if it had been uploaded before the test: the project is created if
// needed, and version is taken from the filename when empty.
func (h *Harness) Seed(project, version, filename string, content []byte) error {
	if version == "" {
		var err error
		if _, version, err = ParseFilename(filename); err != nil {
			return err
		}
	}
	sf := readapi.SeedFile{Project: project, Version: version, Filename: filename, Content: content}
	if md, err := ReadMetadata(filename, content); err == nil {
		sf.Metadata.Summary = md.Get("Summary")
		sf.Metadata.RequiresPython = md.Get("Requires-Python")
	}
	_, err := h.h.Index().Read.Seed(sf)
	return err
}

// JobEnv renders the environment of a CI job of kind ("github", "gitlab",
// "google", "activestate", "buildkite", "circleci") in the current run
// context, as KEY=value entries, with the variables of other CI systems
// that must be unset. Files the job expects (GitHub's event payload,
// step summary) are written into dir. GitLab's and CircleCI's tokens, put
// in the environment at job start, are minted now for audience "pypi".
func (h *Harness) JobEnv(kind, dir string) (set, unset []string, err error) {
	k, err := issuer.ParseKind(kind)
	if err != nil {
		return nil, nil, err
	}
	e, err := h.h.Issuer().Env(k, issuer.EnvOptions{})
	if err != nil {
		return nil, nil, err
	}
	for _, v := range e.Vars {
		set = append(set, v.Name+"="+v.Value)
	}
	if len(e.Files) > 0 {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, err
		}
		set = append(set, "RUNNER_TEMP="+dir)
		for _, f := range e.Files {
			p := filepath.Join(dir, f.Name)
			if err := os.WriteFile(p, []byte(f.Content), 0o644); err != nil {
				return nil, nil, err
			}
			set = append(set, f.Var+"="+p)
		}
	}
	return set, e.Unset, nil
}
