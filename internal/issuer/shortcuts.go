package issuer

// Shortcut is a command-line flag that sets one GitHub run-context field:
// --environment pypi is --set github.environment=pypi. fakeissuer and
// fakeindex up offer the same ones.
type Shortcut struct {
	Flag, Field, Usage string
}

// GitHubShortcuts are the run-context flags, in the order help lists them.
var GitHubShortcuts = []Shortcut{
	{"repository", "repository", "GitHub repository `owner/name` (default octo-org/octo-repo)"},
	{"repository-id", "repository_id", "repository_id claim"},
	{"owner", "owner", "repository_owner (default: the repository's owner)"},
	{"owner-id", "owner_id", "repository_owner_id claim"},
	{"workflow", "workflow", "workflow name (workflow claim, GITHUB_WORKFLOW)"},
	{"workflow-file", "workflow_file", "workflow `path` in the repository, under .github/workflows/ (default .github/workflows/release.yml)"},
	{"ref", "ref", "git `ref`: refs/heads/X, refs/tags/X or refs/pull/N/merge (default refs/heads/main)"},
	{"sha", "sha", "commit `sha` (default: derived from repository and ref)"},
	{"event", "event", "event_name: push, release, workflow_dispatch, pull_request... (default push)"},
	{"environment", "environment", "deployment environment (sub becomes repo:O/R:environment:ENV)"},
	{"actor", "actor", "actor claim (default octocat)"},
	{"actor-id", "actor_id", "actor_id claim"},
	{"runner-environment", "runner_environment", "github-hosted or self-hosted"},
	{"visibility", "visibility", "repository_visibility: public, private or internal"},
	{"reusable-workflow", "reusable_workflow", "reusable workflow running the job, `org/repo/.github/workflows/x.yml@ref` (job_workflow_ref)"},
	{"enterprise", "enterprise", "enterprise slug (adds enterprise and enterprise_id)"},
}
