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
	r.Path(githubTokenPath).Methods(get...).HandlerFunc(s.githubToken)

	// Every kind's issuer under /<kind>/ (github, gitlab, google, ...).
	r.Path("/{kind}/.well-known/openid-configuration").Methods(get...).HandlerFunc(s.discovery)
	r.Path("/{kind}/.well-known/jwks").Methods(get...).HandlerFunc(s.jwks)

	// Google's metadata server (GCE_METADATA_HOST).
	r.Path(googleIdentity).Methods(get...).HandlerFunc(s.googleIdentity)

	// Control and inspection.
	f := r.PathPrefix("/_fake").Subrouter()
	f.Path("/").Methods(get...).HandlerFunc(s.fakeIndex)
	f.Path("/issuers").Methods(get...).HandlerFunc(s.fakeIssuers)
	f.Path("/context").Methods(get...).HandlerFunc(s.getContext)
	f.Path("/context").Methods(http.MethodPut).HandlerFunc(s.putContext)
	f.Path("/context").Methods(http.MethodPatch).HandlerFunc(s.patchContext)
	f.Path("/faults").Methods(get...).HandlerFunc(s.getFaults)
	f.Path("/faults").Methods(http.MethodPost).HandlerFunc(s.postFaults)
	f.Path("/faults").Methods(http.MethodPut).HandlerFunc(s.putFaults)
	f.Path("/faults").Methods(http.MethodDelete).HandlerFunc(s.deleteFaults)
	f.Path("/keys").Methods(get...).HandlerFunc(s.getKeys)
	f.Path("/keys/rotate").Methods(http.MethodPost).HandlerFunc(s.rotateKey)
	f.Path("/keys/{kid}").Methods(http.MethodDelete).HandlerFunc(s.retireKey)
	f.Path("/tokens").Methods(get...).HandlerFunc(s.getTokens)
	f.Path("/tokens").Methods(http.MethodDelete).HandlerFunc(s.deleteTokens)
	f.Path("/token").Methods(http.MethodGet, http.MethodPost).HandlerFunc(s.fakeToken)
	f.Path("/env").Methods(get...).HandlerFunc(s.fakeEnv)

	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeMessage(w, http.StatusNotFound, "no route for "+r.URL.Path)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeMessage(w, http.StatusMethodNotAllowed, r.Method+" not allowed on "+r.URL.Path)
	})
	return r
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeMessage is the error body shape of GitHub's token endpoint, which
// actions/toolkit reads as result.message; the control plane uses it too.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}
