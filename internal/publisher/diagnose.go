package publisher

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fakepypi/fakepypi/internal/oidc"
)

// Diagnosis explains a miss: the configured publisher nearest to the
// token and each field where they differ, configured vs token. PyPI only
// says "Publisher with matching claims was not found"; this is the
// harness's addition and never reaches the client.
type Diagnosis struct {
	Closest     *Publisher `json:"closest,omitempty"`
	Differences []string   `json:"differences,omitempty"`
	Summary     string     `json:"summary"`
}

// Diagnose compares claims with every publisher (normal and pending) of
// service and reports the closest.
func (s *Store) Diagnose(service string, claims oidc.Claims) Diagnosis {
	all := append(s.candidates(service, false), s.candidates(service, true)...)
	name := Publisher{Service: service}.Name()
	if len(all) == 0 {
		return Diagnosis{Summary: fmt.Sprintf("no %s publisher (normal or pending) is configured", name)}
	}
	best, bestDiffs := -1, []string(nil)
	for i, p := range all {
		d := differences(p, claims)
		if best < 0 || len(d) < len(bestDiffs) {
			best, bestDiffs = i, d
		}
	}
	p := all[best]
	d := Diagnosis{Closest: &p, Differences: bestDiffs}
	if len(bestDiffs) == 0 {
		d.Summary = "closest publisher " + p.String() + " matches every configured field; see the reason"
	} else {
		d.Summary = "closest publisher " + p.String() + ": " + strings.Join(bestDiffs, "; ")
	}
	return d
}

func q(s string) string { return strconv.Quote(s) }

func claimText(c oidc.Claims, name string) string {
	v, ok := c[name]
	switch {
	case !ok:
		return "has no " + name
	case v == nil:
		return "has " + name + " null"
	}
	if s, ok := v.(string); ok {
		return name + " is " + q(s)
	}
	return fmt.Sprintf("%s is %v (not a string)", name, v)
}

// Field is one row of a side-by-side comparison of a configured
// publisher and a token: the publisher's field, the claim it is checked
// against, both values as a person compares them, and whether they
// differ (Note says how, in the words of a diagnosis).
type Field struct {
	Name       string `json:"name"`
	Configured string `json:"configured"`
	Claim      string `json:"claim"`
	Token      string `json:"token"`
	Differs    bool   `json:"differs,omitempty"`
	Note       string `json:"note,omitempty"`
}

// AnyValue is how Compare shows an optional field left empty, which
// matches every token.
const AnyValue = "(any)"

// differences lists the configured fields of p that the claims miss.
func differences(p Publisher, c oidc.Claims) []string {
	var out []string
	for _, f := range Compare(p, c) {
		if f.Differs {
			out = append(out, f.Note)
		}
	}
	return out
}

// Compare lines up every field of p with the claim PyPI checks it
// against, for the dashboard's and the debugger's side-by-side view.
// Rows with Differs set are the differences Diagnose reports.
func Compare(p Publisher, c oidc.Claims) []Field {
	var out []Field
	row := func(name, configured, claim, token string, differs bool, format string, args ...any) {
		f := Field{Name: name, Configured: configured, Claim: claim, Token: token, Differs: differs}
		if differs {
			f.Note = fmt.Sprintf(format, args...)
		}
		out = append(out, f)
	}
	optional := func(v string) string {
		if v == "" {
			return AnyValue
		}
		return v
	}
	iss := str(c, "iss")
	env, _ := c["environment"].(string)
	switch p.Service {
	case oidc.GitHub:
		owner, name, _ := strings.Cut(str(c, "repository"), "/")
		row("owner", p.Owner, "repository", owner, p.Owner != owner,
			"owner configured %s, token's repository is %s", q(p.Owner), q(str(c, "repository")))
		row("repository", p.Repository, "repository", name, p.Repository != name,
			"repository name configured %s, token's repository is %s", q(p.Repository), q(str(c, "repository")))
		ownerID := claimValue(c, "repository_owner_id")
		row("owner_id", optional(p.OwnerID), "repository_owner_id", ownerID, p.OwnerID != "" && c["repository_owner_id"] != p.OwnerID,
			"owner id configured %s, token's %s", q(p.OwnerID), claimText(c, "repository_owner_id"))
		jwr := str(c, "job_workflow_ref")
		if wf, ok := workflowFromJobWorkflowRef(jwr); !ok {
			row("workflow_filename", p.WorkflowFilename, "job_workflow_ref", jwr, true,
				"workflow filename configured %s, token's job_workflow_ref %s names no workflow file", q(p.WorkflowFilename), q(jwr))
		} else {
			row("workflow_filename", p.WorkflowFilename, "job_workflow_ref", wf, wf != p.WorkflowFilename,
				"workflow filename configured %s, token's job_workflow_ref names %s", q(p.WorkflowFilename), q(wf))
		}
		row("environment", optional(p.Environment), "environment", env, p.Environment != "" && strings.ToLower(env) != p.Environment,
			"environment configured %s, token %s", q(p.Environment), envText(c))
		row("issuer", oidc.GitHubIssuer, "iss", iss, iss != oidc.GitHubIssuer,
			"token's iss %s is not GitHub's %s", q(iss), q(oidc.GitHubIssuer))
		ev := claimValue(c, "event_name")
		row("event", "not pull_request_target", "event_name", ev, c["event_name"] == "pull_request_target",
			"token's event_name is \"pull_request_target\", which PyPI refuses")
	case oidc.GitLab:
		pp := str(c, "project_path")
		ns, proj := pp, ""
		if i := strings.LastIndexByte(pp, '/'); i >= 0 {
			ns, proj = pp[:i], pp[i+1:]
		}
		row("namespace", p.Namespace, "project_path", ns, !strings.EqualFold(p.Namespace, ns),
			"namespace configured %s, token's project_path is %s", q(p.Namespace), q(pp))
		row("project", p.Project, "project_path", proj, !strings.EqualFold(p.Project, proj),
			"project configured %s, token's project_path is %s", q(p.Project), q(pp))
		uri := str(c, "ci_config_ref_uri")
		if path, ok := workflowFromCIConfigRefURI(uri); !ok {
			row("workflow_filepath", p.WorkflowFilepath, "ci_config_ref_uri", uri, true,
				"workflow file path configured %s, token's ci_config_ref_uri %s names no workflow file", q(p.WorkflowFilepath), q(uri))
		} else {
			row("workflow_filepath", p.WorkflowFilepath, "ci_config_ref_uri", path, path != p.WorkflowFilepath,
				"workflow file path configured %s, token's ci_config_ref_uri names %s", q(p.WorkflowFilepath), q(path))
		}
		row("issuer_url", p.IssuerURL, "iss", iss, p.IssuerURL != iss,
			"issuer configured %s, token's iss is %s", q(p.IssuerURL), q(iss))
		row("environment", optional(p.Environment), "environment", env, p.Environment != "" && env != p.Environment,
			"environment configured %s (case-sensitive for GitLab), token %s", q(p.Environment), envText(c))
	case oidc.Google:
		row("email", p.Email, "email", claimValue(c, "email"), c["email"] != p.Email,
			"email configured %s, token's %s", q(p.Email), claimText(c, "email"))
		row("sub", optional(p.Sub), "sub", claimValue(c, "sub"), p.Sub != "" && c["sub"] != p.Sub,
			"subject configured %s, token's %s", q(p.Sub), claimText(c, "sub"))
		row("email_verified", "true", "email_verified", claimValue(c, "email_verified"), c["email_verified"] != true,
			"token's email_verified is not true")
	case oidc.ActiveState:
		row("organization", p.Organization, "organization", claimValue(c, "organization"), c["organization"] != p.Organization,
			"organization configured %s, token's %s", q(p.Organization), claimText(c, "organization"))
		row("project", p.Project, "project", claimValue(c, "project"), c["project"] != p.Project,
			"project configured %s, token's %s", q(p.Project), claimText(c, "project"))
		row("actor_id", optional(p.ActorID), "actor_id", claimValue(c, "actor_id"), p.ActorID != "" && c["actor_id"] != p.ActorID,
			"actor id configured %s, token's %s", q(p.ActorID), claimText(c, "actor_id"))
		row("builder", "pypi-publisher", "builder", claimValue(c, "builder"), c["builder"] != "pypi-publisher",
			"token's %s, PyPI requires \"pypi-publisher\"", claimText(c, "builder"))
	}
	return out
}

// claimValue shows a claim's value for a comparison table: strings as
// they are, other JSON values as JSON, an absent claim as "".
func claimValue(c oidc.Claims, name string) string {
	v, ok := c[name]
	switch {
	case !ok:
		return ""
	case v == nil:
		return "null"
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func envText(c oidc.Claims) string {
	env, ok := c["environment"].(string)
	if !ok || env == "" {
		return "has no environment"
	}
	return "has environment " + q(env)
}
