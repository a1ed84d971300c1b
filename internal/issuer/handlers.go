package issuer

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/gorilla/mux"
)

// kindOf is the {kind} of a route, GitHub for the root routes.
func kindOf(r *http.Request) (Kind, error) {
	v, ok := mux.Vars(r)["kind"]
	if !ok {
		return GitHub, nil
	}
	return ParseKind(v)
}

// discoveryDoc has GitHub's fields in GitHub's order (GitHub's https://token.actions.githubusercontent.com/.well-known/openid-configuration).
type discoveryDoc struct {
	Issuer          string   `json:"issuer"`
	JWKSURI         string   `json:"jwks_uri"`
	SubjectTypes    []string `json:"subject_types_supported"`
	ResponseTypes   []string `json:"response_types_supported"`
	ClaimsSupported []string `json:"claims_supported"`
	SigningAlgs     []string `json:"id_token_signing_alg_values_supported"`
	ScopesSupported []string `json:"scopes_supported"`
}

// discovery serves /.well-known/openid-configuration. The issuer is the
// kind's iss (by default the real one) while jwks_uri points here: an index
// told to map that issuer to this document finds this server's keys.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	k, err := kindOf(r)
	if err != nil {
		writeMessage(w, http.StatusNotFound, err.Error())
		return
	}
	base := s.requestBase(r)
	prefix := ""
	if _, ok := mux.Vars(r)["kind"]; ok {
		prefix = k.pathPrefix()
	}
	doc := discoveryDoc{
		Issuer:          s.issuer(k, base),
		JWKSURI:         base + prefix + "/.well-known/jwks",
		SubjectTypes:    []string{"public", "pairwise"},
		ResponseTypes:   []string{"id_token"},
		ClaimsSupported: githubClaimsSupported,
		SigningAlgs:     []string{"RS256"},
		ScopesSupported: []string{"openid"},
	}
	if k != GitHub {
		doc.SubjectTypes = []string{"public"}
		doc.ClaimsSupported = claimNames(k, s.Context())
	}
	writeJSON(w, http.StatusOK, doc)
}

func claimNames(k Kind, rc RunContext) []string {
	names := []string{"iss", "aud", "exp", "iat"}
	if k != Google {
		names = append(names, "nbf", "jti")
	}
	var custom []string
	for c := range claimsFor(k, rc, "") {
		custom = append(custom, c)
	}
	sort.Strings(custom)
	return append(names, custom...)
}

// jwks serves every published key: RSA, RS256, use sig, kid, x5c, x5t.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	if _, err := kindOf(r); err != nil {
		writeMessage(w, http.StatusNotFound, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.keys.jwks())
}

// authorized checks "Authorization: bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>".
// The scheme is compared case-insensitively: toolkit sends "Bearer", id and
// maturin "bearer" (actions/toolkit packages/core/src/oidc-utils.ts,
// di/id id/_internal/oidc/ambient.py, PyO3/maturin src/upload.rs).
func (s *Server) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.cfg.RequestToken)) == 1
}

// githubToken is ACTIONS_ID_TOKEN_REQUEST_URL: 200 {"value": "<JWT>"}.
// The audience comes from the merged query; when repeated the last one
// wins, since toolkit and curl append "&audience=" to a URL that may
// already name one.
func (s *Server) githubToken(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		// Observed status of GitHub's endpoint for a bad or missing bearer
		// token; the exact message text is not recorded upstream.
		writeMessage(w, http.StatusUnauthorized, "Unauthorized: missing or invalid ACTIONS_ID_TOKEN_REQUEST_TOKEN bearer token")
		return
	}
	q := r.URL.Query()
	audience := ""
	if auds := q["audience"]; len(auds) > 0 {
		audience = auds[len(auds)-1]
	}
	extra, err := ParseFaults(q["fault"])
	if err != nil {
		writeMessage(w, http.StatusBadRequest, err.Error())
		return
	}
	fs := s.takeFaults(extra)
	switch fs.endpointFault() {
	case FaultEndpoint404:
		writeMessage(w, http.StatusNotFound, "Not Found")
		return
	case FaultEndpoint500:
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	case FaultEndpointNonJSON:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<html><body><h1>Service Unavailable</h1></body></html>\n"))
		return
	case FaultEndpointNoValue:
		writeJSON(w, http.StatusOK, map[string]any{"count": 0})
		return
	}
	rec, err := s.mint(GitHub, s.requestBase(r), audience, fs)
	if errors.Is(err, ErrTokenWithheld) {
		writeMessage(w, http.StatusUnauthorized, err.Error())
		return
	}
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"value": rec.Token})
}

// googleIdentity is the metadata server's identity endpoint: it needs
// "Metadata-Flavor: Google" and answers the raw JWT as the body
// (the id package's detect_gcp in id/_internal/oidc/ambient.py).
func (s *Server) googleIdentity(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Metadata-Flavor", "Google")
	text := func(status int, body string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
	if r.Header.Get("Metadata-Flavor") != "Google" {
		text(http.StatusForbidden, "Missing required header: Metadata-Flavor: Google\n")
		return
	}
	audience := r.URL.Query().Get("audience")
	if audience == "" {
		text(http.StatusBadRequest, "non-empty audience parameter required\n")
		return
	}
	extra, err := ParseFaults(r.URL.Query()["fault"])
	if err != nil {
		text(http.StatusBadRequest, err.Error()+"\n")
		return
	}
	fs := s.takeFaults(extra)
	switch fs.endpointFault() {
	case FaultEndpoint404:
		text(http.StatusNotFound, "Not Found\n")
		return
	case FaultEndpoint500:
		text(http.StatusInternalServerError, "Internal Server Error\n")
		return
	case FaultEndpointNonJSON:
		text(http.StatusOK, "<html><body>not a token</body></html>\n")
		return
	case FaultEndpointNoValue:
		text(http.StatusOK, "")
		return
	}
	rec, err := s.mint(Google, s.requestBase(r), audience, fs)
	if err != nil {
		text(http.StatusInternalServerError, err.Error()+"\n")
		return
	}
	text(http.StatusOK, rec.Token)
}
