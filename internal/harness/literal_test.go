package harness

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/fakepypi/fakepypi/internal/apitoken"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/testenv"
)

// realToken builds a token in the shape PyPI or TestPyPI issues, with a
// key the harness never sees.
func realToken(t *testing.T, location string, caveats ...string) string {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	tok, err := apitoken.Mint(location, uuid.New(), key, caveats...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestLiteralTokensThroughProxy: a publishing tool's own test suite that
// embeds real tokens (one for PyPI, user-scoped; one for TestPyPI,
// scoped to a project) runs unchanged: Debian's twine uploads with them,
// through the proxy, to https://upload.pypi.org/legacy/ and with
// -r testpypi, and each lands on the index that issued its token. One
// configuration holds both; the TestPyPI project the token names exists
// there, owned by the token's user.
func TestLiteralTokensThroughProxy(t *testing.T) {
	twine := testenv.NeedCommand(t, "twine", "apt-get install twine")
	userID, projectID := uuid.NewString(), uuid.NewString()
	pypiTok := realToken(t, "pypi.org", fmt.Sprintf(`[3,"%s"]`, userID))
	testTok := realToken(t, "test.pypi.org", `[1,["sample-lib"]]`, fmt.Sprintf(`[2,["%s"]]`, projectID))
	setup, err := indexconfig.Parse("suite.yaml", []byte(fmt.Sprintf(`
users: [{name: carla}]
tokens:
  - {user: carla, value: %s}
  - {user: carla, value: %s}
`, pypiTok, testTok)))
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, Options{Setup: setup, NoIssuer: true})
	dir := t.TempDir()
	upload := func(whl string, args ...string) string {
		t.Helper()
		p := filepath.Join(dir, whl)
		name, version, _ := strings.Cut(strings.TrimSuffix(whl, "-py3-none-any.whl"), "-")
		os.WriteFile(p, buildWheel(t, name, version), 0o644)
		stdout, stderr, err := runEnv(t, h, dir, twine, append(append([]string{"upload", "--non-interactive", "--disable-progress-bar"}, args...), p)...)
		if err != nil {
			t.Fatalf("twine %v: %v\n%s%s", args, err, stdout, stderr)
		}
		return stdout + stderr
	}
	upload("carla_lib-1.0-py3-none-any.whl", "-u", "__token__", "-p", pypiTok)
	if _, ok := h.Index().Catalog.Project("carla-lib"); !ok {
		t.Error("carla-lib not on PyPI")
	}
	out := upload("sample_lib-2.0-py3-none-any.whl", "-r", "testpypi", "-u", "__token__", "-p", testTok)
	p, ok := h.TestIndex().Catalog.Project("sample-lib")
	if !ok || len(p.Releases) != 1 || p.ID.String() != projectID || !strings.Contains(out, "test.pypi.org") {
		t.Errorf("sample-lib on TestPyPI: %+v\n%s", p, out)
	}
	if _, ok := h.Index().Catalog.Project("sample-lib"); ok {
		t.Error("TestPyPI's project also on PyPI")
	}
	// The TestPyPI token, sent to PyPI, is PyPI's invalid-auth.
	p2 := filepath.Join(dir, "sample_lib-3.0-py3-none-any.whl")
	os.WriteFile(p2, buildWheel(t, "sample_lib", "3.0"), 0o644)
	stdout, stderr, err := runEnv(t, h, dir, twine, "upload", "--non-interactive", "--disable-progress-bar", "-u", "__token__", "-p", testTok, p2)
	if err == nil || !strings.Contains(stdout+stderr, "Invalid or non-existent authentication information") {
		t.Errorf("TestPyPI's token on PyPI: %v\n%s%s", err, stdout, stderr)
	}
}
