package issuer

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/fakepypi/fakepypi/internal/suggest"
)

// RunContext describes the CI job whose tokens the server mints: one
// section per kind. Zero fields take realistic defaults (see Defaults).
type RunContext struct {
	GitHub      GitHubRun      `yaml:"github" json:"github"`
	GitLab      GitLabRun      `yaml:"gitlab" json:"gitlab"`
	Google      GoogleRun      `yaml:"google" json:"google"`
	ActiveState ActiveStateRun `yaml:"activestate" json:"activestate"`
	Buildkite   BuildkiteRun   `yaml:"buildkite" json:"buildkite"`
	CircleCI    CircleCIRun    `yaml:"circleci" json:"circleci"`
}

// GitHubRun is a GitHub Actions workflow run. Claim names are in the
// comments (GitHub's docs, content/actions/reference/security/oidc.md).
type GitHubRun struct {
	Repository        string `yaml:"repository" json:"repository"`                   // "owner/name"; repository
	RepositoryID      string `yaml:"repository_id" json:"repository_id"`             // repository_id
	Owner             string `yaml:"owner" json:"owner"`                             // repository_owner; defaults to Repository's owner
	OwnerID           string `yaml:"owner_id" json:"owner_id"`                       // repository_owner_id
	Visibility        string `yaml:"visibility" json:"visibility"`                   // repository_visibility: public|private|internal
	Workflow          string `yaml:"workflow" json:"workflow"`                       // workflow (the workflow's name:)
	WorkflowFile      string `yaml:"workflow_file" json:"workflow_file"`             // path in the repository, e.g. .github/workflows/release.yml
	WorkflowSHA       string `yaml:"workflow_sha" json:"workflow_sha"`               // workflow_sha; defaults to SHA
	Ref               string `yaml:"ref" json:"ref"`                                 // ref: refs/heads/X, refs/tags/X or refs/pull/N/merge
	RefProtected      *bool  `yaml:"ref_protected" json:"ref_protected"`             // ref_protected, rendered "true"/"false"
	SHA               string `yaml:"sha" json:"sha"`                                 // sha
	Event             string `yaml:"event" json:"event"`                             // event_name
	HeadRef           string `yaml:"head_ref" json:"head_ref"`                       // head_ref (pull requests)
	BaseRef           string `yaml:"base_ref" json:"base_ref"`                       // base_ref (pull requests)
	Fork              bool   `yaml:"fork" json:"fork"`                               // pull request from a fork: token variables withheld
	Environment       string `yaml:"environment" json:"environment"`                 // environment; "" = job has none
	EnvironmentNodeID string `yaml:"environment_node_id" json:"environment_node_id"` // environment_node_id
	Actor             string `yaml:"actor" json:"actor"`                             // actor
	ActorID           string `yaml:"actor_id" json:"actor_id"`                       // actor_id
	RunID             string `yaml:"run_id" json:"run_id"`                           // run_id
	RunNumber         string `yaml:"run_number" json:"run_number"`                   // run_number
	RunAttempt        string `yaml:"run_attempt" json:"run_attempt"`                 // run_attempt
	CheckRunID        string `yaml:"check_run_id" json:"check_run_id"`               // check_run_id
	RunnerEnvironment string `yaml:"runner_environment" json:"runner_environment"`   // github-hosted|self-hosted
	Job               string `yaml:"job" json:"job"`                                 // GITHUB_JOB (env only)
	// ReusableWorkflow, when set, is the called workflow that runs the job,
	// "org/repo/.github/workflows/x.yml@ref": it becomes job_workflow_ref.
	ReusableWorkflow    string `yaml:"reusable_workflow" json:"reusable_workflow"`
	ReusableWorkflowSHA string `yaml:"reusable_workflow_sha" json:"reusable_workflow_sha"` // job_workflow_sha
	Enterprise          string `yaml:"enterprise" json:"enterprise"`                       // enterprise; only for enterprise-owned repositories
	EnterpriseID        string `yaml:"enterprise_id" json:"enterprise_id"`                 // enterprise_id
}

// GitLabRun is a GitLab CI/CD job (GitLab docs, id_token_authentication.md).
type GitLabRun struct {
	ProjectPath       string `yaml:"project_path" json:"project_path"` // "group/project"
	ProjectID         string `yaml:"project_id" json:"project_id"`
	NamespaceID       string `yaml:"namespace_id" json:"namespace_id"`
	ConfigPath        string `yaml:"config_path" json:"config_path"` // .gitlab-ci.yml
	Ref               string `yaml:"ref" json:"ref"`                 // bare name, e.g. main or v1.0.0
	RefType           string `yaml:"ref_type" json:"ref_type"`       // branch|tag
	RefProtected      *bool  `yaml:"ref_protected" json:"ref_protected"`
	SHA               string `yaml:"sha" json:"sha"`
	Environment       string `yaml:"environment" json:"environment"`
	UserID            string `yaml:"user_id" json:"user_id"`
	UserLogin         string `yaml:"user_login" json:"user_login"`
	UserEmail         string `yaml:"user_email" json:"user_email"`
	PipelineID        string `yaml:"pipeline_id" json:"pipeline_id"`
	PipelineSource    string `yaml:"pipeline_source" json:"pipeline_source"`
	JobID             string `yaml:"job_id" json:"job_id"`
	RunnerID          int64  `yaml:"runner_id" json:"runner_id"` // an integer claim, unlike GitHub's
	RunnerEnvironment string `yaml:"runner_environment" json:"runner_environment"`
	Visibility        string `yaml:"visibility" json:"visibility"`
}

// GoogleRun is a Google Cloud service account.
type GoogleRun struct {
	Email         string `yaml:"email" json:"email"`
	EmailVerified *bool  `yaml:"email_verified" json:"email_verified"`
	Sub           string `yaml:"sub" json:"sub"`
	ProjectID     string `yaml:"project_id" json:"project_id"`
}

// ActiveStateRun is an ActiveState platform build.
type ActiveStateRun struct {
	Organization   string `yaml:"organization" json:"organization"`
	OrganizationID string `yaml:"organization_id" json:"organization_id"`
	Project        string `yaml:"project" json:"project"`
	ProjectID      string `yaml:"project_id" json:"project_id"`
	Actor          string `yaml:"actor" json:"actor"`
	ActorID        string `yaml:"actor_id" json:"actor_id"`
	Builder        string `yaml:"builder" json:"builder"` // Warehouse requires "pypi-publisher"
	ArtifactID     string `yaml:"artifact_id" json:"artifact_id"`
	Ingredient     string `yaml:"ingredient" json:"ingredient"`
	Visibility     string `yaml:"visibility" json:"visibility"`
}

// BuildkiteRun is a Buildkite job.
type BuildkiteRun struct {
	OrganizationSlug  string `yaml:"organization_slug" json:"organization_slug"`
	PipelineSlug      string `yaml:"pipeline_slug" json:"pipeline_slug"`
	BuildNumber       int64  `yaml:"build_number" json:"build_number"`
	BuildBranch       string `yaml:"build_branch" json:"build_branch"`
	BuildTag          string `yaml:"build_tag" json:"build_tag"`
	BuildCommit       string `yaml:"build_commit" json:"build_commit"`
	BuildSource       string `yaml:"build_source" json:"build_source"`
	StepKey           string `yaml:"step_key" json:"step_key"`
	JobID             string `yaml:"job_id" json:"job_id"`
	AgentID           string `yaml:"agent_id" json:"agent_id"`
	RunnerEnvironment string `yaml:"runner_environment" json:"runner_environment"`
}

// CircleCIRun is a CircleCI job.
type CircleCIRun struct {
	OrgID     string `yaml:"org_id" json:"org_id"`
	ProjectID string `yaml:"project_id" json:"project_id"`
	UserID    string `yaml:"user_id" json:"user_id"`
	VCSOrigin string `yaml:"vcs_origin" json:"vcs_origin"`
	VCSRef    string `yaml:"vcs_ref" json:"vcs_ref"`
}

const defaultCircleOrgID = "2b1d5d6e-6c1a-4c36-9a5f-0c6b7d9f1a11"

func fakeSHA(label string) string {
	s := sha1.Sum([]byte("fakeissuer " + label))
	return hex.EncodeToString(s[:])
}

func boolPtr(b bool) *bool { return &b }

// Defaults returns the run context used when nothing is configured: a push
// to main of octo-org/octo-repo running .github/workflows/release.yml, and
// matching jobs on the other CI systems.
func Defaults() RunContext {
	var rc RunContext
	rc.fill()
	return rc
}

func setDefault(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

// fill replaces zero fields by defaults; derived fields follow the others.
func (rc *RunContext) fill() {
	g := &rc.GitHub
	setDefault(&g.Repository, "octo-org/octo-repo")
	if g.Owner == "" {
		g.Owner, _, _ = strings.Cut(g.Repository, "/")
	}
	setDefault(&g.RepositoryID, "632596897")
	setDefault(&g.OwnerID, "131804563")
	setDefault(&g.Visibility, "public")
	setDefault(&g.Workflow, "Release")
	setDefault(&g.WorkflowFile, ".github/workflows/release.yml")
	setDefault(&g.Event, "push")
	switch {
	case g.Ref != "":
	case strings.HasPrefix(g.Event, "pull_request") && g.Event != "pull_request_target":
		g.Ref = "refs/pull/42/merge"
	default:
		g.Ref = "refs/heads/main"
	}
	setDefault(&g.SHA, fakeSHA(g.Repository+"@"+g.Ref))
	setDefault(&g.WorkflowSHA, g.SHA)
	if g.RefProtected == nil {
		g.RefProtected = boolPtr(g.Ref == "refs/heads/main")
	}
	if strings.HasPrefix(g.Event, "pull_request") {
		setDefault(&g.HeadRef, "feature")
		setDefault(&g.BaseRef, "main")
	}
	if g.Environment != "" {
		setDefault(&g.EnvironmentNodeID, "EN_kwDOJbR1Yc8AAAAB"+strings.ToUpper(fakeSHA(g.Environment)[:8]))
	}
	setDefault(&g.Actor, "octocat")
	setDefault(&g.ActorID, "583231")
	setDefault(&g.RunID, "21561244697")
	setDefault(&g.RunNumber, "306")
	setDefault(&g.RunAttempt, "1")
	setDefault(&g.CheckRunID, "62125561706")
	setDefault(&g.RunnerEnvironment, "github-hosted")
	setDefault(&g.Job, "publish")
	if g.ReusableWorkflow != "" {
		setDefault(&g.ReusableWorkflowSHA, fakeSHA(g.ReusableWorkflow))
	}
	if g.Enterprise != "" {
		setDefault(&g.EnterpriseID, "2")
	}

	l := &rc.GitLab
	setDefault(&l.ProjectPath, "my-group/my-project")
	setDefault(&l.ProjectID, "42")
	setDefault(&l.NamespaceID, "72")
	setDefault(&l.ConfigPath, ".gitlab-ci.yml")
	setDefault(&l.Ref, "main")
	setDefault(&l.RefType, "branch")
	if l.RefProtected == nil {
		l.RefProtected = boolPtr(l.Ref == "main")
	}
	setDefault(&l.SHA, fakeSHA(l.ProjectPath+"@"+l.Ref))
	setDefault(&l.UserID, "17")
	setDefault(&l.UserLogin, "host")
	setDefault(&l.UserEmail, "host@example.com")
	setDefault(&l.PipelineID, "574")
	setDefault(&l.PipelineSource, "push")
	setDefault(&l.JobID, "302")
	if l.RunnerID == 0 {
		l.RunnerID = 1
	}
	setDefault(&l.RunnerEnvironment, "gitlab-hosted")
	setDefault(&l.Visibility, "public")

	o := &rc.Google
	setDefault(&o.ProjectID, "my-project")
	setDefault(&o.Email, "publisher@"+o.ProjectID+".iam.gserviceaccount.com")
	if o.EmailVerified == nil {
		o.EmailVerified = boolPtr(true)
	}
	setDefault(&o.Sub, "112233445566778899001")

	a := &rc.ActiveState
	setDefault(&a.Organization, "fakeorg")
	setDefault(&a.OrganizationID, "b3bb5b3a-7c8e-4b0a-9c51-2f0d8f1f3c01")
	setDefault(&a.Project, "fakeproject")
	setDefault(&a.ProjectID, "c1e0e7a2-5d49-4a7c-8b0e-4f4d6c2a9b02")
	setDefault(&a.Actor, "fakeuser")
	setDefault(&a.ActorID, "d4a9c1f0-3b6e-4e1d-a2c5-7e8f9a0b1c03")
	setDefault(&a.Builder, "pypi-publisher")
	setDefault(&a.ArtifactID, "e5b0d2a1-4c7f-4f2e-b3d6-8f9a0b1c2d04")
	setDefault(&a.Ingredient, "fakeproject")
	setDefault(&a.Visibility, "public")

	b := &rc.Buildkite
	setDefault(&b.OrganizationSlug, "acme-inc")
	setDefault(&b.PipelineSlug, "release")
	if b.BuildNumber == 0 {
		b.BuildNumber = 1
	}
	if b.BuildTag == "" {
		setDefault(&b.BuildBranch, "main")
	}
	setDefault(&b.BuildCommit, fakeSHA(b.OrganizationSlug+"/"+b.PipelineSlug))
	setDefault(&b.BuildSource, "ui")
	setDefault(&b.StepKey, "publish")
	setDefault(&b.JobID, "0184990a-477b-4fa8-9968-496074483cee")
	setDefault(&b.AgentID, "0184990a-4782-42b5-afc1-16715b10b8ff")
	setDefault(&b.RunnerEnvironment, "buildkite-hosted")

	c := &rc.CircleCI
	setDefault(&c.OrgID, defaultCircleOrgID)
	setDefault(&c.ProjectID, "9c1e4e2a-0b6d-4f3e-8a7c-5d2b1f0e3a05")
	setDefault(&c.UserID, "f7d3e1b2-6a5c-4d8e-9b0a-1c2d3e4f5a06")
	setDefault(&c.VCSOrigin, "github.com/octo-org/octo-repo")
	setDefault(&c.VCSRef, "refs/heads/main")
}

// FieldError is a bad configuration value; Path is its dotted YAML name
// (e.g. "context.github.repository"), so a file loader can name the line.
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// validate rejects values that would make malformed claims.
func (rc *RunContext) validate() error {
	g := rc.GitHub
	owner, name, ok := strings.Cut(g.Repository, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return &FieldError{"context.github.repository", fmt.Sprintf("%q: want owner/name", g.Repository)}
	}
	if !strings.HasPrefix(g.Ref, "refs/") {
		return &FieldError{"context.github.ref", fmt.Sprintf("%q: want refs/heads/X, refs/tags/X or refs/pull/N/merge (GitHub puts the full ref in the token)", g.Ref)}
	}
	if msg := workflowPathProblem(g.WorkflowFile); msg != "" {
		return &FieldError{"context.github.workflow_file", fmt.Sprintf("%q: %s", g.WorkflowFile, msg)}
	}
	if g.ReusableWorkflow != "" {
		path, ref, ok := strings.Cut(g.ReusableWorkflow, "@")
		_, file, inRepo := strings.Cut(path, "/.github/workflows/")
		if !ok || ref == "" || !inRepo || strings.Count(strings.SplitN(path, "/.github/", 2)[0], "/") != 1 {
			return &FieldError{"context.github.reusable_workflow", fmt.Sprintf("%q: want org/repo/.github/workflows/x.yml@ref", g.ReusableWorkflow)}
		}
		if msg := workflowPathProblem(".github/workflows/" + file); msg != "" {
			return &FieldError{"context.github.reusable_workflow", fmt.Sprintf("%q: %s", g.ReusableWorkflow, msg)}
		}
	}
	if i := strings.LastIndex(rc.GitLab.ProjectPath, "/"); i <= 0 || i == len(rc.GitLab.ProjectPath)-1 {
		return &FieldError{"context.gitlab.project_path", fmt.Sprintf("%q: want group/project", rc.GitLab.ProjectPath)}
	}
	if t := rc.GitLab.RefType; t != "branch" && t != "tag" {
		return &FieldError{"context.gitlab.ref_type", fmt.Sprintf("%q: want branch or tag", t)}
	}
	return nil
}

// workflowPathProblem says why GitHub could never run a workflow from path,
// or "". GitHub runs workflows only from files directly in
// .github/workflows/ ending in .yml or .yaml, and its tokens name that
// path (workflow_ref, job_workflow_ref); PyPI's publisher form asks for the
// file name alone, which is the usual mistake here.
func workflowPathProblem(path string) string {
	file, ok := strings.CutPrefix(path, ".github/workflows/")
	switch {
	case !ok && !strings.Contains(path, "/"):
		return fmt.Sprintf("GitHub runs workflows only from .github/workflows/, so a token names .github/workflows/%s; PyPI's publisher form asks for the file name alone, the run context for its path", path)
	case !ok:
		return "GitHub runs workflows only from .github/workflows/ (want .github/workflows/NAME.yml)"
	case file == "" || strings.Contains(file, "/"):
		return "GitHub runs workflows only from files directly in .github/workflows/, not from subdirectories"
	case !strings.HasSuffix(file, ".yml") && !strings.HasSuffix(file, ".yaml"):
		return "GitHub runs only .yml and .yaml files as workflows"
	}
	return ""
}

// Set assigns one field by its dotted YAML name, e.g. "github.environment"
// = "pypi", parsing the value for the field's type. It backs --set.
func (rc *RunContext) Set(path, value string) (err error) {
	section, field, ok := strings.Cut(path, ".")
	if !ok {
		return fmt.Errorf("%q: want section.field, e.g. github.environment", path)
	}
	v := reflect.ValueOf(rc).Elem()
	sv, ok := fieldByTag(v, section)
	if !ok {
		return fmt.Errorf("%q: unknown section %q%s", path, section, suggest.DidYouMean(section, yamlTags(v.Type())))
	}
	fv, ok := fieldByTag(sv, field)
	if !ok {
		return fmt.Errorf("%q: unknown field %q in %s%s", path, field, section, suggest.DidYouMean(field, yamlTags(sv.Type())))
	}
	defer func() {
		// A value GitHub (or GitLab) could never put in a token is refused
		// here, naming the flag's path, rather than at start.
		if err != nil {
			return
		}
		check := rc.clone()
		check.fill()
		var fe *FieldError
		if errors.As(check.validate(), &fe) && fe.Path == "context."+path {
			err = errors.New(fe.Msg)
		}
	}()
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(value)
	case reflect.Bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("%s: %q is not a boolean", path, value)
		}
		fv.SetBool(b)
	case reflect.Int64:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not an integer", path, value)
		}
		fv.SetInt(n)
	case reflect.Pointer: // *bool
		b, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("%s: %q is not a boolean", path, value)
		}
		fv.Set(reflect.ValueOf(&b))
	default:
		return fmt.Errorf("%s: cannot set a %s", path, fv.Kind())
	}
	return nil
}

// yamlTags lists the YAML names of a struct type's fields.
func yamlTags(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" && tag != "-" {
			names = append(names, tag)
		}
	}
	return names
}

func fieldByTag(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// clone deep-copies through JSON (pointers included).
func (rc RunContext) clone() RunContext {
	b, _ := json.Marshal(rc)
	var out RunContext
	_ = json.Unmarshal(b, &out)
	return out
}
