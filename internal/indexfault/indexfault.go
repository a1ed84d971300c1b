// Package indexfault makes the fake index misbehave on purpose, the way
// PyPI (or the CDN in front of it) sometimes does: an audience endpoint
// that answers 404 or 503, a mint-token answer that is not JSON or lacks
// the token, an upload that gets a 5xx, an answer slower than a client's
// timeout, a connection reset. Clients print something specific for each
// (twine's, uv's and gh-action-pypi-publish's error paths; docs/fakeindex.md, "Faults"); these faults let a test provoke it.
//
// Faults are named as fakeissuer's are (internal/issuer): sticky ones
// apply to every request to an endpoint, queued ones to the next request
// only. They wrap the route table's PyPI handlers (Wrap); with no fault
// set, a request goes straight to the handler, so nothing a client sees
// changes. Every applied fault is recorded as an event of kind "fault".
package indexfault

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/events"
)

// Endpoints a fault can select. Any matches all of them (never /_fake/).
const (
	Any       = "any"
	Audience  = "audience"   // GET /_/oidc/audience
	MintToken = "mint-token" // POST /_/oidc/mint-token and /_/oidc/github/mint-token
	Upload    = "upload"     // /legacy/, /legacy and the old /pypi upload URL
	Simple    = "simple"     // /simple/...
	JSON      = "json"       // /pypi/<name>/json, /pypi/<name>/<version>/json
	Files     = "files"      // /packages/... (files.pythonhosted.org)
	Integrity = "integrity"  // /integrity/.../provenance
	Discovery = "discovery"  // /.well-known/pytp/... (PEP 807)
)

// Endpoints lists the selectors with the paths they cover.
var Endpoints = map[string]string{
	Any:       "every PyPI endpoint below",
	Audience:  "GET /_/oidc/audience",
	MintToken: "POST /_/oidc/mint-token, /_/oidc/github/mint-token",
	Upload:    "POST /legacy/, /legacy, /pypi",
	Simple:    "/simple/ and /simple/<name>/",
	JSON:      "/pypi/<name>/json, /pypi/<name>/<version>/json",
	Files:     "/packages/... (files and .metadata)",
	Integrity: "/integrity/<name>/<version>/<file>/provenance",
	Discovery: "/.well-known/pytp/... (PEP 807)",
}

// Fault names.
const (
	FaultStatus = "status" // status:CODE answers CODE with an HTML error page
	// FaultJSONStatus is json-status:CODE: CODE with a JSON body that has
	// no "errors", as a gateway or WAF in front of PyPI answers.
	FaultJSONStatus = "json-status"
	FaultNonJSON    = "non-json" // 200 with an HTML page where JSON is expected
	FaultNoValue    = "no-value" // 200 JSON without the key the client reads
	FaultDelay      = "delay"    // delay:DURATION waits, then goes on
	FaultReset      = "reset"    // the connection is reset, no answer
)

// MaxDelay bounds delay:DURATION, so a typo cannot hang a server.
const MaxDelay = 10 * time.Minute

// Names lists the fault names with a one-line description each.
func Names() map[string]string {
	return map[string]string{
		FaultStatus + ":CODE":     "answer CODE (400-599) with an HTML error page, as a CDN or proxy in front of PyPI does",
		FaultJSONStatus + ":CODE": "answer CODE (400-599) with JSON that has no \"errors\" key, {\"message\":\"<reason>\"}, as an API gateway or WAF in front of PyPI does",
		FaultNonJSON:              "answer 200 with an HTML page instead of JSON",
		FaultNoValue:              "answer 200 JSON lacking the key clients read: audience {}, mint-token {\"success\":true}, discovery {}",
		FaultDelay + ":DURATION":  "wait DURATION (Go syntax: 6s, 500ms) before answering, or before the other faults apply",
		FaultReset:                "read the request, then reset the connection (TCP RST) without an answer",
	}
}

// Fault is one parsed fault.
type Fault struct {
	Name   string        // one of the Fault* constants
	Status int           // for status
	Delay  time.Duration // for delay
}

// Status returns the fault status:code.
func Status(code int) Fault { return Fault{Name: FaultStatus, Status: code} }

// Delay returns the fault delay:d.
func Delay(d time.Duration) Fault { return Fault{Name: FaultDelay, Delay: d} }

// ParseFault parses "status:503", "non-json", "no-value", "delay:6s",
// "reset".
func ParseFault(s string) (Fault, error) {
	s = strings.TrimSpace(s)
	name, arg, hasArg := strings.Cut(s, ":")
	switch {
	case !hasArg && (name == FaultNonJSON || name == FaultNoValue || name == FaultReset):
		return Fault{Name: name}, nil
	case hasArg && (name == FaultStatus || name == FaultJSONStatus):
		code, err := strconv.Atoi(arg)
		if err != nil || code < 400 || code > 599 {
			return Fault{}, fmt.Errorf("fault %q: want %s:CODE with CODE from 400 to 599", s, name)
		}
		return Fault{Name: name, Status: code}, nil
	case hasArg && name == FaultDelay:
		d, err := time.ParseDuration(arg)
		if err != nil || d <= 0 || d > MaxDelay {
			return Fault{}, fmt.Errorf("fault %q: want delay:DURATION, a Go duration above 0 and at most %s (6s, 500ms)", s, MaxDelay)
		}
		return Delay(d), nil
	}
	names := make([]string, 0, 5)
	for k := range Names() {
		names = append(names, k)
	}
	sort.Strings(names)
	return Fault{}, fmt.Errorf("unknown index fault %q (known: %s)", s, strings.Join(names, ", "))
}

func (f Fault) String() string {
	switch f.Name {
	case FaultStatus, FaultJSONStatus:
		return f.Name + ":" + strconv.Itoa(f.Status)
	case FaultDelay:
		return f.Name + ":" + f.Delay.String()
	}
	return f.Name
}

// MarshalText and UnmarshalText let faults travel as strings in JSON.
func (f Fault) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

func (f *Fault) UnmarshalText(b []byte) error {
	p, err := ParseFault(string(b))
	if err != nil {
		return err
	}
	*f = p
	return nil
}

// answers reports whether f replaces PyPI's answer (delay only holds it).
func (f Fault) answers() bool { return f.Name != FaultDelay }

// Rule is a set of faults for one endpoint selector.
type Rule struct {
	Endpoint string  `json:"endpoint"`
	Faults   []Fault `json:"faults"`
}

// ParseRule parses the flag form "[ENDPOINT=]FAULT[,FAULT...]", e.g.
// "upload=status:503" or "mint-token=delay:6s,reset"; without ENDPOINT
// the faults apply to every endpoint.
func ParseRule(s string) (Rule, error) {
	r := Rule{Endpoint: Any}
	if ep, rest, ok := strings.Cut(s, "="); ok {
		r.Endpoint, s = strings.TrimSpace(ep), rest
	}
	for _, part := range strings.Split(s, ",") {
		f, err := ParseFault(part)
		if err != nil {
			return Rule{}, err
		}
		r.Faults = append(r.Faults, f)
	}
	return r, r.Validate()
}

func (r Rule) String() string {
	parts := make([]string, len(r.Faults))
	for i, f := range r.Faults {
		parts[i] = f.String()
	}
	return r.Endpoint + "=" + strings.Join(parts, ",")
}

// ErrEndpoint is returned for an unknown endpoint selector.
var ErrEndpoint = errors.New("unknown endpoint")

// Validate checks the endpoint and that the faults can apply together:
// any number of delays, at most one fault that answers, and no-value only
// where clients read a JSON key.
func (r Rule) Validate() error {
	if _, ok := Endpoints[r.Endpoint]; !ok {
		names := make([]string, 0, len(Endpoints))
		for k := range Endpoints {
			names = append(names, k)
		}
		sort.Strings(names)
		return fmt.Errorf("%w %q (known: %s)", ErrEndpoint, r.Endpoint, strings.Join(names, ", "))
	}
	answering := 0
	for _, f := range r.Faults {
		if f.answers() {
			answering++
		}
		if f.Name == FaultNoValue && r.Endpoint != Audience && r.Endpoint != MintToken && r.Endpoint != Discovery {
			return fmt.Errorf("fault no-value needs endpoint %s, %s or %s (the JSON answers whose key clients read), not %s",
				Audience, MintToken, Discovery, r.Endpoint)
		}
	}
	if answering > 1 {
		return fmt.Errorf("faults %s: at most one of status, json-status, non-json, no-value and reset per request", r)
	}
	return nil
}

// MaxCount bounds how many one-shot entries one Queue call adds.
const MaxCount = 1000

// Set holds the sticky and queued faults of one index and applies them.
type Set struct {
	events *events.Log // nil: nothing recorded
	clock  clock.Clock

	mu     sync.Mutex
	sticky map[string][]Fault // endpoint -> faults
	queue  []Rule
	// cleared is closed (and replaced) by Clear, ending delays in progress.
	cleared chan struct{}
}

// New returns an empty Set recording to log (may be nil) with clk's time.
func New(log *events.Log, clk clock.Clock) *Set {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Set{events: log, clock: clk, sticky: map[string][]Fault{}, cleared: make(chan struct{})}
}

// SetSticky replaces the sticky faults of endpoint (Any: of every
// endpoint); no faults removes them.
func (s *Set) SetSticky(endpoint string, faults ...Fault) error {
	if err := (Rule{Endpoint: endpoint, Faults: faults}).Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(faults) == 0 {
		delete(s.sticky, endpoint)
		return nil
	}
	s.sticky[endpoint] = append([]Fault(nil), faults...)
	return nil
}

// Queue queues faults for the next count requests to endpoint (count < 1
// means 1): each of them gets all the faults, then the entry is gone.
func (s *Set) Queue(endpoint string, count int, faults ...Fault) error {
	r := Rule{Endpoint: endpoint, Faults: append([]Fault(nil), faults...)}
	if err := r.Validate(); err != nil {
		return err
	}
	if len(faults) == 0 {
		return errors.New("queue: no faults given")
	}
	if count > MaxCount {
		return fmt.Errorf("count must be between 1 and %d", MaxCount)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range max(count, 1) {
		s.queue = append(s.queue, r)
	}
	return nil
}

// Clear drops sticky and queued faults, and ends delays in progress (the
// delayed requests then get PyPI's answer, or their other faults).
func (s *Set) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sticky, s.queue = map[string][]Fault{}, nil
	close(s.cleared)
	s.cleared = make(chan struct{})
}

// State is the faults in force, in /_fake/faults' shape.
type State struct {
	Sticky []Rule `json:"sticky"` // one rule per endpoint, sorted by endpoint
	Queued []Rule `json:"queued"` // oldest first
}

// State returns the sticky and queued faults.
func (s *Set) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Sticky: []Rule{}, Queued: []Rule{}}
	for ep, fs := range s.sticky {
		st.Sticky = append(st.Sticky, Rule{Endpoint: ep, Faults: append([]Fault(nil), fs...)})
	}
	sort.Slice(st.Sticky, func(i, j int) bool { return st.Sticky[i].Endpoint < st.Sticky[j].Endpoint })
	for _, r := range s.queue {
		st.Queued = append(st.Queued, Rule{Endpoint: r.Endpoint, Faults: append([]Fault(nil), r.Faults...)})
	}
	return st
}

// take returns the faults for one request to endpoint: the first queued
// entry for it (or for Any), then the endpoint's sticky faults, then
// those for Any. The first answering fault in that order wins; delays add
// up. source says where they came from, for the event.
func (s *Set) take(endpoint string) (fs []Fault, source string, cleared <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sources []string
	for i, r := range s.queue {
		if r.Endpoint == endpoint || r.Endpoint == Any {
			fs = append(fs, r.Faults...)
			s.queue = append(s.queue[:i:i], s.queue[i+1:]...)
			sources = append(sources, "queued for "+r.Endpoint)
			break
		}
	}
	for _, ep := range []string{endpoint, Any} {
		if st := s.sticky[ep]; len(st) > 0 {
			fs = append(fs, st...)
			sources = append(sources, "sticky for "+ep)
		}
	}
	return fs, strings.Join(sources, ", "), s.cleared
}

// Wrap returns next with endpoint's faults in front of it. With no fault
// for the request, next serves it untouched.
func (s *Set) Wrap(endpoint string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs, source, cleared := s.take(endpoint)
		if len(fs) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		var delay time.Duration
		var answer *Fault
		for i, f := range fs {
			if f.Name == FaultDelay {
				delay += f.Delay
			} else if answer == nil {
				answer = &fs[i]
			}
		}
		s.record(endpoint, r, fs, source, delay, answer)
		if delay > 0 && !wait(r, delay, cleared) {
			return // the client left; nobody reads an answer
		}
		if answer == nil {
			next.ServeHTTP(w, r)
			return
		}
		write(w, r, endpoint, *answer)
	})
}

// wait holds the request for d. It reads a small body first: net/http
// notices a client hanging up (and cancels r.Context()) only once the
// body is consumed, and a timed-out client must free the handler.
func wait(r *http.Request, d time.Duration, cleared <-chan struct{}) bool {
	if r.Body != nil && r.Body != http.NoBody {
		const limit = 1 << 20
		head, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		switch {
		case err != nil:
			return false
		case len(head) <= limit:
			r.Body = io.NopCloser(bytes.NewReader(head))
		default:
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-cleared:
		return true
	case <-r.Context().Done():
		return false
	}
}

// write gives the faulty answer.
func write(w http.ResponseWriter, r *http.Request, endpoint string, f Fault) {
	switch f.Name {
	case FaultStatus:
		page(w, f.Status, fmt.Sprintf("%d %s", f.Status, http.StatusText(f.Status)))
	case FaultJSONStatus:
		body := gatewayJSON(http.StatusText(f.Status))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(f.Status)
		io.WriteString(w, body)
	case FaultNonJSON:
		page(w, http.StatusOK, "Service maintenance")
	case FaultNoValue:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if endpoint == MintToken {
			io.WriteString(w, `{"success":true}`) // the renderer's bytes, less the token
		} else {
			io.WriteString(w, `{}`)
		}
	case FaultReset:
		reset(w, r)
	}
}

// page writes a small HTML error page, as an edge proxy does when the
// application behind it fails: never JSON, whatever the client asked.
func page(w http.ResponseWriter, code int, title string) {
	body := "<!DOCTYPE html>\n<html>\n  <head>\n    <title>" + title + "</title>\n  </head>\n  <body>\n    <h1>" +
		title + "</h1>\n    <p>fakepypi: injected index fault.</p>\n  </body>\n</html>\n"
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	io.WriteString(w, body)
}

// reset reads the request, then closes the TCP connection with SO_LINGER
// 0, so the client's kernel gets an RST: "Connection reset by peer", not
// the orderly close a missing answer would be. The body is read first so
// the client is waiting for the answer when the reset comes (a reset
// while it is still sending shows up as a broken pipe instead).
func reset(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<30))
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 or a recorder: aborting the handler is the nearest thing
		// (net/http resets the stream or closes the connection).
		panic(http.ErrAbortHandler)
	}
	if tc := tcpConn(conn); tc != nil {
		// Closing the TCP connection itself: a *tls.Conn would send a
		// close_notify alert first, which clients read as a clean EOF.
		tc.SetLinger(0)
		tc.Close()
		return
	}
	conn.Close()
}

// tcpConn unwraps TLS and listener wrappers that expose the connection
// beneath them with NetConn (as *tls.Conn does).
func tcpConn(c net.Conn) *net.TCPConn {
	for range 8 {
		switch v := c.(type) {
		case *net.TCPConn:
			return v
		case *tls.Conn:
			c = v.NetConn()
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// record adds the fault event: what the client was made to see, and which
// rule decided it.
func (s *Set) record(endpoint string, r *http.Request, fs []Fault, source string, delay time.Duration, answer *Fault) {
	if s.events == nil {
		return
	}
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.String()
	}
	e := events.Event{Kind: events.KindFault, Time: s.clock.Now().UTC(), Verdict: "injected",
		Code: strings.Join(names, ","), Why: source,
		Details: map[string]any{"endpoint": endpoint, "method": r.Method, "path": events.Excerpt(r.URL.Path, 256), "faults": names}}
	var told string
	switch {
	case answer == nil:
		told = "PyPI's answer"
	case answer.Name == FaultStatus:
		e.Status = answer.Status
		told = fmt.Sprintf("%d %s (HTML)", answer.Status, http.StatusText(answer.Status))
	case answer.Name == FaultJSONStatus:
		e.Status = answer.Status
		told = fmt.Sprintf("%d %s (JSON without \"errors\")", answer.Status, http.StatusText(answer.Status))
	case answer.Name == FaultNonJSON:
		e.Status = http.StatusOK
		told = "200 with an HTML page, not JSON"
	case answer.Name == FaultNoValue:
		e.Status = http.StatusOK
		told = "200 JSON without the expected key"
	case answer.Name == FaultReset:
		told = "connection reset, no answer"
	}
	if delay > 0 {
		told = fmt.Sprintf("after %s: %s", delay, told)
	}
	e.Message = told
	s.events.Add(e)
}

// gatewayJSON is {"message":"<text>"}, compact like a gateway's JSON.
func gatewayJSON(text string) string {
	b, _ := json.Marshal(map[string]string{"message": text})
	return string(b)
}
