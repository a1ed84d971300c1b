package pages

import (
	"net/http"
	"time"
)

// Landing is what the landing page at / says is running. The index fills
// in its own part; the program that started it (fakeindex, `fakeindex up`)
// adds the rest.
type Landing struct {
	Audience string // the aud mint-token requires
	Domain   string // the token location (pypi.org, test.pypi.org)
	// Program is what runs the index: "fakeindex", "fakeindex up".
	Program string
	// URLs of the harness's parts; empty when not running.
	IssuerURL, ProxyURL, CABundle string
	// Env is the publish job's environment, as `fakeindex up` prints it;
	// values of secrets are left out by the caller.
	Env []EnvVar
}

// EnvVar is one variable of the job environment.
type EnvVar struct{ Name, Value string }

type landingView struct {
	Landing
	Base      string
	Projects  int
	Events    int
	Publisher int
	Pending   int
}

// LandingPage serves GET / on the index's direct listener: what is
// running, where the pages are, what each endpoint does, and the job
// environment.
func (s *Site) LandingPage(w http.ResponseWriter, r *http.Request) {
	v := landingView{Base: baseURL(r)}
	if s.Landing != nil {
		v.Landing = s.Landing(r)
	}
	if v.Program == "" {
		v.Program = "fakeindex"
	}
	v.Projects = len(s.Catalog.Projects())
	v.Events = len(s.Events.List(eventsFilterAll))
	v.Publisher = len(s.Publishers.List(false))
	v.Pending = len(s.Publishers.List(true))
	c := s.harnessChrome("")
	c.Title = s.Name + " emulator"
	render(w, http.StatusOK, "landing.html", c, v)
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// IssuerLanding is what the fake issuer's landing page shows.
type IssuerLanding struct {
	Base string
	// Issuers: one row per CI kind.
	Issuers []IssuerRow
	// TokenURL is ACTIONS_ID_TOKEN_REQUEST_URL.
	TokenURL string
	Faults   []string // sticky faults in force
	Queued   int      // queued one-shot fault sets
	Tokens   []IssuedRow
}

// IssuerRow is one CI kind of the issuer.
type IssuerRow struct{ Kind, Issuer, Discovery, JWKS string }

// IssuedRow is one minted token, newest first.
type IssuedRow struct {
	Kind, Audience string
	Faults         []string
	IssuedAt       time.Time
	Subject        string
}

// RenderIssuerLanding serves the fake issuer's GET / on its direct
// listener.
func RenderIssuerLanding(w http.ResponseWriter, v IssuerLanding) {
	render(w, http.StatusOK, "issuer.html", Chrome{Site: "fakepypi", Title: "CI issuer", Harness: true}, v)
}
