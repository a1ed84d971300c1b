package upload_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/index"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/issuer"
	"github.com/fakepypi/fakepypi/internal/oidc"
	"github.com/fakepypi/fakepypi/internal/testenv"
)

// clientEnv keeps the clients offline, quiet and unwrapped (rich wraps
// twine's log lines at the terminal width).
func clientEnv() []string {
	return append(os.Environ(), "PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring", "TWINE_NON_INTERACTIVE=1",
		"COLUMNS=1000", "NO_COLOR=1", "PIP_NO_CACHE_DIR=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1",
		"HTTP_PROXY=", "HTTPS_PROXY=", "http_proxy=", "https_proxy=", "NO_PROXY=*")
}

// twineRun runs Debian's twine (optionally with a Python prelude, which
// then runs twine's own main) and returns its exit code and output.
func twineRun(t *testing.T, prelude string, args ...string) (int, string) {
	t.Helper()
	var cmd *exec.Cmd
	if prelude == "" {
		cmd = exec.Command("/usr/bin/twine", args...)
	} else {
		cmd = exec.Command("/usr/bin/python3", append([]string{"-c", prelude + "\nimport sys\nfrom twine.__main__ import main\nsys.argv[0] = 'twine'\nsys.exit(main())"}, args...)...)
	}
	cmd.Env = clientEnv()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	go func() { <-ctx.Done(); cmd.Process.Kill() }()
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("twine: %v", err)
	}
	return code, string(out)
}

const clientSetup = `
users: [{name: alice}]
projects:
  - {name: octo-repo, owners: [alice]}
  - {name: elsewhere, owners: [alice]}
publishers:
  - {service: github, owner: octo-org, repository: octo-repo, workflow_filename: release.yml, projects: [octo-repo]}
tokens:
  - {name: alice-all, user: alice}
  - {name: alice-elsewhere, user: alice, projects: [elsewhere]}
`

// TestTwineAndPip drives Debian's twine 4.0.2 and pip against the index:
// uploads with a minted and a static token, PyPI's failure lines, then a
// hash-checked install from the simple index.
func TestTwineAndPip(t *testing.T) {
	// Debian's twine: /usr/bin/twine, importable by /usr/bin/python3 (the
	// preludes below run its main).
	testenv.NeedPython(t, "apt-get install twine", "twine")
	iss := issuer.NewTestServer(t, issuer.Config{})
	f, err := indexconfig.Parse("clients.yaml", []byte(clientSetup))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []issuer.Kind{issuer.GitHub, issuer.GitLab, issuer.Google, issuer.ActiveState} {
		f.Issuers = append(f.Issuers, oidc.Issuer{URL: iss.Issuer(k), Service: string(k), Discovery: iss.DiscoveryURL(k)})
	}
	s, err := index.Start(index.Config{Setup: *f})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	repo := s.URL() + "/legacy/"

	// A minted token, through the exchange over HTTP.
	jwt, err := iss.Token(context.Background(), "pypi")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(s.URL()+"/_/oidc/mint-token", "application/json", strings.NewReader(`{"token": "`+jwt+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var minted struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&minted)
	resp.Body.Close()
	if !strings.HasPrefix(minted.Token, "pypi-") {
		t.Fatalf("mint: %s %+v", resp.Status, minted)
	}
	static := token(t, s, "alice-all")

	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	whlData, sdData := wheel("octo-repo", "1.0"), sdist("octo-repo", "1.0")
	whl := write("octo_repo-1.0-py3-none-any.whl", whlData)
	sd := write("octo_repo-1.0.tar.gz", sdData)
	up := func(tok string, extra ...string) []string {
		return append([]string{"upload", "--non-interactive", "--disable-progress-bar", "--repository-url", repo, "-u", "__token__", "-p", tok}, extra...)
	}

	t.Run("minted token uploads a wheel", func(t *testing.T) {
		if code, out := twineRun(t, "", up(minted.Token, whl)...); code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
	t.Run("static token uploads an sdist", func(t *testing.T) {
		if code, out := twineRun(t, "", up(static, sd)...); code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})

	other := wheel("octo-repo", "1.00") // same filename, other bytes
	clash := filepath.Join(t.TempDir(), "octo_repo-1.0-py3-none-any.whl")
	os.WriteFile(clash, other, 0o644)
	exists := "File already exists ('octo_repo-1.0-py3-none-any.whl', with blake2_256 hash '" + blake(other) + "'). See https://pypi.org/help/#file-name-reuse for more information."
	failures := []struct {
		name, prelude string
		args          []string
		lines         []string
	}{
		{"file already exists", "", up(static, clash), []string{"HTTPError: 400 Bad Request from " + repo, exists}},
		{"invalid auth", "", up("pypi-garbage", whl), []string{"HTTPError: 403 Forbidden from " + repo,
			"Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information."}},
		{"wrong-project token", "", up(token(t, s, "alice-elsewhere"), whl), []string{"HTTPError: 403 Forbidden from " + repo,
			"Invalid API Token: project-scoped token is not valid for project: 'octo-repo'"}},
		// twine hashes the file itself; the prelude makes it announce a
		// wrong sha256 (Debian's twine code does everything else).
		{"digest mismatch", "import twine.package as p\n_md = p.PackageFile.metadata_dictionary\np.PackageFile.metadata_dictionary = lambda self: {**_md(self), 'sha256_digest': '0' * 64}",
			up(static, write("octo_repo-1.1-py3-none-any.whl", wheel("octo-repo", "1.1"))),
			[]string{"HTTPError: 400 Bad Request from " + repo, "The digest supplied does not match a digest calculated from the uploaded file."}},
	}
	for _, c := range failures {
		t.Run(c.name, func(t *testing.T) {
			code, out := twineRun(t, c.prelude, c.args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, out)
			}
			if !containsLines(out, c.lines) {
				t.Fatalf("output lacks consecutive lines %q\n%s", c.lines, out)
			}
		})
	}
	t.Run("skip-existing", func(t *testing.T) {
		code, out := twineRun(t, "", up(static, "--skip-existing", clash)...)
		if code != 0 || !strings.Contains(out, "Skipping octo_repo-1.0-py3-none-any.whl because it appears to already exist") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})

	t.Run("pip installs with hash checking", func(t *testing.T) {
		testenv.NeedPython(t, "apt-get install python3-pip", "pip")
		req := write("requirements.txt", []byte("octo-repo==1.0 --hash=sha256:"+sha256hex(whlData)+" --hash=sha256:"+sha256hex(sdData)+"\n"))
		target := filepath.Join(dir, "site")
		cmd := exec.Command("/usr/bin/python3", "-m", "pip", "install", "--no-deps", "--require-hashes", "--only-binary", ":all:",
			"--index-url", s.URL()+"/simple/", "--target", target, "-r", req)
		cmd.Env = clientEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("pip: %v\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(target, "octo_repo", "__init__.py")); err != nil {
			t.Fatalf("package not installed: %v\n%s", err, out)
		}
	})
}

// containsLines reports whether want appear as consecutive lines of out
// (each line may carry a log-level prefix such as "ERROR    ").
func containsLines(out string, want []string) bool {
	lines := strings.Split(out, "\n")
	for i := range lines {
		ok := i+len(want) <= len(lines)
		for j := 0; ok && j < len(want); j++ {
			l := strings.TrimRight(lines[i+j], " ")
			ok = l == want[j] || strings.HasSuffix(l, " "+want[j])
		}
		if ok {
			return true
		}
	}
	return false
}
