package issuer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fakepypi/fakepypi/internal/controlplane"
	"github.com/fakepypi/fakepypi/internal/events"
	"github.com/fakepypi/fakepypi/internal/httpserver"
	"github.com/fakepypi/fakepypi/internal/logging"
)

// Config configures a Server. The zero value works: random keys, GitHub's
// real issuer string, the default run context, no faults.
type Config struct {
	// Addr is where Start listens; default 127.0.0.1:0 (a free port).
	Addr string `yaml:"addr" json:"addr"`
	// PublicURL is the base URL written into discovery documents and env
	// exports when it differs from the listener's (e.g. behind a proxy).
	PublicURL string `yaml:"public_url" json:"public_url"`
	// Seed, when set, derives the keys deterministically so that kids and
	// signatures are the same on every run.
	Seed string `yaml:"seed" json:"seed"`
	// Keys is how many keys the JWKS starts with (the last one signs); default 1.
	Keys int `yaml:"keys" json:"keys"`
	// KeyFile, without Seed, keeps the random keys in a PEM file (read at
	// start, created or completed with mode 0600 when it holds fewer than
	// Keys keys), so kids and keys survive a restart and a start costs no
	// key generation. Keys added later by rotation are not written.
	KeyFile string `yaml:"key_file" json:"key_file"`
	// RequestToken is ACTIONS_ID_TOKEN_REQUEST_TOKEN; default random.
	RequestToken string `yaml:"request_token" json:"request_token"`
	// Issuers overrides the iss of a kind; "self" means this server's URL.
	Issuers map[Kind]string `yaml:"issuers" json:"issuers"`
	// Lifetime of tokens (exp - iat); default 300 s as on GitHub.
	Lifetime time.Duration `yaml:"lifetime" json:"lifetime"`
	// Faults apply to every token (sticky).
	Faults []Fault `yaml:"faults" json:"faults"`
	// Context is the run context; zero fields take defaults.
	Context RunContext `yaml:"context" json:"context"`
	// Now is the clock; default time.Now.
	Now func() time.Time `yaml:"-" json:"-"`
	// Logger receives one record per request handled and per token
	// issued; nil discards them.
	Logger *slog.Logger `yaml:"-" json:"-"`
	// Control guards /_fake/ (internal/controlplane): the Host names
	// allowed, JSON-only writes and, with a token (--control-token or
	// $FAKEPYPI_CONTROL_TOKEN, never the file), its Authorization.
	Control controlplane.Policy `yaml:"control" json:"-"`
	// Events, when set, records each minted token as an event of kind
	// "token" (the harness shares the index's log, so its dashboard shows
	// tokens beside the mint attempts that used them).
	Events *events.Log `yaml:"-" json:"-"`
	// Limits bound slow and idle clients of Start's listener
	// (internal/httpserver); zero fields take the defaults.
	Limits httpserver.Limits `yaml:"-" json:"-"`
}

// Server is a fake CI OIDC issuer. It is an http.Handler; Start also
// gives it a listener.
type Server struct {
	cfg    Config
	keys   *keyring
	router http.Handler

	mu     sync.Mutex
	run    RunContext // as set, before defaults
	sticky []Fault
	queue  [][]Fault
	issued []Issued

	base string // http://host:port once listening
	ln   net.Listener
	srv  *http.Server
}

// Validate checks cfg; errors are *FieldError naming the setting.
func (cfg Config) Validate() error {
	if cfg.Lifetime < 0 {
		return &FieldError{"lifetime", cfg.Lifetime.String() + ": must be positive"}
	}
	if cfg.Keys < 0 || cfg.Keys > 20 {
		return &FieldError{"keys", fmt.Sprintf("%d: want 1 to 20", cfg.Keys)}
	}
	for k, v := range cfg.Issuers {
		if _, err := ParseKind(string(k)); err != nil {
			return &FieldError{"issuers." + string(k), err.Error()}
		}
		if v == "" {
			return &FieldError{"issuers." + string(k), "empty issuer"}
		}
	}
	check := cfg.Context.clone()
	check.fill()
	return check.validate()
}

// New builds a Server without a listener; serve it with any http.Server or
// httptest.Server. Documents then name the host the request came to.
func New(cfg Config) (*Server, error) {
	if cfg.Lifetime == 0 {
		cfg.Lifetime = DefaultLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	// A panic is a bug: logged with its stack, to slog's default logger
	// when none is configured, never discarded.
	panicLog := cfg.Logger
	if panicLog == nil {
		panicLog = slog.Default()
	}
	cfg.Logger = logging.OrDiscard(cfg.Logger)
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.RequestToken == "" {
		// Derived from the seed when there is one, so a scenario's
		// environment is the same on every run.
		b := make([]byte, 20)
		if cfg.Seed != "" {
			_, _ = (&hashStream{seed: []byte("fakeissuer request token\x00" + cfg.Seed)}).Read(b)
		} else {
			_, _ = rand.Read(b)
		}
		cfg.RequestToken = hex.EncodeToString(b)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	keys, err := newKeyring(cfg.Seed, cfg.Keys, cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, keys: keys, run: cfg.Context.clone(), sticky: cfg.Faults}
	s.router = controlplane.Guard(s.routes(), cfg.Control, func(w http.ResponseWriter, r *http.Request, status int, msg string) {
		writeMessage(w, status, msg)
	})
	// A handler panic is answered 500 in GitHub's {"message"} shape.
	s.router = httpserver.Recover(s.router, panicLog, func(w http.ResponseWriter, r *http.Request) {
		writeMessage(w, http.StatusInternalServerError, "internal error in fakeissuer (logged): "+r.Method+" "+r.URL.Path)
	})
	return s, nil
}

// Start builds a Server and serves it on cfg.Addr (default 127.0.0.1:0).
func Start(cfg Config) (*Server, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	s.ln = ln
	s.base = "http://" + ln.Addr().String()
	s.srv = httpserver.New(s, cfg.Limits, cfg.Logger)
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logger.Error("serve", "err", err)
		}
	}()
	return s, nil
}

// TB is the part of testing.TB that NewTestServer uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Cleanup(func())
}

// NewTestServer starts a Server for a test, logs through t and closes it
// when the test ends.
func NewTestServer(t TB, cfg Config) *Server {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(tbWriter{t}, nil)).With("component", "issuer")
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("fakeissuer: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Close stops the listener started by Start.
func (s *Server) Close() {
	if s.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.srv.Shutdown(ctx)
	}
}

// URL is the server's base URL: PublicURL if set, else the listener's,
// else "" (a Server from New that was never started).
func (s *Server) URL() string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	return s.base
}

// ServeHTTP makes the Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.cfg.Logger.Info("request", "method", r.Method, "uri", r.URL.RequestURI())
	s.router.ServeHTTP(w, r)
}

// tbWriter hands each log record to a test's log.
type tbWriter struct{ t TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// requestBase is the base URL for documents answering r.
func (s *Server) requestBase(r *http.Request) string {
	if u := s.URL(); u != "" {
		return u
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// Issuer is the iss of kind k's tokens: the real issuer string by default.
func (s *Server) Issuer(k Kind) string { return s.issuer(k, s.URL()) }

func (s *Server) issuer(k Kind, base string) string {
	iss, ok := s.cfg.Issuers[k]
	if !ok {
		return defaultIssuer(k)
	}
	if iss == SelfIssuer {
		if k == GitHub {
			return base
		}
		return base + k.pathPrefix()
	}
	return iss
}

// DiscoveryURL is where this server publishes kind k's
// openid-configuration: what an index mapping Issuer(k) to this server
// should fetch. GitHub's is also at the root.
func (s *Server) DiscoveryURL(k Kind) string {
	return s.URL() + k.pathPrefix() + "/.well-known/openid-configuration"
}

// JWKSURL is the jwks_uri of kind k's discovery document.
func (s *Server) JWKSURL(k Kind) string { return s.URL() + k.pathPrefix() + "/.well-known/jwks" }

// RequestURL is ACTIONS_ID_TOKEN_REQUEST_URL. It carries a query so that
// clients appending "&audience=" work (GitHub's docs: curl "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=...").
func (s *Server) RequestURL() string { return s.URL() + githubTokenPath + "?api-version=2.0" }

// RequestToken is ACTIONS_ID_TOKEN_REQUEST_TOKEN.
func (s *Server) RequestToken() string { return s.cfg.RequestToken }

func (s *Server) rawContext() RunContext {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.run.clone()
}

// Context returns the effective run context (defaults filled in).
func (s *Server) Context() RunContext {
	rc := s.rawContext()
	rc.fill()
	return rc
}

// SetContext replaces the run context; zero fields take defaults.
func (s *Server) SetContext(rc RunContext) error {
	return s.updateContext(func(cur *RunContext) { *cur = rc.clone() })
}

// UpdateContext edits the run context as set so far (before defaults).
func (s *Server) UpdateContext(edit func(*RunContext)) error { return s.updateContext(edit) }

func (s *Server) updateContext(edit func(*RunContext)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.run.clone()
	edit(&next)
	check := next.clone()
	check.fill()
	if err := check.validate(); err != nil {
		return err
	}
	s.run = next
	return nil
}

// SetFaults replaces the sticky faults (applied to every token).
func (s *Server) SetFaults(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sticky = append([]Fault(nil), faults...)
}

// QueueFaults queues one-shot faults: the next token request gets all of
// them, then they are gone. Call it twice for two tokens.
func (s *Server) QueueFaults(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, append([]Fault(nil), faults...))
}

// ClearFaults drops sticky and queued faults.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sticky, s.queue = nil, nil
}

// RotateKey publishes a new key and signs with it from now on; it returns
// the new kid. Older keys stay in the JWKS until retired.
func (s *Server) RotateKey() (string, error) {
	k, err := s.keys.rotate()
	if err != nil {
		return "", err
	}
	return k.kid, nil
}

// RetireKey removes a key from the JWKS (ErrLastKey for the only key).
func (s *Server) RetireKey(kid string) error { return s.keys.retire(kid) }

// KeyIDs lists the published kids, oldest first; the last one signs.
func (s *Server) KeyIDs() []string {
	var ids []string
	for _, k := range s.keys.list() {
		ids = append(ids, k.kid)
	}
	return ids
}

// Issued returns the tokens minted so far, oldest first.
func (s *Server) Issued() []Issued {
	s.mu.Lock()
	out := append([]Issued(nil), s.issued...)
	s.mu.Unlock()
	for i := range out {
		out[i].decode()
	}
	return out
}

var _ http.Handler = (*Server)(nil)
