package issuer

import (
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"
)

const (
	githubTokenPath = "/github/idtoken"
	googleIdentity  = "/computeMetadata/v1/instance/service-accounts/{account}/identity"
)

// routes is the whole HTTP API: the issuers' public endpoints, then the
// control plane under /_fake/.
func (s *Server) routes() http.Handler {
	r := mux.NewRouter()
	get := []string{http.MethodGet, http.MethodHead}

	// GitHub Actions, at the root like token.actions.githubusercontent.com.
	r.Path("/.well-known/openid-configuration").Methods(get...).HandlerFunc(s.discovery)
	r.Path("/.well-known/jwks").Methods(get...).HandlerFunc(s.jwks)
	// ACTIONS_ID_TOKEN_REQUEST_URL.
	// GET only: every request mints a token and consumes a queued fault.
	r.Path(githubTokenPath).Methods(http.MethodGet).HandlerFunc(s.githubToken)

	// Every kind's issuer under /<kind>/ (github, gitlab, google, ...).
	r.Path("/{kind}/.well-known/openid-configuration").Methods(get...).HandlerFunc(s.discovery)
	r.Path("/{kind}/.well-known/jwks").Methods(get...).HandlerFunc(s.jwks)

	// Google's metadata server (GCE_METADATA_HOST).
	r.Path(googleIdentity).Methods(http.MethodGet).HandlerFunc(s.googleIdentity)

	// The direct listener's landing page (internal/pages).
	r.Path("/").Methods(get...).HandlerFunc(s.landing)

	// Control and inspection.
	// (Plain routes, not a subrouter: gorilla/mux answers 404 instead of
	// 405 for a method mismatch inside a subrouter.)
	r.Path("/_fake/").Methods(get...).HandlerFunc(s.fakeIndex)
	r.Path("/_fake/issuers").Methods(get...).HandlerFunc(s.fakeIssuers)
	r.Path("/_fake/context").Methods(get...).HandlerFunc(s.getContext)
	r.Path("/_fake/context").Methods(http.MethodPut).HandlerFunc(s.putContext)
	r.Path("/_fake/context").Methods(http.MethodPatch).HandlerFunc(s.patchContext)
	r.Path("/_fake/faults").Methods(get...).HandlerFunc(s.getFaults)
	r.Path("/_fake/faults").Methods(http.MethodPost).HandlerFunc(s.postFaults)
	r.Path("/_fake/faults").Methods(http.MethodPut).HandlerFunc(s.putFaults)
	r.Path("/_fake/faults").Methods(http.MethodDelete).HandlerFunc(s.deleteFaults)
	r.Path("/_fake/keys").Methods(get...).HandlerFunc(s.getKeys)
	r.Path("/_fake/keys/rotate").Methods(http.MethodPost).HandlerFunc(s.rotateKey)
	r.Path("/_fake/keys/{kid}").Methods(http.MethodDelete).HandlerFunc(s.retireKey)
	r.Path("/_fake/tokens").Methods(get...).HandlerFunc(s.getTokens)
	r.Path("/_fake/tokens").Methods(http.MethodDelete).HandlerFunc(s.deleteTokens)
	r.Path("/_fake/token").Methods(http.MethodGet, http.MethodPost).HandlerFunc(s.fakeToken)
	r.Path("/_fake/env").Methods(get...).HandlerFunc(s.fakeEnv)

	notFound := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeMessage(w, http.StatusNotFound, "no route for "+r.URL.Path)
	})
	notAllowed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeMessage(w, http.StatusMethodNotAllowed, r.Method+" not allowed on "+r.URL.Path)
	})
	r.NotFoundHandler, r.MethodNotAllowedHandler = notFound, notAllowed
	return r
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeMessage is the error body shape of GitHub's token endpoint, which
// actions/toolkit reads as result.message; the control plane uses it too.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}
