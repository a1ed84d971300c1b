package issuer

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/internal/testenv"
)

func fetchText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// runShell evals script in sh, then runs body, with some CI variables of
// the calling environment set, to show they are removed.
func runShell(t *testing.T, script, body string) string {
	t.Helper()
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env.sh")
	if err := os.WriteFile(envFile, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `set -eu; eval "$(cat "$1")"; `+body, "sh", envFile)
	cmd.Env = append(os.Environ(), "GITLAB_CI=true", "BUILDKITE=true", "RUNNER_TEMP="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sh: %v\n%s\nscript:\n%s", err, out, script)
	}
	return string(out)
}

// eval "$(curl .../_fake/env)" makes a shell a GitHub Actions job, and the
// GitHub docs' curl example then gets a token.
func TestGitHubEnvInShell(t *testing.T) {
	s := startTest(t, Config{Context: RunContext{GitHub: GitHubRun{Repository: "it's/quoted", Environment: "pypi"}}})
	script := fetchText(t, s.URL()+"/_fake/env?ci=github")
	out := runShell(t, script, `
echo "actions=$GITHUB_ACTIONS repo=$GITHUB_REPOSITORY owner=$GITHUB_REPOSITORY_OWNER event=$GITHUB_EVENT_NAME"
echo "workflow_ref=$GITHUB_WORKFLOW_REF"
echo "gitlab=${GITLAB_CI:-unset} buildkite=${BUILDKITE:-unset}"
test -f "$GITHUB_STEP_SUMMARY" && echo summary-ok
cat "$GITHUB_EVENT_PATH"; echo
if command -v curl >/dev/null; then
  curl -sS -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=pypi"
fi`)
	for _, want := range []string{
		"actions=true repo=it's/quoted owner=it's event=push",
		"workflow_ref=it's/quoted/.github/workflows/release.yml@refs/heads/main",
		"gitlab=unset buildkite=unset",
		"summary-ok",
		`"full_name":"it's/quoted"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("shell output lacks %q:\n%s", want, out)
		}
	}
	if _, err := exec.LookPath("curl"); err != nil {
		// The environment checks above ran; only the docs' curl example
		// is left, and it needs curl.
		testenv.Unavailable(t, "curl not found on PATH (apt-get install curl): the docs' curl example was not run")
	}
	i := strings.Index(out, `{"value"`)
	if i < 0 {
		i = strings.Index(out, "{\n  \"value\"")
	}
	if i < 0 {
		t.Fatalf("curl printed no token:\n%s", out)
	}
	var resp struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal([]byte(out[i:]), &resp); err != nil {
		t.Fatalf("curl output: %v\n%s", err, out[i:])
	}
	v := discover(t, s.DiscoveryURL(GitHub))
	claims, err := v.verify(resp.Value, "pypi")
	if err != nil {
		t.Fatal(err)
	}
	if claims["sub"] != "repo:it's/quoted:environment:pypi" {
		t.Fatalf("sub %v", claims["sub"])
	}
}

func TestGitLabEnvCarriesToken(t *testing.T) {
	s := startTest(t, Config{})
	script := fetchText(t, s.URL()+"/_fake/env?ci=gitlab&audience=pypi&audience=http://test.audience")
	out := runShell(t, script, `echo "gitlab=$GITLAB_CI actions=${GITHUB_ACTIONS:-unset}"; echo "$PYPI_ID_TOKEN"; echo "$HTTP___TEST_AUDIENCE_ID_TOKEN"`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || lines[0] != "gitlab=true actions=unset" {
		t.Fatalf("output:\n%s", out)
	}
	v := discover(t, s.DiscoveryURL(GitLab))
	if _, err := v.verify(lines[1], "pypi"); err != nil {
		t.Fatalf("PYPI_ID_TOKEN: %v", err)
	}
	if _, err := v.verify(lines[2], "http://test.audience"); err != nil {
		t.Fatalf("HTTP___TEST_AUDIENCE_ID_TOKEN: %v", err)
	}
}

// The variable names the id package derives (id/_internal/oidc/ambient.py, detect_gitlab).
func TestGitLabTokenVar(t *testing.T) {
	for aud, want := range map[string]string{
		"pypi":                 "PYPI_ID_TOKEN",
		"testpypi":             "TESTPYPI_ID_TOKEN",
		"http://test.audience": "HTTP___TEST_AUDIENCE_ID_TOKEN",
		"1abc":                 "_ABC_ID_TOKEN",
	} {
		if got := GitLabTokenVar(aud); got != want {
			t.Errorf("GitLabTokenVar(%q) = %q, want %q", aud, got, want)
		}
	}
}

func TestEnvJSONAndErrors(t *testing.T) {
	s := startTest(t, Config{})
	var e Env
	getJSON(t, s.URL()+"/_fake/env?ci=circleci&format=json", &e)
	m := e.Map()
	if m["CIRCLECI"] != "true" || m["CIRCLE_OIDC_TOKEN"] == "" || m["FAKEISSUER_URL"] != s.URL() {
		t.Fatalf("circleci env %v", m)
	}
	c := decodeSegment(t, m["CIRCLE_OIDC_TOKEN"], 1)
	if c["aud"] != s.Context().CircleCI.OrgID {
		t.Fatalf("CIRCLE_OIDC_TOKEN aud %v", c["aud"])
	}
	for _, q := range []string{"ci=jenkins", "fault=nope"} {
		if status, _ := call(t, "GET", s.URL()+"/_fake/env?"+q, ""); status != 400 {
			t.Errorf("%s: %d", q, status)
		}
	}
	unstarted, err := New(Config{Seed: testSeed})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unstarted.Env(GitHub, EnvOptions{}); err == nil {
		t.Fatal("Env without a URL succeeded")
	}
}
