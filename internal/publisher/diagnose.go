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

// differences lists the configured fields of p that the claims miss.
func differences(p Publisher, c oidc.Claims) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	iss := str(c, "iss")
	env, _ := c["environment"].(string)
	switch p.Service {
	case oidc.GitHub:
		owner, name, _ := strings.Cut(str(c, "repository"), "/")
		if p.Owner != owner {
			add("owner configured %s, token's repository is %s", q(p.Owner), q(str(c, "repository")))
		}
		if p.Repository != name {
			add("repository name configured %s, token's repository is %s", q(p.Repository), q(str(c, "repository")))
		}
		if p.OwnerID != "" && c["repository_owner_id"] != p.OwnerID {
			add("owner id configured %s, token's %s", q(p.OwnerID), claimText(c, "repository_owner_id"))
		}
		jwr := str(c, "job_workflow_ref")
		if wf, ok := workflowFromJobWorkflowRef(jwr); !ok {
			add("workflow filename configured %s, token's job_workflow_ref %s names no workflow file", q(p.WorkflowFilename), q(jwr))
		} else if wf != p.WorkflowFilename {
			add("workflow filename configured %s, token's job_workflow_ref names %s", q(p.WorkflowFilename), q(wf))
		}
		if p.Environment != "" && strings.ToLower(env) != p.Environment {
			add("environment configured %s, token %s", q(p.Environment), envText(c))
		}
		if iss != oidc.GitHubIssuer {
			add("token's iss %s is not GitHub's %s", q(iss), q(oidc.GitHubIssuer))
		}
		if c["event_name"] == "pull_request_target" {
			add("token's event_name is \"pull_request_target\", which PyPI refuses")
		}
	case oidc.GitLab:
		pp := str(c, "project_path")
		ns, proj := pp, ""
		if i := strings.LastIndexByte(pp, '/'); i >= 0 {
			ns, proj = pp[:i], pp[i+1:]
		}
		if !strings.EqualFold(p.Namespace, ns) {
			add("namespace configured %s, token's project_path is %s", q(p.Namespace), q(pp))
		}
		if !strings.EqualFold(p.Project, proj) {
			add("project configured %s, token's project_path is %s", q(p.Project), q(pp))
		}
		uri := str(c, "ci_config_ref_uri")
		if path, ok := workflowFromCIConfigRefURI(uri); !ok {
			add("workflow file path configured %s, token's ci_config_ref_uri %s names no workflow file", q(p.WorkflowFilepath), q(uri))
		} else if path != p.WorkflowFilepath {
			add("workflow file path configured %s, token's ci_config_ref_uri names %s", q(p.WorkflowFilepath), q(path))
		}
		if p.IssuerURL != iss {
			add("issuer configured %s, token's iss is %s", q(p.IssuerURL), q(iss))
		}
		if p.Environment != "" && env != p.Environment {
			add("environment configured %s (case-sensitive for GitLab), token %s", q(p.Environment), envText(c))
		}
	case oidc.Google:
		if c["email"] != p.Email {
			add("email configured %s, token's %s", q(p.Email), claimText(c, "email"))
		}
		if p.Sub != "" && c["sub"] != p.Sub {
			add("subject configured %s, token's %s", q(p.Sub), claimText(c, "sub"))
		}
		if c["email_verified"] != true {
			add("token's email_verified is not true")
		}
	case oidc.ActiveState:
		if c["organization"] != p.Organization {
			add("organization configured %s, token's %s", q(p.Organization), claimText(c, "organization"))
		}
		if c["project"] != p.Project {
			add("project configured %s, token's %s", q(p.Project), claimText(c, "project"))
		}
		if p.ActorID != "" && c["actor_id"] != p.ActorID {
			add("actor id configured %s, token's %s", q(p.ActorID), claimText(c, "actor_id"))
		}
		if c["builder"] != "pypi-publisher" {
			add("token's %s, PyPI requires \"pypi-publisher\"", claimText(c, "builder"))
		}
	}
	return out
}

func envText(c oidc.Claims) string {
	env, ok := c["environment"].(string)
	if !ok || env == "" {
		return "has no environment"
	}
	return "has environment " + q(env)
}
