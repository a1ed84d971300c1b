package issuer

import (
	"strings"
	"time"
)

// Lifetimes. GitHub: exp = iat + 300 and nbf = iat - 300, as in the real
// token in di/id's test/unit/internal/oidc/gha_token.txt ("by default the ID_TOKEN lifetime
// will be 5 min", actions/toolkit#867). GitLab's doc example has
// nbf = iat - 5. Google ID tokens last one hour.
const (
	DefaultLifetime = 300 * time.Second
	googleLifetime  = time.Hour
)

// claimsFor builds the kind-specific claims of a token (everything but iss,
// aud and the times, which mint adds).
func claimsFor(k Kind, rc RunContext, iss string) map[string]any {
	switch k {
	case GitLab:
		return gitlabClaims(rc.GitLab, iss)
	case Google:
		return googleClaims(rc.Google)
	case ActiveState:
		return activestateClaims(rc.ActiveState)
	case Buildkite:
		return buildkiteClaims(rc.Buildkite)
	case CircleCI:
		return circleciClaims(rc.CircleCI)
	}
	return githubClaims(rc.GitHub)
}

// defaultAudience is the aud of a token requested without an audience.
// GitHub: "By default, this is the URL of the repository owner" (github/docs
// reference page). CircleCI: the organization ID. The others always name one.
func defaultAudience(k Kind, rc RunContext) string {
	switch k {
	case GitHub:
		return "https://github.com/" + rc.GitHub.Owner
	case CircleCI:
		return rc.CircleCI.OrgID
	}
	return "pypi"
}

func tf(b *bool) string {
	if b != nil && *b {
		return "true"
	}
	return "false"
}

// workflowRef is the caller workflow, "owner/repo/path@ref".
func (g GitHubRun) workflowRef() string {
	return g.Repository + "/" + g.WorkflowFile + "@" + g.Ref
}

// jobWorkflowRef is the workflow that runs the job: a reusable workflow's
// own ref when one is called, else the caller (PyPI matches the workflow
// filename against this claim).
func (g GitHubRun) jobWorkflowRef() string {
	if g.ReusableWorkflow != "" {
		return g.ReusableWorkflow
	}
	return g.workflowRef()
}

// subject follows GitHub's default template; precedence environment >
// pull_request > ref ("Example subject claims", github/docs).
func (g GitHubRun) subject() string {
	switch {
	case g.Environment != "":
		return "repo:" + g.Repository + ":environment:" + g.Environment
	case g.Event == "pull_request":
		return "repo:" + g.Repository + ":pull_request"
	}
	return "repo:" + g.Repository + ":ref:" + g.Ref
}

func githubRefType(ref string) string {
	if strings.HasPrefix(ref, "refs/tags/") {
		return "tag"
	}
	return "branch"
}

// githubClaims: every custom value is a JSON string, numeric IDs,
// run_attempt and ref_protected included (GitHub's docs, content/actions/reference/security/oidc.md).
func githubClaims(g GitHubRun) map[string]any {
	jobSHA := g.WorkflowSHA
	if g.ReusableWorkflow != "" {
		jobSHA = g.ReusableWorkflowSHA
	}
	c := map[string]any{
		"sub":                   g.subject(),
		"ref":                   g.Ref,
		"sha":                   g.SHA,
		"repository":            g.Repository,
		"repository_id":         g.RepositoryID,
		"repository_owner":      g.Owner,
		"repository_owner_id":   g.OwnerID,
		"repository_visibility": g.Visibility,
		"run_id":                g.RunID,
		"run_number":            g.RunNumber,
		"run_attempt":           g.RunAttempt,
		"actor":                 g.Actor,
		"actor_id":              g.ActorID,
		"workflow":              g.Workflow,
		"workflow_ref":          g.workflowRef(),
		"workflow_sha":          g.WorkflowSHA,
		"job_workflow_ref":      g.jobWorkflowRef(),
		"job_workflow_sha":      jobSHA,
		"head_ref":              g.HeadRef,
		"base_ref":              g.BaseRef,
		"event_name":            g.Event,
		"ref_type":              githubRefType(g.Ref),
		"ref_protected":         tf(g.RefProtected),
		"runner_environment":    g.RunnerEnvironment,
		"check_run_id":          g.CheckRunID,
	}
	if g.Environment != "" {
		c["environment"] = g.Environment
		c["environment_node_id"] = g.EnvironmentNodeID
	}
	if g.Enterprise != "" {
		c["enterprise"] = g.Enterprise
		c["enterprise_id"] = g.EnterpriseID
	}
	return c
}

func gitlabRefPath(l GitLabRun) string {
	if l.RefType == "tag" {
		return "refs/tags/" + l.Ref
	}
	return "refs/heads/" + l.Ref
}

// gitlabClaims follows GitLab's id_token_authentication.md. The
// ci_config_ref_uri host is the issuer without its scheme, which is how
// Warehouse rebuilds it for custom instances (warehouse/oidc/models/gitlab.py).
func gitlabClaims(l GitLabRun, iss string) map[string]any {
	host := strings.TrimPrefix(strings.TrimPrefix(iss, "https://"), "http://")
	namespace := l.ProjectPath[:strings.LastIndex(l.ProjectPath, "/")]
	refPath := gitlabRefPath(l)
	c := map[string]any{
		"sub":                "project_path:" + l.ProjectPath + ":ref_type:" + l.RefType + ":ref:" + l.Ref,
		"namespace_id":       l.NamespaceID,
		"namespace_path":     namespace,
		"project_id":         l.ProjectID,
		"project_path":       l.ProjectPath,
		"user_id":            l.UserID,
		"user_login":         l.UserLogin,
		"user_email":         l.UserEmail,
		"user_access_level":  "owner",
		"pipeline_id":        l.PipelineID,
		"pipeline_source":    l.PipelineSource,
		"job_id":             l.JobID,
		"ref":                l.Ref,
		"ref_type":           l.RefType,
		"ref_path":           refPath,
		"ref_protected":      tf(l.RefProtected),
		"runner_id":          l.RunnerID,
		"runner_environment": l.RunnerEnvironment,
		"sha":                l.SHA,
		"project_visibility": l.Visibility,
		"ci_config_ref_uri":  host + "/" + l.ProjectPath + "//" + l.ConfigPath + "@" + refPath,
		"ci_config_sha":      l.SHA,
	}
	if l.Environment != "" {
		c["environment"] = l.Environment
		c["environment_protected"] = "false"
		c["deployment_tier"] = "production"
		c["environment_action"] = "start"
	}
	return c
}

// googleClaims: what Warehouse's Google publisher checks (email,
// email_verified as a JSON boolean, sub) plus azp. Google ID tokens carry
// neither nbf nor jti.
func googleClaims(o GoogleRun) map[string]any {
	return map[string]any{
		"sub":            o.Sub,
		"azp":            o.Sub,
		"email":          o.Email,
		"email_verified": o.EmailVerified != nil && *o.EmailVerified,
	}
}

// activestateClaims: sub = "org:<org>:project:<project>" and the claims
// Warehouse's ActiveState publisher reads (warehouse/oidc/models/activestate.py).
func activestateClaims(a ActiveStateRun) map[string]any {
	return map[string]any{
		"sub":                "org:" + a.Organization + ":project:" + a.Project,
		"organization":       a.Organization,
		"organization_id":    a.OrganizationID,
		"project":            a.Project,
		"project_id":         a.ProjectID,
		"project_path":       a.Organization + "/" + a.Project,
		"project_visibility": a.Visibility,
		"actor":              a.Actor,
		"actor_id":           a.ActorID,
		"builder":            a.Builder,
		"artifact_id":        a.ArtifactID,
		"ingredient":         a.Ingredient,
	}
}

func buildkiteClaims(b BuildkiteRun) map[string]any {
	ref := "refs/heads/" + b.BuildBranch
	if b.BuildTag != "" {
		ref = "refs/tags/" + b.BuildTag
	}
	c := map[string]any{
		"sub": "organization:" + b.OrganizationSlug + ":pipeline:" + b.PipelineSlug +
			":ref:" + ref + ":commit:" + b.BuildCommit + ":step:" + b.StepKey,
		"organization_slug":  b.OrganizationSlug,
		"pipeline_slug":      b.PipelineSlug,
		"build_number":       b.BuildNumber,
		"build_commit":       b.BuildCommit,
		"build_source":       b.BuildSource,
		"step_key":           b.StepKey,
		"job_id":             b.JobID,
		"agent_id":           b.AgentID,
		"runner_environment": b.RunnerEnvironment,
	}
	if b.BuildBranch != "" {
		c["build_branch"] = b.BuildBranch
	}
	if b.BuildTag != "" {
		c["build_tag"] = b.BuildTag
	}
	return c
}

func circleciClaims(c CircleCIRun) map[string]any {
	return map[string]any{
		"sub":                               "org/" + c.OrgID + "/project/" + c.ProjectID + "/user/" + c.UserID,
		"oidc.circleci.com/org-id":          c.OrgID,
		"oidc.circleci.com/project-id":      c.ProjectID,
		"oidc.circleci.com/context-ids":     []string{},
		"oidc.circleci.com/vcs-origin":      c.VCSOrigin,
		"oidc.circleci.com/vcs-ref":         c.VCSRef,
		"oidc.circleci.com/ssh-rerun":       false,
		"oidc.circleci.com/pipeline-id":     "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c07",
		"oidc.circleci.com/pipeline-def-id": "6b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d08",
	}
}

// claimsSupported is GitHub's discovery list, verbatim (https://token.actions.githubusercontent.com/.well-known/openid-configuration).
var githubClaimsSupported = []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha", "repository", "repository_id",
	"repository_owner", "repository_owner_id", "enterprise", "enterprise_id", "run_id", "run_number", "run_attempt",
	"actor", "actor_id", "workflow", "workflow_ref", "workflow_sha", "head_ref", "base_ref", "event_name", "ref_type",
	"ref_protected", "environment", "environment_node_id", "job_workflow_ref", "job_workflow_sha",
	"repository_visibility", "runner_environment", "issuer_scope", "check_run_id"}
