package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// upJob runs `fakeindex up --data DIR ARGS...` and returns its exit
// status, stdout and stderr.
func upJob(t *testing.T, stdin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	bin := fakeindexBinary(t)
	cmd := exec.Command(bin, append([]string{"up", "--data", filepath.Join(t.TempDir(), "data")}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("fakeindex up %v still running after 90 s\nstderr:\n%s", args, stderr.String())
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// TestUpCommand: the command runs in the job's environment, with this
// fakeindex on PATH (fakeindex mint mints a PyPI token), up exits with the
// command's status, and the harness is gone afterwards.
func TestUpCommand(t *testing.T) {
	code, stdout, stderr := upJob(t, "", []string{"GITLAB_CI=true"}, "--",
		"sh", "-c", `echo "job: $GITHUB_ACTIONS $CI ${GITLAB_CI:-no-gitlab} $GITHUB_REPOSITORY"
echo "index: $FAKEPYPI_INDEX_URL"
test -n "$HTTPS_PROXY" || exit 90
fakeindex mint | cut -c1-21
exit 7`)
	if code != 7 {
		t.Fatalf("exit %d, want the command's 7\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"job: true true no-gitlab octo-org/octo-repo\n", "pypi-AgEIcHlwaS5vcmcC\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s\nstderr:\n%s", want, stdout, stderr)
		}
	}
	if strings.Contains(stdout, "export ") {
		t.Errorf("the env was printed on the command's stdout:\n%s", stdout)
	}
	_, rest, _ := strings.Cut(stdout, "index: ")
	indexURL, _, _ := strings.Cut(rest, "\n")
	if !strings.HasPrefix(indexURL, "https://127.0.0.1:") {
		t.Fatalf("index URL %q", indexURL)
	}
	if resp, err := http.Get(strings.Replace(indexURL, "https:", "http:", 1) + "/_/oidc/audience"); err == nil {
		resp.Body.Close()
		t.Errorf("the harness still answers at %s after up exited", indexURL)
	}
}

// TestUpCommandMintRefused: when PyPI refuses the job's token, fakeindex
// mint prints what gh-action-pypi-publish prints (PyPI's reasons, the
// token's claims) and fakeindex's diagnosis, and fails.
func TestUpCommandMintRefused(t *testing.T) {
	code, stdout, stderr := upJob(t, "", nil, "--set", "github.workflow_file=.github/workflows/publish.yml", "--",
		"sh", "-c", `fakeindex mint || exit 3`)
	if code != 3 {
		t.Fatalf("exit %d, want 3\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"Trusted publishing exchange failure: \nToken request failed: the server refused the request for the following reasons:\n\n* `invalid-publisher`: valid token, but no corresponding publisher",
		"* `job_workflow_ref`: `octo-org/octo-repo/.github/workflows/publish.yml@refs/heads/main`\n",
		"fakeindex's diagnosis (PyPI does not say this): ",
		"release.yml",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Count(stderr, `level=WARN msg="mint refused"`) != 1 {
		t.Errorf("want the refusal logged once on one line:\n%s", stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q", stdout)
	}
}

// TestUpShell: --shell runs $SHELL interactively in the job, with a
// prompt that says so, and up exits with the shell's status.
func TestUpShell(t *testing.T) {
	code, stdout, stderr := upJob(t, "echo \"in $GITHUB_REPOSITORY\"\nfakeindex mint | cut -c1-5\nexit 4\n", []string{"SHELL=/bin/sh"}, "--shell")
	if code != 4 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "in octo-org/octo-repo\npypi-\n") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if !strings.Contains(stderr, jobPrompt+"$ ") || !strings.Contains(stderr, "Exit the shell to stop the harness") {
		t.Errorf("no job prompt or hint on stderr:\n%s", stderr)
	}
}

// TestUpCommandLineErrors: what cannot run is said in one line, with exit
// status 2 (127 for a command that does not exist, as in a shell).
func TestUpCommandLineErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"twine", "upload"}, 2, `put -- before it: fakeindex up -- twine upload`},
		{[]string{"--"}, 2, "nothing after --"},
		{[]string{"--shell", "--", "true"}, 2, "choose one"},
		{[]string{"--enviroment", "pypi"}, 2, "unknown flag --enviroment (did you mean --environment?)"},
		{[]string{"--", "no-such-command-fakepypi"}, 127, "no-such-command-fakepypi: command not found"},
	} {
		code, _, stderr := upJob(t, "", nil, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("up %q: exit %d, want %d with %q\n%s", c.args, code, c.code, c.want, stderr)
		}
		if strings.Count(stderr, "\n") > 3 {
			t.Errorf("up %q: more than three lines on stderr:\n%s", c.args, stderr)
		}
	}
}

func TestVersion(t *testing.T) {
	bin := fakeindexBinary(t)
	for _, arg := range []string{"--version", "version"} {
		out, err := exec.Command(bin, arg).Output()
		if err != nil || !strings.HasPrefix(string(out), "fakeindex ") || !strings.HasSuffix(string(out), runtime.Version()+"\n") {
			t.Errorf("fakeindex %s: %v %q", arg, err, out)
		}
	}
}

// TestMissingFiles: a flag naming a file that is not there says so, where
// it looked, and what to use instead; exit status 2.
func TestMissingFiles(t *testing.T) {
	bin := fakeindexBinary(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--memory", "--config", "nope.yaml"}, "--config nope.yaml: no such file (relative paths start at "},
		{[]string{"--memory", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, "--tls-cert c.pem: no such file"},
		{[]string{"up", "--config", "nope.yaml"}, "examples/demo.yaml is a configuration to start from"},
		{[]string{"up", "--issuer-config", "nope.yaml"}, "--issuer-config nope.yaml: no such file"},
	} {
		cmd := exec.Command(bin, c.args...)
		cmd.Dir = t.TempDir()
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), c.want) {
			t.Errorf("%q: exit %d\n%s\nwant %q", c.args, code, out, c.want)
		}
	}
}

// TestUpCommandSignal: SIGTERM to `fakeindex up -- COMMAND` goes to
// COMMAND; up waits for it, stops the harness and exits as a shell does
// for a command killed by a signal (128+15).
func TestUpCommandSignal(t *testing.T) {
	bin := fakeindexBinary(t)
	cmd := exec.Command(bin, "up", "--data", filepath.Join(t.TempDir(), "data"), "--", "sh", "-c", `echo started; exec sleep 60`)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	buf := make([]byte, 8)
	if _, err := io.ReadFull(stdout, buf); err != nil || string(buf) != "started\n" {
		t.Fatalf("%q %v\n%s", buf, err, stderr.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("still running 20 s after SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit %d, want %d\n%s", code, 128+int(syscall.SIGTERM), stderr.String())
	}
}
