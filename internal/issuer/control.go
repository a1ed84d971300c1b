package issuer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gorilla/mux"
)

// The control plane under /_fake/: JSON in, JSON out (except /_fake/env,
// which by default answers shell text).

var controlEndpoints = []string{
	"GET /_fake/ (this index)",
	"GET /_fake/issuers",
	"GET|PUT|PATCH /_fake/context",
	"GET|POST|PUT|DELETE /_fake/faults",
	"GET /_fake/keys",
	"POST /_fake/keys/rotate",
	"DELETE /_fake/keys/{kid}",
	"GET|DELETE /_fake/tokens",
	"GET|POST /_fake/token",
	"GET /_fake/env?ci=KIND&audience=A&fault=F[&format=json]",
}

func (s *Server) fakeIndex(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"endpoints": controlEndpoints, "faults": FaultNames()})
}

// IssuerInfo tells an index how to trust one kind of token from this server.
type IssuerInfo struct {
	Issuer       string `json:"issuer"`        // the iss claim
	DiscoveryURL string `json:"discovery_url"` // where its openid-configuration is served here
	JWKSURL      string `json:"jwks_url"`
}

// Issuers describes every kind, keyed by kind.
func (s *Server) Issuers() map[Kind]IssuerInfo { return s.issuers(s.URL()) }

func (s *Server) issuers(base string) map[Kind]IssuerInfo {
	m := map[Kind]IssuerInfo{}
	for _, k := range Kinds {
		m[k] = IssuerInfo{
			Issuer:       s.issuer(k, base),
			DiscoveryURL: base + k.pathPrefix() + "/.well-known/openid-configuration",
			JWKSURL:      base + k.pathPrefix() + "/.well-known/jwks",
		}
	}
	return m
}

func (s *Server) fakeIssuers(w http.ResponseWriter, r *http.Request) {
	base := s.requestBase(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuers":                        s.issuers(base),
		"actions_id_token_request_url":   base + githubTokenPath + "?api-version=2.0",
		"actions_id_token_request_token": s.cfg.RequestToken,
	})
}

func (s *Server) getContext(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("raw") != "" {
		writeJSON(w, http.StatusOK, s.rawContext())
		return
	}
	writeJSON(w, http.StatusOK, s.Context())
}

// decodeBody reads strict JSON: unknown fields are errors, not ignored, so
// a typo does not silently leave a default in place.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty body: want a JSON object")
		}
		return fmt.Errorf("bad JSON body: %w", err)
	}
	return nil
}

// putContext replaces the run context; PATCH merges into it.
func (s *Server) putContext(w http.ResponseWriter, r *http.Request) {
	var rc RunContext
	if err := decodeBody(r, &rc); err != nil {
		writeMessage(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.SetContext(rc); err != nil {
		writeMessage(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.Context())
}

func (s *Server) patchContext(w http.ResponseWriter, r *http.Request) {
	var decodeErr error
	err := s.UpdateContext(func(rc *RunContext) {
		// Decoding onto the current values is the merge.
		decodeErr = decodeBody(r, rc)
	})
	if decodeErr != nil {
		writeMessage(w, http.StatusBadRequest, decodeErr.Error())
		return
	}
	if err != nil {
		writeMessage(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.Context())
}

type faultsBody struct {
	Faults []Fault `json:"faults"`
	Count  int     `json:"count,omitempty"` // POST: queue this many one-shot entries (default 1)
}

func (s *Server) faultState() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	queued := [][]Fault{}
	for _, q := range s.queue {
		queued = append(queued, append([]Fault{}, q...))
	}
	return map[string]any{"sticky": append([]Fault{}, s.sticky...), "queued": queued}
}

func (s *Server) getFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.faultState())
}

// postFaults queues one-shot faults for the next token request(s).
func (s *Server) postFaults(w http.ResponseWriter, r *http.Request) {
	var b faultsBody
	if err := decodeBody(r, &b); err != nil {
		writeMessage(w, http.StatusBadRequest, err.Error())
		return
	}
	if b.Count < 0 || b.Count > 1000 {
		writeMessage(w, http.StatusBadRequest, "count must be between 1 and 1000")
		return
	}
	for range max(b.Count, 1) {
		s.QueueFaults(b.Faults...)
	}
	writeJSON(w, http.StatusOK, s.faultState())
}

// putFaults replaces the sticky faults.
func (s *Server) putFaults(w http.ResponseWriter, r *http.Request) {
	var b faultsBody
	if err := decodeBody(r, &b); err != nil {
		writeMessage(w, http.StatusBadRequest, err.Error())
		return
	}
	s.SetFaults(b.Faults...)
	writeJSON(w, http.StatusOK, s.faultState())
}

func (s *Server) deleteFaults(w http.ResponseWriter, r *http.Request) {
	s.ClearFaults()
	writeJSON(w, http.StatusOK, s.faultState())
}

type keyInfo struct {
	Kid     string `json:"kid"`
	X5t     string `json:"x5t"`
	Signing bool   `json:"signing"`
}

func (s *Server) keyState() map[string]any {
	keys := s.keys.list()
	out := make([]keyInfo, len(keys))
	for i, k := range keys {
		out[i] = keyInfo{Kid: k.kid, X5t: k.x5t, Signing: i == len(keys)-1}
	}
	return map[string]any{"keys": out, "signing": keys[len(keys)-1].kid}
}

func (s *Server) getKeys(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.keyState())
}

func (s *Server) rotateKey(w http.ResponseWriter, r *http.Request) {
	if _, err := s.RotateKey(); err != nil {
		writeMessage(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.keyState())
}

func (s *Server) retireKey(w http.ResponseWriter, r *http.Request) {
	err := s.RetireKey(mux.Vars(r)["kid"])
	switch {
	case errors.Is(err, ErrUnknownKey):
		writeMessage(w, http.StatusNotFound, err.Error())
	case err != nil:
		writeMessage(w, http.StatusConflict, err.Error())
	default:
		writeJSON(w, http.StatusOK, s.keyState())
	}
}

func (s *Server) getTokens(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("ci")
	tokens := []Issued{}
	for _, t := range s.Issued() {
		if kind == "" || string(t.Kind) == kind {
			tokens = append(tokens, t)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": tokens})
}

func (s *Server) deleteTokens(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.issued = nil
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"tokens": []Issued{}})
}

type tokenRequest struct {
	CI       string  `json:"ci"`
	Audience string  `json:"audience"`
	Faults   []Fault `json:"faults"`
}

// fakeToken mints a token of any kind directly: the buildkite-agent and
// circleci personas use it. GET takes ci, audience and fault query
// parameters; POST a JSON body.
func (s *Server) fakeToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if r.Method == http.MethodPost {
		if err := decodeBody(r, &req); err != nil {
			writeMessage(w, http.StatusBadRequest, err.Error())
			return
		}
	} else {
		q := r.URL.Query()
		req.CI, req.Audience = q.Get("ci"), q.Get("audience")
		fs, err := ParseFaults(q["fault"])
		if err != nil {
			writeMessage(w, http.StatusBadRequest, err.Error())
			return
		}
		req.Faults = fs
	}
	if req.CI == "" {
		req.CI = string(GitHub)
	}
	k, err := ParseKind(req.CI)
	if err != nil {
		writeMessage(w, http.StatusBadRequest, err.Error())
		return
	}
	fs := s.takeFaults(req.Faults)
	if f := fs.endpointFault(); f != "" {
		writeMessage(w, http.StatusConflict, f+": "+ErrEndpointFault.Error())
		return
	}
	rec, err := s.mint(k, s.requestBase(r), req.Audience, fs)
	switch {
	case errors.Is(err, ErrTokenWithheld):
		writeMessage(w, http.StatusConflict, err.Error())
	case err != nil:
		writeMessage(w, http.StatusInternalServerError, err.Error())
	default:
		rec.decode()
		writeJSON(w, http.StatusOK, rec)
	}
}

// fakeEnv answers the shell exports of a job (text/plain, for eval), or
// with format=json the same as JSON.
func (s *Server) fakeEnv(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ci := q.Get("ci")
	if ci == "" {
		ci = string(GitHub)
	}
	k, err := ParseKind(ci)
	if err != nil {
		writeMessage(w, http.StatusBadRequest, err.Error())
		return
	}
	fs, err := ParseFaults(q["fault"])
	if err != nil {
		writeMessage(w, http.StatusBadRequest, err.Error())
		return
	}
	env, err := s.env(k, s.requestBase(r), EnvOptions{Audiences: q["audience"], Faults: fs})
	if err != nil {
		writeMessage(w, http.StatusConflict, err.Error())
		return
	}
	if q.Get("format") == "json" {
		writeJSON(w, http.StatusOK, env)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, env.Shell())
}
