package pages

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/fakepypi/fakepypi/internal/events"
	"github.com/fakepypi/fakepypi/internal/oidc"
	"github.com/fakepypi/fakepypi/internal/publisher"
	"github.com/fakepypi/fakepypi/internal/trust"
)

var eventsFilterAll = events.Filter{}

// The details of each kind of event, decoded from the event's JSON so
// that the pages read the log the way /_fake/events shows it, whatever
// Go type the recorder used.
// mintDetails are the exchange's own (trust.MintDetails).
type mintDetails = trust.MintDetails

type uploadDetails struct {
	Step        string              `json:"step"`
	Identity    string              `json:"identity"`
	User        string              `json:"user"`
	Publisher   string              `json:"publisher_id"`
	Token       string              `json:"token"`
	TokenID     string              `json:"token_id"`
	Filename    string              `json:"filename"`
	ContentType string              `json:"content_type"`
	Size        int64               `json:"size"`
	SHA256      string              `json:"sha256"`
	Blake2256   string              `json:"blake2_256"`
	Fields      map[string][]string `json:"fields"`
}

type tokenDetails struct {
	CI       string         `json:"ci"`
	Audience string         `json:"audience"`
	Faults   []string       `json:"faults"`
	Claims   map[string]any `json:"claims"`
}

type faultDetails struct {
	Endpoint string   `json:"endpoint"`
	Method   string   `json:"method"`
	Path     string   `json:"path"`
	Faults   []string `json:"faults"`
}

// claimRow is one claim in a table of claims.
type claimRow struct{ Name, Value string }

// eventView is an event ready for a template.
type eventView struct {
	events.Event
	Title   string
	Outcome string // ok, error, injected
	Mint    *mintDetails
	Upload  *uploadDetails
	Token   *tokenDetails
	Fault   *faultDetails
	Claims  []claimRow
	Compare []publisher.Field
	Fields  []claimRow // upload form fields
	// Reproducible is whether a scenario can be downloaded for it.
	Reproducible bool
}

// HasDiffs reports a refused mint whose diagnosis lists differences
// (the row shows them instead of the summary, which repeats them).
func (v eventView) HasDiffs() bool {
	return v.Mint != nil && v.Mint.Diagnosis != nil && len(v.Mint.Diagnosis.Differences) > 0
}

func decodeDetails(e events.Event, v any) bool {
	if e.Details == nil {
		return false
	}
	b, err := json.Marshal(e.Details)
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

func claimRows(c map[string]any) []claimRow {
	names := make([]string, 0, len(c))
	for k := range c {
		names = append(names, k)
	}
	sort.Strings(names)
	rows := make([]claimRow, len(names))
	for i, k := range names {
		rows[i] = claimRow{k, jsonText(c[k])}
	}
	return rows
}

// jsonText shows a claim value: strings as they are, the rest as JSON.
func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var serviceNames = map[string]string{"github": "GitHub", "gitlab": "GitLab", "google": "Google", "activestate": "ActiveState",
	"buildkite": "Buildkite", "circleci": "CircleCI"}

func view(e events.Event) eventView {
	v := eventView{Event: e, Outcome: e.Verdict}
	switch e.Kind {
	case events.KindMint:
		var d mintDetails
		if decodeDetails(e, &d) {
			v.Mint = &d
			v.Claims = claimRows(d.Claims)
			if d.Diagnosis != nil && d.Diagnosis.Closest != nil {
				v.Compare = publisher.Compare(*d.Diagnosis.Closest, oidc.Claims(d.Claims))
			} else if d.Publisher != nil {
				v.Compare = publisher.Compare(*d.Publisher, oidc.Claims(d.Claims))
			}
			v.Reproducible = d.Service != ""
		}
		if e.Verdict == "ok" {
			v.Title = "Token minted"
			if v.Mint != nil && v.Mint.Service != "" {
				v.Title = serviceNames[v.Mint.Service] + " token exchanged for an API token"
			}
		} else {
			v.Title = "Mint-token refused"
			if e.Code != "" {
				v.Title += ": " + e.Code
			}
		}
	case events.KindUpload:
		var d uploadDetails
		if decodeDetails(e, &d) {
			v.Upload = &d
			keys := make([]string, 0, len(d.Fields))
			for k := range d.Fields {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				v.Fields = append(v.Fields, claimRow{k, strings.Join(d.Fields[k], ", ")})
			}
			v.Reproducible = d.Filename != ""
		}
		name := "a file"
		if v.Upload != nil && v.Upload.Filename != "" {
			name = v.Upload.Filename
		}
		if e.Verdict == "ok" {
			v.Title = "Uploaded " + name
		} else {
			v.Title = "Upload of " + name + " refused"
		}
	case events.KindToken:
		var d tokenDetails
		if decodeDetails(e, &d) {
			v.Token = &d
			v.Claims = claimRows(d.Claims)
		}
		v.Title = "OIDC token issued"
		if v.Token != nil {
			v.Title = "OIDC token issued (" + serviceNames[v.Token.CI] + ", audience " + strconv.Quote(v.Token.Audience) + ")"
		}
	case events.KindFault:
		var d faultDetails
		if decodeDetails(e, &d) {
			v.Fault = &d
		}
		v.Title = "Fault injected"
		if v.Fault != nil {
			v.Title += " on " + v.Fault.Method + " " + v.Fault.Path
		}
	default:
		v.Title = e.Kind
	}
	return v
}

// dashboardFilter is the dashboard's query: kind, outcome, and (for the
// live updates) the last sequence number the page has.
type dashboardFilter struct {
	Kind, Outcome string
	After         int64
}

func parseFilter(r *http.Request) dashboardFilter {
	q := r.URL.Query()
	f := dashboardFilter{Kind: q.Get("kind"), Outcome: q.Get("outcome")}
	f.After, _ = strconv.ParseInt(q.Get("after"), 10, 64)
	return f
}

func (f dashboardFilter) match(e events.Event) bool {
	if f.Outcome != "" && e.Verdict != f.Outcome {
		return false
	}
	return true
}

// maxTimeline bounds the events one dashboard page shows.
const maxTimeline = 200

// timeline lists the matching events newest first.
func (s *Site) timeline(f dashboardFilter) (list []eventView, last int64, total int) {
	all := s.Events.List(events.Filter{Kind: f.Kind, Since: f.After})
	for i := len(all) - 1; i >= 0; i-- {
		e := all[i]
		if e.Seq > last {
			last = e.Seq
		}
		if !f.match(e) {
			continue
		}
		total++
		if len(list) < maxTimeline {
			list = append(list, view(e))
		}
	}
	return list, last, total
}

type dashboardView struct {
	Filter   dashboardFilter
	Events   []eventView
	Last     int64
	Total    int
	Kinds    []string
	Outcomes []string
	Counts   map[string]int
	Now      string
	Site     string
	InForce  []string
}

// Dashboard serves GET /_fake/: every event of the shared log, newest
// first, with filters by kind and outcome (a GET form), each linking to
// its permalink. A small inline script polls ?partial=1&after=N every two
// seconds and inserts new rows at the top; without JavaScript, reload.
func (s *Site) Dashboard(w http.ResponseWriter, r *http.Request) {
	f := parseFilter(r)
	list, last, total := s.timeline(f)
	if r.URL.Query().Get("partial") == "1" {
		if last == 0 {
			last = f.After
		}
		w.Header().Set("X-Fakepypi-Last-Seq", strconv.FormatInt(last, 10))
		renderFragment(w, "dashboard.html", "rows", list)
		return
	}
	v := dashboardView{Filter: f, Events: list, Last: last, Total: total, Site: s.Name,
		Kinds:    []string{events.KindMint, events.KindUpload, events.KindToken, events.KindFault},
		Outcomes: []string{"ok", "error", "injected"}, Counts: map[string]int{}}
	if v.Last == 0 {
		// An empty view still polls from the newest event on.
		if e, ok := s.Events.Last(""); ok {
			v.Last = e.Seq
		}
	}
	for _, e := range s.Events.List(eventsFilterAll) {
		v.Counts[e.Kind]++
		v.Counts[e.Verdict]++
	}
	if s.Now != nil {
		v.Now = when(s.Now())
	}
	if s.InForce != nil {
		v.InForce = s.InForce()
	}
	render(w, http.StatusOK, "dashboard.html", s.harnessChrome("Dashboard"), v)
}

// EventPage serves GET /_fake/events/{seq}: one event with everything
// recorded about it; for a refused mint, the token's claims beside the
// closest configured publisher with the differing fields highlighted.
// With Accept: application/json it answers the event as JSON instead.
func (s *Site) EventPage(w http.ResponseWriter, r *http.Request) {
	e, ok := s.event(mux.Vars(r)["seq"])
	if !ok {
		render(w, http.StatusNotFound, "notfound.html", s.harnessChrome("Event not found"),
			"event "+mux.Vars(r)["seq"]+" (events are kept in memory, a bounded number of them, until /_fake/events is cleared)")
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") && !strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(e)
		return
	}
	v := view(e)
	// The token the attempt presented, when the issuer minted it here.
	var tok *eventView
	if v.Mint != nil {
		if jti, _ := v.Mint.Claims["jti"].(string); jti != "" {
			for _, te := range s.Events.List(events.Filter{Kind: events.KindToken}) {
				tv := view(te)
				if tv.Token != nil && tv.Token.Claims["jti"] == jti {
					tok = &tv
					break
				}
			}
		}
	}
	render(w, http.StatusOK, "event.html", s.harnessChrome("Event #"+strconv.FormatInt(e.Seq, 10)), struct {
		eventView
		TokenEvent *eventView
	}{v, tok})
}

func (s *Site) event(seqText string) (events.Event, bool) {
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if err != nil || seq <= 0 {
		return events.Event{}, false
	}
	for _, e := range s.Events.List(events.Filter{Since: seq - 1}) {
		if e.Seq == seq {
			return e, true
		}
	}
	return events.Event{}, false
}
