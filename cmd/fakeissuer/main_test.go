package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/testenv"
)

var binary string // the fakeissuer binary, built once

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fakeissuer-test-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "fakeissuer")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startBinary runs `fakeissuer args...` and returns the URL it prints.
func startBinary(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case u := <-lines:
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Fatalf("first stdout line %q is not the URL; stderr:\n%s", u, stderr.String())
		}
		return u
	case <-time.After(10 * time.Second):
		t.Fatalf("no URL printed; stderr:\n%s", stderr.String())
	}
	return ""
}

func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(strings.TrimSpace(tok), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestServeAndRequestToken(t *testing.T) {
	u := startBinary(t, "--addr", "127.0.0.1:0", "--seed", "cli", "--request-token", "tok123",
		"--repository", "acme/widget", "--environment", "pypi", "--set", "github.actor=hubot", "--quiet")
	resp, err := http.Get(u + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if doc["issuer"] != "https://token.actions.githubusercontent.com" || doc["jwks_uri"] != u+"/.well-known/jwks" {
		t.Fatalf("discovery %v", doc)
	}
	req, _ := http.NewRequest("GET", u+"/github/idtoken?api-version=2.0&audience=pypi", nil)
	req.Header.Set("Authorization", "bearer tok123")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Value string `json:"value"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	c := claimsOf(t, body.Value)
	if c["sub"] != "repo:acme/widget:environment:pypi" || c["actor"] != "hubot" || c["aud"] != "pypi" {
		t.Fatalf("claims %v", c)
	}
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	cmd := exec.Command(binary, "--help")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() != 0 {
		t.Fatalf("--help: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	f := newServeFlags(io.Discard)
	f.fs.VisitAll(func(fl *flag.Flag) {
		if !strings.Contains(string(out), "-"+fl.Name) {
			t.Errorf("--help does not mention -%s", fl.Name)
		}
	})
	for _, sub := range []string{"env --url", "buildkite-agent oidc request-token", "circleci run oidc get"} {
		if !strings.Contains(string(out), sub) {
			t.Errorf("--help does not mention %q", sub)
		}
	}
	out, err = exec.Command(binary, "env", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "-ci") || !strings.Contains(string(out), "-bin-dir") {
		t.Fatalf("env --help: %v\n%s", err, out)
	}
}

func TestBadInvocations(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("seed: x\nfaults: [nope]\n"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		// Exit status 2: a command line fakeissuer cannot run (as fakeindex);
		// 1: it could not do what it was asked.
		{[]string{"--nope"}, 2, "fakeissuer: unknown flag --nope (see fakeissuer --help)"},
		{[]string{"--enviroment", "pypi"}, 2, "unknown flag --enviroment (did you mean --environment?)"},
		{[]string{"--config", cfg}, 1, cfg + ":2: unknown fault"},
		{[]string{"--config", "no-such.yaml"}, 2, "--config no-such.yaml: no such file (relative paths start at "},
		{[]string{"--fault", "bogus"}, 2, `unknown fault "bogus"`},
		{[]string{"--issuer", "travis=x"}, 2, "unknown CI kind"},
		{[]string{"--ref", "main"}, 2, "want refs/heads/X"},
		{[]string{"--workflow-file", "release.yml"}, 2, "GitHub runs workflows only from .github/workflows/"},
		{[]string{"--set", "github.enviroment=pypi"}, 2, `unknown field "enviroment" in github (did you mean environment?)`},
		{[]string{"--addr", "256.0.0.1:0"}, 1, "listen"},
		{[]string{"extra"}, 2, "unexpected argument"},
		{[]string{"env"}, 2, "FAKEISSUER_URL"},
		{[]string{"buildkite-agent", "oops"}, 2, "usage: buildkite-agent"},
	} {
		cmd := exec.Command(binary, c.args...)
		cmd.Env = append(os.Environ(), "FAKEISSUER_URL=")
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != c.code || !strings.Contains(string(out), c.want) {
			t.Errorf("%v: exit %d (want %d), output:\n%s\nwant %q", c.args, code, c.code, out, c.want)
		}
	}
}

// sh runs script with the binary's directory not on PATH, so the personas
// come only from the env exports.
func sh(t *testing.T, script string) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", "set -eu\n"+script)
	cmd.Env = append(os.Environ(), "FAKEISSUER="+binary, "FAKEISSUER_URL=", "GITHUB_ACTIONS=true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, out)
	}
	return string(out)
}

func TestEnvTurnsShellIntoJob(t *testing.T) {
	testenv.NeedCommand(t, "curl", "apt-get install curl")
	u := startBinary(t, "--quiet", "--seed", "cli")
	out := sh(t, `eval "$("$FAKEISSUER" env --url `+u+`)"
echo "$GITHUB_ACTIONS $GITHUB_REPOSITORY $GITHUB_EVENT_NAME $GITHUB_REF"
curl -sS -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=pypi"`)
	first, rest, _ := strings.Cut(out, "\n")
	if first != "true octo-org/octo-repo push refs/heads/main" {
		t.Fatalf("env: %q", first)
	}
	var body struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal([]byte(rest), &body); err != nil {
		t.Fatalf("curl: %v: %s", err, rest)
	}
	if c := claimsOf(t, body.Value); c["aud"] != "pypi" || c["repository"] != "octo-org/octo-repo" {
		t.Fatalf("claims %v", c)
	}

	bin := t.TempDir()
	out = sh(t, `eval "$("$FAKEISSUER" env --url `+u+` --ci buildkite --bin-dir `+bin+`)"
echo "${GITHUB_ACTIONS:-unset} $BUILDKITE"
buildkite-agent oidc request-token --audience pypi`)
	first, tok, _ := strings.Cut(out, "\n")
	if first != "unset true" {
		t.Fatalf("buildkite env: %q", first)
	}
	if c := claimsOf(t, tok); c["aud"] != "pypi" || c["iss"] != "https://agent.buildkite.com" || c["pipeline_slug"] != "release" {
		t.Fatalf("buildkite claims %v", c)
	}

	out = sh(t, `eval "$("$FAKEISSUER" env --url `+u+` --ci circleci --bin-dir `+bin+`)"
circleci run oidc get --claims '{"aud": "pypi"}' --root-issuer`)
	if c := claimsOf(t, out); c["aud"] != "pypi" || c["oidc.circleci.com/org-id"] == nil {
		t.Fatalf("circleci claims %v", c)
	}

	out = sh(t, `eval "$("$FAKEISSUER" env --url `+u+` --ci gitlab --audience testpypi)"
echo "$GITLAB_CI"; echo "$TESTPYPI_ID_TOKEN"`)
	first, tok, _ = strings.Cut(out, "\n")
	if c := claimsOf(t, tok); first != "true" || c["aud"] != "testpypi" || c["iss"] != "https://gitlab.com" {
		t.Fatalf("gitlab: %q %v", first, c)
	}

	out = sh(t, `eval "$("$FAKEISSUER" env --url `+u+` --fault fork-pr)"
echo "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-withheld} $GITHUB_EVENT_NAME"`)
	if strings.TrimSpace(out) != "withheld pull_request" {
		t.Fatalf("fork-pr env: %q", out)
	}
}

// The persona is chosen by program name, as a link named buildkite-agent.
func TestPersonaByProgramName(t *testing.T) {
	u := startBinary(t, "--quiet")
	t.Setenv("FAKEISSUER_URL", u)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"/usr/local/bin/buildkite-agent", "oidc", "request-token", "--audience", "x"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if c := claimsOf(t, stdout.String()); c["aud"] != "x" {
		t.Fatalf("claims %v", c)
	}
	stdout.Reset()
	if code := run([]string{"circleci", "run", "oidc", "get", "--claims", `{"aud":"y","extra":"z"}`}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if c := claimsOf(t, stdout.String()); c["aud"] != "y" || c["extra"] != "z" {
		t.Fatalf("claims %v", c)
	}
	t.Setenv("FAKEISSUER_URL", "http://127.0.0.1:1")
	stderr.Reset()
	if code := run([]string{"buildkite-agent", "oidc", "request-token"}, &stdout, &stderr); code != 1 || stderr.Len() == 0 {
		t.Fatalf("unreachable server: exit %d, %q", code, stderr.String())
	}
	// serve with a context, in process.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var out bytes.Buffer
	go func() { done <- serve([]string{"--quiet"}, &out, io.Discard, ctx) }()
	cancel()
	if code := <-done; code != 0 || !strings.HasPrefix(out.String(), "http://127.0.0.1:") {
		t.Fatalf("serve exit %d, stdout %q", code, out.String())
	}
}

func TestDocsListEveryFlag(t *testing.T) {
	b, err := os.ReadFile("../../docs/fakeissuer.md")
	if err != nil {
		t.Fatal(err)
	}
	f := newServeFlags(io.Discard)
	f.fs.VisitAll(func(fl *flag.Flag) {
		if !strings.Contains(string(b), "`--"+fl.Name) {
			t.Errorf("docs/fakeissuer.md does not document --%s", fl.Name)
		}
	})
	for _, name := range []string{"url", "ci", "audience", "fault", "format", "bin-dir"} {
		if !strings.Contains(string(b), "`--"+name) {
			t.Errorf("docs/fakeissuer.md does not document env --%s", name)
		}
	}
}

// TestHelpOnStdout: for every command and persona, -h and --help print the
// usage on stdout, nothing on stderr, and exit 0, as fakeindex does; a bad
// flag prints it on stderr and exits 2.
func TestHelpOnStdout(t *testing.T) {
	for _, cmd := range [][]string{{}, {"serve"}, {"env"}, {"buildkite-agent", "oidc", "request-token"}, {"circleci", "run", "oidc", "get"}} {
		for _, h := range []string{"-h", "--help", "--no-such-flag"} {
			args := append(append([]string(nil), cmd...), h)
			c := exec.Command(binary, args...)
			var stdout, stderr bytes.Buffer
			c.Stdout, c.Stderr = &stdout, &stderr
			err := c.Run()
			code := c.ProcessState.ExitCode()
			if h == "--no-such-flag" {
				if code != 2 || stdout.Len() != 0 || !strings.Contains(strings.ToLower(stderr.String()), "usage") {
					t.Errorf("%v: exit %d (%v)\nstdout:\n%s\nstderr:\n%s", args, code, err, stdout.String(), stderr.String())
				}
				continue
			}
			if code != 0 || stderr.Len() != 0 || !strings.Contains(strings.ToLower(stdout.String()), "usage") || !strings.Contains(stdout.String(), "  -") {
				t.Errorf("%v: exit %d (%v)\nstdout:\n%s\nstderr:\n%s", args, code, err, stdout.String(), stderr.String())
			}
		}
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		out, err := exec.Command(binary, arg).Output()
		if err != nil || !strings.HasPrefix(string(out), "fakeissuer ") || !strings.HasSuffix(string(out), runtime.Version()+"\n") {
			t.Errorf("fakeissuer %s: %v %q", arg, err, out)
		}
	}
}
