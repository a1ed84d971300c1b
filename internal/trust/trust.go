// Package trust is PyPI's half of the trusted-publishing token exchange:
// GET /_/oidc/audience and POST /_/oidc/mint-token (and its legacy alias
// /_/oidc/github/mint-token), deciding in the order of warehouse's
// oidc/views.py so that the same error wins (mint_token_from_oidc).
//
// Every attempt is recorded in the event log with the claims that matter,
// the verdict and, when no publisher matched, a diagnosis naming the
// closest configured publisher. The client only ever sees PyPI's bytes.
package trust

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fakepypi/fakepypi/internal/adminflag"
	"github.com/fakepypi/fakepypi/internal/apitoken"
	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/events"
	"github.com/fakepypi/fakepypi/internal/oidc"
	"github.com/fakepypi/fakepypi/internal/publisher"
	"github.com/fakepypi/fakepypi/internal/pyfmt"
	"github.com/fakepypi/fakepypi/internal/pypierr"
)

// Mint-token error codes (warehouse/oidc/views.py).
const (
	CodeInvalidPayload          = "invalid-payload"
	CodeNotEnabled              = "not-enabled"
	CodeInvalidToken            = "invalid-token"
	CodeInvalidPendingPublisher = "invalid-pending-publisher"
	CodeInvalidPublisher        = "invalid-publisher"
	CodeInvalidReuseToken       = "invalid-reuse-token"
)

// Descriptions that do not vary.
const (
	DescMalformedJWT    = "malformed JWT"
	DescUnknownIssuer   = "unknown trusted publishing issuer"
	DescInvalidToken    = "malformed or invalid token"
	DescProjectExists   = "valid token, but project already exists"
	DescReusedToken     = "invalid token: already used"
	noPublisherTemplate = "valid token, but no corresponding publisher (%s)"
)

// ProjectInfo is a project as the exchange sees it.
type ProjectInfo struct {
	ID   string
	Name string
}

// Projects is the project database as far as the exchange needs it.
type Projects interface {
	// Lookup finds a project by any spelling of its name.
	Lookup(name string) (ProjectInfo, bool)
	// CreateForPublisher is ProjectService.create_project(name, creator,
	// creator_is_owner=(organization == ""), ratelimited=False,
	// organization_id=organization): the admin flag, then every name rule
	// of ProjectService.check_project_name. A refusal is a *pypierr.Error.
	CreateForPublisher(name, creator, organization string) (ProjectInfo, error)
	// SameName reports whether two names normalize alike (PEP 503).
	SameName(a, b string) bool
}

// Exchange holds what the endpoints need.
type Exchange struct {
	Issuers    *oidc.Registry
	Verifier   *oidc.Verifier
	JTI        *oidc.JTIStore
	Publishers *publisher.Store
	Tokens     *apitoken.Service
	Projects   Projects
	Flags      *adminflag.Set
	Events     *events.Log
	Clock      clock.Clock

	mu       sync.RWMutex
	audience string

	// pendingMu makes "pending publisher matched → project created →
	// publisher reified" one step, as PyPI's database transaction does.
	pendingMu sync.Mutex
}

// ExpirePending deletes the pending publishers that PyPI's daily
// delete_expired_pending_publishers job would have deleted by now (30
// days after registration, at its 02:00 UTC run: warehouse/oidc/tasks.py),
// recording an event for each.
func (x *Exchange) ExpirePending() {
	for _, p := range x.Publishers.ExpirePending(x.Clock.Now()) {
		if x.Events == nil {
			continue
		}
		pc := p
		x.Events.Add(events.Event{Kind: events.KindExpiry, Time: x.Clock.Now().UTC(), Verdict: "expired",
			Message: fmt.Sprintf("pending publisher for project %q expired: registered %s, deleted by PyPI's daily job at %s (%d days)",
				p.ProjectName, p.Created.Format(time.RFC3339), publisher.PendingExpiry(p.Created).Format(time.RFC3339), publisher.PendingExpiryDays),
			Details: &pc})
	}
}

// SetAudience changes the audience tokens must carry.
func (x *Exchange) SetAudience(a string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.audience = a
}

// Audience returns the configured audience.
func (x *Exchange) Audience() string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.audience
}

// HandleAudience serves GET /_/oidc/audience (warehouse/oidc/views.py oidc_audience). Only the global
// disallow-oidc flag matters here.
func (x *Exchange) HandleAudience(w http.ResponseWriter, r *http.Request) {
	if x.Flags.Enabled(adminflag.DisallowOIDC) {
		// HTTPForbidden(json=...) returned by the view: WebOb's compact
		// json.dumps, not the renderer (warehouse/oidc/views.py
		// oidc_audience).
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write(pyfmt.WebOb.Dumps(pyfmt.Object{{Key: "message", Value: "Trusted publishing functionality not enabled"}}))
		return
	}
	writeJSON(w, http.StatusOK, pyfmt.Object{{Key: "audience", Value: x.Audience()}})
}

// MaxMintBody is the most of a mint-token body fakepypi reads. Warehouse
// sets no limit of its own (oidc/views.py hands request.body, whole, to
// pydantic); a real body is a JSON object holding one JWT of 1 to 2 KiB.
const MaxMintBody = 1 << 20

// HandleMint serves POST /_/oidc/mint-token and /_/oidc/github/mint-token.
func (x *Exchange) HandleMint(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxMintBody+1))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	var res Result
	if len(body) > MaxMintBody {
		// Cut at 1 MiB, the body used to be parsed as truncated JSON and
		// refused for a JSON error that was not in it. The refusal is
		// now deliberate, in PyPI's 422 envelope with PyPI's code for a
		// body that is not a token payload, so clients print it as they
		// print PyPI's own.
		res = x.newResult().fail(CodeInvalidPayload, fmt.Sprintf("Request body larger than %d bytes (fakepypi's limit)", MaxMintBody),
			"fakepypi reads at most 1 MiB of a mint-token body; PyPI would parse it all")
	} else {
		res = x.Mint(body)
	}
	res.Event.Details.(*MintDetails).Endpoint = r.URL.Path
	x.record(res)
	switch {
	case res.Internal:
		// An unexpected Python exception in PyPI: Pyramid's 500 page.
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "Internal Server Error")
	case res.Code != "":
		pypierr.Mint(res.Code, res.Description).WriteMint(w)
	default:
		writeJSON(w, http.StatusOK, pyfmt.Object{
			{Key: "success", Value: true},
			{Key: "token", Value: res.Token},
			{Key: "expires", Value: res.Expires},
		})
	}
}

// writeJSON renders through Warehouse's json renderer, which both
// exchange views use (renderer="json" in warehouse/oidc/views.py;
// configured in warehouse/config.py with sort_keys=True and separators
// (",", ":")): {"audience":"pypi"},
// {"expires":N,"success":true,"token":"pypi-..."}.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(pyfmt.Renderer.Dumps(v))
}

// Result is the outcome of one mint attempt.
type Result struct {
	// Code and Description are the 422 error; both empty on success.
	Code        string
	Description string
	// Internal is a 500 (PyPI raising an unexpected exception).
	Internal bool
	// Token and Expires are the success body.
	Token   string
	Expires int64
	// Event is what the log records.
	Event events.Event
}

// MintDetails is the Details of a mint event.
type MintDetails struct {
	Endpoint  string               `json:"endpoint,omitempty"`
	Issuer    string               `json:"issuer,omitempty"`
	Service   string               `json:"service,omitempty"`
	Claims    map[string]any       `json:"claims,omitempty"`
	Publisher *publisher.Publisher `json:"publisher,omitempty"`
	Pending   *publisher.Publisher `json:"pending_publisher,omitempty"`
	Project   string               `json:"created_project,omitempty"`
	Diagnosis *publisher.Diagnosis `json:"diagnosis,omitempty"`
	TokenID   string               `json:"token_id,omitempty"`
	Expires   int64                `json:"expires,omitempty"`
}

// mattering lists, per service, the claims a user needs to see to
// understand a decision.
var mattering = map[string][]string{
	oidc.GitHub:      {"sub", "repository", "repository_owner", "repository_owner_id", "workflow_ref", "job_workflow_ref", "ref", "sha", "environment", "event_name"},
	oidc.GitLab:      {"sub", "project_path", "ci_config_ref_uri", "ref_path", "sha", "environment"},
	oidc.Google:      {"sub", "email", "email_verified"},
	oidc.ActiveState: {"sub", "organization", "project", "actor", "actor_id", "builder"},
}

var registered = []string{"iss", "aud", "iat", "nbf", "exp", "jti"}

func claimsThatMatter(service string, c map[string]any) map[string]any {
	out := map[string]any{}
	for _, group := range [][]string{registered, mattering[service]} {
		for _, k := range group {
			if v, ok := c[k]; ok {
				out[k] = v
			}
		}
	}
	return out
}

// Mint runs the pipeline of warehouse/oidc/views.py on a request body.
func (x *Exchange) Mint(body []byte) Result {
	// 1. pydantic TokenPayload.
	raw, perr := parsePayload(body)
	if perr != "" {
		res := x.newResult()
		return res.fail(CodeInvalidPayload, perr, "the body is not {\"token\": \"<string>\"}")
	}
	return x.decide(raw, mode{})
}

// Evaluate answers what Mint would for the token raw, changing nothing:
// no jti is spent, no pending publisher is turned into a project, no API
// token is minted and no event is recorded. With verifySignature false
// (claims pasted without their token, as the claims debugger takes
// them), the signature and header are not checked, only the registered
// claims. The Result carries PyPI's code and description, or success,
// and the diagnosis; Description of a success that would create a
// project says so in Event.Why.
func (x *Exchange) Evaluate(raw string, verifySignature bool) Result {
	return x.decide(raw, mode{dry: true, skipSignature: !verifySignature})
}

// mode is how decide runs: for real (Mint), or as a dry run.
type mode struct {
	dry           bool // change nothing (Evaluate)
	skipSignature bool // check the registered claims only
}

// attempt builds one Result.
type attempt struct{ res Result }

func (x *Exchange) newResult() *attempt {
	return &attempt{res: Result{Event: events.Event{Kind: events.KindMint, Time: x.Clock.Now().UTC(), Details: &MintDetails{}}}}
}

func (a *attempt) details() *MintDetails { return a.res.Event.Details.(*MintDetails) }

func (a *attempt) fail(code, desc, why string) Result {
	a.res.Code, a.res.Description = code, desc
	a.res.Event.Verdict, a.res.Event.Status, a.res.Event.Code, a.res.Event.Message = "error", http.StatusUnprocessableEntity, code, desc
	a.res.Event.Why = why
	return a.res
}

func (a *attempt) internal(why string) Result {
	a.res.Internal = true
	a.res.Event.Verdict, a.res.Event.Status, a.res.Event.Message = "error", http.StatusInternalServerError, "Internal Server Error"
	a.res.Event.Why = why + " (PyPI answers 500 here)"
	return a.res
}

// decide runs steps 2-9 of warehouse/oidc/views.py mint_token on a token.
func (x *Exchange) decide(raw string, m mode) Result {
	a := x.newResult()
	d := a.details()
	fail, internal := a.fail, a.internal

	// 2. Unverified decode; iss must be present.
	u, err := oidc.Peek(raw)
	if err != nil {
		return fail(CodeInvalidPayload, DescMalformedJWT, "the token is not a JWT: "+err.Error())
	}
	issVal, ok := u.Claims["iss"]
	if !ok {
		d.Claims = claimsThatMatter("", u.Claims)
		return fail(CodeInvalidPayload, DescMalformedJWT, "the JWT has no iss claim")
	}
	d.Claims = claimsThatMatter("", u.Claims)

	// 3. iss → service, by exact string.
	iss, isStr := issVal.(string)
	if !isStr {
		switch issVal.(type) {
		case []any, map[string]any:
			return internal("iss is a JSON array/object; PyPI's dict lookup raises TypeError (unhashable)")
		}
		return fail(CodeInvalidPayload, DescUnknownIssuer, fmt.Sprintf("iss %v is not a string", issVal))
	}
	d.Issuer = iss
	issuer, known := x.Issuers.Lookup(iss)
	if !known {
		return fail(CodeInvalidPayload, DescUnknownIssuer, fmt.Sprintf("iss %q is neither a canonical issuer nor a configured custom issuer", iss))
	}
	svc := issuer.Service
	d.Service = svc
	d.Claims = claimsThatMatter(svc, u.Claims)

	// 4. Admin flags: global, or per issuer for canonical issuers only.
	if x.Flags.Enabled(adminflag.DisallowOIDC) || (!issuer.Custom && x.Flags.Enabled(adminflag.ForService(svc))) {
		return fail(CodeNotEnabled, svc+" trusted publishing functionality not enabled", "admin flag set: "+strings.Join(x.Flags.EnabledNames(), ", "))
	}

	// 5. Signature and registered claims.
	var claims oidc.Claims
	if m.skipSignature {
		claims = oidc.Claims(u.Claims)
		err = x.Verifier.CheckClaims(claims, issuer.URL, x.Audience())
	} else {
		claims, err = x.Verifier.VerifyPeeked(raw, u, issuer, x.Audience())
	}
	if err != nil {
		return fail(CodeInvalidToken, DescInvalidToken, err.Error())
	}

	// 6. Pending publishers. An InvalidPublisherError here is swallowed
	// (warehouse oidc/views.py mint_token: "it's OK, we will try finding a
	// regular publisher"); a ReusedTokenError is not caught there.
	var pendingNote string
	if r, stop := x.tryPending(svc, claims, a, m); stop {
		return r
	} else if d.Pending != nil {
		pendingNote = "pending publisher reified; "
		if m.dry {
			pendingNote = "pending publisher " + d.Pending.String() + " would create project " + d.Pending.ProjectName + " (if its name passes PyPI's rules); "
		}
	}

	// 7. Normal publishers.
	var pub publisher.Publisher
	if m.dry && d.Pending != nil {
		// The reified pending publisher is the one that matches.
		pub = *d.Pending
	} else {
		pub, err = x.Publishers.Find(svc, claims, false, x.JTI.Exists)
		if err != nil {
			var ipe *publisher.InvalidPublisherError
			var ie *publisher.InternalError
			switch {
			case errors.Is(err, publisher.ErrReusedToken):
				return fail(CodeInvalidReuseToken, DescReusedToken, "jti "+jtiText(claims)+" was already used to mint a token")
			case errors.As(err, &ie):
				return internal(ie.Why)
			case errors.As(err, &ipe):
				diag := x.Publishers.Diagnose(svc, claims)
				d.Diagnosis = &diag
				return fail(CodeInvalidPublisher, fmt.Sprintf(noPublisherTemplate, ipe.Reason), diag.Summary)
			}
			return internal(err.Error())
		}
		d.Publisher = &pub
	}

	// 8. Store the jti atomically (Redis SET NX) before minting.
	if jti, _ := claims["jti"].(string); jti != "" {
		exp, _ := claims.Int("exp")
		if m.dry {
			if x.JTI.Exists(svc, jti) {
				return fail(CodeInvalidReuseToken, DescReusedToken, "jti "+jtiText(claims)+" was already used to mint a token")
			}
		} else if !x.JTI.Store(svc, jti, exp) {
			return fail(CodeInvalidReuseToken, DescReusedToken, "jti "+jtiText(claims)+" was stored by a concurrent or earlier mint")
		}
	}

	a.res.Event.Verdict, a.res.Event.Status = "ok", http.StatusOK
	if m.dry {
		a.res.Event.Why = pendingNote + "would match " + pub.String()
		return a.res
	}

	// 9. Mint: ProjectID lists every project the publisher is attached to.
	var ids []string
	for _, name := range pub.Projects {
		if p, ok := x.Projects.Lookup(name); ok {
			ids = append(ids, p.ID)
		}
	}
	tok, expires, err := x.Tokens.MintOIDC(pub.ID, ids, storedClaims(svc, claims))
	if err != nil {
		return internal("minting failed: " + err.Error())
	}
	a.res.Token, a.res.Expires = tok, expires
	d.Expires = expires
	a.res.Event.Why = pendingNote + "matched " + pub.String()
	return a.res
}

func jtiText(c oidc.Claims) string { s, _ := c["jti"].(string); return fmt.Sprintf("%q", s) }

// tryPending is step 6. It reports stop=true with the result to return.
// In a dry run it only looks: the project is neither created nor the
// publisher reified, and a pending publisher whose project exists is
// not deleted.
func (x *Exchange) tryPending(svc string, claims oidc.Claims, a *attempt, m mode) (Result, bool) {
	d := a.details()
	x.pendingMu.Lock()
	defer x.pendingMu.Unlock()
	// Pending publishers older than 30 days are gone once the daily job
	// has run (warehouse/oidc/tasks.py delete_expired_pending_publishers).
	x.ExpirePending()
	pend, err := x.Publishers.Find(svc, claims, true, x.JTI.Exists)
	if err != nil {
		var ipe *publisher.InvalidPublisherError
		if errors.As(err, &ipe) {
			return Result{}, false
		}
		var ie *publisher.InternalError
		if errors.As(err, &ie) {
			return a.internal(ie.Why), true
		}
		// ReusedTokenError propagates out of PyPI's pending step.
		return a.internal("a pending publisher matched but jti " + jtiText(claims) + " was already used; PyPI does not catch ReusedTokenError in the pending lookup"), true
	}
	d.Pending = &pend
	if _, exists := x.Projects.Lookup(pend.ProjectName); exists {
		why := "pending publisher for " + pend.ProjectName + " matched, but the project exists; the pending publisher was deleted"
		if m.dry {
			why = "pending publisher for " + pend.ProjectName + " matches, but the project exists; PyPI would delete the pending publisher"
		} else {
			x.Publishers.Remove(pend.ID)
		}
		return a.fail(CodeInvalidPendingPublisher, DescProjectExists, why), true
	}
	if m.dry {
		return Result{}, false
	}
	proj, err := x.Projects.CreateForPublisher(pend.ProjectName, pend.AddedBy, pend.PyPIOrganization)
	if err != nil {
		// An HTTPException from project creation: the exchange reports
		// its message as an invalid-payload description.
		var rej *pypierr.Error
		if errors.As(err, &rej) {
			return a.fail(CodeInvalidPayload, rej.Message, fmt.Sprintf("creating project %q for the pending publisher failed (%d)", pend.ProjectName, rej.Status)), true
		}
		return a.internal("creating project: " + err.Error()), true
	}
	d.Project = proj.Name
	if _, err := x.Publishers.Reify(pend.ID, proj.Name, x.Projects.SameName); err != nil {
		return a.internal("reify: " + err.Error()), true
	}
	return Result{}, false
}

// storedClaims is publisher.stored_claims(claims), kept on the token.
func storedClaims(svc string, c oidc.Claims) map[string]any {
	switch svc {
	case oidc.GitHub:
		return map[string]any{"ref": c["ref"], "sha": c["sha"]}
	case oidc.GitLab:
		return map[string]any{"ref_path": c["ref_path"], "sha": c["sha"]}
	}
	return map[string]any{}
}

func (x *Exchange) record(res Result) {
	if x.Events != nil {
		if d, ok := res.Event.Details.(*MintDetails); ok {
			d.bound()
		}
		x.Events.Add(res.Event)
	}
}

// What a mint event keeps of a token: claim values come from the client
// and can be anything up to the 1 MiB body, so strings are cut to
// maxClaimText bytes and arrays and objects to maxClaimItems elements,
// which keeps the event a few KiB (the event log's own bound, MaxDetails,
// would otherwise replace the whole details with an excerpt).
const (
	maxClaimText  = 256
	maxClaimItems = 16
)

// bound cuts what d holds of the token's claims in place.
func (d *MintDetails) bound() {
	for k, v := range d.Claims {
		d.Claims[k] = events.Bound(v, maxClaimText, maxClaimItems)
	}
	if g := d.Diagnosis; g != nil {
		// Each difference quotes a claim value.
		for i, s := range g.Differences {
			g.Differences[i] = events.Excerpt(s, 2*maxClaimText)
		}
		g.Summary = events.Excerpt(g.Summary, events.MaxText)
	}
}

// RequireMethod answers other methods with 405 and an Allow header, as
// warehouse's require_method_view does (warehouse/csrf.py: it raises
// HTTPMethodNotAllowed, whose body Pyramid renders for the Accept header:
// no 405.html template exists for warehouse/views.py httpexception_view).
func RequireMethod(method string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			pypierr.WriteStatus(w, r, http.StatusMethodNotAllowed, "", http.Header{"Allow": {method}})
			return
		}
		h(w, r)
	}
}
