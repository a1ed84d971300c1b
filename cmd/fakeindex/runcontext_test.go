package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/internal/issuer"
)

func TestParsePublisher(t *testing.T) {
	for _, c := range []struct {
		spec, project, want, err string
	}{
		{"github:my-org/my-pkg/release.yml@pypi", "demo", "github my-org my-pkg release.yml pypi", ""},
		{"pkg=github:o/r/publish.yaml", "pkg", "github o r publish.yaml ", ""},
		{"gitlab:group/sub/proj/.gitlab-ci.yml@release", "demo", "gitlab group/sub proj .gitlab-ci.yml release", ""},
		{"google:svc@p.iam.gserviceaccount.com/1234", "demo", "google svc@p.iam.gserviceaccount.com 1234", ""},
		{"activestate:org/proj@actor", "demo", "activestate org proj actor", ""},
		{"github:o/r/.github/workflows/release.yml", "", "", "file name, not its path: github:o/r/release.yml"},
		{"github:o/r", "", "", "want github:OWNER/REPO/WORKFLOW.yml"},
		{"github:o/r/release", "", "", `workflow name "release"`},
		{"gihtub:o/r/x.yml", "", "", `unknown publisher kind "gihtub" (did you mean github?)`},
		{"release.yml", "", "", "want KIND:SPEC"},
	} {
		project, p, err := parsePublisher(c.spec)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.spec, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.spec, err)
			continue
		}
		var got string
		switch p.Service {
		case "github":
			got = strings.Join([]string{p.Service, p.Owner, p.Repository, p.WorkflowFilename, p.Environment}, " ")
		case "gitlab":
			got = strings.Join([]string{p.Service, p.Namespace, p.Project, p.WorkflowFilepath, p.Environment}, " ")
		case "google":
			got = strings.Join([]string{p.Service, p.Email, p.Sub}, " ")
		case "activestate":
			got = strings.Join([]string{p.Service, p.Organization, p.Project, p.Actor}, " ")
		}
		if project != c.project || got != c.want {
			t.Errorf("%s: %s %q, want %s %q", c.spec, project, got, c.project, c.want)
		}
	}
}

// The block as gh-action-pypi-publish's step summary shows it, and as the
// ::error:: line of the log carries it (newlines as %0A).
const claimsBlock = `Token request failed: the server refused the request for the following reasons:

* ` + "`invalid-publisher`" + `: valid token, but no corresponding publisher (Publisher with matching claims was not found)

The claims rendered below are **for debugging purposes only**. You should **not**
use them to configure a trusted publisher unless they already match your expectations.

If a claim is not present in the claim set, then it is rendered as ` + "`MISSING`" + `.

* ` + "`sub`: `repo:my-org/my-pkg:environment:staging`" + `
* ` + "`repository`: `my-org/my-pkg`" + `
* ` + "`repository_owner`: `my-org`" + `
* ` + "`repository_owner_id`: `424242`" + `
* ` + "`workflow_ref`: `my-org/my-pkg/.github/workflows/ci.yml@refs/tags/v2.0`" + `
* ` + "`job_workflow_ref`: `my-org/shared/.github/workflows/publish.yml@refs/heads/main`" + `
* ` + "`ref`: `refs/tags/v2.0`" + `
* ` + "`environment`: `MISSING`" + `

See https://docs.pypi.org/trusted-publishers/troubleshooting/ for more help.
`

func TestApplyClaimsBlock(t *testing.T) {
	for name, text := range map[string]string{
		"summary": claimsBlock,
		"log":     "::error::Trusted publishing exchange failure: " + strings.ReplaceAll(claimsBlock, "\n", "%0A"),
	} {
		var rc issuer.RunContext
		if err := applyClaimsBlock(&rc, text); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		g := rc.GitHub
		got := strings.Join([]string{g.Repository, g.Owner, g.OwnerID, g.WorkflowFile, g.Ref, g.ReusableWorkflow, g.Environment}, " ")
		want := "my-org/my-pkg my-org 424242 .github/workflows/ci.yml refs/tags/v2.0 my-org/shared/.github/workflows/publish.yml@refs/heads/main staging"
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	var rc issuer.RunContext
	if err := applyClaimsBlock(&rc, "nothing here"); err == nil || !strings.Contains(err.Error(), "no claims found") {
		t.Errorf("empty block: %v", err)
	}
}

// TestUpReproducesTrustMistakes: the publisher as PyPI shows it, then the
// job as it ran (shortcuts or the action's claims block); fakeindex mint
// shows PyPI's refusal and the difference. Values GitHub never sends are
// refused before anything starts.
func TestUpReproducesTrustMistakes(t *testing.T) {
	const pub = "my-pkg=github:my-org/my-pkg/release.yml@pypi"
	code, stdout, stderr := upJob(t, "", nil, "--publisher", pub, "--", "fakeindex", "mint")
	if code != 0 || !strings.HasPrefix(stdout, "pypi-") {
		t.Fatalf("the job --publisher describes was refused: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, _, stderr = upJob(t, "", nil, "--publisher", pub, "--environment", "staging", "--", "fakeindex", "mint")
	if code != 1 || !strings.Contains(stderr, "* `invalid-publisher`") || !strings.Contains(stderr, "fakeindex's diagnosis") || !strings.Contains(stderr, "staging") {
		t.Errorf("--environment staging: exit %d\n%s", code, stderr)
	}
	claims := filepath.Join(t.TempDir(), "claims.txt")
	os.WriteFile(claims, []byte(claimsBlock), 0o644)
	code, _, stderr = upJob(t, "", nil, "--publisher", pub, "--claims", claims, "--", "fakeindex", "mint")
	if code != 1 || !strings.Contains(stderr, "* `job_workflow_ref`: `my-org/shared/.github/workflows/publish.yml@refs/heads/main`") {
		t.Errorf("--claims: exit %d\n%s", code, stderr)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--workflow-file", "release.yml"}, `--workflow-file: "release.yml": GitHub runs workflows only from .github/workflows/, so a token names .github/workflows/release.yml`},
		{[]string{"--set", "github.workflow_file=release.yml"}, `--set "github.workflow_file=release.yml": "release.yml": GitHub runs workflows only from .github/workflows/`},
		{[]string{"--set", "github.enviroment=pypi"}, `unknown field "enviroment" in github (did you mean environment?)`},
		{[]string{"--ref", "main"}, `want refs/heads/X`},
		{[]string{"--publisher", "github:o/r/.github/workflows/release.yml"}, "file name, not its path"},
		{[]string{"--claims", "no-such-claims.txt"}, "--claims no-such-claims.txt: no such file (relative paths start at "},
		{[]string{"--ci", "gitlib"}, `--ci "gitlib": the job can be github or gitlab (did you mean gitlab?)`},
	} {
		code, _, stderr := upJob(t, "", nil, append(c.args, "--", "true")...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") > 1 {
			t.Errorf("%q: exit %d, want 2 and one line with %q:\n%s", c.args, code, c.want, stderr)
		}
	}
}

// TestUpGitLabJob: --ci gitlab makes a GitLab CI/CD job whose
// PYPI_ID_TOKEN fakeindex mint exchanges, here for a GitLab publisher.
func TestUpGitLabJob(t *testing.T) {
	code, stdout, stderr := upJob(t, "", nil, "--ci", "gitlab", "--publisher", "gitlab:grp/proj/.gitlab-ci.yml", "--",
		"sh", "-c", `echo "$GITLAB_CI ${GITHUB_ACTIONS:-no-github}"; fakeindex mint | cut -c1-5`)
	if code != 0 || stdout != "true no-github\npypi-\n" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "GitLab CI/CD publish job (grp/proj, .gitlab-ci.yml@") {
		t.Errorf("stderr:\n%s", stderr)
	}
}
