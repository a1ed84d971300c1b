package apitoken

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gopkg.in/macaroon.v2"

	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/pyfmt"
	"github.com/fakepypi/fakepypi/internal/pypierr"
)

// OIDCLifetime is how long a minted token lives (views.py: expires_at =
// not_before + 900).
const OIDCLifetime = 900

// MsgNonUserCreate is legacy.py's refusal of a project creation by an
// OIDC identity; its link is to the user docs, the same for TestPyPI.
const MsgNonUserCreate = "Non-user identities cannot create new projects. This was probably caused by successfully using a pending publisher but specifying the project name incorrectly (either in the publisher or in your project's metadata). Please ensure that both match. See: https://docs.pypi.org/trusted-publishers/troubleshooting/"

// MsgNoIdentity is ensure_uploads_allowed's refusal without an identity
// (warehouse/forklift/decorators.py), its link on help's domain.
func MsgNoIdentity(help pypierr.Help) string {
	return "Invalid or non-existent authentication information. See " + help.URL("invalid-auth") + " for more information."
}

// MsgPasswordAuth is BasicAuthSecurityPolicy's refusal of a username
// other than __token__ (warehouse/accounts/security_policy.py).
func MsgPasswordAuth(help pypierr.Help) string {
	return "Username/Password authentication is no longer supported. Migrate to API Tokens or Trusted Publishers instead. See " +
		help.URL("apitoken") + " and " + help.URL("trusted-publishers")
}

// Error is a refusal with PyPI's HTTP status and exact message; the
// upload endpoint puts Message in its status line and body.
type Error = pypierr.Error

var forbidden = pypierr.Forbidden

// ErrNoIdentity is step 4 of the upload: no usable credentials.
func ErrNoIdentity(help pypierr.Help) *Error {
	return &Error{Status: http.StatusForbidden, Message: MsgNoIdentity(help)}
}

// ErrNonUserCreate is step 9a: an OIDC token naming a project that does
// not exist.
var ErrNonUserCreate = &Error{Status: http.StatusBadRequest, Message: MsgNonUserCreate}

// User is an account as far as uploads care.
type User struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	EmailVerified bool   `json:"email_verified"`
	TwoFactor     bool   `json:"two_factor"`
	// Frozen accounts are disabled: their tokens give no identity
	// (warehouse/accounts/services.py is_disabled; quarantining a
	// project freezes its users, warehouse/utils/project.py).
	Frozen bool `json:"frozen,omitempty"`
}

// Kinds of identity.
const (
	KindNone      = ""
	KindUser      = "user"
	KindPublisher = "publisher"
)

// Identity is who a request authenticated as (warehouse's UserContext or
// PublisherTokenContext). The zero Identity is "no identity".
type Identity struct {
	Kind string `json:"kind"`
	// User is set for user API tokens.
	User *User `json:"user,omitempty"`
	// PublisherID is set for OIDC-minted tokens.
	PublisherID string `json:"publisher_id,omitempty"`
	// Claims are the stored claims of an OIDC token (ref, sha, ...).
	Claims map[string]any `json:"claims,omitempty"`
	// TokenName names a configured user token; TokenID is the macaroon
	// identifier.
	TokenName string `json:"token_name,omitempty"`
	TokenID   string `json:"token_id"`
	// Why explains a missing identity (for the event log only).
	Why string `json:"why,omitempty"`

	mac *macaroon.Macaroon
	rec *record
	raw string // the presented token
}

// IsNone reports whether the request has no identity.
func (id Identity) IsNone() bool { return id.Kind == KindNone }

// Project is what Authorize needs to know about the project an upload
// targets (already looked up by normalized name).
type Project struct {
	ID             string
	Name           string // display name, used in messages
	NormalizedName string
	// Collaborators are the users with a role (Owner or Maintainer).
	Collaborators []string
	// Status is the PEP 792 status ("" or "active", "archived",
	// "quarantined"), which takes upload permissions away.
	Status string
}

// Users resolves accounts by name.
type Users interface {
	User(name string) (User, bool)
}

// Publishers tells which projects a trusted publisher is attached to, and
// whether it still exists.
type Publishers interface {
	PublisherProjects(id string) (normalizedNames []string, ok bool)
}

// Service stores minted tokens and checks presented ones. It is safe for
// concurrent use.
type Service struct {
	// Location is the macaroon location, PyPI's request.domain
	// ("pypi.org" gives tokens starting "pypi-AgEIcHlwaS5vcmcCJ").
	Location string
	// Help is the domain of the help links in messages (the warehouse
	// domain: pypi.org, test.pypi.org).
	Help       pypierr.Help
	Clock      clock.Clock
	Users      Users
	Publishers Publishers

	mu      sync.RWMutex
	records map[uuid.UUID]*record // user tokens
	// minted holds the tokens the exchange minted, compactly: a CI
	// system can mint one per job all day, and each must be remembered
	// for its 15 minutes (and, as in PyPI's database, after).
	minted map[uuid.UUID]mintedToken
	shared map[string]*mintShared // interned parts of minted tokens
	secret []byte                 // derives minted tokens' root keys
}

// mintedToken is a trusted-publishing token as the service keeps it:
// 24 bytes beside its identifier. Its root key is derived from the
// service's secret and the identifier, its Expiration caveat from
// Created, and the rest is shared by every token the same publisher
// minted for the same projects and claims.
type mintedToken struct {
	shared  *mintShared
	created int64 // clock time, Unix nanoseconds
}

// mintShared is what many minted tokens have in common. Nothing in it
// changes after it is made.
type mintShared struct {
	publisherID string
	claims      map[string]any
	caveats     [2]string // OIDCPublisher and ProjectID, as serialized
}

type record struct {
	ID          uuid.UUID
	Key         []byte
	Kind        string
	Name        string // configured user token name
	User        string
	PublisherID string
	Claims      map[string]any
	Caveats     []string
	Created     time.Time
	Expires     time.Time // OIDC tokens only
	Token       string    // kept for configured tokens, so /_fake/ can show them
	// literal is set for a token given verbatim (a real PyPI token): no
	// Key, the string itself is trusted.
	literal *Literal
}

// NewService returns an empty token service.
func NewService(location string, c clock.Clock, users Users, pubs Publishers) *Service {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		panic("apitoken: no randomness: " + err.Error())
	}
	return &Service{Location: location, Help: pypierr.Help(location), Clock: c, Users: users, Publishers: pubs, records: map[uuid.UUID]*record{},
		minted: map[uuid.UUID]mintedToken{}, shared: map[string]*mintShared{}, secret: secret}
}

// mintedKey is the root key of the minted token id: HMAC-SHA256 of the
// identifier under the service's secret, as random to a client as the
// 32 random bytes PyPI stores per macaroon.
func (s *Service) mintedKey(id uuid.UUID) []byte {
	h := hmac.New(sha256.New, s.secret)
	h.Write(id[:])
	return h.Sum(nil)
}

// record rebuilds the full record of a minted token.
func (s *Service) mintedRecord(id uuid.UUID, t mintedToken) *record {
	created := time.Unix(0, t.created)
	nb := created.Unix()
	exp := nb + OIDCLifetime
	return &record{ID: id, Key: s.mintedKey(id), Kind: KindPublisher, PublisherID: t.shared.publisherID,
		Claims: t.shared.claims, Caveats: []string{t.shared.caveats[0], t.shared.caveats[1], string(serialize(TagExpiration, exp, nb))},
		Created: created, Expires: time.Unix(exp, 0)}
}

// MintOIDC mints the token the exchange returns: caveats OIDCPublisher,
// ProjectID (every project the publisher is registered to) and
// Expiration, in that order (warehouse/oidc/views.py). It returns the token and expires_at.
//
// claims must not be changed afterwards: tokens of the same publisher,
// projects and claims share one copy.
func (s *Service) MintOIDC(publisherID string, projectIDs []string, claims map[string]any) (string, int64, error) {
	now := s.Clock.Now()
	notBefore := now.Unix()
	expires := notBefore + OIDCLifetime
	if projectIDs == nil {
		projectIDs = []string{}
	}
	pub, pids := serialize(TagOIDCPublisher, publisherID, nil), serialize(TagProjectID, projectIDs)
	cavs := [][]byte{pub, pids, serialize(TagExpiration, expires, notBefore)}
	id := uuid.New()
	tok, err := mint(s.Location, id, s.mintedKey(id), cavs)
	if err != nil {
		return "", 0, err
	}
	cj, err := json.Marshal(claims)
	if err != nil {
		return "", 0, err
	}
	shareKey := string(pub) + "\x00" + string(pids) + "\x00" + string(cj)
	s.mu.Lock()
	sh := s.shared[shareKey]
	if sh == nil {
		sh = &mintShared{publisherID: publisherID, claims: claims, caveats: [2]string{string(pub), string(pids)}}
		s.shared[shareKey] = sh
	}
	s.minted[id] = mintedToken{shared: sh, created: now.UnixNano()}
	s.mu.Unlock()
	return tok, expires, nil
}

// UserToken declares a user API token.
type UserToken struct {
	// Name identifies the token in configuration and /_fake/.
	Name string `json:"name" yaml:"name"`
	// User owns the token.
	User string `json:"user" yaml:"user"`
	// Projects, when set, scopes the token to these projects
	// (ProjectName and ProjectID caveats); otherwise it is user-scoped
	// (RequestUser caveat).
	Projects []string `json:"projects,omitempty" yaml:"projects,omitempty"`
	// Value is a real token PyPI issued ("pypi-..."), trusted verbatim:
	// its own caveats decide its scope (see Literal), so Projects must be
	// empty. Name then defaults to "literal-" and the start of its id.
	Value string `json:"value,omitempty" yaml:"value,omitempty"`
}

// LiteralName is the name of a literal token whose configuration gives
// none.
func LiteralName(lit *Literal) string { return literalName(lit) }

// ScopedProject is a project a token is scoped to.
type ScopedProject struct{ ID, NormalizedName string }

// MintUser mints a configured user token. Its identifier and key derive
// from the token name, so a user-scoped token is the same string on every
// run (project-scoped ones also embed project IDs).
func (s *Service) MintUser(t UserToken, userID string, projects []ScopedProject) (string, error) {
	var cavs [][]byte
	if len(projects) == 0 {
		cavs = append(cavs, serialize(TagRequestUser, userID))
	} else {
		names, ids := []string{}, []string{}
		for _, p := range projects {
			names = append(names, p.NormalizedName)
			ids = append(ids, p.ID)
		}
		cavs = append(cavs, serialize(TagProjectName, names), serialize(TagProjectID, ids))
	}
	sum := sha256.Sum256([]byte("fakepypi user token key\x00" + t.Name))
	rec := &record{ID: uuid.NewSHA1(tokenNamespace, []byte(t.Name)), Key: sum[:], Kind: KindUser,
		Name: t.Name, User: t.User, Created: s.Clock.Now()}
	tok, err := s.store(rec, cavs)
	if err == nil {
		s.mu.Lock()
		rec.Token = tok
		s.mu.Unlock()
	}
	return tok, err
}

var tokenNamespace = uuid.MustParse("5b0f4c52-7b55-4a53-9d0a-6b1b7f3c2a10")

// UserID is the stable ID the harness gives a user name.
func UserID(name string) string {
	return uuid.NewSHA1(tokenNamespace, []byte("user:"+name)).String()
}

func (s *Service) store(rec *record, cavs [][]byte) (string, error) {
	tok, err := mint(s.Location, rec.ID, rec.Key, cavs)
	if err != nil {
		return "", err
	}
	for _, c := range cavs {
		rec.Caveats = append(rec.Caveats, string(c))
	}
	s.mu.Lock()
	s.records[rec.ID] = rec
	s.mu.Unlock()
	return tok, nil
}

// Revoke deletes a token by configured name or identifier.
func (s *Service) Revoke(nameOrID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, r := range s.records {
		if r.Name == nameOrID || id.String() == nameOrID {
			delete(s.records, id)
			return true
		}
	}
	if id, err := uuid.Parse(nameOrID); err == nil && id.String() == nameOrID {
		if _, ok := s.minted[id]; ok {
			delete(s.minted, id)
			return true
		}
	}
	return false
}

// TokenInfo describes a stored token for /_fake/.
type TokenInfo struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Name        string    `json:"name,omitempty"`
	User        string    `json:"user,omitempty"`
	PublisherID string    `json:"publisher_id,omitempty"`
	Caveats     []string  `json:"caveats"`
	Created     time.Time `json:"created"`
	Expires     int64     `json:"expires,omitempty"`
	Token       string    `json:"token,omitempty"`
}

// List describes every stored token, configured ones first.
func (s *Service) List() []TokenInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []TokenInfo{}
	all := make([]*record, 0, len(s.records)+len(s.minted))
	for _, r := range s.records {
		all = append(all, r)
	}
	for id, t := range s.minted {
		all = append(all, s.mintedRecord(id, t))
	}
	for _, r := range all {
		ti := TokenInfo{ID: r.ID.String(), Kind: r.Kind, Name: r.Name, User: r.User, PublisherID: r.PublisherID,
			Caveats: r.Caveats, Created: r.Created, Token: r.Token}
		if !r.Expires.IsZero() {
			ti.Expires = r.Expires.Unix()
		}
		out = append(out, ti)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind == KindUser
		}
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Credentials extracts the token from an Authorization header the way
// warehouse's security policies do (warehouse/accounts/security_policy.py): Basic with user "__token__"
// (password stripped), or the Bearer / token schemes. Basic with any other
// username is the 403 "Username/Password authentication is no longer
// supported" answer. An absent or unusable header gives "", nil.
func Credentials(r *http.Request, help pypierr.Help) (string, *Error) {
	auth := r.Header.Get("Authorization")
	scheme, rest, ok := strings.Cut(auth, " ")
	if !ok {
		return "", nil
	}
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return "", nil
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return "", nil
		}
		if user != "__token__" {
			// A bare HTTPForbidden() whose status _format_exc_status sets
			// (warehouse/accounts/security_policy.py): the message is in
			// the status line only, not in the body.
			e := forbidden(MsgPasswordAuth(help), fmt.Sprintf("Basic auth with username %q", user))
			e.StatusOnly = true
			return "", e
		}
		return strings.TrimSpace(pass), nil
	case "bearer", "token":
		return strings.TrimSpace(rest), nil
	}
	return "", nil
}

// Authenticate resolves the request's identity (warehouse/macaroons/security_policy.py). Like PyPI it only
// needs the token's identifier to name a stored token whose owner still
// exists; signature and caveats are checked by Authorize. The only error
// is the Basic-auth-with-a-password 403; no identity is Identity{} with
// Why set, which the upload must answer with ErrNoIdentity at its step 4.
func (s *Service) Authenticate(r *http.Request) (Identity, error) {
	tok, e := Credentials(r, s.Help)
	if e != nil {
		return Identity{}, e
	}
	return s.Identify(tok), nil
}

// Identify resolves a bare token string.
func (s *Service) Identify(tok string) Identity {
	if tok == "" {
		return Identity{Why: "no Authorization credentials"}
	}
	m, id, err := parse(tok)
	if err != nil {
		return Identity{Why: err.Error()}
	}
	s.mu.RLock()
	rec := s.records[id]
	if rec == nil {
		if t, ok := s.minted[id]; ok {
			rec = s.mintedRecord(id, t)
		}
	}
	s.mu.RUnlock()
	if rec == nil {
		return Identity{Why: "no stored token has identifier " + id.String() + " (unknown, revoked or deleted)"}
	}
	out := Identity{Kind: rec.Kind, TokenName: rec.Name, TokenID: id.String(), mac: m, rec: rec, raw: tok}
	switch rec.Kind {
	case KindUser:
		u, ok := s.Users.User(rec.User)
		if !ok {
			return Identity{Why: "token owner " + rec.User + " does not exist"}
		}
		if u.Frozen {
			// MacaroonSecurityPolicy.identity: a disabled user has no
			// identity (warehouse/macaroons/security_policy.py).
			return Identity{Why: "token owner " + rec.User + " is frozen (PyPI freezes the users of a project it quarantines); POST /_fake/users unfreezes"}
		}
		out.User = &u
	case KindPublisher:
		if _, ok := s.Publishers.PublisherProjects(rec.PublisherID); !ok {
			// Deleting a publisher deletes its macaroons (cascade).
			return Identity{Why: "the token's publisher " + rec.PublisherID + " no longer exists"}
		}
		out.PublisherID = rec.PublisherID
		out.Claims = rec.Claims
	}
	return out
}

// Authorize checks id's token against project p, as warehouse's
// permission check for "upload" does: the macaroon's caveats in order and
// then its signature (403 "Invalid API Token: <reason>"), then the ACL
// (a role for users, attachment for publishers).
func (s *Service) Authorize(id Identity, p Project) error {
	if id.IsNone() || id.rec == nil {
		return ErrNoIdentity(s.Help)
	}
	if reason := s.verifyMacaroon(id, p); reason != "" {
		return forbidden("Invalid API Token: "+reason, "macaroon verification: "+reason)
	}
	// Project.__acl__ (warehouse/packaging/models.py): the publishers'
	// upload permission exists only when the project is neither archived
	// nor quarantined; the users' upload permission is removed when it is
	// archived (in quarantine, collaborators keep it).
	archived, quarantined := p.Status == "archived", p.Status == "quarantined"
	switch id.Kind {
	case KindPublisher:
		names, _ := s.Publishers.PublisherProjects(id.PublisherID)
		if archived || quarantined {
			return forbidden(fmt.Sprintf("The given token isn't allowed to upload to project '%s'. See %s for more information.", p.Name, s.Help.URL("project-name")),
				"the project is "+p.Status+": its trusted publishers may not upload")
		}
		if !slices.Contains(names, p.NormalizedName) {
			return forbidden(fmt.Sprintf("The given token isn't allowed to upload to project '%s'. See %s for more information.", p.Name, s.Help.URL("project-name")),
				"the publisher is not attached to "+p.Name)
		}
	case KindUser:
		if archived && slices.Contains(p.Collaborators, id.User.Name) {
			return forbidden(fmt.Sprintf("The user '%s' isn't allowed to upload to project '%s'. See %s for more information.", id.User.Name, p.Name, s.Help.URL("project-name")),
				"the project is archived: no one may upload to it")
		}
		if !slices.Contains(p.Collaborators, id.User.Name) {
			return forbidden(fmt.Sprintf("The user '%s' isn't allowed to upload to project '%s'. See %s for more information.", id.User.Name, p.Name, s.Help.URL("project-name")),
				id.User.Name+" has no role on "+p.Name)
		}
	}
	return nil
}

// EnsureUserCanUpload is upload steps 11 and 11b for user identities:
// a verified primary email, then 2FA. Publisher identities pass.
func EnsureUserCanUpload(id Identity, help pypierr.Help) error {
	if id.Kind != KindUser || id.User == nil {
		return nil
	}
	u := id.User
	if !u.EmailVerified {
		return forbidden(fmt.Sprintf("User '%s', associated with the API token used, does not have a verified primary email address. Please add a verified primary email before attempting to upload to PyPI. See %s for more information.", u.Name, help.URL("verified-email")), "")
	}
	if !u.TwoFactor {
		return forbidden(fmt.Sprintf("User '%s', associated with the API token used, does not have two-factor authentication enabled. Please enable two-factor authentication before attempting to upload to PyPI. See %s for more information.", u.Name, help.URL("two-factor-authentication")), "")
	}
	return nil
}

// verifyMacaroon mirrors warehouse macaroons/caveats verify(): caveats
// are checked in order and the first failure is the reason; a good
// caveat chain with a bad signature is "signatures do not match"; any
// other breakage is "unknown error".
func (s *Service) verifyMacaroon(id Identity, p Project) string {
	if id.rec.literal != nil {
		return s.verifyLiteral(id, p)
	}
	var failure string
	check := func(c string) error {
		if r := s.checkCaveat(c, id, p); r != "" {
			failure = r
			return fmt.Errorf("%s", r)
		}
		return nil
	}
	err := id.mac.Verify(id.rec.Key, check, nil)
	switch {
	case err == nil:
		return ""
	case failure != "":
		return failure
	case strings.Contains(err.Error(), "signature mismatch"):
		return "signatures do not match"
	}
	return "unknown error"
}

// checkCaveat deserializes and verifies one caveat (caveats/_core.py
// deserialize_obj, then the caveat's verify). "" means satisfied.
func (s *Service) checkCaveat(raw string, id Identity, p Project) string {
	var v any
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		// json.loads raising is not a CaveatError: pymacaroons swallows
		// it and warehouse reports "unknown error".
		return "unknown error"
	}
	if m, isMap := v.(map[string]any); isMap {
		// The original caveats were mappings; deserialize_obj adapts them
		// (warehouse/macaroons/caveats/_legacy.py).
		var user *User
		if id.Kind == KindUser {
			user = id.User
		}
		v = adaptLegacy(m, user)
	}
	arr, ok := v.([]any)
	if !ok {
		return "caveat must be an array"
	}
	if len(arr) == 0 {
		return "caveat array cannot be empty"
	}
	tag, fields := arr[0], arr[1:]
	n, isNum := tag.(json.Number)
	tagInt, err := n.Int64()
	if !isNum || err != nil || tagInt < 0 || tagInt > 4 {
		// An f-string uses str(), so a string tag appears without quotes.
		if s, ok := tag.(string); ok {
			return "caveat has unknown tag: " + s
		}
		return "caveat has unknown tag: " + pyfmt.ReprValue(tag)
	}
	field := func(i int) (any, bool) {
		if i < len(fields) {
			return fields[i], true
		}
		return nil, false
	}
	strList := func(v any) ([]string, bool) {
		l, ok := v.([]any)
		if !ok {
			return nil, false
		}
		out := make([]string, len(l))
		for i, e := range l {
			if out[i], ok = e.(string); !ok {
				return nil, false
			}
		}
		return out, true
	}
	switch tagInt {
	case TagExpiration:
		e, ok1 := field(0)
		nb, ok2 := field(1)
		if !ok1 || !ok2 {
			return "Not enough values"
		}
		exp, ok1 := strictInt(e)
		notBefore, ok2 := strictInt(nb)
		if !ok1 || !ok2 {
			return "invalid values for fields"
		}
		now := s.Clock.Now().Unix()
		if now < notBefore || now >= exp {
			return "token is expired"
		}
	case TagProjectName, TagProjectID:
		f, ok := field(0)
		if !ok {
			return "Not enough values"
		}
		list, ok := strList(f)
		if !ok {
			return "invalid values for fields"
		}
		if p.ID == "" {
			return "project-scoped token used outside of a project context"
		}
		key := p.NormalizedName
		if tagInt == TagProjectID {
			key = p.ID
		}
		if !slices.Contains(list, key) {
			return "project-scoped token is not valid for project: " + pyfmt.Repr(p.Name)
		}
	case TagRequestUser:
		f, ok := field(0)
		if !ok {
			return "Not enough values"
		}
		uid, ok := f.(string)
		if !ok {
			return "invalid values for fields"
		}
		if id.Kind != KindUser {
			return "token with user restriction without a user"
		}
		if id.User.ID != uid {
			return "current user does not match user restriction in token"
		}
	case TagOIDCPublisher:
		f, ok := field(0)
		if !ok {
			return "Not enough values"
		}
		pid, ok := f.(string)
		if !ok {
			return "invalid values for fields"
		}
		if id.Kind != KindPublisher {
			return "OIDC scoped token used outside of an OIDC identified request"
		}
		if id.PublisherID != pid {
			return "current OIDC publisher does not match publisher restriction in token"
		}
		if p.ID == "" {
			return "OIDC scoped token used outside of a project context"
		}
		names, _ := s.Publishers.PublisherProjects(id.PublisherID)
		if !slices.Contains(names, p.NormalizedName) {
			return fmt.Sprintf("OIDC scoped token is not valid for project '%s'", p.Name)
		}
	}
	return ""
}

// strictInt is pydantic's StrictInt: a JSON integer, not a float or bool.
func strictInt(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}
