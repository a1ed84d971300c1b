package pages

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/fakepypi/fakepypi/internal/lazyregexp"
	"github.com/fakepypi/fakepypi/internal/oidc"
	"github.com/fakepypi/fakepypi/internal/publisher"
	"github.com/fakepypi/fakepypi/internal/pyfmt"
	"github.com/fakepypi/fakepypi/internal/pypierr"
	"github.com/fakepypi/fakepypi/internal/trust"
)

// DebugRequest is what the claims debugger evaluates.
type DebugRequest struct {
	// Input is a JWT, a JSON object of claims, or the claims block
	// gh-action-pypi-publish prints when an exchange fails.
	Input string `json:"input"`
	// KeepTime keeps iat, nbf and exp as pasted; by default they are
	// moved to now for claims pasted without their token, so an old
	// paste is judged on its identity, not on its age.
	KeepTime bool `json:"keep_time,omitempty"`
}

// DebugResult is the debugger's answer (also POST /_fake/debugger's JSON).
type DebugResult struct {
	Form string `json:"form"` // "jwt", "json", "gh-action claims block"
	// Claims evaluated, and the names the debugger filled in because the
	// input did not carry them.
	Claims  map[string]any `json:"claims"`
	Assumed []string       `json:"assumed,omitempty"`
	Service string         `json:"service,omitempty"`
	// PyPI's answer: status, body as PyPI sends it, code, description.
	Status      int    `json:"status"`
	Body        string `json:"body"`
	Code        string `json:"code,omitempty"`
	Description string `json:"description,omitempty"`
	Why         string `json:"why,omitempty"`
	// SignatureChecked tells whether the answer includes the JWT's
	// signature (only for a pasted JWT).
	SignatureChecked bool `json:"signature_checked"`
	// Match is the publisher these claims match, if any; Closest and
	// Compare explain a miss (or line up the match).
	Match     *publisher.Publisher `json:"match,omitempty"`
	Diagnosis *publisher.Diagnosis `json:"diagnosis,omitempty"`
	Compare   []publisher.Field    `json:"compare,omitempty"`
	// IfSigned is the answer without the signature check, when the
	// signature is what failed.
	IfSigned *DebugResult `json:"if_signature_were_valid,omitempty"`
}

var (
	jwtShape = lazyregexp.New(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$`)
	// A line of gh-action-pypi-publish's _RENDERED_CLAIMS:
	// "* `sub`: `repo:octo-org/octo-repo:ref:refs/heads/main`".
	claimLine = lazyregexp.New("^\\s*[*-]\\s+`([A-Za-z0-9_]+)`\\s*:\\s*`(.*)`\\s*$")
)

// ParseClaims reads the debugger's input: a JWT (its payload, unverified),
// a JSON object, or gh-action-pypi-publish's claims block, whose lines
// read "* `name`: `value`" (a MISSING value means the claim was absent;
// the block may come from the step summary or from the one-line
// ::error:: annotation, where newlines are %0A).
func ParseClaims(input string) (claims map[string]any, form string, jwt string, err error) {
	in := strings.TrimSpace(input)
	if in == "" {
		return nil, "", "", fmt.Errorf("paste a JWT, a JSON object of claims, or gh-action-pypi-publish's claims block")
	}
	if jwtShape().MatchString(in) {
		u, err := oidc.Peek(in)
		if err != nil {
			return nil, "jwt", "", fmt.Errorf("that looks like a JWT but is not one: %v", err)
		}
		return u.Claims, "jwt", in, nil
	}
	if strings.HasPrefix(in, "{") {
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(in))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			return nil, "json", "", fmt.Errorf("not a JSON object of claims: %v", err)
		}
		return m, "json", "", nil
	}
	in = strings.ReplaceAll(in, "%0A", "\n")
	m := map[string]any{}
	for _, l := range strings.Split(in, "\n") {
		g := claimLine().FindStringSubmatch(l)
		if g == nil {
			continue
		}
		if g[2] == "MISSING" {
			continue
		}
		m[g[1]] = g[2]
	}
	if len(m) == 0 {
		return nil, "", "", fmt.Errorf("found no claims: expected a JWT, a JSON object, or lines such as * `repository`: `octo-org/octo-repo`")
	}
	return m, "gh-action claims block", "", nil
}

// Evaluate runs the debugger on req against the index's live state.
func (s *Site) Evaluate(req DebugRequest) (*DebugResult, error) {
	claims, form, raw, err := ParseClaims(req.Input)
	if err != nil {
		return nil, err
	}
	res := &DebugResult{Form: form}
	if raw != "" {
		res.SignatureChecked = true
		s.evaluate(res, raw, claims, true)
		if res.Code == trust.CodeInvalidToken {
			// The signature (or the key) may be all that failed: say what
			// the claims alone would get.
			alt := &DebugResult{Form: form}
			s.evaluate(alt, unsigned(claims), claims, false)
			if alt.Code != res.Code || alt.Description != res.Description {
				res.IfSigned = alt
			}
		}
		return res, nil
	}
	claims, res.Assumed = s.complete(claims, form, req.KeepTime)
	s.evaluate(res, unsigned(claims), claims, false)
	return res, nil
}

// evaluate fills res from the exchange's dry run and the publisher store.
func (s *Site) evaluate(res *DebugResult, raw string, claims map[string]any, verify bool) {
	r := s.Exchange.Evaluate(raw, verify)
	res.Claims = claims
	res.Why = r.Event.Why
	switch {
	case r.Internal:
		res.Status, res.Body = http.StatusInternalServerError, "Internal Server Error"
	case r.Code != "":
		res.Status, res.Code, res.Description = http.StatusUnprocessableEntity, r.Code, r.Description
		res.Body = string(pypierr.Mint(r.Code, r.Description).MintBody())
	default:
		res.Status = http.StatusOK
		res.Body = string(pyfmt.Renderer.Dumps(pyfmt.Object{
			{Key: "success", Value: true}, {Key: "token", Value: "pypi-…"}, {Key: "expires", Value: s.now().Add(15 * time.Minute).Unix()},
		}))
	}
	d, _ := r.Event.Details.(*trust.MintDetails)
	if d == nil {
		return
	}
	res.Service = d.Service
	c := oidc.Claims(claims)
	switch {
	case d.Publisher != nil:
		res.Match = d.Publisher
	case d.Pending != nil && r.Code == "":
		res.Match = d.Pending
	}
	if res.Match != nil {
		res.Compare = publisher.Compare(*res.Match, c)
		return
	}
	if d.Service == "" {
		return
	}
	diag := d.Diagnosis
	if diag == nil {
		dd := s.Publishers.Diagnose(d.Service, c)
		diag = &dd
	}
	res.Diagnosis = diag
	if diag.Closest != nil {
		res.Compare = publisher.Compare(*diag.Closest, c)
	}
}

func (s *Site) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// complete fills in what pasted claims lack and a real token would
// carry, so that the answer is about the claims that were pasted: the
// issuer (GitHub's, for gh-action-pypi-publish's block), the audience,
// fresh times, and for GitHub the required claims the block does not
// print (jti, event_name, sha, repository_owner).
func (s *Site) complete(in map[string]any, form string, keepTime bool) (map[string]any, []string) {
	c := map[string]any{}
	for k, v := range in {
		c[k] = v
	}
	var assumed []string
	set := func(k string, v any) {
		if _, ok := c[k]; !ok {
			c[k] = v
			assumed = append(assumed, k)
		}
	}
	if form == "gh-action claims block" {
		set("iss", oidc.GitHubIssuer)
	}
	set("aud", s.Exchange.Audience())
	now := s.now().Unix()
	if !keepTime {
		for _, k := range []string{"iat", "nbf", "exp"} {
			if _, ok := c[k]; ok {
				delete(c, k)
			}
		}
	}
	set("iat", now)
	set("nbf", now)
	set("exp", now+300)
	if iss, _ := c["iss"].(string); iss == oidc.GitHubIssuer {
		if repo, ok := c["repository"].(string); ok {
			owner, _, _ := strings.Cut(repo, "/")
			set("repository_owner", owner)
		}
		set("jti", "fakepypi-debugger-"+fmt.Sprint(now))
		set("event_name", "push")
		if jwr, ok := c["job_workflow_ref"].(string); ok {
			if _, ref, ok := strings.Cut(jwr, "@"); ok {
				set("ref", ref)
			}
		}
		set("sha", "0000000000000000000000000000000000000000")
	}
	sort.Strings(assumed)
	return c, assumed
}

// unsigned wraps claims in a JWT with no signature, which Evaluate reads
// without checking one.
func unsigned(claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(claims)
	return h + "." + base64.RawURLEncoding.EncodeToString(bytes.TrimSpace(buf.Bytes())) + "."
}

type debuggerView struct {
	Input    string
	KeepTime bool
	Error    string
	Result   *DebugResult
	Claims   []claimRow
	Assumed  map[string]bool
	// Suggest is a publisher built from the claims, to add or to replace
	// the closest one with.
	Suggest   publisher.Publisher
	ReplaceID string
	Projects  string
	Example   string
}

// exampleBlock is what gh-action-pypi-publish prints for the harness's
// default run (oidc-exchange.py's _RENDERED_CLAIMS), with the workflow
// file changed: the most common trusted-publishing mistake.
const exampleBlock = "* `sub`: `repo:octo-org/octo-repo:ref:refs/heads/main`\n" +
	"* `repository`: `octo-org/octo-repo`\n" +
	"* `repository_owner`: `octo-org`\n" +
	"* `repository_owner_id`: `131804563`\n" +
	"* `job_workflow_ref`: `octo-org/octo-repo/.github/workflows/publish.yml@refs/heads/main`\n" +
	"* `ref`: `refs/heads/main`"

// Debugger serves GET /_fake/debugger: a form taking a JWT, a JSON claim
// set or gh-action-pypi-publish's claims block (?input=...), and, once
// given one, PyPI's exact answer, the publisher that matches or the
// closest one with the differing fields highlighted, and a form that
// adds or replaces a publisher through the control plane.
func (s *Site) Debugger(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := debuggerView{Input: q.Get("input"), KeepTime: q.Get("keep_time") != "", Example: exampleBlock}
	if strings.TrimSpace(v.Input) != "" {
		res, err := s.Evaluate(DebugRequest{Input: v.Input, KeepTime: v.KeepTime})
		if err != nil {
			v.Error = err.Error()
		} else {
			v.Result = res
			v.Claims = claimRows(res.Claims)
			v.Assumed = map[string]bool{}
			for _, a := range res.Assumed {
				v.Assumed[a] = true
			}
			v.Suggest = suggest(res)
			if res.Diagnosis != nil && res.Diagnosis.Closest != nil && res.Match == nil {
				v.ReplaceID = res.Diagnosis.Closest.ID
				v.Suggest.Projects = res.Diagnosis.Closest.Projects
				if res.Diagnosis.Closest.Pending {
					v.Suggest.ProjectName = res.Diagnosis.Closest.ProjectName
				}
			}
			v.Projects = strings.Join(v.Suggest.Projects, ", ")
		}
	}
	status := http.StatusOK
	if v.Error != "" {
		status = http.StatusBadRequest
	}
	render(w, status, "debugger.html", s.harnessChrome("Claims debugger"), v)
}

// DebuggerJSON serves POST /_fake/debugger: {"input": "..."} in, the
// DebugResult out, for scripts and tests.
func (s *Site) DebuggerJSON(w http.ResponseWriter, r *http.Request) {
	var req DebugRequest
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid JSON body: " + err.Error()})
		return
	}
	res, err := s.Evaluate(req)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// suggest builds the publisher that the claims would match.
func suggest(res *DebugResult) publisher.Publisher {
	c := oidc.Claims(res.Claims)
	str := func(k string) string { s, _ := c[k].(string); return s }
	p := publisher.Publisher{Service: res.Service}
	switch res.Service {
	case oidc.GitHub:
		p.Owner, p.Repository, _ = strings.Cut(str("repository"), "/")
		p.OwnerID = str("repository_owner_id")
		jwr, _, _ := strings.Cut(str("job_workflow_ref"), "@")
		p.WorkflowFilename = jwr[strings.LastIndexByte(jwr, '/')+1:]
		p.Environment = str("environment")
	case oidc.GitLab:
		pp := str("project_path")
		if i := strings.LastIndexByte(pp, '/'); i >= 0 {
			p.Namespace, p.Project = pp[:i], pp[i+1:]
		}
		uri, _, _ := strings.Cut(str("ci_config_ref_uri"), "@")
		if i := strings.Index(uri, "//"); i >= 0 {
			p.WorkflowFilepath = uri[i+2:]
		}
		p.Environment = str("environment")
		p.IssuerURL = str("iss")
	case oidc.Google:
		p.Email, p.Sub = str("email"), str("sub")
	case oidc.ActiveState:
		p.Organization, p.Project, p.ActorID = str("organization"), str("project"), str("actor_id")
		p.Actor = str("actor")
	}
	return p
}
