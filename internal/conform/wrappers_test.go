package conform

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fakepypi/fakepypi/internal/testenv"
)

const wrappers = "../../conformance/wrappers"

// The GitHub Action cannot run here; what can: its metadata parses, has
// the entrypoint input, and its shell step, run as the runner would run
// it (inputs in the environment), builds fakeindex and runs the suite.
func TestActionRunStep(t *testing.T) {
	testenv.Slow(t) // builds fakeindex
	b, err := os.ReadFile("../../conformance/action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Inputs map[string]struct {
			Required bool   `yaml:"required"`
			Default  string `yaml:"default"`
		} `yaml:"inputs"`
		Runs struct {
			Using string `yaml:"using"`
			Steps []struct {
				Uses  string            `yaml:"uses"`
				Shell string            `yaml:"shell"`
				Env   map[string]string `yaml:"env"`
				Run   string            `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(b, &action); err != nil {
		t.Fatal(err)
	}
	if !action.Inputs["entrypoint"].Required || action.Runs.Using != "composite" {
		t.Fatalf("action: %+v", action)
	}
	var script string
	var env map[string]string
	for _, s := range action.Runs.Steps {
		if s.Run != "" {
			script, env = s.Run, s.Env
		}
	}
	if env["INPUT_ENTRYPOINT"] != "${{ inputs.entrypoint }}" || env["FAKEPYPI_SRC"] != "${{ github.action_path }}/.." {
		t.Fatalf("step env %v", env)
	}
	root, _ := filepath.Abs("../..")
	tmp := t.TempDir()
	runStep := func(entry string) (string, error) {
		cmd := exec.Command("bash", "-c", script)
		cmd.Dir = tmp // the workspace
		cmd.Env = append(os.Environ(), "FAKEPYPI_SRC="+root, "RUNNER_TEMP="+tmp, "INPUT_ENTRYPOINT="+entry,
			"INPUT_ARGS=--quiet --run ^(upload-wheel|meta-strings)$", "INPUT_JUNIT=report.xml", "INPUT_OUT=transcripts",
			"PATH="+filepath.Join(runtime.GOROOT(), "bin")+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	up := referenceUploader(t)
	if out, err := runStep(up); err != nil || !strings.Contains(out, "2 cases: 2 passed") {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(tmp, "report.xml")); err != nil {
		t.Errorf("no JUnit report: %v", err)
	}
	out, err := runStep(up + " --defect=drop-field")
	if err == nil || !strings.Contains(out, "meta-strings") {
		t.Fatalf("a failing case did not fail the step: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(tmp, "transcripts", "meta-strings.txtar")); err != nil {
		t.Errorf("no transcript: %v", err)
	}
}

// The wrappers of uploaders that cannot be installed here (uv, hatch,
// pdm, maturin) are checked for what they hand to the tool: a stand-in
// on PATH records its arguments and credentials.
func TestUnrunWrappersMapTheProtocol(t *testing.T) {
	bin := t.TempDir()
	for _, tool := range []string{"uv", "hatch", "pdm", "maturin"} {
		stub := "#!/bin/sh\n{ echo \"ARGS $*\"; env | grep -E '^(UV_|HATCH_|PDM_|MATURIN_)' | sort; } > \"$STUB_OUT\"\n"
		os.WriteFile(filepath.Join(bin, tool), []byte(stub), 0o755)
	}
	files := []string{"/d/x-1.0-py3-none-any.whl", "/d/x-1.0.tar.gz"}
	for _, tc := range []struct {
		tool  string
		flags []string
		want  []string
	}{
		{"uv", nil, []string{"ARGS publish --no-attestations --trusted-publishing never --publish-url https://upload.pypi.org/legacy/ /d/x-1.0-py3-none-any.whl /d/x-1.0.tar.gz",
			"UV_PUBLISH_USERNAME=__token__", "UV_PUBLISH_PASSWORD=pypi-tok", "UV_HTTP_TIMEOUT=7"}},
		{"uv", []string{"--skip-existing", "--trusted-publishing", "--attestations"}, []string{
			"ARGS publish --check-url https://pypi.org/simple/ --trusted-publishing always --publish-url https://upload.pypi.org/legacy/ /d/x-1.0-py3-none-any.whl /d/x-1.0.tar.gz /d/x-1.0-py3-none-any.whl.publish.attestation /d/x-1.0.tar.gz.publish.attestation"}},
		{"hatch", []string{"--skip-existing"}, []string{"ARGS publish --no-prompt --repo https://upload.pypi.org/legacy/ /d/x-1.0-py3-none-any.whl /d/x-1.0.tar.gz",
			"HATCH_INDEX_USER=__token__", "HATCH_INDEX_AUTH=pypi-tok", "HATCH_INDEX_CA_CERT=/ca.pem"}},
		{"maturin", []string{"--skip-existing"}, []string{"ARGS upload --non-interactive --repository-url https://upload.pypi.org/legacy/ --skip-existing /d/x-1.0-py3-none-any.whl /d/x-1.0.tar.gz",
			"MATURIN_USERNAME=__token__", "MATURIN_PASSWORD=pypi-tok"}},
		{"maturin", []string{"--trusted-publishing"}, []string{"ARGS upload --non-interactive --repository-url https://upload.pypi.org/legacy/ /d/x-1.0-py3-none-any.whl /d/x-1.0.tar.gz"}},
	} {
		out := filepath.Join(t.TempDir(), "out")
		args := append(append([]string{"upload", "--repository-url", "https://upload.pypi.org/legacy/"}, tc.flags...), files...)
		cmd := exec.Command(filepath.Join(wrappers, tc.tool), args...)
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "STUB_OUT=" + out, "FAKEPYPI_USERNAME=__token__",
			"FAKEPYPI_PASSWORD=pypi-tok", "FAKEPYPI_TIMEOUT=7", "FAKEPYPI_CA_BUNDLE=/ca.pem", "MATURIN_PYPI_TOKEN=leaked"}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s %v: %v\n%s", tc.tool, tc.flags, err, b)
			continue
		}
		got, _ := os.ReadFile(out)
		for _, w := range tc.want {
			if !strings.Contains(string(got), w+"\n") {
				t.Errorf("%s %v: want %q in\n%s", tc.tool, tc.flags, w, got)
			}
		}
		if tc.tool == "maturin" && strings.Contains(string(got), "leaked") {
			t.Errorf("maturin wrapper passed an inherited MATURIN_PYPI_TOKEN on")
		}
		if strings.Contains(strings.Join(tc.flags, " "), "trusted") && strings.Contains(string(got), "pypi-tok") {
			t.Errorf("%s: credentials given to a trusted-publishing run:\n%s", tc.tool, got)
		}
	}
	// pdm copies the files into a project; check the command only.
	out := filepath.Join(t.TempDir(), "out")
	dist := t.TempDir()
	f := filepath.Join(dist, "x-1.0.tar.gz")
	os.WriteFile(f, []byte("x"), 0o644)
	cmd := exec.Command(filepath.Join(wrappers, "pdm"), "upload", "--repository-url", "https://test.pypi.org/legacy/", "--skip-existing", f)
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "STUB_OUT=" + out, "FAKEPYPI_USERNAME=__token__", "FAKEPYPI_PASSWORD=pypi-tok", "FAKEPYPI_CA_BUNDLE=/ca.pem"}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pdm: %v\n%s", err, b)
	}
	got, _ := os.ReadFile(out)
	if !regexp.MustCompile(`ARGS publish --no-build --project \S+ --dest dist --repository https://test.pypi.org/legacy/ --ca-certs /ca.pem --skip-existing\n`).Match(got) ||
		!strings.Contains(string(got), "PDM_PUBLISH_PASSWORD=pypi-tok\n") {
		t.Errorf("pdm:\n%s", got)
	}
	// A flag the tool cannot honour is refused, not ignored.
	for _, tc := range [][]string{{"hatch", "--trusted-publishing"}, {"pdm", "--attestations"}, {"flit", "--skip-existing"}, {"poetry", "--trusted-publishing"}} {
		cmd := exec.Command(filepath.Join(wrappers, tc[0]), "upload", "--repository-url", "https://upload.pypi.org/legacy/", tc[1], "/d/x-1.0.tar.gz")
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "STUB_OUT=" + out, "FAKEPYPI_PYTHON=/usr/bin/python3"}
		if err := cmd.Run(); err == nil {
			t.Errorf("%s accepted %s", tc[0], tc[1])
		}
	}
}

// The wrappers of the clients installed here, one case each; the whole
// matrix is conformance/matrix.sh's (a .ci/run step).
func TestInstalledClientWrappers(t *testing.T) {
	for _, tc := range []struct{ tool, hint string }{
		{"twine", "apt-get install twine"}, {"flit", "apt-get install flit"}, {"poetry", "apt-get install python3-poetry"},
	} {
		t.Run(tc.tool, func(t *testing.T) {
			t.Parallel()
			testenv.NeedCommand(t, tc.tool, tc.hint)
			// A generous deadline: Python clients start slowly on a loaded machine.
			rep, err := Run(context.Background(), Options{Entrypoint: []string{filepath.Join(wrappers, tc.tool)},
				Run: regexp.MustCompile(`^upload-sdist-and-wheel$`), Timeout: 2 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			expectFailures(t, rep, nil)
		})
	}
}
