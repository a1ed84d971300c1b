// Package index is fakeindex: an offline PyPI for testing publishing
// clients. It serves PyPI's trusted-publishing exchange (and, as other
// parts land, the upload endpoint and read APIs) from one route table,
// plus a JSON control plane under /_fake/ for tests and scripts.
package index

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/google/uuid"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fakepypi/fakepypi/internal/adminflag"
	"github.com/fakepypi/fakepypi/internal/apitoken"
	"github.com/fakepypi/fakepypi/internal/attestation"
	"github.com/fakepypi/fakepypi/internal/blobstore"
	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/controlplane"
	"github.com/fakepypi/fakepypi/internal/events"
	"github.com/fakepypi/fakepypi/internal/httpserver"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/indexfault"
	"github.com/fakepypi/fakepypi/internal/logging"
	"github.com/fakepypi/fakepypi/internal/oidc"
	"github.com/fakepypi/fakepypi/internal/pages"
	"github.com/fakepypi/fakepypi/internal/publisher"
	"github.com/fakepypi/fakepypi/internal/readapi"
	"github.com/fakepypi/fakepypi/internal/trust"
	"github.com/fakepypi/fakepypi/internal/upload"
)

// Config configures a Server. The zero Config is a working index with
// audience "pypi", no projects and no publishers.
type Config struct {
	// Setup is the declarative state (see internal/indexconfig).
	Setup indexconfig.File
	// Clock is the index's time; default clock.NewOffset(clock.Real{}),
	// which /_fake/clock can shift and freeze.
	Clock clock.Clock
	// Catalog is the project database; default an in-memory one.
	Catalog *catalog.Catalog
	// Blobs holds the distribution files; default an in-memory store.
	// OpenData opens both Catalog and Blobs on a data directory.
	Blobs blobstore.Store
	// HTTPClient fetches issuers' discovery documents and JWKS.
	HTTPClient *http.Client
	// Logger receives one record per event (mint, upload, fault), with
	// the diagnosis of a refusal in its why attribute; nil discards them.
	Logger *slog.Logger
	// Events is the event log; nil makes a new one. The harness passes
	// one it shares with the fake issuer, so the dashboard shows tokens
	// beside the attempts that used them.
	Events *events.Log
	// TLS, when set, makes Start serve HTTPS (clients such as
	// gh-action-pypi-publish always use https://).
	TLS *tls.Config
	// TrustedRoot is the Sigstore trusted root PEP 740 attestations are
	// verified against on upload (the harness passes its fake Sigstore's;
	// SetTrustedRoot changes it). Nil: no Sigstore is trusted and every
	// attestation fails its certificate chain.
	TrustedRoot *attestation.TrustedRoot
	// Control guards /_fake/ (internal/controlplane): an optional token,
	// the Host names allowed, JSON-only writes. /_fake/health is open.
	Control controlplane.Policy
	// Limits bound slow and idle clients of Listen's listener
	// (internal/httpserver); zero fields take the defaults.
	Limits httpserver.Limits
	// FilesURL is the prefix of file links on the read APIs, ending in
	// "/" (PyPI's files.url: https://files.pythonhosted.org/packages/).
	// Empty: the index's own /packages/ on the host the request named.
	FilesURL string
}

// Server is the fake index. It is an http.Handler.
type Server struct {
	cfg    Config
	clock  clock.Clock
	logger *slog.Logger

	Events     *events.Log
	Flags      *adminflag.Set
	Issuers    *oidc.Registry
	Keys       *oidc.KeyCache
	JTI        *oidc.JTIStore
	Publishers *publisher.Store
	Tokens     *apitoken.Service
	Exchange   *trust.Exchange
	Catalog    *catalog.Catalog
	Blobs      blobstore.Store
	Upload     *upload.Handler  // POST /legacy/ (warehouse/forklift/legacy.py)
	Read       *readapi.Handler // simple, JSON, files, integrity
	// Faults are the index's named faults (/_fake/faults, --fault):
	// PyPI endpoints answering 5xx, non-JSON, late, or not at all.
	Faults *indexfault.Set
	// Pages are the HTML pages: PyPI's project pages and /help/, the
	// harness's dashboard and claims debugger (internal/pages).
	Pages *pages.Site

	trustedRoot atomic.Pointer[attestation.TrustedRoot]

	users    *userDir
	projects *projectDir
	landing  func(r *http.Request, l *pages.Landing)

	handler http.Handler

	// Set by Start.
	listener net.Listener
	http     *http.Server
	url      string
	done     chan struct{}
	closeMu  sync.Mutex
}

// New builds a server from cfg, applying the setup; it fails if the
// setup is invalid.
func New(cfg Config) (*Server, error) {
	if err := cfg.Setup.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, clock: cfg.Clock, logger: logging.OrDiscard(cfg.Logger)}
	if s.clock == nil {
		s.clock = clock.NewOffset(clock.Real{})
	}
	s.Catalog = cfg.Catalog
	if s.Catalog == nil {
		s.Catalog = catalog.New(s.clock)
	}
	s.Events = cfg.Events
	if s.Events == nil {
		s.Events = events.New(0)
	}
	s.Events.Subscribe(s.logEvent)
	s.Faults = indexfault.New(s.Events, s.clock)
	s.Flags = adminflag.New()
	s.Issuers = oidc.NewRegistry()
	s.Keys = oidc.NewKeyCache(s.clock, cfg.HTTPClient)
	s.JTI = oidc.NewJTIStore(s.clock)
	s.Publishers = publisher.NewStore()
	s.users = newUserDir()
	s.projects = &projectDir{s: s, prohibited: map[string]bool{}}
	s.Tokens = apitoken.NewService(cfg.Setup.Domain, s.clock, s.users, publisherProjects{s})
	s.Exchange = &trust.Exchange{
		Issuers: s.Issuers, Verifier: &oidc.Verifier{Clock: s.clock, Keys: s.Keys}, JTI: s.JTI,
		Publishers: s.Publishers, Tokens: s.Tokens, Projects: s.projects, Flags: s.Flags,
		Events: s.Events, Clock: s.clock,
	}
	if err := s.apply(cfg.Setup); err != nil {
		return nil, err
	}
	s.initFiles()
	control := cfg.Control
	control.Open = append(append([]string(nil), control.Open...), "/_fake/health")
	s.initPages()
	s.handler = controlplane.Guard(s.routes(), control, func(w http.ResponseWriter, r *http.Request, status int, msg string) {
		replyErr(w, status, "%s", msg)
	})
	// A handler panic is a bug: logged with its stack (to slog's default
	// logger when none is configured, never discarded) and answered 500,
	// as Pyramid answers an unexpected exception on PyPI's paths and as
	// {"error"} on the control plane.
	panicLog := cfg.Logger
	if panicLog == nil {
		panicLog = slog.Default()
	}
	s.handler = httpserver.Recover(s.handler, panicLog, func(w http.ResponseWriter, r *http.Request) {
		if controlplane.IsControlPath(r.URL.Path) {
			replyErr(w, http.StatusInternalServerError, "internal error in fakeindex (logged): %s %s", r.Method, r.URL.Path)
			return
		}
		httpserver.PlainInternalError(w, r)
	})
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Clock returns the server's clock.
func (s *Server) Clock() clock.Clock { return s.clock }

// apply loads the declarative setup into the live stores.
func (s *Server) apply(f indexconfig.File) error {
	s.Exchange.SetAudience(f.Audience)
	for _, fl := range f.Flags {
		if err := s.Flags.Set(fl, true); err != nil {
			return err
		}
	}
	for _, is := range f.Issuers {
		if err := s.Issuers.Set(is); err != nil {
			return err
		}
	}
	for _, n := range f.ProhibitedNames {
		s.projects.prohibit(n)
	}
	lits, err := planLiterals(f, s.Tokens.Location)
	if err != nil {
		return err
	}
	for _, name := range lits.skipped {
		s.logger.Info("literal token left to the index of its domain", "token", name, "domain", s.Tokens.Location)
	}
	for _, u := range f.Users {
		s.users.putUser(apitoken.User{ID: lits.userID(u.Name), Name: u.Name, EmailVerified: u.Verified(), TwoFactor: u.TwoFA(), Frozen: u.Frozen})
	}
	projects := append([]indexconfig.Project(nil), f.Projects...)
	for name, owner := range lits.create {
		projects = append(projects, indexconfig.Project{Name: name, Owners: []string{owner}})
	}
	for _, p := range projects {
		id, err := lits.projectID(p.Name)
		if err != nil {
			return fmt.Errorf("project %q: id: %v", p.Name, err)
		}
		if have, ok := s.Catalog.Project(normalize(p.Name)); ok {
			// Kept in the data directory by an earlier run.
			if id != uuid.Nil && have.ID != id {
				return fmt.Errorf("project %q in the data directory has id %s, but a token names %s", p.Name, have.ID, id)
			}
			continue
		}
		if _, err := s.projects.createConfiguredID(p, id); err != nil {
			return fmt.Errorf("project %q: %v", p.Name, err)
		}
	}
	for _, p := range f.Publishers {
		if _, err := s.AddPublisher(p); err != nil {
			return err
		}
	}
	for _, p := range f.PendingPublishers {
		p.Pending = true
		if _, err := s.AddPublisher(p); err != nil {
			return err
		}
	}
	for _, t := range f.Tokens {
		if t.Value != "" {
			continue // literal tokens: below, for the index of their domain
		}
		if _, err := s.AddToken(t); err != nil {
			return err
		}
	}
	for _, lt := range lits.tokens {
		if err := s.addLiteral(lt.t, lt.lit); err != nil {
			return err
		}
	}
	return nil
}

// AddPublisher adds a publisher or pending publisher (p.Pending). A
// pending publisher without added_by is registered by the default user.
func (s *Server) AddPublisher(p publisher.Publisher) (publisher.Publisher, error) {
	if p.Pending && p.AddedBy == "" {
		p.AddedBy = DefaultUser
		s.users.ensure(DefaultUser)
	}
	if p.Pending && p.AddedBy != "" {
		if _, ok := s.users.User(p.AddedBy); !ok {
			return publisher.Publisher{}, fmt.Errorf("added_by %q is not a user", p.AddedBy)
		}
	}
	if p.Pending && p.Created.IsZero() {
		p.Created = s.clock.Now().UTC()
	}
	for i, name := range p.Projects {
		proj, ok := s.projects.Lookup(name)
		if !ok {
			return publisher.Publisher{}, fmt.Errorf("project %q does not exist", name)
		}
		p.Projects[i] = proj.Name
	}
	return s.Publishers.Add(p)
}

// AddToken mints a configured user API token and returns its string; a
// token given by value (a real PyPI token) is stored as it is, for the
// index of its domain.
func (s *Server) AddToken(t apitoken.UserToken) (string, error) {
	if t.Value != "" {
		lit, err := apitoken.ParseLiteral(t.Value)
		if err != nil {
			return "", fmt.Errorf("token %q: %v", t.Name, err)
		}
		if lit.Location != s.Tokens.Location {
			return "", fmt.Errorf("token %q was issued by %s; this index is %s", t.Name, lit.Location, s.Tokens.Location)
		}
		if t.Name == "" {
			t.Name = apitoken.LiteralName(lit)
		}
		for _, n := range lit.ProjectNames {
			if _, ok := s.Catalog.Project(normalize(n)); !ok {
				return "", fmt.Errorf("token %q is scoped to project %q, which does not exist: declare it (with the token's project id) in the configuration", t.Name, n)
			}
		}
		return t.Value, s.addLiteral(t, lit)
	}
	u, ok := s.users.User(t.User)
	if !ok {
		return "", fmt.Errorf("token %q: user %q does not exist", t.Name, t.User)
	}
	var scoped []apitoken.ScopedProject
	for _, name := range t.Projects {
		p, ok := s.Catalog.Project(normalize(name))
		if !ok {
			return "", fmt.Errorf("token %q: project %q does not exist", t.Name, name)
		}
		scoped = append(scoped, apitoken.ScopedProject{ID: p.ID.String(), NormalizedName: p.NormalizedName})
	}
	s.Tokens.Revoke(t.Name)
	return s.Tokens.MintUser(t, u.ID, scoped)
}

// Token returns the string of a configured token by name.
func (s *Server) Token(name string) (string, bool) {
	for _, t := range s.Tokens.List() {
		if t.Name == name {
			return t.Token, true
		}
	}
	return "", false
}

// logEvent logs one event on one line: "mint refused" at level WARN with
// the status, the code and message the client got, and why (the
// diagnosis PyPI does not give).
func (s *Server) logEvent(e events.Event) {
	if e.Kind == events.KindToken {
		return // the issuer logs its tokens itself
	}
	level, outcome := slog.LevelInfo, e.Verdict
	switch e.Verdict {
	case "ok":
	case "error":
		level, outcome = slog.LevelWarn, "refused"
	}
	attrs := []slog.Attr{slog.Int64("seq", e.Seq)}
	if e.Status != 0 {
		attrs = append(attrs, slog.Int("status", e.Status))
	}
	if e.Code != "" {
		attrs = append(attrs, slog.String("code", e.Code))
	}
	if e.Message != "" {
		attrs = append(attrs, slog.String("message", e.Message))
	}
	if e.Why != "" {
		attrs = append(attrs, slog.String("why", e.Why))
	}
	s.logger.LogAttrs(context.Background(), level, e.Kind+" "+outcome, attrs...)
}

// Start listens on 127.0.0.1:0 and serves s in the background.
func Start(cfg Config) (*Server, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return s, nil
}

// Listen serves s on addr in the background (":0" picks a port).
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
		scheme = "https"
	}
	s.listener = ln
	s.url = scheme + "://" + ln.Addr().String()
	s.http = httpserver.New(s, s.cfg.Limits, s.logger)
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("serve", "err", err)
		}
	}()
	return nil
}

// URL is the base URL while listening, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.url }

// Close stops listening, waiting briefly for requests in flight.
func (s *Server) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.http == nil {
		return nil
	}
	s.Faults.Clear() // a delay fault must not hold Shutdown up
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	<-s.done
	s.http = nil
	return err
}

// DefaultUser registers pending publishers declared without added_by.
const DefaultUser = "fakepypi"

// publisherProjects adapts the publisher store for apitoken.
type publisherProjects struct{ s *Server }

func (pp publisherProjects) PublisherProjects(id string) ([]string, bool) {
	p, ok := pp.s.Publishers.Get(id)
	if !ok || p.Pending {
		return nil, false
	}
	out := make([]string, len(p.Projects))
	for i, n := range p.Projects {
		out[i] = normalize(n)
	}
	return out, true
}
