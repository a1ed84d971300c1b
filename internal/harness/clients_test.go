package harness

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/readapi"
	"github.com/fakepypi/fakepypi/internal/testenv"
)

// runEnv runs a client with the harness environment, a private HOME (no
// ~/.pypirc, pip.conf or keyring) and a timeout.
func runEnv(t *testing.T, h *Harness, dir string, name string, args ...string) (string, string, error) {
	t.Helper()
	return runEnvWith(t, h, dir, nil, name, args...)
}

// runEnvWith is runEnv with extra KEY=value variables.
func runEnvWith(t *testing.T, h *Harness, dir string, extra []string, name string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(append(h.Environ(os.Environ()),
		"HOME="+dir, "PIP_CONFIG_FILE="+os.DevNull, "PIP_DISABLE_PIP_VERSION_CHECK=1", "PYTHONDONTWRITEBYTECODE=1"), extra...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// TestRealClients drives unmodified Debian clients through the proxy with
// the CA, using only the harness environment: gh-action-pypi-publish's
// exchange, twine upload to https://upload.pypi.org/legacy/, pip install
// from https://pypi.org/simple/, and a refused non-emulated host.
func TestRealClients(t *testing.T) {
	py := testenv.NeedPython(t, "apt-get install python3-requests", "requests")
	h := start(t, Options{})
	dir := t.TempDir()

	var token string
	t.Run("gh-action-oidc-exchange", func(t *testing.T) {
		// The exchange gh-action-pypi-publish does, as the conformance
		// suite's twine wrapper runs it.
		script, _ := filepath.Abs("../../conformance/wrappers/oidc-exchange.py")
		stdout, stderr, err := runEnv(t, h, dir, py, script)
		if err != nil {
			t.Fatalf("%v\nstderr:\n%s", err, stderr)
		}
		token = strings.TrimSpace(stdout)
		if !strings.HasPrefix(token, "pypi-") || !strings.Contains(stderr, "::add-mask::"+token) {
			t.Fatalf("stdout %q\nstderr:\n%s", stdout, stderr)
		}
		if !strings.Contains(stderr, "::debug::Selected Trusted Publishing Exchange Endpoint: Https://Upload.Pypi.Org/_/Oidc/Mint-Token") {
			t.Errorf("no debug line in\n%s", stderr)
		}
	})

	// id >= 1.6 (what twine >= 6.1 uses for the GitHub token) calls
	// urllib3 2's urllib3.request, which ignores HTTPS_PROXY: the token URL
	// must work without the proxy too. Debian has urllib3 1.26, so this
	// plays urllib3 2: a bare PoolManager (no proxy), trusting
	// SSL_CERT_FILE as urllib3 2's default context does (Debian's 1.26
	// pins the system bundle instead), and the audience merged into the URL's
	// query as id >= 1.6 does (id/_internal/oidc/ambient.py).
	t.Run("id-1.6-token-request-without-proxy", func(t *testing.T) {
		const script = `import json, os, urllib3
from urllib.parse import urlsplit, parse_qsl, urlencode
u = urlsplit(os.environ["ACTIONS_ID_TOKEN_REQUEST_URL"])
q = dict(parse_qsl(u.query)); q["audience"] = "pypi"
url = u._replace(query=urlencode(q)).geturl()
r = urllib3.PoolManager(ca_certs=os.environ["SSL_CERT_FILE"]).request("GET", url,
    headers={"Authorization": "bearer " + os.environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]}, timeout=30)
print(r.status, json.loads(r.data)["value"][:3])`
		stdout, stderr, err := runEnv(t, h, dir, py, "-c", script)
		if err != nil || strings.TrimSpace(stdout) != "200 eyJ" {
			t.Fatalf("%v: %s\n%s", err, stdout, stderr)
		}
	})

	wheel := filepath.Join(dir, "demo-1.0-py3-none-any.whl")
	content := buildWheel(t, "demo", "1.0")
	os.WriteFile(wheel, content, 0o644)
	t.Run("twine", func(t *testing.T) {
		if token == "" {
			t.Skip("no token from the exchange")
		}
		testenv.NeedCommand(t, "twine", "apt-get install twine")
		stdout, stderr, err := runEnv(t, h, dir, "twine", "upload", "--repository-url", UploadURL,
			"-u", "__token__", "-p", token, "--non-interactive", "--disable-progress-bar", wheel)
		if err != nil {
			t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
		}
		if !strings.Contains(stdout+stderr, "View at:") {
			t.Errorf("twine output:\n%s%s", stdout, stderr)
		}
		if _, ok := h.Index().Catalog.Project("demo"); !ok {
			t.Error("demo not in the catalog after twine upload")
		}
	})

	// twine's built-in "testpypi" repository must reach TestPyPI: the job
	// environment sets no TWINE_REPOSITORY_URL, which would outrank -r
	// (twine's settings prefer --repository-url/env over the -r section).
	t.Run("twine-r-testpypi", func(t *testing.T) {
		testenv.NeedCommand(t, "twine", "apt-get install twine")
		script, _ := filepath.Abs("../../conformance/wrappers/oidc-exchange.py")
		stdout, stderr, err := runEnvWith(t, h, dir, []string{"INPUT_REPOSITORY_URL=" + TestUploadURL}, py, script)
		if err != nil {
			t.Fatalf("TestPyPI exchange: %v\nstderr:\n%s", err, stderr)
		}
		testToken := strings.TrimSpace(stdout)
		whl := filepath.Join(dir, "demo-3.0-py3-none-any.whl")
		os.WriteFile(whl, buildWheel(t, "demo", "3.0"), 0o644)
		stdout, stderr, err = runEnv(t, h, dir, "twine", "upload", "-r", "testpypi",
			"-u", "__token__", "-p", testToken, "--non-interactive", "--disable-progress-bar", whl)
		if err != nil {
			t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
		}
		if !strings.Contains(stdout+stderr, "Uploading distributions to https://test.pypi.org/legacy/") {
			t.Errorf("twine did not name TestPyPI:\n%s%s", stdout, stderr)
		}
		if p, ok := h.TestIndex().Catalog.Project("demo"); !ok || len(p.Releases) != 1 || p.Releases[0].Version != "3.0" {
			t.Errorf("TestPyPI's demo after -r testpypi: %+v (found %v)", p.Releases, ok)
		}
		if p, _ := h.Index().Catalog.Project("demo"); len(p.Releases) > 0 && p.Releases[len(p.Releases)-1].Version == "3.0" {
			t.Error("demo 3.0 went to PyPI, not TestPyPI")
		}
	})

	t.Run("pip-install", func(t *testing.T) {
		testenv.NeedPython(t, "apt-get install python3-pip", "pip")
		// The demo configuration always declares project demo, so its
		// existence says nothing: without twine (or after a failed
		// upload) demo 1.0 has no file yet, and pip is checked all the
		// same against one put in place directly.
		if !h.Index().Catalog.FilenameUsed("demo-1.0-py3-none-any.whl") {
			if _, err := h.Index().Read.Seed(readapi.SeedFile{Project: "demo", Version: "1.0", Filename: "demo-1.0-py3-none-any.whl", Content: content}); err != nil {
				t.Fatal(err)
			}
		}
		target := filepath.Join(dir, "site")
		stdout, stderr, err := runEnv(t, h, dir, py, "-m", "pip", "install", "--no-deps", "--no-cache-dir",
			"--index-url", SimpleURL, "--target", target, "demo==1.0")
		if err != nil {
			t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
		}
		if _, err := os.Stat(filepath.Join(target, "demo", "__init__.py")); err != nil {
			t.Fatalf("not installed: %v\n%s", err, stdout)
		}
		// The simple page links files on files.pythonhosted.org, the only
		// emulated host serving /packages/: installing proves pip went there.
	})

	t.Run("refused-curl", func(t *testing.T) {
		curl := testenv.NeedCommand(t, "curl", "apt-get install curl")
		_, stderr, err := runEnv(t, h, dir, curl, "-sS", "https://example.com/")
		if err == nil || !strings.Contains(stderr, "403") {
			t.Errorf("curl reached example.com? err=%v\n%s", err, stderr)
		}
	})

	t.Run("refused", func(t *testing.T) {
		_, stderr, err := runEnv(t, h, dir, py, "-c", "import requests; requests.get('https://example.com/', timeout=10)")
		if err == nil || !strings.Contains(stderr, "403 Forbidden") {
			t.Errorf("requests reached example.com? err=%v\n%s", err, stderr)
		}
		found := false
		for _, r := range h.Proxy().Refused() {
			found = found || strings.HasPrefix(r.Target, "example.com:")
		}
		if !found {
			t.Errorf("no refusal recorded: %+v", h.Proxy().Refused())
		}
	})
}
