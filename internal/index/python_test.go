package index

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/internal/issuer"
	"github.com/fakepypi/fakepypi/internal/testenv"
)

// TestGHActionSequence runs the HTTP sequence of gh-action-pypi-publish's
// oidc-exchange.py with Debian's python3-requests against fakeissuer and
// fakeindex, and checks it sees PyPI's answers, errors included.
func TestGHActionSequence(t *testing.T) {
	py := testenv.NeedPython(t, "apt-get install python3-requests", "requests")
	iss, idx := startPair(t)
	run := func() (string, string, error) {
		cmd := exec.Command(py, "testdata/gh_action_exchange.py", idx.URL())
		cmd.Env = append(os.Environ(),
			"ACTIONS_ID_TOKEN_REQUEST_URL="+iss.RequestURL(),
			"ACTIONS_ID_TOKEN_REQUEST_TOKEN="+iss.RequestToken())
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	out, stderr, err := run()
	if err != nil || !strings.HasPrefix(out, "pypi-AgEIcHlwaS5vcmcCJ") {
		t.Fatalf("exchange failed: %v\nstdout %s\nstderr %s", err, out, stderr)
	}

	// A workflow-file mismatch: the client sees PyPI's 422 and reasons.
	f, _ := issuer.ParseFault("claim:job_workflow_ref=octo-org/octo-repo/.github/workflows/release.yaml@refs/heads/main")
	iss.QueueFaults(f)
	out, stderr, err = run()
	want := "* `invalid-publisher`: valid token, but no corresponding publisher (Publisher with matching claims was not found)"
	if err == nil || out != "" || !strings.Contains(stderr, want) || !strings.Contains(stderr, "STATUS 422") {
		t.Fatalf("mismatch run: %v\nstdout %s\nstderr %s", err, out, stderr)
	}

	// Trusted publishing disabled: the audience answers 403.
	idx.Flags.Set("disallow-oidc", true)
	_, stderr, err = run()
	if err == nil || !strings.Contains(stderr, "has trusted publishing disabled") {
		t.Fatalf("disabled run: %v\n%s", err, stderr)
	}
}
