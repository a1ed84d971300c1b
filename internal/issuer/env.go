package issuer

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Env is what a CI job of some kind sees in its environment.
type Env struct {
	Kind  Kind      `json:"kind"`
	Unset []string  `json:"unset"` // removed first, so no other CI is detected
	Vars  []EnvVar  `json:"vars"`  // exported, in order
	Files []EnvFile `json:"files"` // created in $RUNNER_TEMP, path exported as Var
}

// EnvVar is one exported variable.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// EnvFile is a file the job expects to exist (GITHUB_EVENT_PATH...).
type EnvFile struct {
	Var     string `json:"var"`
	Name    string `json:"name"`
	Content string `json:"content"`
}

// Lookup returns the value of a variable of e.
func (e Env) Lookup(name string) (string, bool) {
	for _, v := range e.Vars {
		if v.Name == name {
			return v.Value, true
		}
	}
	return "", false
}

// Map returns the variables as a map (files excluded).
func (e Env) Map() map[string]string {
	m := map[string]string{}
	for _, v := range e.Vars {
		m[v.Name] = v.Value
	}
	return m
}

// ciTriggers are the variables publishing clients detect a CI by
// (the id package's id/_internal/oidc/ambient.py, uv's ambient-id src/lib.rs), plus GitHub's token variables.
var ciTriggers = map[Kind][]string{
	GitHub:    {"GITHUB_ACTIONS", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"},
	GitLab:    {"GITLAB_CI"},
	Google:    {"GOOGLE_SERVICE_ACCOUNT_NAME"},
	Buildkite: {"BUILDKITE"},
	CircleCI:  {"CIRCLECI"},
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Shell renders e for eval in a POSIX shell.
func (e Env) Shell() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# fakeissuer: %s job environment\n", e.Kind)
	if len(e.Unset) > 0 {
		fmt.Fprintf(&b, "unset %s\n", strings.Join(e.Unset, " "))
	}
	for _, v := range e.Vars {
		fmt.Fprintf(&b, "export %s=%s\n", v.Name, shellQuote(v.Value))
	}
	if len(e.Files) > 0 {
		b.WriteString("export RUNNER_TEMP=\"${RUNNER_TEMP:-$(mktemp -d)}\"\n")
		for _, f := range e.Files {
			fmt.Fprintf(&b, "export %s=\"$RUNNER_TEMP/%s\"\n", f.Var, f.Name)
			fmt.Fprintf(&b, "printf '%%s' %s > \"$%s\"\n", shellQuote(f.Content), f.Var)
		}
	}
	return b.String()
}

// GitLabTokenVar is the variable name the id package looks up for an
// audience: re.sub(r"[^A-Z0-9_]|^[^A-Z_]", "_", audience.upper()) +
// "_ID_TOKEN" (id ambient.py detect_gitlab), so "pypi" -> PYPI_ID_TOKEN.
func GitLabTokenVar(audience string) string {
	b := []byte(strings.ToUpper(audience))
	for i, c := range b {
		ok := c >= 'A' && c <= 'Z' || c == '_' || (c >= '0' && c <= '9' && i > 0)
		if !ok {
			b[i] = '_'
		}
	}
	return string(b) + "_ID_TOKEN"
}

// EnvOptions selects what Env renders.
type EnvOptions struct {
	// Audiences for the tokens placed in the environment (GitLab, CircleCI,
	// ActiveState); default "pypi".
	Audiences []string
	// Faults shape the run (fork-pr, pull-request-target...) and the tokens
	// minted for the environment.
	Faults []Fault
}

// Env returns the environment of a job of kind k in the current run
// context. GitLab's and CircleCI's tokens are minted now, as those systems
// put them in the environment when the job starts.
func (s *Server) Env(k Kind, opts EnvOptions) (Env, error) { return s.env(k, s.URL(), opts) }

func (s *Server) env(k Kind, base string, opts EnvOptions) (Env, error) {
	if base == "" {
		return Env{}, fmt.Errorf("server has no URL: Start it or set PublicURL")
	}
	if len(opts.Audiences) == 0 {
		opts.Audiences = []string{"pypi"}
	}
	e := Env{Kind: k}
	for _, other := range Kinds {
		// GitHub's own token variables are unset too, so that a fork-pr
		// job really lacks them; for Google, GOOGLE_SERVICE_ACCOUNT_NAME
		// would select the impersonation flow, which is not emulated.
		if other != k || k == GitHub || k == Google {
			e.Unset = append(e.Unset, ciTriggers[other]...)
		}
	}
	add := func(name, value string) { e.Vars = append(e.Vars, EnvVar{name, value}) }
	add("CI", "true")
	add("FAKEISSUER_URL", base)
	mintEnv := func(kind Kind, aud string) (string, error) {
		rec, err := s.mint(kind, base, aud, s.takeFaults(opts.Faults))
		if err != nil {
			return "", err
		}
		return rec.Token, nil
	}

	switch k {
	case GitHub:
		raw := s.rawContext()
		faultSet(append(append([]Fault(nil), s.stickyFaults()...), opts.Faults...)).shapeRun(&raw.GitHub)
		raw.fill()
		s.githubEnv(&e, raw.GitHub, base)
	case GitLab:
		l := s.Context().GitLab
		server := s.issuer(GitLab, base)
		u, _ := url.Parse(server)
		add("GITLAB_CI", "true")
		add("CI_SERVER_URL", server)
		if u != nil {
			add("CI_SERVER_HOST", u.Host)
		}
		add("CI_PROJECT_PATH", l.ProjectPath)
		add("CI_PROJECT_ID", l.ProjectID)
		add("CI_PROJECT_NAMESPACE", l.ProjectPath[:strings.LastIndex(l.ProjectPath, "/")])
		add("CI_COMMIT_SHA", l.SHA)
		add("CI_COMMIT_REF_NAME", l.Ref)
		if l.RefType == "tag" {
			add("CI_COMMIT_TAG", l.Ref)
		} else {
			add("CI_COMMIT_BRANCH", l.Ref)
		}
		add("CI_CONFIG_PATH", l.ConfigPath)
		add("CI_PIPELINE_ID", l.PipelineID)
		add("CI_PIPELINE_SOURCE", l.PipelineSource)
		add("CI_JOB_ID", l.JobID)
		add("GITLAB_USER_LOGIN", l.UserLogin)
		if l.Environment != "" {
			add("CI_ENVIRONMENT_NAME", l.Environment)
		}
		// id_tokens: { PYPI_ID_TOKEN: { aud: pypi } } in .gitlab-ci.yml.
		for _, aud := range opts.Audiences {
			tok, err := mintEnv(GitLab, aud)
			if err != nil {
				return Env{}, err
			}
			add(GitLabTokenVar(aud), tok)
		}
	case Google:
		u, _ := url.Parse(base)
		// google-auth honours GCE_METADATA_HOST; id and ambient-id use the
		// fixed names "metadata" and "metadata.google.internal".
		add("GCE_METADATA_HOST", u.Host)
		add("GCE_METADATA_IP", u.Host)
	case Buildkite:
		b := s.Context().Buildkite
		add("BUILDKITE", "true")
		add("BUILDKITE_ORGANIZATION_SLUG", b.OrganizationSlug)
		add("BUILDKITE_PIPELINE_SLUG", b.PipelineSlug)
		add("BUILDKITE_BUILD_NUMBER", strconv.FormatInt(b.BuildNumber, 10))
		add("BUILDKITE_BRANCH", b.BuildBranch)
		add("BUILDKITE_TAG", b.BuildTag)
		add("BUILDKITE_COMMIT", b.BuildCommit)
		add("BUILDKITE_SOURCE", b.BuildSource)
		add("BUILDKITE_STEP_KEY", b.StepKey)
		add("BUILDKITE_JOB_ID", b.JobID)
		add("BUILDKITE_AGENT_ID", b.AgentID)
	case CircleCI:
		c := s.Context().CircleCI
		add("CIRCLECI", "true")
		add("CIRCLE_SHA1", fakeSHA(c.VCSOrigin+"@"+c.VCSRef))
		add("CIRCLE_BRANCH", strings.TrimPrefix(c.VCSRef, "refs/heads/"))
		add("CIRCLE_REPOSITORY_URL", "https://"+c.VCSOrigin)
		// CircleCI also injects a token for the default audience (the org ID).
		tok, err := mintEnv(CircleCI, "")
		if err != nil {
			return Env{}, err
		}
		add("CIRCLE_OIDC_TOKEN", tok)
		add("CIRCLE_OIDC_TOKEN_V2", tok)
	case ActiveState:
		// ActiveState's platform exchanges its token itself; no client
		// detects it. The token is offered for scripts that play that part.
		tok, err := mintEnv(ActiveState, opts.Audiences[0])
		if err != nil {
			return Env{}, err
		}
		add("FAKEISSUER_ID_TOKEN", tok)
	}
	return e, nil
}

func (s *Server) stickyFaults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Fault(nil), s.sticky...)
}

func refName(ref string) string {
	for _, p := range []string{"refs/heads/", "refs/tags/", "refs/pull/"} {
		if strings.HasPrefix(ref, p) {
			return strings.TrimPrefix(ref, p)
		}
	}
	return ref
}

// githubEnv: the runner's default variables; ACTIONS_ID_TOKEN_* only when
// the job may have a token (not for a pull request from a fork).
func (s *Server) githubEnv(e *Env, g GitHubRun, base string) {
	add := func(name, value string) { e.Vars = append(e.Vars, EnvVar{name, value}) }
	add("GITHUB_ACTIONS", "true")
	if !g.Fork {
		add("ACTIONS_ID_TOKEN_REQUEST_URL", base+githubTokenPath+"?api-version=2.0")
		add("ACTIONS_ID_TOKEN_REQUEST_TOKEN", s.cfg.RequestToken)
	}
	add("GITHUB_SERVER_URL", "https://github.com")
	add("GITHUB_API_URL", "https://api.github.com")
	add("GITHUB_GRAPHQL_URL", "https://api.github.com/graphql")
	add("GITHUB_REPOSITORY", g.Repository)
	add("GITHUB_REPOSITORY_ID", g.RepositoryID)
	add("GITHUB_REPOSITORY_OWNER", g.Owner)
	add("GITHUB_REPOSITORY_OWNER_ID", g.OwnerID)
	add("GITHUB_WORKFLOW", g.Workflow)
	add("GITHUB_WORKFLOW_REF", g.workflowRef())
	add("GITHUB_WORKFLOW_SHA", g.WorkflowSHA)
	add("GITHUB_JOB", g.Job)
	add("GITHUB_EVENT_NAME", g.Event)
	add("GITHUB_REF", g.Ref)
	add("GITHUB_REF_NAME", refName(g.Ref))
	add("GITHUB_REF_TYPE", githubRefType(g.Ref))
	add("GITHUB_REF_PROTECTED", tf(g.RefProtected))
	add("GITHUB_SHA", g.SHA)
	add("GITHUB_HEAD_REF", g.HeadRef)
	add("GITHUB_BASE_REF", g.BaseRef)
	add("GITHUB_ACTOR", g.Actor)
	add("GITHUB_ACTOR_ID", g.ActorID)
	add("GITHUB_TRIGGERING_ACTOR", g.Actor)
	add("GITHUB_RUN_ID", g.RunID)
	add("GITHUB_RUN_NUMBER", g.RunNumber)
	add("GITHUB_RUN_ATTEMPT", g.RunAttempt)
	add("RUNNER_ENVIRONMENT", g.RunnerEnvironment)
	add("RUNNER_OS", "Linux")
	ev, _ := json.Marshal(githubEvent(g))
	e.Files = append(e.Files,
		EnvFile{Var: "GITHUB_EVENT_PATH", Name: "event.json", Content: string(ev)},
		EnvFile{Var: "GITHUB_STEP_SUMMARY", Name: "step_summary.md"},
		EnvFile{Var: "GITHUB_OUTPUT", Name: "output"},
		EnvFile{Var: "GITHUB_ENV", Name: "env"},
	)
}

// githubEvent is the part of the webhook payload clients read:
// gh-action-pypi-publish checks pull_request.head.repo.fork.
func githubEvent(g GitHubRun) map[string]any {
	repo := map[string]any{"full_name": g.Repository, "name": g.Repository[strings.Index(g.Repository, "/")+1:], "fork": false,
		"owner": map[string]any{"login": g.Owner}}
	ev := map[string]any{"repository": repo, "sender": map[string]any{"login": g.Actor}}
	if strings.HasPrefix(g.Event, "pull_request") {
		headRepo := repo
		if g.Fork {
			name := repo["name"].(string)
			headRepo = map[string]any{"full_name": g.Actor + "/" + name, "name": name, "fork": true,
				"owner": map[string]any{"login": g.Actor}}
		}
		ev["number"] = 42
		ev["pull_request"] = map[string]any{
			"number": 42,
			"head":   map[string]any{"ref": g.HeadRef, "repo": headRepo},
			"base":   map[string]any{"ref": g.BaseRef, "repo": repo},
		}
	} else if g.Event == "push" {
		ev["ref"] = g.Ref
		ev["after"] = g.SHA
	}
	return ev
}
