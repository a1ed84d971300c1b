// Package scenarios runs scenarios/*.txtar with go-internal's testscript:
// each file reproduces one publish flow or one trust mistake against a
// fresh in-process fakepypi (fake CI issuer + fake PyPI), seeded from the
// archive's .pypi/ folder. docs/scenarios.md describes the format, the
// commands and how to run one scenario alone.
package scenarios_test

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/fakepypi/fakepypi/internal/controlplane"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/fakepypi/fakepypi/internal/testenv"
	"github.com/fakepypi/fakepypi/pypitest"
)

var update = flag.Bool("update", false, "rewrite cmp golden files inside the scenarios with actual output")

// binDir holds fakeindex and fakeissuer, built once per test binary so
// that scenarios can exec the real commands (and so that the standalone
// testscript command, which can only use $PATH, sees the same names).
var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "fakepypi-scenarios-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binDir = dir
	code := func() int {
		defer os.RemoveAll(dir)
		if err := buildCommands(dir); err != nil {
			fmt.Fprintln(os.Stderr, "scenarios:", err)
			return 2
		}
		return m.Run()
	}()
	os.Exit(code)
}

// buildCommands builds the harness binaries with the go command that runs
// this test; the build cache makes it a link step after the first run.
func buildCommands(dir string) error {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, name := range []string{"fakeindex", "fakeissuer"} {
		wg.Go(func() {
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), "github.com/fakepypi/fakepypi/cmd/"+name)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("go build %s: %v\n%s", name, err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func TestScenarios(t *testing.T) {
	testscript.Run(t, params())
}

// TestStandalone runs scenarios/standalone/*.txtar as the standalone
// testscript command would: no Setup harness, no custom commands, only the
// built binaries on PATH. It keeps the documented way of sharing a
// scenario with people who do not build this module's tests working.
func TestStandalone(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "standalone",
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", binDir+string(os.PathListSeparator)+env.Getenv("PATH"))
			return nil
		},
	})
}

func params() testscript.Params {
	return testscript.Params{
		Dir:                 ".",
		Setup:               setup,
		Cmds:                commands,
		Condition:           condition,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *update,
	}
}

// ciVarsEnv lists the CI job variables the last ci command (or Setup)
// exported.
const ciVarsEnv = "FAKEPYPI_CI_VARS"

// tKey finds the scenario's testscript.T, for require's skip.
type tKey struct{}

// harnessKey finds a scenario's harness in testscript's Values.
type harnessKey struct{}

func harnessOf(ts *testscript.TestScript) *pypitest.Harness {
	return ts.Value(harnessKey{}).(*pypitest.Harness)
}

// setup starts a fresh harness for one scenario, seeded from $WORK/.pypi:
//
//	.pypi/config.yaml             the index's setup (fakeindex --config format); default: the demo setup
//	.pypi/issuer.yaml             the issuer's configuration (fakeissuer format); default: its defaults
//	.pypi/files/PROJECT/FILENAME  files that exist before the scenario; an empty
//	                              wheel or sdist is built from its filename
//
// and exports the harness's environment (see docs/scenarios.md).
func setup(env *testscript.Env) error {
	pypi := filepath.Join(env.WorkDir, ".pypi")
	// Every scenario runs with a control token, so the http command (and
	// any script reading $FAKEPYPI_CONTROL_TOKEN) is known to send it.
	opts := []pypitest.Option{pypitest.WithLog(logWriter{env.T()}), pypitest.WithControlToken(controlplane.NewToken())}
	if p := filepath.Join(pypi, "config.yaml"); exists(p) {
		opts = append(opts, pypitest.WithConfigFile(p))
	}
	if p := filepath.Join(pypi, "issuer.yaml"); exists(p) {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		opts = append(opts, pypitest.WithIssuerConfig(string(b)))
	}
	h, err := pypitest.Start(opts...)
	if err != nil {
		return err
	}
	env.Defer(func() { h.Close() })
	env.Values[harnessKey{}] = h
	env.Values[tKey{}] = env.T()
	if err := seedFiles(h, filepath.Join(pypi, "files")); err != nil {
		return err
	}

	for _, kv := range h.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env.Setenv(k, v)
	}
	// The GitHub job variables Env exported, for the first ci command to
	// replace.
	gh, _, err := h.JobEnv("github", filepath.Join(env.WorkDir, ".runner"))
	if err != nil {
		return err
	}
	var names []string
	for _, kv := range gh {
		k, _, _ := strings.Cut(kv, "=")
		names = append(names, k)
	}
	env.Setenv(ciVarsEnv, strings.Join(names, " "))
	env.Setenv("PATH", binDir+string(os.PathListSeparator)+env.Getenv("PATH"))
	// examples/ (twine_attestations.py, the twine 6.1 --attestations shim).
	if ex, err := filepath.Abs(filepath.Join("..", "examples")); err == nil {
		env.Setenv("FAKEPYPI_EXAMPLES", ex)
	}
	env.Setenv("INDEX_URL", h.IndexURL())
	env.Setenv("UPLOAD_URL", h.UploadURL())
	env.Setenv("SIMPLE_URL", h.SimpleURL())
	env.Setenv("ISSUER_URL", h.IssuerURL())
	// Real clients: Debian's python3 (the one with twine, pip and build on
	// CI), no pip self-check or cache, no keyring prompts, and pip may
	// install into a --target directory despite PEP 668.
	env.Setenv("PYTHON", python())
	env.Setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
	env.Setenv("PIP_NO_CACHE_DIR", "1")
	env.Setenv("PIP_BREAK_SYSTEM_PACKAGES", "1")
	env.Setenv("PIP_NO_INPUT", "1")
	env.Setenv("PYTHONDONTWRITEBYTECODE", "1")
	env.Setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
	// twine logs through rich: no colour codes, and lines wide enough that
	// PyPI's messages are not wrapped, so scenarios can match them whole
	// (rich honours COLUMNS only with LINES set too).
	env.Setenv("NO_COLOR", "1")
	env.Setenv("COLUMNS", "400")
	env.Setenv("LINES", "50")
	return nil
}

// seedFiles adds every file under dir (dir/PROJECT/FILENAME) to the index.
func seedFiles(h *pypitest.Harness, dir string) error {
	projects, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		return err
	}
	for _, p := range projects {
		files, err := os.ReadDir(filepath.Join(dir, p.Name()))
		if err != nil {
			return err
		}
		for _, f := range files {
			content, err := os.ReadFile(filepath.Join(dir, p.Name(), f.Name()))
			if err != nil {
				return err
			}
			if len(content) == 0 {
				// A txtar cannot hold a zip conveniently: an empty
				// file stands for the dist pypitest builds.
				if content, err = buildDist(p.Name(), f.Name()); err != nil {
					return err
				}
			}
			if err := h.Seed(p.Name(), "", f.Name(), content); err != nil {
				return fmt.Errorf(".pypi/files/%s/%s: %w", p.Name(), f.Name(), err)
			}
		}
	}
	return nil
}

func buildDist(project, filename string) ([]byte, error) {
	_, version, err := pypitest.ParseFilename(filename)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(filename, ".whl") {
		return pypitest.Wheel(project, version), nil
	}
	return pypitest.Sdist(project, version), nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// python is the interpreter real-client scenarios run: Debian's, where
// twine, pip and build are installed, in preference to one a version
// manager put first on PATH.
func python() string {
	if exists(testenv.Python) {
		return testenv.Python
	}
	if p, err := exec.LookPath("python3"); err == nil {
		return p
	}
	return "python3"
}

// logWriter sends the harness's log lines to the scenario's log, shown
// when it fails or with -v.
type logWriter struct{ t testscript.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// clients are the real clients scenarios may need, with how to tell they
// are usable.
var clients = map[string][]string{
	"twine": {"twine", "--version"},
	"pip":   {python(), "-m", "pip", "--version"},
	"build": {python(), "-c", "import build"},
	// python -m build --no-isolation builds with the installed setuptools
	// (Debian's python3-pip depends on it), since CI has no network.
	"setuptools": {python(), "-c", "import setuptools, wheel"},
	"requests":   {python(), "-c", "import requests"},
}

var clientOK sync.Map // name -> error

func clientAvailable(name string) (bool, error) {
	argv, ok := clients[name]
	if !ok {
		return false, fmt.Errorf("unknown client %q (want one of twine, pip, build, setuptools, requests)", name)
	}
	v, _ := clientOK.LoadOrStore(name, sync.OnceValue(func() error {
		return exec.Command(argv[0], argv[1:]...).Run()
	}))
	return v.(func() error)() == nil, nil
}

// condition adds [client:NAME]: the real client is installed. Under CI=true
// a missing client is an error, so client scenarios cannot silently skip
// there. [slow] holds under CI=true or FAKEPYPI_SLOW=1 (testenv.Slow's
// rule): "[!slow] skip" keeps a scenario of many seconds out of a
// laptop's go test ./....
func condition(cond string) (bool, error) {
	if cond == "slow" {
		return testenv.SlowEnabled(), nil
	}
	name, ok := strings.CutPrefix(cond, "client:")
	if !ok {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	ok, err := clientAvailable(name)
	if err == nil && !ok && testenv.OnCI() {
		return false, fmt.Errorf("CI=true but the real client %s is not installed", name)
	}
	return ok, err
}

// decodeClaims renders a JWT's payload as indented JSON (keys sorted), so
// scenarios can match claims with stdout.
func decodeClaims(jwt string) (string, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("not a JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return "", err
	}
	out, err := json.MarshalIndent(m, "", "  ")
	return string(out), err
}
