package index

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/fakepypi/fakepypi/internal/adminflag"
	"github.com/fakepypi/fakepypi/internal/apitoken"
	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/events"
	"github.com/fakepypi/fakepypi/internal/forklift/pyname"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/oidc"
	"github.com/fakepypi/fakepypi/internal/publisher"
)

// The /_fake/ control plane: plain JSON in, JSON out, errors as
// {"error": "..."} with 400 (bad input) or 404 (unknown name).

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func replyErr(w http.ResponseWriter, status int, format string, args ...any) {
	reply(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// decode reads a JSON body strictly (unknown fields are mistakes).
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if err == io.EOF {
			replyErr(w, http.StatusBadRequest, "invalid JSON body: the body is empty")
		} else {
			replyErr(w, http.StatusBadRequest, "invalid JSON body: %v", err)
		}
		return false
	}
	// One value only: a second one must not be dropped silently.
	if _, err := dec.Token(); err != io.EOF {
		replyErr(w, http.StatusBadRequest, "invalid JSON body: unexpected data after the JSON value")
		return false
	}
	return true
}

// Snapshot returns the live state in the configuration file's shape.
func (s *Server) Snapshot() indexconfig.File {
	s.Exchange.ExpirePending()
	f := indexconfig.File{Audience: s.Exchange.Audience(), Domain: s.Tokens.Location,
		Flags: s.Flags.EnabledNames(), Issuers: s.Issuers.List(),
		Publishers: s.Publishers.List(false), PendingPublishers: s.Publishers.List(true)}
	for _, u := range s.users.list() {
		v, t := u.EmailVerified, u.TwoFactor
		f.Users = append(f.Users, indexconfig.User{Name: u.Name, EmailVerified: &v, TwoFactor: &t, Frozen: u.Frozen})
	}
	for _, ps := range s.Catalog.Projects() {
		p, _ := s.Catalog.Project(ps.NormalizedName)
		cp := indexconfig.Project{Name: p.Name, Organization: p.Organization, UploadLimit: p.UploadLimit, TotalSizeLimit: p.TotalSizeLimit, Status: p.Status}
		for _, r := range p.Roles {
			if r.Role == "Owner" {
				cp.Owners = append(cp.Owners, r.User)
			} else {
				cp.Maintainers = append(cp.Maintainers, r.User)
			}
		}
		f.Projects = append(f.Projects, cp)
	}
	for _, t := range s.Tokens.List() {
		if t.Kind != apitoken.KindUser {
			continue
		}
		projects, scoped := s.tokenProjects(t)
		if scoped && len(projects) == 0 {
			continue // every project it was scoped to is deleted: not expressible
		}
		f.Tokens = append(f.Tokens, apitoken.UserToken{Name: t.Name, User: t.User, Projects: projects})
	}
	f.ProhibitedNames = s.projects.prohibitedNames()
	return f
}

// tokenProjects reads a user token's project scope back from its
// ProjectName caveat ([1,["name",...]]), by display name, keeping only
// projects that still exist. scoped is false for a user-scoped token.
func (s *Server) tokenProjects(t apitoken.TokenInfo) (projects []string, scoped bool) {
	for _, c := range t.Caveats {
		var cav []json.RawMessage
		if json.Unmarshal([]byte(c), &cav) != nil || len(cav) != 2 || string(cav[0]) != strconv.Itoa(apitoken.TagProjectName) {
			continue
		}
		var names []string
		if json.Unmarshal(cav[1], &names) != nil {
			continue
		}
		for _, n := range names {
			if p, ok := s.Catalog.Project(n); ok {
				projects = append(projects, p.Name)
			}
		}
		return projects, true
	}
	return nil, false
}

func (s *Server) fakeConfig(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, s.Snapshot())
}

type clockState struct {
	Now    time.Time `json:"now"`
	Unix   int64     `json:"unix"`
	Frozen bool      `json:"frozen"`
}

func (s *Server) clockState() clockState {
	now := s.clock.Now()
	st := clockState{Now: now.UTC(), Unix: now.Unix()}
	if o, ok := s.clock.(*clock.Offset); ok {
		st.Frozen = o.Frozen()
	}
	return st
}

func (s *Server) fakeClockGet(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, s.clockState())
}

// fakeClockSet takes {"advance": "15m"}, {"set": "2026-01-01T00:00:00Z"}
// or {"freeze": true|false}; several may be combined and apply in that
// order: freeze, set, advance.
func (s *Server) fakeClockSet(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Advance string     `json:"advance"`
		Set     *time.Time `json:"set"`
		Freeze  *bool      `json:"freeze"`
	}
	if !decode(w, r, &req) {
		return
	}
	var d time.Duration
	if req.Advance != "" {
		var err error
		if d, err = time.ParseDuration(req.Advance); err != nil {
			replyErr(w, http.StatusBadRequest, "advance: %v (use Go durations such as 90s or 15m)", err)
			return
		}
	}
	type setter interface {
		Set(time.Time)
		Advance(time.Duration) time.Time
	}
	c, ok := s.clock.(setter)
	if !ok {
		replyErr(w, http.StatusBadRequest, "this server's clock cannot be changed")
		return
	}
	if req.Freeze != nil {
		o, ok := s.clock.(*clock.Offset)
		if !ok {
			replyErr(w, http.StatusBadRequest, "this server's clock cannot be frozen")
			return
		}
		if *req.Freeze {
			o.Freeze()
		} else {
			o.Unfreeze()
		}
	}
	if req.Set != nil {
		c.Set(*req.Set)
	}
	if d != 0 {
		c.Advance(d)
	}
	reply(w, http.StatusOK, s.clockState())
}

func (s *Server) fakeEvents(w http.ResponseWriter, r *http.Request) {
	f := events.Filter{Kind: r.URL.Query().Get("kind")}
	if since := r.URL.Query().Get("since"); since != "" {
		n, err := strconv.ParseInt(since, 10, 64)
		if err != nil {
			replyErr(w, http.StatusBadRequest, "since must be an event sequence number")
			return
		}
		f.Since = n
	}
	reply(w, http.StatusOK, map[string]any{"events": s.Events.List(f)})
}

func (s *Server) fakeEventsReset(w http.ResponseWriter, r *http.Request) {
	s.Events.Reset()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) fakeAudienceGet(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, map[string]string{"audience": s.Exchange.Audience()})
}

func (s *Server) fakeAudienceSet(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Audience string `json:"audience"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Audience == "" {
		replyErr(w, http.StatusBadRequest, "audience must not be empty")
		return
	}
	s.Exchange.SetAudience(req.Audience)
	reply(w, http.StatusOK, req)
}

func (s *Server) fakeFlagsGet(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, s.Flags.All())
}

// fakeFlagsSet takes {"disallow-oidc": true, ...}.
func (s *Server) fakeFlagsSet(w http.ResponseWriter, r *http.Request) {
	var req map[string]bool
	if !decode(w, r, &req) {
		return
	}
	for name := range req {
		if !adminflag.Valid(name) {
			replyErr(w, http.StatusBadRequest, "unknown admin flag %q (known: %v)", name, adminflag.Known)
			return
		}
	}
	for name, on := range req {
		s.Flags.Set(name, on)
	}
	reply(w, http.StatusOK, s.Flags.All())
}

func (s *Server) fakeIssuersGet(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, s.Issuers.List())
}

func (s *Server) fakeIssuersAdd(w http.ResponseWriter, r *http.Request) {
	var is oidc.Issuer
	if !decode(w, r, &is) {
		return
	}
	if err := s.Issuers.Set(is); err != nil {
		replyErr(w, http.StatusBadRequest, "%v", err)
		return
	}
	s.Keys.ForgetIssuer(is.URL) // keys come from the new discovery URL now
	got, _ := s.Issuers.Lookup(is.URL)
	reply(w, http.StatusOK, got)
}

// fakeIssuersRemove takes ?url=...; canonical issuers go back to their
// real discovery URL, custom ones are forgotten.
func (s *Server) fakeIssuersRemove(w http.ResponseWriter, r *http.Request) {
	url := r.URL.Query().Get("url")
	if !s.Issuers.Remove(url) {
		replyErr(w, http.StatusNotFound, "no issuer %q", url)
		return
	}
	s.Keys.ForgetIssuer(url)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) fakeForgetKeys(w http.ResponseWriter, r *http.Request) {
	s.Keys.Forget()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) fakeUsersGet(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, s.users.list())
}

func (s *Server) fakeUsersAdd(w http.ResponseWriter, r *http.Request) {
	var u indexconfig.User
	if !decode(w, r, &u) {
		return
	}
	if u.Name == "" {
		replyErr(w, http.StatusBadRequest, "user needs a name")
		return
	}
	reply(w, http.StatusOK, s.users.putUser(apitoken.User{ID: apitoken.UserID(u.Name), Name: u.Name, EmailVerified: u.Verified(), TwoFactor: u.TwoFA(), Frozen: u.Frozen}))
}

func (s *Server) fakeProjectsGet(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, s.Snapshot().Projects)
}

// fakeProjectsAdd creates a project as an admin would (no name rules,
// unless "as_user" asks for PyPI's create_project checks).
func (s *Server) fakeProjectsAdd(w http.ResponseWriter, r *http.Request) {
	var p indexconfig.Project
	if !decode(w, r, &p) {
		return
	}
	if p.Name == "" {
		replyErr(w, http.StatusBadRequest, "project needs a name")
		return
	}
	if msg := pyname.NameProblem(p.Name); msg != "" {
		replyErr(w, http.StatusBadRequest, "%s", msg)
		return
	}
	if msg := indexconfig.ProjectStatusProblem(p.Status); msg != "" {
		replyErr(w, http.StatusBadRequest, "%s", msg)
		return
	}
	for _, u := range append(append([]string{}, p.Owners...), p.Maintainers...) {
		if _, ok := s.users.User(u); !ok {
			replyErr(w, http.StatusBadRequest, "user %q does not exist", u)
			return
		}
	}
	cp, err := s.projects.createConfigured(p)
	if err != nil {
		replyErr(w, http.StatusBadRequest, "%v", err)
		return
	}
	reply(w, http.StatusOK, cp)
}

// fakeProjectStatus sets a project's PEP 792 status, as PyPI's admins
// (quarantine) and owners (archive) do: {"status": "archived"}.
func (s *Server) fakeProjectStatus(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Status string `json:"status"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.Status == "" {
		replyErr(w, http.StatusBadRequest, "status is required (active, archived or quarantined)")
		return
	}
	if msg := indexconfig.ProjectStatusProblem(body.Status); msg != "" {
		replyErr(w, http.StatusBadRequest, "%s", msg)
		return
	}
	p, err := s.SetProjectStatus(mux.Vars(r)["name"], body.Status)
	if err != nil {
		code := http.StatusConflict
		if errors.Is(err, catalog.ErrProjectNotFound) {
			code = http.StatusNotFound
		}
		replyErr(w, code, "%v", err)
		return
	}
	reply(w, http.StatusOK, map[string]string{"name": p.Name, "status": p.StatusOrActive()})
}

func (s *Server) fakeProjectsRemove(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	if err := s.Read.DeleteProject(name); err != nil { // catalog and blobs
		replyErr(w, http.StatusNotFound, "%v", err)
		return
	}
	s.Publishers.Detach(name, s.projects.SameName)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) fakePublishersGet(pending bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.Exchange.ExpirePending()
		reply(w, http.StatusOK, s.Publishers.List(pending))
	}
}

func (s *Server) fakePublishersAdd(pending bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var p publisher.Publisher
		if !decode(w, r, &p) {
			return
		}
		p.Pending = pending
		got, err := s.AddPublisher(p)
		if err != nil {
			replyErr(w, http.StatusBadRequest, "%v", err)
			return
		}
		reply(w, http.StatusOK, got)
	}
}

func (s *Server) fakePublishersRemove(pending bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := mux.Vars(r)["id"]
		if p, ok := s.Publishers.Get(id); !ok || p.Pending != pending {
			replyErr(w, http.StatusNotFound, "no such publisher %q", id)
			return
		}
		s.Publishers.Remove(id)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) fakeTokensGet(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, s.Tokens.List())
}

func (s *Server) fakeTokensAdd(w http.ResponseWriter, r *http.Request) {
	var t apitoken.UserToken
	if !decode(w, r, &t) {
		return
	}
	if t.Name == "" {
		replyErr(w, http.StatusBadRequest, "token needs a name")
		return
	}
	tok, err := s.AddToken(t)
	if err != nil {
		replyErr(w, http.StatusBadRequest, "%v", err)
		return
	}
	reply(w, http.StatusOK, map[string]string{"name": t.Name, "token": tok})
}

func (s *Server) fakeTokensRemove(w http.ResponseWriter, r *http.Request) {
	if !s.Tokens.Revoke(mux.Vars(r)["name"]) {
		replyErr(w, http.StatusNotFound, "no token %q", mux.Vars(r)["name"])
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
