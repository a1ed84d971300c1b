package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/fakepypi/fakepypi/internal/harness"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/issuer"
	"github.com/fakepypi/fakepypi/internal/publisher"
	"github.com/fakepypi/fakepypi/internal/suggest"
)

// Reproducing a trust mistake: `fakeindex up` takes the publisher as
// PyPI's settings page shows it (--publisher), and the job that failed as
// fakeissuer's shortcuts (--repository, --workflow-file, --environment,
// --ref, ...) or as the claims block gh-action-pypi-publish printed when
// PyPI refused it (--claims FILE). The job then gets what PyPI got, and
// fakeindex mint prints PyPI's refusal with fakeindex's diagnosis.

// runFlags are up's run-context flags.
type runFlags struct {
	ci         *string
	claims     *string
	publishers *multi
	github     map[string]*string // shortcut flag -> value
}

func addRunFlags(fs *flag.FlagSet) *runFlags {
	r := &runFlags{publishers: &multi{}, github: map[string]*string{}}
	r.ci = fs.String("ci", "github", "the CI the job runs on: github (GitHub Actions: ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN) or gitlab (GitLab CI/CD: PYPI_ID_TOKEN in the environment)")
	r.claims = fs.String("claims", "", "`file` holding the claims block gh-action-pypi-publish printed when PyPI refused the token (\"* `sub`: `repo:...`\" lines, pasted from the job log or step summary): the job's run context is set from it")
	fs.Var(r.publishers, "publisher", "`[PROJECT=]KIND:SPEC` the trusted publisher PROJECT (default demo) has, as PyPI's publishing settings show it: github:OWNER/REPO/WORKFLOW.yml[@ENVIRONMENT], gitlab:NAMESPACE/PROJECT/FILE.yml[@ENVIRONMENT], google:EMAIL[/SUB], activestate:ORG/PROJECT[@ACTOR]; replaces the project's publishers from the configuration, and the job starts out matching the first (repeatable)")
	for _, s := range issuer.GitHubShortcuts {
		r.github[s.Flag] = fs.String(s.Flag, "", s.Usage+" (sets the job's run context)")
	}
	return r
}

// apply puts the run-context flags into opts, in order of precedence:
// the first --publisher's matching job, then --claims, then the
// shortcuts; --set (applied by the caller afterwards) wins over all.
func (r *runFlags) apply(fs *flag.FlagSet, opts *harness.Options) error {
	switch issuer.Kind(*r.ci) {
	case issuer.GitHub, issuer.GitLab:
		opts.CI = issuer.Kind(*r.ci)
	default:
		return usageErrorf("--ci %q: the job can be github or gitlab%s (fakeissuer env --ci gives the other CI systems' environments)", *r.ci, suggest.DidYouMean(*r.ci, []string{"github", "gitlab"}))
	}
	if len(*r.publishers) > 0 {
		if opts.Setup == nil {
			setup, err := indexconfig.Parse("demo.yaml", harness.DemoConfig)
			if err != nil {
				return err
			}
			opts.Setup = setup
		}
		replaced := map[string]bool{}
		for i, spec := range *r.publishers {
			project, p, err := parsePublisher(spec)
			if err != nil {
				return usageErrorf("--publisher %q: %v", spec, err)
			}
			if !replaced[project] {
				dropPublishers(opts.Setup, project)
				replaced[project] = true
			}
			ensureProject(opts.Setup, project)
			p.Projects = []string{project}
			opts.Setup.Publishers = append(opts.Setup.Publishers, p)
			if i == 0 {
				matchJob(&opts.Issuer.Context, p)
			}
		}
		if err := opts.Setup.Validate(); err != nil {
			return fmt.Errorf("--publisher: %v", err)
		}
	}
	if *r.claims != "" {
		b, err := os.ReadFile(*r.claims)
		if err != nil {
			return missingFile("--claims", *r.claims, err, "paste the claims block of the failed job's log into it")
		}
		if err := applyClaimsBlock(&opts.Issuer.Context, string(b)); err != nil {
			return usageErrorf("--claims %s: %v", *r.claims, err)
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, s := range issuer.GitHubShortcuts {
		if !set[s.Flag] {
			continue
		}
		if err := opts.Issuer.Context.Set("github."+s.Field, *r.github[s.Flag]); err != nil {
			return usageErrorf("--%s: %v", s.Flag, err)
		}
	}
	return nil
}

// parsePublisher reads [PROJECT=]KIND:SPEC, the fields of PyPI's "Add a new
// publisher" forms in their order.
func parsePublisher(spec string) (string, publisher.Publisher, error) {
	project := "demo"
	if i := strings.Index(spec, "="); i >= 0 && i < strings.Index(spec+":", ":") {
		project, spec = spec[:i], spec[i+1:]
	}
	kind, rest, ok := strings.Cut(spec, ":")
	if !ok || rest == "" {
		return "", publisher.Publisher{}, fmt.Errorf("want KIND:SPEC, e.g. github:OWNER/REPO/release.yml@pypi")
	}
	kind = strings.ToLower(kind)
	p := publisher.Publisher{Service: kind}
	cutAt := func(s string) (string, string) {
		body, tail, _ := strings.Cut(s, "@")
		return body, tail
	}
	switch kind {
	case "github":
		body, env := cutAt(rest)
		parts := strings.Split(body, "/")
		if len(parts) > 3 && strings.Contains(body, ".github/workflows/") {
			return "", p, fmt.Errorf("PyPI's publisher takes the workflow's file name, not its path: github:%s/%s/%s", parts[0], parts[1], parts[len(parts)-1])
		}
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return "", p, fmt.Errorf("want github:OWNER/REPO/WORKFLOW.yml[@ENVIRONMENT], as PyPI shows owner, repository name and workflow name")
		}
		if !strings.HasSuffix(parts[2], ".yml") && !strings.HasSuffix(parts[2], ".yaml") {
			return "", p, fmt.Errorf("workflow name %q: PyPI asks for the workflow's file name, e.g. release.yml", parts[2])
		}
		p.Owner, p.Repository, p.WorkflowFilename, p.Environment = parts[0], parts[1], parts[2], env
	case "gitlab":
		body, env := cutAt(rest)
		i := strings.LastIndex(body, "/")
		j := strings.LastIndex(body[:max(i, 0)], "/")
		if i < 0 || j <= 0 || i == len(body)-1 {
			return "", p, fmt.Errorf("want gitlab:NAMESPACE/PROJECT/FILE.yml[@ENVIRONMENT], as PyPI shows namespace, project name and top-level pipeline file path")
		}
		p.Namespace, p.Project, p.WorkflowFilepath, p.Environment = body[:j], body[j+1:i], body[i+1:], env
	case "google":
		email, sub, _ := strings.Cut(rest, "/")
		if !strings.Contains(email, "@") {
			return "", p, fmt.Errorf("want google:EMAIL[/SUB], the service account's email")
		}
		p.Email, p.Sub = email, sub
	case "activestate":
		body, actor := cutAt(rest)
		org, proj, ok := strings.Cut(body, "/")
		if !ok || org == "" || proj == "" {
			return "", p, fmt.Errorf("want activestate:ORGANIZATION/PROJECT[@ACTOR]")
		}
		p.Organization, p.Project, p.Actor = org, proj, actor
	default:
		return "", p, fmt.Errorf("unknown publisher kind %q%s (want github, gitlab, google or activestate)", kind, suggest.DidYouMean(kind, []string{"github", "gitlab", "google", "activestate"}))
	}
	return project, p, nil
}

func dropPublishers(f *indexconfig.File, project string) {
	var keep []publisher.Publisher
	for _, p := range f.Publishers {
		var others []string
		for _, name := range p.Projects {
			if name != project {
				others = append(others, name)
			}
		}
		if len(others) > 0 {
			p.Projects = others
			keep = append(keep, p)
		}
	}
	f.Publishers = keep
}

func ensureProject(f *indexconfig.File, project string) {
	for _, p := range f.Projects {
		if strings.EqualFold(p.Name, project) {
			return
		}
	}
	var owners []string
	if len(f.Users) > 0 {
		owners = []string{f.Users[0].Name}
	}
	f.Projects = append(f.Projects, indexconfig.Project{Name: project, Owners: owners})
}

// matchJob sets the run context to a job p accepts.
func matchJob(rc *issuer.RunContext, p publisher.Publisher) {
	switch p.Service {
	case "github":
		rc.GitHub.Repository = p.Owner + "/" + p.Repository
		rc.GitHub.Owner = ""
		rc.GitHub.WorkflowFile = ".github/workflows/" + p.WorkflowFilename
		rc.GitHub.Environment = p.Environment
	case "gitlab":
		rc.GitLab.ProjectPath = p.Namespace + "/" + p.Project
		rc.GitLab.ConfigPath = p.WorkflowFilepath
		rc.GitLab.Environment = p.Environment
	case "google":
		rc.Google.Email, rc.Google.Sub = p.Email, p.Sub
	case "activestate":
		rc.ActiveState.Organization, rc.ActiveState.Project, rc.ActiveState.Actor = p.Organization, p.Project, p.Actor
	}
}

// applyClaimsBlock sets the GitHub run context from the block
// gh-action-pypi-publish prints when PyPI refuses a token
// (oidc-exchange.py, _RENDERED_CLAIMS):
//
//   - `sub`: `repo:octo-org/octo-repo:environment:pypi`
//   - `repository`: `octo-org/octo-repo`
//   - `repository_owner`: `octo-org`
//   - `repository_owner_id`: `1001`
//   - `workflow_ref`: `octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main`
//   - `job_workflow_ref`: `octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main`
//   - `ref`: `refs/heads/main`
//   - `environment`: `pypi`
//
// The log's ::error:: line carries the same block with its newlines as
// %0A; both are read. Claims shown as MISSING are left at their defaults.
func applyClaimsBlock(rc *issuer.RunContext, text string) error {
	text = strings.ReplaceAll(text, "%0A", "\n")
	claims := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, "* `")
		if !ok {
			continue
		}
		name, value, ok := strings.Cut(rest, "`: `")
		if !ok || !strings.HasSuffix(value, "`") {
			continue
		}
		value = strings.TrimSuffix(value, "`")
		if value != "MISSING" {
			claims[name] = value
		}
	}
	if len(claims) == 0 {
		return fmt.Errorf("no claims found: want the lines gh-action-pypi-publish prints after \"The claims rendered below\", like * `repository`: `owner/repo`")
	}
	set := func(field, value string) error {
		if err := rc.Set("github."+field, value); err != nil {
			return fmt.Errorf("%s: %v", field, err)
		}
		return nil
	}
	if v, ok := claims["repository"]; ok {
		if err := set("repository", v); err != nil {
			return err
		}
	}
	if v, ok := claims["repository_owner"]; ok {
		set("owner", v)
	}
	if v, ok := claims["repository_owner_id"]; ok {
		set("owner_id", v)
	}
	// workflow_ref is the workflow that ran; job_workflow_ref the one
	// running the job, another file when it is a reusable workflow. The
	// older action prints only job_workflow_ref.
	workflowRef, job := claims["workflow_ref"], claims["job_workflow_ref"]
	if workflowRef == "" {
		workflowRef = job
	}
	if workflowRef != "" {
		path, ref, ok := strings.Cut(workflowRef, "@")
		_, file, inRepo := strings.Cut(path, "/.github/workflows/")
		if !ok || !inRepo {
			return fmt.Errorf("workflow_ref %q: want OWNER/REPO/.github/workflows/FILE@REF", workflowRef)
		}
		if err := set("workflow_file", ".github/workflows/"+file); err != nil {
			return err
		}
		if err := set("ref", ref); err != nil {
			return err
		}
	}
	if job != "" && job != workflowRef {
		if err := set("reusable_workflow", job); err != nil {
			return err
		}
	}
	if v, ok := claims["ref"]; ok {
		if err := set("ref", v); err != nil {
			return err
		}
	}
	env, hasEnv := claims["environment"]
	if sub, ok := claims["sub"]; ok && !hasEnv {
		// repo:O/R:environment:ENV, or repo:O/R:ref:... without one.
		if _, e, found := strings.Cut(sub, ":environment:"); found {
			env, hasEnv = e, true
		} else {
			hasEnv = true // the job had no environment
		}
	}
	if hasEnv {
		set("environment", env)
	}
	return nil
}

// missingFile explains a file flag naming nothing readable: what was
// looked for, from where, and what to do.
func missingFile(flagName, path string, err error, todo string) error {
	if os.IsNotExist(err) {
		wd, _ := os.Getwd()
		return usageErrorf("%s %s: no such file (relative paths start at %s); %s", flagName, path, wd, todo)
	}
	return usageErrorf("%s %s: %v", flagName, path, err)
}
