package indexfault

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/events"
)

func TestParseRuleRoundTrip(t *testing.T) {
	for in, want := range map[string]string{
		"status:503":                     "any=status:503",
		"upload=status:500":              "upload=status:500",
		"mint-token=delay:6s,no-value":   "mint-token=delay:6s,no-value",
		" audience = non-json":           "audience=non-json",
		"files=delay:1500ms,reset":       "files=delay:1.5s,reset",
		"discovery=no-value":             "discovery=no-value",
		"simple=delay:1s,delay:2s,reset": "simple=delay:1s,delay:2s,reset",
		"mint-token=json-status:403":     "mint-token=json-status:403",
	} {
		r, err := ParseRule(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if r.String() != want {
			t.Errorf("%q: %q, want %q", in, r.String(), want)
		}
		again, err := ParseRule(r.String())
		if err != nil || again.String() != want {
			t.Errorf("%q does not round-trip: %v %q", want, err, again.String())
		}
	}
	for in, msg := range map[string]string{
		"upload=":                 "unknown index fault \"\"",
		"legacy=status:500":       "unknown endpoint \"legacy\"",
		"status:99":               "CODE from 400 to 599",
		"status:600":              "CODE from 400 to 599",
		"json-status:200":         "want json-status:CODE with CODE from 400 to 599",
		"delay:0s":                "want delay:DURATION",
		"reset:now":               "unknown index fault",
		"upload=no-value":         "fault no-value needs endpoint",
		"audience=reset,non-json": "at most one of",
	} {
		if _, err := ParseRule(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want an error saying %q", in, err, msg)
		}
	}
}

func TestFaultJSON(t *testing.T) {
	var b struct{ Faults []Fault }
	if err := json.Unmarshal([]byte(`{"Faults": ["delay:2s", "status:502"]}`), &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Faults) != 2 || b.Faults[0] != Delay(2*time.Second) || b.Faults[1] != Status(502) {
		t.Fatalf("%+v", b.Faults)
	}
	out, _ := json.Marshal(b)
	if string(out) != `{"Faults":["delay:2s","status:502"]}` {
		t.Fatalf("%s", out)
	}
	if err := json.Unmarshal([]byte(`{"Faults": ["slow"]}`), &b); err == nil {
		t.Fatal("an unknown fault decoded")
	}
}

// TestWrapTakesQueuedThenSticky checks the order of application on a
// recorder (no network): queued first, one entry per request, sticky
// underneath, and the event for each.
func TestWrapTakesQueuedThenSticky(t *testing.T) {
	log := events.New(0)
	s := New(log, nil)
	h := s.Wrap(Simple, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("pypi")) }))
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/simple/", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != 200 || body != "pypi" {
		t.Fatalf("no fault: %d %q", code, body)
	}
	must(t, s.SetSticky(Any, Status(503)))
	must(t, s.Queue(Upload, 1, Status(500))) // another endpoint's: not taken here
	must(t, s.Queue(Simple, 1, Status(404)))
	if code, _ := get(); code != 404 {
		t.Fatalf("queued: %d", code)
	}
	if code, _ := get(); code != 503 {
		t.Fatalf("sticky: %d", code)
	}
	if st := s.State(); len(st.Queued) != 1 || st.Queued[0].Endpoint != Upload {
		t.Fatalf("the upload entry was consumed: %+v", st)
	}
	evs := log.List(events.Filter{Kind: events.KindFault})
	if len(evs) != 2 || evs[0].Code != "status:404,status:503" || evs[1].Code != "status:503" {
		t.Fatalf("events: %+v", evs)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
