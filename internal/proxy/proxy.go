// Package proxy is an intercepting HTTP(S) proxy that routes a fixed set
// of hostnames to in-process handlers or local upstream servers, and
// refuses everything else.
//
// Publishing clients are hard-wired to PyPI's real hostnames (twine only
// attempts trusted publishing for https://upload.pypi.org/legacy/ and
// https://test.pypi.org/legacy/; the OIDC exchange always goes to
// https://<host>/_/oidc/...). Instead of editing /etc/hosts or patching the
// clients, the harness runs them with HTTPS_PROXY pointing here. A CONNECT
// to an emulated host is answered locally: the proxy terminates TLS with a
// certificate from [localca] and hands the decrypted HTTP/1.1 requests to
// that host's handler. A CONNECT or plain request to any other host gets
// 403 Forbidden, is logged and recorded, so a publish run cannot reach the
// real PyPI by accident.
//
// Handlers see an ordinary server request: r.Host is the emulated host
// (with the port only when it is not the scheme's default), r.TLS is set
// for tunnelled requests, bodies stream (chunked or not), connections are
// kept alive, and the ResponseWriter implements [http.Hijacker], so a
// handler can write PyPI's custom status lines such as
// "HTTP/1.1 400 File already exists (...)" itself; see docs/https-and-proxy.md.
package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fakepypi/fakepypi/internal/httpserver"
	"github.com/fakepypi/fakepypi/internal/localca"
)

// maxRefusals bounds the refusal list, so a client retrying in a loop
// cannot grow it without limit; the oldest entries are dropped.
const maxRefusals = 1000

// Refusal records a request for a destination that is not emulated.
type Refusal struct {
	Time   time.Time
	Method string // "CONNECT", or the method of a plain-HTTP request
	Target string // host:port asked for
	Client string // the client's address
	// Message is what the client was told in the 403 body.
	Message string
}

// Proxy is an http.Handler that serves CONNECT and absolute-form proxy
// requests. Create it with [New], register hosts with [Proxy.Handle] or
// [Proxy.HandleUpstream], serve it with [Start] (or any http.Server), and
// Close it when done. Routes may change while it serves.
type Proxy struct {
	ca       *localca.CA
	log      *slog.Logger
	onRefuse func(Refusal)
	limits   httpserver.Limits

	mu      sync.Mutex
	routes  map[string]http.Handler
	refused []Refusal
	tunnels map[*tunnelConn]struct{}
	closed  bool

	// inner serves the decrypted requests of every tunnel: tunnels are
	// fed to it through ln once their TLS handshake is done.
	inner   *http.Server
	ln      *chanListener
	targets sync.Map // *tls.Conn → tunnelTarget, until the conn is accepted
}

// Option configures a Proxy.
type Option func(*Proxy)

// WithLogger sets where the proxy logs tunnels, refusals and failed
// handshakes; slog.Default() otherwise.
func WithLogger(l *slog.Logger) Option {
	return func(p *Proxy) { p.log = l }
}

// WithLimits bounds slow and idle clients on the tunnels' server (and on
// Start's listener): internal/httpserver's limits; zero fields take the
// defaults.
func WithLimits(l httpserver.Limits) Option {
	return func(p *Proxy) { p.limits = l }
}

// OnRefuse registers a function called for every refusal, after it is
// recorded; it must not block.
func OnRefuse(f func(Refusal)) Option {
	return func(p *Proxy) { p.onRefuse = f }
}

// New returns a proxy issuing certificates from ca. It emulates no host
// until routes are added.
func New(ca *localca.CA, opts ...Option) *Proxy {
	p := &Proxy{
		ca:      ca,
		log:     slog.Default(),
		routes:  map[string]http.Handler{},
		tunnels: map[*tunnelConn]struct{}{},
		ln:      newChanListener(),
	}
	for _, o := range opts {
		o(p)
	}
	// The tunnels' requests get the same limits as any listener's.
	p.inner = httpserver.New(http.HandlerFunc(p.serveTunnelled), p.limits, p.log)
	p.inner.ConnContext = p.connContext
	// HTTP/1.1 only: PyPI's error reason phrases do not exist in HTTP/2,
	// and only HTTP/1.1 connections can be hijacked. The TLS config never
	// offers h2 either.
	p.inner.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	go p.inner.Serve(p.ln)
	return p
}

// hostKey is the form routes are stored under: lower case, no port, no
// trailing dot, no IPv6 brackets.
func hostKey(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}

// Handle routes every port of host to h. A nil h removes the route.
func (p *Proxy) Handle(host string, h http.Handler) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h == nil {
		delete(p.routes, hostKey(host))
		return
	}
	p.routes[hostKey(host)] = h
}

// HandleUpstream routes every port of host to the server at base (an
// http:// or https:// URL, whose path is prepended to request paths), for
// an emulator running in another process. The upstream sees the emulated
// Host header and X-Forwarded-Proto, and must trust nothing but itself:
// https upstreams are verified against the proxy's CA.
func (p *Proxy) HandleUpstream(host, base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("proxy: upstream for %s: %w", host, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("proxy: upstream for %s: %q is not an http(s) base URL", host, base)
	}
	p.Handle(host, newUpstream(u, p.ca, p.log))
	return nil
}

// Hosts returns the emulated hostnames, sorted.
func (p *Proxy) Hosts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	hosts := make([]string, 0, len(p.routes))
	for h := range p.routes {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	return hosts
}

// Refused returns the refusals so far, oldest first.
func (p *Proxy) Refused() []Refusal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.refused)
}

func (p *Proxy) route(host string) http.Handler {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.routes[hostKey(host)]
}

// ServeHTTP answers proxy requests: CONNECT tunnels and absolute-form
// plain-HTTP requests. Anything else is a client configured to use the
// proxy as a server, which gets 400.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodConnect:
		p.serveConnect(w, r)
	case r.URL.IsAbs():
		p.servePlain(w, r)
	default:
		http.Error(w, "fakepypi proxy: not a proxy request; use this address as HTTPS_PROXY and HTTP_PROXY", http.StatusBadRequest)
	}
}

// servePlain forwards an absolute-form request (GET http://host/path) to
// the host's handler as if the handler's own server had received it.
func (p *Proxy) servePlain(w http.ResponseWriter, r *http.Request) {
	if r.URL.Scheme != "http" {
		http.Error(w, fmt.Sprintf("fakepypi proxy: cannot proxy %s:// URLs without CONNECT", r.URL.Scheme), http.StatusBadRequest)
		return
	}
	target := r.URL.Host
	if r.URL.Port() == "" {
		target = net.JoinHostPort(r.URL.Hostname(), "80")
	}
	h := p.route(r.URL.Hostname())
	if h == nil {
		p.refuse(w, r, target)
		return
	}
	r.Host = displayHost(target, "80")
	r.URL = &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	r.RequestURI = r.URL.RequestURI()
	// Proxy-* headers were meant for us, not for the emulated server.
	r.Header.Del("Proxy-Connection")
	r.Header.Del("Proxy-Authorization")
	h.ServeHTTP(w, r)
}

// displayHost is the Host a handler sees for target: lower case, without
// the port when that is the scheme's default, as clients write the Host
// header. Handlers can compare it against plain hostnames.
func displayHost(target, defaultPort string) string {
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return strings.ToLower(target)
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if port != defaultPort {
		return net.JoinHostPort(host, port)
	}
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

// refuse answers 403 for a destination that is not emulated, and records
// and logs it.
func (p *Proxy) refuse(w http.ResponseWriter, r *http.Request, target string) {
	emulated := strings.Join(p.Hosts(), ", ")
	if emulated == "" {
		emulated = "none"
	}
	msg := fmt.Sprintf("fakepypi proxy: refusing to connect to %s: not an emulated host (emulated: %s)", target, emulated)
	ref := Refusal{Time: time.Now(), Method: r.Method, Target: target, Client: r.RemoteAddr, Message: msg}
	p.mu.Lock()
	p.refused = append(p.refused, ref)
	if len(p.refused) > maxRefusals {
		p.refused = slices.Delete(p.refused, 0, len(p.refused)-maxRefusals)
	}
	p.mu.Unlock()
	p.log.Warn("proxy refused a non-emulated destination", "method", r.Method, "target", target, "client", r.RemoteAddr)
	if p.onRefuse != nil {
		p.onRefuse(ref)
	}
	// The client gets no further use of this connection: after a refused
	// CONNECT it would otherwise send its TLS handshake to us.
	w.Header().Set("Connection", "close")
	http.Error(w, msg, http.StatusForbidden)
}

// Close stops serving tunnels and closes every open tunnel, including
// connections hijacked by handlers. It does not close a listener that
// serves the proxy itself; [Server.Close] does both.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	tunnels := make([]*tunnelConn, 0, len(p.tunnels))
	for c := range p.tunnels {
		tunnels = append(tunnels, c)
	}
	p.mu.Unlock()
	err := p.inner.Close()
	p.ln.Close() // in case Serve had not started yet
	for _, c := range tunnels {
		c.Close()
	}
	return err
}

// tunnelTarget is what the inner server needs to know about a tunnel.
type tunnelTarget struct {
	host   string // route key
	target string // host:port from the CONNECT line
	// authority is the Host handlers see: the CONNECT target without
	// ":443".
	authority string
}

type targetKey struct{}

func (p *Proxy) connContext(ctx context.Context, c net.Conn) context.Context {
	if t, ok := p.targets.LoadAndDelete(c); ok {
		return context.WithValue(ctx, targetKey{}, t)
	}
	return ctx
}

// serveTunnelled dispatches a decrypted request to the handler of the host
// its tunnel was opened for. The Host header the client sent inside the
// tunnel is overridden: the CONNECT target is what the proxy vetted.
func (p *Proxy) serveTunnelled(w http.ResponseWriter, r *http.Request) {
	t, ok := r.Context().Value(targetKey{}).(tunnelTarget)
	if !ok {
		http.Error(w, "fakepypi proxy: internal error: tunnel without a target", http.StatusInternalServerError)
		return
	}
	h := p.route(t.host)
	if h == nil {
		// The route was removed while the tunnel was open.
		p.refuse(w, r, t.target)
		return
	}
	if r.Host != t.authority {
		p.log.Debug("proxy: Host header differs from the CONNECT target", "host", r.Host, "target", t.authority)
	}
	r.Host = t.authority
	h.ServeHTTP(w, r)
}

// errClosed is returned to clients connecting after Close.
var errClosed = errors.New("fakepypi proxy: shutting down")
