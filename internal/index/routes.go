package index

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/fakepypi/fakepypi/internal/indexfault"
	"github.com/fakepypi/fakepypi/internal/pages"
	"github.com/fakepypi/fakepypi/internal/pytp"
	"github.com/fakepypi/fakepypi/internal/trust"
)

// routes is the index's table of contents: every path it serves, in one
// place. Paths emulating PyPI come first, then the harness's /_fake/.
func (s *Server) routes() http.Handler {
	// SkipClean: PyPI does not rewrite "//" or "/./" in paths, so neither
	// may the router (a client must see PyPI's answer, not a redirect).
	r := mux.NewRouter().SkipClean(true)
	// fault puts an endpoint's named faults (/_fake/faults, --fault) in
	// front of its handler; with none set the handler answers untouched.
	fault := func(endpoint string, h http.HandlerFunc) http.Handler { return s.Faults.Wrap(endpoint, h) }

	// Trusted publishing token exchange (warehouse/oidc/__init__.py, views.py). Wrong
	// methods get 405 with Allow, as warehouse's require_methods does.
	r.Path("/_/oidc/audience").Handler(fault(indexfault.Audience, trust.RequireMethod(http.MethodGet, s.Exchange.HandleAudience)))
	r.Path("/_/oidc/mint-token").Handler(fault(indexfault.MintToken, trust.RequireMethod(http.MethodPost, s.Exchange.HandleMint)))
	r.Path("/_/oidc/github/mint-token").Handler(fault(indexfault.MintToken, trust.RequireMethod(http.MethodPost, s.Exchange.HandleMint)))

	// Upload API (warehouse/forklift/): POST /legacy/; POST /legacy gets PyPI's 308.
	r.Path("/legacy/").Handler(fault(indexfault.Upload, s.Upload.ServeHTTP))
	r.Path("/legacy").Methods(http.MethodPost).Handler(fault(indexfault.Upload, s.Upload.NoSlash))
	// The pre-Warehouse upload URL: 410 pointing at /legacy/ for the
	// upload :actions, 404 otherwise (warehouse/legacy/api/pypi.py).
	r.Path("/pypi").Handler(fault(indexfault.Upload, s.Upload.Moved(forkliftDomain(s.Tokens.Location))))

	// Read APIs (warehouse/api/, warehouse/legacy/api/json.py), GET and HEAD. PyPI redirects a name that is not
	// normalized, and a path without its final slash, with a 301.
	get := []string{http.MethodGet, http.MethodHead}
	r.Path("/simple/").Methods(get...).Handler(fault(indexfault.Simple, s.Read.SimpleIndex))
	r.Path("/simple").Methods(get...).Handler(fault(indexfault.Simple, s.Read.AppendSlash))
	r.Path("/simple/{name}/").Methods(get...).Handler(fault(indexfault.Simple, s.Read.SimpleDetail))
	r.Path("/simple/{name}").Methods(get...).Handler(fault(indexfault.Simple, s.Read.AppendSlash))
	r.Path("/pypi/{name}/json").Methods(get...).Handler(fault(indexfault.JSON, s.Read.ProjectJSON))
	r.Path("/pypi/{name}/json/").Methods(get...).Handler(fault(indexfault.JSON, s.Read.ProjectJSON))
	r.Path("/pypi/{name}/{version}/json").Methods(get...).Handler(fault(indexfault.JSON, s.Read.ReleaseJSON))
	r.Path("/pypi/{name}/{version}/json/").Methods(get...).Handler(fault(indexfault.JSON, s.Read.ReleaseJSON))
	// Files as files.pythonhosted.org serves them (and <file>.metadata, PEP 658).
	r.Path("/packages/{path:.+}").Methods(get...).Handler(fault(indexfault.Files, s.Read.File))
	r.Path("/integrity/{name}/{version}/{filename}/provenance").Methods(get...).Handler(fault(indexfault.Integrity, s.Read.Provenance))

	// PyPI's HTML pages (warehouse/routes.py): packaging.project and
	// packaging.release, the trusted-publisher settings (a stand-in: PyPI
	// needs a login), the help page. A path without its final slash gets
	// the 301 of Warehouse's append-slash not-found view; the /p/ and
	// /pypi/ short forms are Warehouse's redirects to /project/.
	p := s.Pages
	r.Path("/project/{name}/").Methods(get...).HandlerFunc(p.ProjectPage)
	r.Path("/project/{name}/{version}/").Methods(get...).HandlerFunc(p.ReleasePage)
	r.Path("/project/{name}").Methods(get...).HandlerFunc(pages.AppendSlash)
	r.Path("/project/{name}/{version}").Methods(get...).HandlerFunc(pages.AppendSlash)
	r.Path("/p/{name}/").Methods(get...).HandlerFunc(pages.RedirectTo("/project/{name}/"))
	r.Path("/pypi/{name}/").Methods(get...).HandlerFunc(pages.RedirectTo("/project/{name}/"))
	r.Path("/pypi/{name}/{version}/").Methods(get...).HandlerFunc(pages.RedirectTo("/project/{name}/{version}/"))
	r.Path("/manage/project/{name}/settings/publishing/").Methods(get...).HandlerFunc(p.PublishingPage)
	r.Path("/manage/account/publishing/").Methods(get...).HandlerFunc(p.AccountPublishingPage)
	r.Path("/help/").Methods(get...).HandlerFunc(p.HelpPage)
	r.Path("/help").Methods(get...).HandlerFunc(pages.AppendSlash)
	// The direct listener's landing page (not PyPI's home page: the
	// proxy does not route / of PyPI's hosts here).
	r.Path("/").Methods(get...).HandlerFunc(p.LandingPage)

	// PEP 807 trusted-publishing discovery, keyed by the upload path: the
	// endpoints above, named on the host the client asked.
	r.PathPrefix(pytp.Prefix).Handler(fault(indexfault.Discovery, pytp.Handler(pytp.PyPI).ServeHTTP))

	// Harness control plane (JSON; not part of PyPI), and its pages: the
	// dashboard, one page per event with a scenario reproducing it, the
	// claims debugger (internal/pages).
	f := r.PathPrefix("/_fake/").Subrouter()
	f.Path("/").Methods(get...).HandlerFunc(p.Dashboard)
	f.Path("/events/{seq:[0-9]+}").Methods(get...).HandlerFunc(p.EventPage)
	f.Path("/events/{seq:[0-9]+}/scenario.txtar").Methods(get...).HandlerFunc(p.Scenario)
	f.Path("/debugger").Methods(get...).HandlerFunc(p.Debugger)
	f.Path("/debugger").Methods(http.MethodPost).HandlerFunc(p.DebuggerJSON)
	f.Path("/health").Methods(http.MethodGet).HandlerFunc(s.fakeHealth)
	f.Path("/config").Methods(http.MethodGet).HandlerFunc(s.fakeConfig)
	f.Path("/clock").Methods(http.MethodGet).HandlerFunc(s.fakeClockGet)
	f.Path("/clock").Methods(http.MethodPost).HandlerFunc(s.fakeClockSet)
	f.Path("/events").Methods(http.MethodGet).HandlerFunc(s.fakeEvents)
	f.Path("/events").Methods(http.MethodDelete).HandlerFunc(s.fakeEventsReset)
	f.Path("/audience").Methods(http.MethodGet).HandlerFunc(s.fakeAudienceGet)
	f.Path("/audience").Methods(http.MethodPut, http.MethodPost).HandlerFunc(s.fakeAudienceSet)
	f.Path("/flags").Methods(http.MethodGet).HandlerFunc(s.fakeFlagsGet)
	f.Path("/flags").Methods(http.MethodPut, http.MethodPost).HandlerFunc(s.fakeFlagsSet)
	f.Path("/issuers").Methods(http.MethodGet).HandlerFunc(s.fakeIssuersGet)
	f.Path("/issuers").Methods(http.MethodPost).HandlerFunc(s.fakeIssuersAdd)
	f.Path("/issuers").Methods(http.MethodDelete).HandlerFunc(s.fakeIssuersRemove)
	f.Path("/users").Methods(http.MethodGet).HandlerFunc(s.fakeUsersGet)
	f.Path("/users").Methods(http.MethodPost).HandlerFunc(s.fakeUsersAdd)
	f.Path("/projects").Methods(http.MethodGet).HandlerFunc(s.fakeProjectsGet)
	f.Path("/projects").Methods(http.MethodPost).HandlerFunc(s.fakeProjectsAdd)
	f.Path("/projects/{name}").Methods(http.MethodDelete).HandlerFunc(s.fakeProjectsRemove)
	f.Path("/projects/{name}/status").Methods(http.MethodPut, http.MethodPost).HandlerFunc(s.fakeProjectStatus)
	f.Path("/publishers").Methods(http.MethodGet).HandlerFunc(s.fakePublishersGet(false))
	f.Path("/publishers").Methods(http.MethodPost).HandlerFunc(s.fakePublishersAdd(false))
	f.Path("/publishers/{id}").Methods(http.MethodDelete).HandlerFunc(s.fakePublishersRemove(false))
	f.Path("/pending-publishers").Methods(http.MethodGet).HandlerFunc(s.fakePublishersGet(true))
	f.Path("/pending-publishers").Methods(http.MethodPost).HandlerFunc(s.fakePublishersAdd(true))
	f.Path("/pending-publishers/{id}").Methods(http.MethodDelete).HandlerFunc(s.fakePublishersRemove(true))
	f.Path("/tokens").Methods(http.MethodGet).HandlerFunc(s.fakeTokensGet)
	f.Path("/tokens").Methods(http.MethodPost).HandlerFunc(s.fakeTokensAdd)
	f.Path("/tokens/{name}").Methods(http.MethodDelete).HandlerFunc(s.fakeTokensRemove)
	f.Path("/jwks-cache").Methods(http.MethodDelete).HandlerFunc(s.fakeForgetKeys)
	f.Path("/faults").Methods(http.MethodGet).HandlerFunc(s.fakeFaultsGet)
	f.Path("/faults").Methods(http.MethodPost).HandlerFunc(s.fakeFaultsQueue)
	f.Path("/faults").Methods(http.MethodPut).HandlerFunc(s.fakeFaultsSet)
	f.Path("/faults").Methods(http.MethodDelete).HandlerFunc(s.fakeFaultsClear)
	// Yank, unyank, delete (file, release) and seed; DELETE /projects/{name}
	// above is the index's own, which drops the files too.
	f.Path("/seed").Methods(http.MethodPost).HandlerFunc(s.Read.ControlSeed)
	f.Path("/projects/{project}").Methods(http.MethodGet).HandlerFunc(s.Read.ControlShow)
	f.Path("/projects/{project}/releases/{version}/yank").Methods(http.MethodPost).HandlerFunc(s.Read.ControlYank)
	f.Path("/projects/{project}/releases/{version}/unyank").Methods(http.MethodPost).HandlerFunc(s.Read.ControlUnyank)
	f.Path("/projects/{project}/releases/{version}").Methods(http.MethodDelete).HandlerFunc(s.Read.ControlDeleteRelease)
	f.Path("/projects/{project}/files/{filename}").Methods(http.MethodDelete).HandlerFunc(s.Read.ControlDeleteFile)
	// A path or method the control plane does not have answers in its own
	// JSON, as every other /_fake/ error does, rather than in Go's plain
	// "404 page not found"; a wrong method gets 405 naming the methods the
	// path takes. Both come through NotFoundHandler: gorilla/mux v1.8.1
	// loses a subrouter's method mismatch when a later route shares its
	// prefix, so the methods are asked of the table itself.
	f.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allow := allowedMethods(f, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			replyErr(w, http.StatusMethodNotAllowed, "%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", "))
			return
		}
		replyErr(w, http.StatusNotFound, "no control-plane endpoint %s (docs/fakeindex.md, \"Control plane\", lists them)", r.URL.Path)
	})
	f.MethodNotAllowedHandler = f.NotFoundHandler
	return r
}

// allowedMethods lists the methods some route of router takes for r's
// path, by asking the router itself, so the list cannot drift from the
// table above.
func allowedMethods(router *mux.Router, r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		var match mux.RouteMatch
		if router.Match(probe, &match) && match.MatchErr == nil {
			allow = append(allow, m)
		}
	}
	return allow
}
