package publisher

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/fakepypi/fakepypi/internal/oidc"
	"github.com/fakepypi/fakepypi/internal/pyfmt"
)

// InvalidPublisherError is warehouse's InvalidPublisherError; Reason is
// the text that ends up inside "valid token, but no corresponding
// publisher (...)".
type InvalidPublisherError struct{ Reason string }

func (e *InvalidPublisherError) Error() string { return e.Reason }

func invalid(format string, args ...any) error {
	return &InvalidPublisherError{Reason: fmt.Sprintf(format, args...)}
}

// ErrReusedToken is warehouse's ReusedTokenError, raised by the jti check
// of GitHub and GitLab publishers.
var ErrReusedToken = errors.New("invalid token: already used")

// InternalError is a claim set that makes PyPI's own code raise an
// unexpected Python exception (for example `repository` without a "/",
// which fails the `owner, name = ...split("/", 1)` unpacking). PyPI then
// answers 500; the harness does the same and says why.
type InternalError struct{ Why string }

func (e *InternalError) Error() string { return e.Why }

// ReasonNotFound is lookup_by_claims' message since warehouse bc7312446.
const ReasonNotFound = "Publisher with matching claims was not found"

// JTIChecker tells whether a jti was already used (check_existing_jti).
type JTIChecker func(service, jti string) bool

// requiredClaims lists, per service, the required verifiable then
// unverifiable claims. PyPI iterates a Python set union here, whose order
// is hash-seeded, so with several claims missing the one it names varies;
// the harness names the first in declaration order.
var requiredClaims = map[string][]string{
	oidc.GitHub:      {"repository", "repository_owner", "repository_owner_id", "job_workflow_ref", "jti", "event_name", "ref", "sha"},
	oidc.GitLab:      {"sub", "project_path", "ci_config_ref_uri", "jti", "ref_path", "sha"},
	oidc.Google:      {"email", "email_verified"},
	oidc.ActiveState: {"sub", "organization", "project", "actor_id", "builder"},
}

// find runs warehouse's find_publisher_by_issuer + verify_claims over
// candidates (all of one kind, pending or not).
func find(service string, claims oidc.Claims, candidates []Publisher, used JTIChecker) (Publisher, error) {
	iss, _ := claims.String("iss")
	// oidc/services.py: only GitLab publishers accept a custom issuer.
	if canon := oidc.CanonicalIssuer(service); iss != canon && service != oidc.GitLab {
		return Publisher{}, invalid("JWT issuer %s does not match expected issuer %s", pyfmt.Repr(iss), pyfmt.Repr(canon))
	}
	for _, name := range requiredClaims[service] {
		if !claims.Present(name) {
			return Publisher{}, invalid("Missing claim %s", pyfmt.Repr(name))
		}
	}
	var (
		p   Publisher
		err error
	)
	switch service {
	case oidc.GitHub:
		p, err = lookupGitHub(claims, candidates)
	case oidc.GitLab:
		p, err = lookupGitLab(claims, candidates)
	case oidc.Google:
		p, err = lookupGoogle(claims, candidates)
	case oidc.ActiveState:
		p, err = lookupActiveState(claims, candidates)
	default:
		return Publisher{}, invalid(ReasonNotFound)
	}
	if err != nil {
		return Publisher{}, err
	}
	if err := verify(p, claims, used); err != nil {
		return p, err
	}
	return p, nil
}

func str(c oidc.Claims, name string) string {
	s, _ := c.String(name)
	return s
}

// notString reports a claim PyPI would call a string method on.
func notString(c oidc.Claims, names ...string) error {
	for _, n := range names {
		if _, ok := c[n].(string); !ok {
			return &InternalError{Why: fmt.Sprintf("claim %s is not a string; PyPI's lookup raises an unexpected exception", n)}
		}
	}
	return nil
}

// selectByEnvironment is the environment rule shared by GitHub and GitLab:
// a candidate with exactly the token's environment wins, else one with no
// environment, else nothing.
func selectByEnvironment(cands []Publisher, env string, fold bool) (Publisher, error) {
	if env != "" {
		want := env
		if fold {
			want = strings.ToLower(env)
		}
		for _, p := range cands {
			if p.Environment == want {
				return p, nil
			}
		}
	}
	for _, p := range cands {
		if p.Environment == "" {
			return p, nil
		}
	}
	return Publisher{}, invalid(ReasonNotFound)
}

// workflowFromJobWorkflowRef is github.py's regex
// `([^/]+\.(yml|yaml))(?=@)`, first match. Go's regexp has no lookahead,
// so the leftmost-longest search is spelled out.
func workflowFromJobWorkflowRef(ref string) (string, bool) {
	for i := 0; i < len(ref); i++ {
		if ref[i] == '/' {
			continue
		}
		end := strings.IndexByte(ref[i:], '/')
		if end < 0 {
			end = len(ref)
		} else {
			end += i
		}
		// [^/]+ is greedy: try the longest candidate first.
		for e := end - 1; e > i; e-- {
			if ref[e] != '@' {
				continue
			}
			head := ref[i:e]
			for _, ext := range []string{".yml", ".yaml"} {
				if strings.HasSuffix(head, ext) && len(head) > len(ext) {
					return head, true
				}
			}
		}
	}
	return "", false
}

// workflowFromCIConfigRefURI is gitlab.py's regex
// `(?<=//)(.*[^/]\.(yml|yaml))(?=@)`, first match.
func workflowFromCIConfigRefURI(uri string) (string, bool) {
	for p := 2; p <= len(uri); p++ {
		if uri[p-2:p] != "//" {
			continue
		}
		lineEnd := strings.IndexByte(uri[p:], '\n')
		limit := len(uri)
		if lineEnd >= 0 {
			limit = p + lineEnd + 1 // [^/] may match the newline itself
		}
		for e := limit - 1; e > p; e-- {
			if e >= len(uri) || uri[e] != '@' {
				continue
			}
			head := uri[p:e]
			if strings.Contains(head[:max(0, len(head)-1)], "\n") {
				continue
			}
			for _, ext := range []string{".yml", ".yaml"} {
				if strings.HasSuffix(head, ext) && len(head) > len(ext) && head[len(head)-len(ext)-1] != '/' {
					return head, true
				}
			}
		}
	}
	return "", false
}

func lookupGitHub(c oidc.Claims, cands []Publisher) (Publisher, error) {
	if err := notString(c, "repository", "job_workflow_ref"); err != nil {
		return Publisher{}, err
	}
	owner, name, ok := strings.Cut(str(c, "repository"), "/")
	if !ok {
		return Publisher{}, &InternalError{Why: fmt.Sprintf("repository claim %s has no \"/\"; PyPI's split(\"/\", 1) unpacking raises ValueError", pyfmt.Repr(str(c, "repository")))}
	}
	wf, ok := workflowFromJobWorkflowRef(str(c, "job_workflow_ref"))
	if !ok {
		// The garbled wording is PyPI's.
		return Publisher{}, invalid("Could not job extract workflow filename from OIDC claims")
	}
	ownerID, _ := c["repository_owner_id"].(string)
	var hits []Publisher
	for _, p := range cands {
		if p.Repository == name && p.Owner == owner && p.WorkflowFilename == wf &&
			(p.OwnerID == "" || p.OwnerID == ownerID) {
			hits = append(hits, p)
		}
	}
	env, _ := c["environment"].(string)
	return selectByEnvironment(hits, env, true)
}

func lookupGitLab(c oidc.Claims, cands []Publisher) (Publisher, error) {
	if err := notString(c, "project_path", "ci_config_ref_uri"); err != nil {
		return Publisher{}, err
	}
	pp := str(c, "project_path")
	i := strings.LastIndexByte(pp, '/')
	if i < 0 {
		return Publisher{}, &InternalError{Why: fmt.Sprintf("project_path claim %s has no \"/\"; PyPI's rsplit(\"/\", 1) unpacking raises ValueError", pyfmt.Repr(pp))}
	}
	ns, proj := pp[:i], pp[i+1:]
	path, ok := workflowFromCIConfigRefURI(str(c, "ci_config_ref_uri"))
	if !ok {
		return Publisher{}, invalid("Could not extract workflow filename from OIDC claims")
	}
	iss := str(c, "iss")
	var hits []Publisher
	for _, p := range cands {
		if strings.EqualFold(p.Namespace, ns) && strings.EqualFold(p.Project, proj) &&
			p.WorkflowFilepath == path && p.IssuerURL == iss {
			hits = append(hits, p)
		}
	}
	env, _ := c["environment"].(string)
	return selectByEnvironment(hits, env, false)
}

func lookupGoogle(c oidc.Claims, cands []Publisher) (Publisher, error) {
	email, _ := c["email"].(string)
	sub, _ := c["sub"].(string)
	var anySub *Publisher
	for i, p := range cands {
		if p.Email != email {
			continue
		}
		if p.Sub != "" && p.Sub == sub {
			return p, nil
		}
		if p.Sub == "" && anySub == nil {
			anySub = &cands[i]
		}
	}
	if anySub != nil {
		return *anySub, nil
	}
	return Publisher{}, invalid(ReasonNotFound)
}

func lookupActiveState(c oidc.Claims, cands []Publisher) (Publisher, error) {
	org, _ := c["organization"].(string)
	proj, _ := c["project"].(string)
	actorID, _ := c["actor_id"].(string)
	for _, p := range cands {
		if p.Organization == org && p.Project == proj && (p.ActorID == "" || p.ActorID == actorID) {
			return p, nil
		}
	}
	return Publisher{}, invalid(ReasonNotFound)
}

func checkFailed(name string) error {
	return invalid("Check failed for required claim %s", pyfmt.Repr(name))
}

// verify is verify_claims: required checks in declaration order, then
// the optional ones.
func verify(p Publisher, c oidc.Claims, used JTIChecker) error {
	jtiCheck := func() error {
		if jti, ok := c["jti"].(string); ok && used != nil && used(p.Service, jti) {
			return ErrReusedToken
		}
		return nil
	}
	switch p.Service {
	case oidc.GitHub:
		repo := str(c, "repository")
		if repo == "" || strings.ToLower(repo) != strings.ToLower(p.Owner+"/"+p.Repository) {
			return checkFailed("repository")
		}
		if str(c, "repository_owner") != p.Owner {
			return checkFailed("repository_owner")
		}
		if p.OwnerID != "" && c["repository_owner_id"] != p.OwnerID {
			return checkFailed("repository_owner_id")
		}
		if err := checkRef(c, "job_workflow_ref", []string{"ref", "sha"}, false,
			p.Owner+"/"+p.Repository+"/.github/workflows/"+p.WorkflowFilename); err != nil {
			return err
		}
		if err := jtiCheck(); err != nil {
			return err
		}
		if c["event_name"] == "pull_request_target" {
			return invalid("Publishing from a workflow invoked via 'pull_request_target' is not supported.")
		}
		if p.Environment != "" {
			env, _ := c["environment"].(string)
			if env == "" || strings.ToLower(env) != strings.ToLower(p.Environment) {
				return invalid("Check failed for optional claim 'environment'")
			}
		}
	case oidc.GitLab:
		want := "project_path:" + p.Namespace + "/" + p.Project
		sub, _ := c["sub"].(string)
		parts := strings.Split(sub, ":")
		if len(parts) < 2 || strings.ToLower(parts[0]+":"+parts[1]) != strings.ToLower(want) {
			return checkFailed("sub")
		}
		pp := str(c, "project_path")
		if pp == "" || strings.ToLower(pp) != strings.ToLower(p.Namespace+"/"+p.Project) {
			return checkFailed("project_path")
		}
		host := strings.TrimPrefix(p.IssuerURL, "https://")
		if err := checkRef(c, "ci_config_ref_uri", []string{"ref_path", "sha"}, true,
			host+"/"+p.Namespace+"/"+p.Project+"//"+p.WorkflowFilepath); err != nil {
			return err
		}
		if err := jtiCheck(); err != nil {
			return err
		}
		if p.Environment != "" {
			env, _ := c["environment"].(string)
			if env == "" || env != p.Environment {
				return invalid("Check failed for optional claim 'environment'")
			}
		}
	case oidc.Google:
		if c["email"] != p.Email {
			return checkFailed("email")
		}
		if c["email_verified"] != true {
			return checkFailed("email_verified")
		}
		if p.Sub != "" {
			if s, _ := c["sub"].(string); s == "" || s != p.Sub {
				return invalid("Check failed for optional claim 'sub'")
			}
		}
	case oidc.ActiveState:
		sub, _ := c["sub"].(string)
		if sub == "" {
			return invalid("Missing 'subject' claim")
		}
		parts := strings.Split(sub, ":")
		if len(parts) < 4 {
			return invalid("Invalid 'subject' claim. Wrong format")
		}
		if strings.Join(parts[:4], ":") != "org:"+p.Organization+":project:"+p.Project {
			return invalid("Invalid 'subject' claim")
		}
		if c["organization"] != p.Organization {
			return checkFailed("organization")
		}
		if c["project"] != p.Project {
			return checkFailed("project")
		}
		if p.ActorID != "" && c["actor_id"] != p.ActorID {
			return checkFailed("actor_id")
		}
		if c["builder"] != "pypi-publisher" {
			return checkFailed("builder")
		}
	}
	return nil
}

// checkRef is the job_workflow_ref (GitHub) / ci_config_ref_uri (GitLab)
// check: the claim must be "<base>@<ref>" for one of the ref claims.
// GitHub needs ref or sha; GitLab needs both ref_path and sha.
func checkRef(c oidc.Claims, claim string, refs []string, needBoth bool, base string) error {
	got, _ := c[claim].(string)
	if got == "" {
		return invalid("The %s claim is empty", claim)
	}
	var vals []string
	for _, r := range refs {
		if s, ok := c[r].(string); ok && s != "" {
			vals = append(vals, s)
		}
	}
	if len(vals) == 0 || (needBoth && len(vals) < len(refs)) {
		return invalid("The %s and %s claims are empty", refs[0], refs[1])
	}
	expected := map[string]bool{}
	for _, v := range vals {
		expected[base+"@"+v] = true
	}
	if expected[got] {
		return nil
	}
	list := make([]string, 0, len(expected))
	for e := range expected {
		list = append(list, e)
	}
	sort.Strings(list) // Python sorted() on str compares code points, as Go does on UTF-8.
	return invalid("The %s claim does not match, expecting one of %s, got %s", claim, pyfmt.ReprList(list), pyfmt.Repr(got))
}
