// Package events records what the emulated index decided, and why.
//
// PyPI tells a client only "invalid-publisher" or a one-line status; the
// harness keeps the full story of every mint attempt and every upload so a
// user can read it at /_fake/events and in the server log. Recording never
// changes what the client sees.
package events

import (
	"encoding/json"
	"sync"
	"time"
)

// Kinds of events.
const (
	KindMint   = "mint"
	KindUpload = "upload"
	// KindFault is a fault the harness injected (internal/indexfault):
	// what the client was made to see instead of PyPI's answer.
	KindFault = "fault"
)

// Event is one decision. Details holds kind-specific data (claims that
// matter, the closest publisher and its differences, form fields...), and
// must marshal to JSON.
type Event struct {
	Seq     int64     `json:"seq"`
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Verdict string    `json:"verdict"` // "ok" or "error"; "injected" for a fault
	Status  int       `json:"status,omitempty"`
	Code    string    `json:"code,omitempty"`    // e.g. a mint-token error code
	Message string    `json:"message,omitempty"` // what the client was told
	// Why is the harness's own explanation, which PyPI does not give.
	Why     string `json:"why,omitempty"`
	Details any    `json:"details,omitempty"`
}

// Log is a bounded, concurrency-safe list of events, oldest first.
type Log struct {
	mu     sync.Mutex
	max    int
	seq    int64
	events []Event
	subs   []func(Event)
}

// DefaultMax is how many events a Log keeps when no bound is given.
const DefaultMax = 10000

// New returns a Log keeping at most max events (DefaultMax if max <= 0).
func New(max int) *Log {
	if max <= 0 {
		max = DefaultMax
	}
	return &Log{max: max}
}

// Add records e, filling Seq, and Time when zero. It returns the stored event.
func (l *Log) Add(e Event) Event {
	l.mu.Lock()
	l.seq++
	e.Seq = l.seq
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	l.events = append(l.events, e)
	if len(l.events) > l.max {
		l.events = append(l.events[:0:0], l.events[len(l.events)-l.max:]...)
	}
	subs := l.subs
	l.mu.Unlock()
	for _, f := range subs {
		f(e)
	}
	return e
}

// Subscribe calls f with every event added from now on (for server logs).
func (l *Log) Subscribe(f func(Event)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.subs = append(l.subs, f)
}

// Filter selects events; zero fields match everything.
type Filter struct {
	Kind  string
	Since int64 // only events with Seq > Since
}

// List returns a copy of the events matching f, oldest first.
func (l *Log) List(f Filter) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []Event{}
	for _, e := range l.events {
		if f.Kind != "" && e.Kind != f.Kind {
			continue
		}
		if e.Seq <= f.Since {
			continue
		}
		out = append(out, e)
	}
	return out
}

// Last returns the newest event of kind (any kind if empty).
func (l *Log) Last(kind string) (Event, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.events) - 1; i >= 0; i-- {
		if kind == "" || l.events[i].Kind == kind {
			return l.events[i], true
		}
	}
	return Event{}, false
}

// Reset forgets every event (sequence numbers keep growing).
func (l *Log) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = nil
}

// MarshalJSON renders the whole log as {"events":[...]}.
func (l *Log) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Events []Event `json:"events"`
	}{l.List(Filter{})})
}
