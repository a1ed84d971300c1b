// Package events records what the emulated index decided, and why.
//
// PyPI tells a client only "invalid-publisher" or a one-line status; the
// harness keeps the full story of every mint attempt and every upload so a
// user can read it at /_fake/events and in the server log. Recording never
// changes what the client sees.
//
// The log is a ring: adding an event costs the same whether the log holds
// ten events or is full, and memory is bounded twice, by the number of
// events kept and by what each event keeps. A request can be anything a
// client sends (a million form fields, a megabyte claim), so Add cuts the
// texts of an event to MaxText bytes and replaces Details larger than
// MaxDetails (counted as their JSON form would be, roughly) by a Truncated
// excerpt. Producers should bound their
// details themselves with Excerpt and Bound, which cut less bluntly (one
// long claim, not the whole event); Add is the backstop that makes the
// bound hold whatever a producer forgot.
package events

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Kinds of events.
const (
	KindMint   = "mint"
	KindUpload = "upload"
	// KindFault is a fault the harness injected (internal/indexfault):
	// what the client was made to see instead of PyPI's answer.
	KindFault = "fault"
	// KindToken is an OIDC token the fake CI issuer minted (in a harness
	// where the issuer and the index share one log): its kind, audience,
	// faults and claims, so a mint attempt can be read beside the token.
	KindToken = "token"
	// KindExpiry is something PyPI's daily jobs delete, deleted by the
	// index when its clock passes the job's run: a pending publisher 30
	// days old (warehouse/oidc/tasks.py).
	KindExpiry = "expiry"
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

// Bounds on what one event keeps. A full log of DefaultMax events holds at
// most DefaultMax × (3×MaxText + MaxDetails) bytes of text and details
// (about 110 MiB in the worst case; a typical mint or upload event is
// 1 to 2 KiB of JSON).
const (
	// MaxText bounds Code, Message and Why, in bytes.
	MaxText = 1 << 10
	// MaxDetails bounds Details, in bytes of their JSON form (roughly
	// counted while they are copied: strings, keys, 8 bytes a number).
	MaxDetails = 8 << 10
)

// Truncated replaces Details that were larger than MaxDetails, or that
// JSON cannot show.
type Truncated struct {
	Truncated bool   `json:"truncated"` // always true
	Type      string `json:"type"`      // the Go type of the original details
	Bytes     int    `json:"bytes"`     // the size of their JSON form
	// Excerpt is the start of their JSON form (not valid JSON by itself).
	Excerpt string `json:"excerpt"`
}

// Log is a bounded, concurrency-safe list of events, oldest first.
type Log struct {
	mu   sync.Mutex
	max  int
	seq  int64
	ring []Event // grows to max, then wraps
	next int     // where the next event goes once the ring is full
	subs []func(Event)
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

// Add records e, filling Seq, and Time when zero, after bounding what it
// keeps (MaxText, MaxDetails). It returns the stored event.
func (l *Log) Add(e Event) Event {
	e.Code, e.Message, e.Why = Excerpt(e.Code, MaxText), Excerpt(e.Message, MaxText), Excerpt(e.Why, MaxText)
	e.Details = boundDetails(e.Details)
	l.mu.Lock()
	l.seq++
	e.Seq = l.seq
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if len(l.ring) < l.max {
		l.ring = append(l.ring, e)
	} else {
		l.ring[l.next] = e
		l.next = (l.next + 1) % l.max
	}
	subs := l.subs
	l.mu.Unlock()
	for _, f := range subs {
		f(e)
	}
	return e
}

// boundDetails returns a private copy of d (see detach), or a Truncated
// excerpt of it when it is larger than MaxDetails (or is not something
// JSON can show at all).
func boundDetails(d any) any {
	if d == nil {
		return nil
	}
	var c copier
	cp := c.detach(reflect.ValueOf(d), 0)
	if !c.over && !c.bad {
		return cp.Interface()
	}
	// The rare case: say what was left out, from the JSON form.
	t := Truncated{Truncated: true, Type: fmt.Sprintf("%T", d)}
	b, err := json.Marshal(d)
	if err != nil {
		t.Excerpt = Excerpt("cannot marshal: "+err.Error(), MaxText)
		return t
	}
	if len(b) <= MaxDetails {
		// Smaller as JSON than counted (omitempty fields, say).
		return detachOnly(d)
	}
	t.Bytes, t.Excerpt = len(b), Excerpt(string(b), MaxText)
	return t
}

// detachOnly copies d without a size bound.
func detachOnly(d any) any {
	c := copier{unbounded: true}
	return c.detach(reflect.ValueOf(d), 0).Interface()
}

// maxDepth stops detach on a cyclic value (details are trees; a cycle
// would not marshal either).
const maxDepth = 64

// copier deep-copies details and counts their size as JSON would spell
// them, roughly (strings with their quotes, keys, separators, 8 bytes
// for a number), stopping once the count passes MaxDetails.
type copier struct {
	size      int
	over      bool // larger than MaxDetails: the copy is unfinished
	bad       bool // holds something JSON cannot show (a func, a channel)
	unbounded bool
}

func (c *copier) count(n int) {
	c.size += n
	if c.size > MaxDetails && !c.unbounded {
		c.over = true
	}
}

// detach deep-copies v, cloning every string and byte slice it reaches
// through exported fields, maps, slices, arrays, pointers and interfaces.
// A short string that is a slice of a long one keeps the long one alive:
// 100 bytes of a 50 MB form field would pin 50 MB per event. After
// detach, what the log keeps is what the event shows. Unexported struct
// fields are copied as they are (JSON does not show them either).
func (c *copier) detach(v reflect.Value, depth int) reflect.Value {
	if depth > maxDepth || c.over {
		return v
	}
	t := v.Type()
	switch v.Kind() {
	case reflect.String:
		c.count(v.Len() + 3)
		return reflect.ValueOf(strings.Clone(v.String())).Convert(t)
	case reflect.Pointer:
		if v.IsNil() {
			c.count(5)
			return v
		}
		n := reflect.New(t.Elem())
		n.Elem().Set(c.detach(v.Elem(), depth+1))
		return n
	case reflect.Interface:
		if v.IsNil() {
			c.count(5)
			return v
		}
		n := reflect.New(t).Elem()
		n.Set(c.detach(v.Elem(), depth+1))
		return n
	case reflect.Struct:
		n := reflect.New(t).Elem()
		n.Set(v)
		c.count(2)
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				c.count(len(f.Name) + 4)
				n.Field(i).Set(c.detach(v.Field(i), depth+1))
			}
		}
		return n
	case reflect.Slice:
		if v.IsNil() {
			c.count(5)
			return v
		}
		n := reflect.MakeSlice(t, v.Len(), v.Len())
		c.copyElems(n, v, depth)
		return n
	case reflect.Array:
		n := reflect.New(t).Elem()
		c.copyElems(n, v, depth)
		return n
	case reflect.Map:
		if v.IsNil() {
			c.count(5)
			return v
		}
		n := reflect.MakeMapWithSize(t, v.Len())
		c.count(2)
		for it := v.MapRange(); it.Next() && !c.over; {
			c.count(2)
			n.SetMapIndex(c.detach(it.Key(), depth+1), c.detach(it.Value(), depth+1))
		}
		return n
	case reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		c.bad = true
		return v
	}
	c.count(8) // a number or a boolean
	return v
}

// copyElems copies src's elements into dst, detaching those that can hold
// references.
func (c *copier) copyElems(dst, src reflect.Value, depth int) {
	c.count(2)
	switch src.Type().Elem().Kind() {
	case reflect.Uint8:
		// []byte: JSON shows it in base64.
		c.count(src.Len() * 4 / 3)
		reflect.Copy(dst, src)
		return
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		c.count(src.Len() * 8)
		reflect.Copy(dst, src)
		return
	}
	for i := 0; i < src.Len() && !c.over; i++ {
		c.count(1)
		dst.Index(i).Set(c.detach(src.Index(i), depth+1))
	}
}

// at returns the i-th kept event, oldest first. The caller holds l.mu.
func (l *Log) at(i int) *Event {
	if len(l.ring) < l.max {
		return &l.ring[i]
	}
	return &l.ring[(l.next+i)%l.max]
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
	n := len(l.ring)
	first := 0
	if n > 0 && f.Since >= l.at(0).Seq {
		// Kept events have consecutive sequence numbers: skip straight to
		// the first one after Since, so polling for new events costs
		// what it returns, not what the log holds.
		first = int(min(f.Since-l.at(0).Seq+1, int64(n)))
	}
	for i := first; i < n; i++ {
		e := l.at(i)
		if f.Kind != "" && e.Kind != f.Kind {
			continue
		}
		out = append(out, *e)
	}
	return out
}

// Last returns the newest event of kind (any kind if empty).
func (l *Log) Last(kind string) (Event, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.ring) - 1; i >= 0; i-- {
		if e := l.at(i); kind == "" || e.Kind == kind {
			return *e, true
		}
	}
	return Event{}, false
}

// Len returns how many events are kept.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ring)
}

// Reset forgets every event (sequence numbers keep growing).
func (l *Log) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring, l.next = nil, 0
}

// MarshalJSON renders the whole log as {"events":[...]}.
func (l *Log) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Events []Event `json:"events"`
	}{l.List(Filter{})})
}

// Excerpt returns s if it is at most n bytes long, otherwise its first n
// bytes (cut at a UTF-8 boundary) followed by "…". The result never shares
// memory with a longer s: a short excerpt of a huge request field must not
// keep the whole field alive in the log.
func Excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.Clone(s[:cut]) + "…"
}

// Bound returns a copy of v, a value decoded from JSON (nil, bool,
// float64, json.Number, string, []any, map[string]any), in which strings
// are cut to n bytes with Excerpt and arrays and objects keep at most
// items elements (an object keeps its first keys in sorted order and gains
// "…": the number left out; an array gains a final "… N more"). Other
// types are returned as they are. It bounds claims copied from a token.
func Bound(v any, n, items int) any {
	switch x := v.(type) {
	case string:
		return Excerpt(x, n)
	case []any:
		k := min(len(x), items)
		out := make([]any, 0, k+1)
		for _, e := range x[:k] {
			out = append(out, Bound(e, n, items))
		}
		if len(x) > k {
			out = append(out, fmt.Sprintf("… %d more", len(x)-k))
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		if len(keys) > items {
			slices.Sort(keys)
		}
		out := make(map[string]any, min(len(keys), items)+1)
		for i, k := range keys {
			if i == items {
				out["…"] = len(keys) - items
				break
			}
			out[Excerpt(k, n)] = Bound(x[k], n, items)
		}
		return out
	}
	return v
}
