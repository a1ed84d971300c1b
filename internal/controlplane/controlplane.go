// Package controlplane guards the emulators' control plane: every path
// under /_fake/ of the index and of the issuer. Those paths list upload
// tokens, mint new ones and rewrite the emulated state, so a request must
// pass three checks before a handler sees it:
//
//  1. Its Host is a loopback address ("localhost", 127.0.0.0/8, ::1), a
//     hostname the harness emulates (pypi.org, ..., the names the local
//     CA issues certificates for), or one the operator allowed
//     (Policy.AllowHosts: compose service names). A browser page that
//     rebinds its own DNS name to 127.0.0.1 sends its own name as Host, so
//     DNS rebinding gets nowhere. Policy.DirectOnly refuses the emulated
//     hostnames too: /_fake/ is then not reachable through the proxy.
//  2. When Policy.Token is set, it carries the token: "Authorization:
//     Bearer <token>", or the cookie a browser gets by opening any /_fake/
//     page once with ?token=<token> (HttpOnly, SameSite=Strict; the answer
//     is a redirect to the same URL without the token).
//  3. A write (any method but GET, HEAD and OPTIONS) is sent as
//     Content-Type: application/json. An HTML form or a no-cors fetch from
//     another site can only send form or text/plain bodies; a JSON body
//     from another origin needs a CORS preflight, which is never granted.
//
// Refusals are 403 (host), 401 (token) and 415 (content type), each with
// a message saying what to send instead.
package controlplane

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/fakepypi/fakepypi/internal/localca"
)

// Prefix is the control plane's path prefix.
const Prefix = "/_fake/"

// EnvToken is the environment variable the binaries read the control
// token from (when --control-token is not given) and that clients
// (scenarios, pypitest, fakeissuer's own commands) send.
const EnvToken = "FAKEPYPI_CONTROL_TOKEN"

// QueryToken is the query parameter that trades the token for a cookie.
const QueryToken = "token"

// Policy is how a server guards its control plane. The zero Policy asks
// for no token and accepts loopback and emulated Host names.
type Policy struct {
	// Token, when not empty, must accompany every control request.
	Token string `json:"-" yaml:"-"`
	// AllowHosts are more Host names (without port) accepted, such as the
	// service names containers reach each other by. "*" accepts any Host.
	AllowHosts []string `json:"allow_hosts,omitempty" yaml:"allow_hosts"`
	// DirectOnly refuses the emulated hostnames (pypi.org,
	// token.actions.githubusercontent.com, ...): the control plane answers
	// only on a loopback address or an AllowHosts name, never through the
	// proxy under a real service's name.
	DirectOnly bool `json:"direct_only,omitempty" yaml:"direct_only"`
	// Open lists paths (exact) that skip every check: health checks,
	// which container engines run without a token.
	Open []string `json:"-" yaml:"-"`
}

// RefuseFunc writes a refusal in the server's own control-plane envelope.
type RefuseFunc func(w http.ResponseWriter, r *http.Request, status int, message string)

// Guard returns h behind p's checks for paths under Prefix (and the bare
// "/_fake"); every other path reaches h untouched.
func Guard(h http.Handler, p Policy, refuse RefuseFunc) http.Handler {
	g := &guard{next: h, p: p, refuse: refuse, open: map[string]bool{}}
	for _, o := range p.Open {
		g.open[o] = true
	}
	if p.Token != "" {
		g.cookieName, g.cookieValue = CookieFor(p.Token)
	}
	return g
}

type guard struct {
	next                    http.Handler
	p                       Policy
	refuse                  RefuseFunc
	open                    map[string]bool
	cookieName, cookieValue string
}

// IsControlPath reports whether path is under the control plane.
func IsControlPath(path string) bool {
	return strings.HasPrefix(path, Prefix) || path == strings.TrimSuffix(Prefix, "/")
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !IsControlPath(r.URL.Path) || g.open[r.URL.Path] {
		g.next.ServeHTTP(w, r)
		return
	}
	if msg := g.hostProblem(r.Host); msg != "" {
		g.refuse(w, r, http.StatusForbidden, msg)
		return
	}
	if g.p.Token != "" {
		if q, ok := r.URL.Query()[QueryToken]; ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			g.tradeToken(w, r, q)
			return
		}
		if !g.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fakepypi control plane"`)
			g.refuse(w, r, http.StatusUnauthorized, "the control plane needs its token: send \"Authorization: Bearer <token>\" "+
				"(the token is --control-token or $"+EnvToken+"), or open any "+Prefix+" page once with ?"+QueryToken+"=<token> in a browser")
			return
		}
	}
	if isWrite(r.Method) {
		ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || ct != "application/json" {
			got := r.Header.Get("Content-Type")
			if got == "" {
				got = "none"
			}
			g.refuse(w, r, http.StatusUnsupportedMediaType, fmt.Sprintf(
				"control-plane writes (%s) must be sent with Content-Type: application/json (got %s), even with an empty body", r.Method, got))
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

func isWrite(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// authorized checks the bearer token, then the cookie.
func (g *guard) authorized(r *http.Request) bool {
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		if equal(strings.TrimSpace(tok), g.p.Token) {
			return true
		}
	}
	if c, err := r.Cookie(g.cookieName); err == nil && equal(c.Value, g.cookieValue) {
		return true
	}
	return false
}

// tradeToken answers GET /_fake/...?token=T: a valid T sets the cookie
// and redirects to the same URL without it, so the token does not stay
// in the address bar, the history or a Referer.
func (g *guard) tradeToken(w http.ResponseWriter, r *http.Request, q []string) {
	if len(q) != 1 || !equal(q[0], g.p.Token) {
		g.refuse(w, r, http.StatusUnauthorized, "the ?"+QueryToken+"= parameter is not the control token")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: g.cookieName, Value: g.cookieValue, Path: Prefix,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
	u := *r.URL
	vals := u.Query()
	vals.Del(QueryToken)
	u.RawQuery = vals.Encode()
	loc := (&url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}).String()
	w.Header().Set("Location", loc)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusSeeOther)
}

// CookieFor returns the cookie name and value a browser holds for token.
// The name carries a hash of the token, so an index and an issuer with
// different tokens on one host (cookies ignore ports) keep separate
// cookies; the value is another hash, so the cookie is not the token.
func CookieFor(token string) (name, value string) {
	n := sha256.Sum256([]byte("fakepypi control cookie name\x00" + token))
	v := sha256.Sum256([]byte("fakepypi control cookie value\x00" + token))
	return "fakepypi_control_" + hex.EncodeToString(n[:4]), hex.EncodeToString(v[:])
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// hostProblem returns why host may not reach the control plane, or "".
func (g *guard) hostProblem(hostport string) string {
	host := HostName(hostport)
	for _, a := range g.p.AllowHosts {
		if a == "*" || strings.EqualFold(a, host) {
			return ""
		}
	}
	if IsLoopback(host) {
		return ""
	}
	if isEmulated(host) {
		if !g.p.DirectOnly {
			return ""
		}
		return fmt.Sprintf("the control plane is not served under %s (--control-direct-only): use the direct listener's loopback address", host)
	}
	if host == "" {
		return "the control plane needs a Host header naming a loopback address"
	}
	return fmt.Sprintf("Host %q may not reach the control plane: use a loopback address (127.0.0.1, localhost), "+
		"or allow the name with --control-allow-host", host)
}

// HostName is the host of a Host header: no port, no brackets, lower
// case, no trailing dot.
func HostName(hostport string) string {
	h := hostport
	if hh, _, err := net.SplitHostPort(hostport); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// IsLoopback reports whether host (see HostName) names this machine's
// loopback interface: an address in 127.0.0.0/8 or ::1, "localhost", or a
// name under ".localhost" (which resolvers must answer with loopback, RFC
// 6761, so no outside DNS can point it elsewhere).
func IsLoopback(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// isEmulated reports whether host is one the harness answers for: the
// names the local CA issues certificates for.
func isEmulated(host string) bool {
	for _, h := range localca.DefaultHosts {
		if h == host {
			return true
		}
	}
	return false
}

// SetToken adds the token's Authorization header to a control request;
// an empty token adds nothing.
func SetToken(req *http.Request, token string) {
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
}

// NewToken returns a fresh random control token (32 bytes, hex).
func NewToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}
