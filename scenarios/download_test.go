package scenarios_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/fakepypi/fakepypi/pypitest"
)

// TestDownloadedScenarios makes events happen on a harness (a refused and
// an accepted mint, an accepted and a refused upload), downloads the
// scenario the dashboard offers for each, and runs it: each must repeat
// its event's verdict against a fresh harness.
func TestDownloadedScenarios(t *testing.T) {
	h := pypitest.New(t)
	// 1. A job running publish.yml: PyPI refuses the token.
	if err := h.SetContext("github.workflow_file", ".github/workflows/publish.yml"); err != nil {
		t.Fatal(err)
	}
	tok, err := h.OIDCToken("github", "pypi")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := h.Exchange(tok); err != nil || res.Success {
		t.Fatalf("exchange: %+v %v", res, err)
	}
	h.SetContext("github.workflow_file", ".github/workflows/release.yml")
	// 2. The right workflow: accepted. 3. Its upload: accepted.
	token := h.PublishToken()
	whl := pypitest.WheelFilename("demo", "1.0")
	if res, err := h.Upload(token, whl, pypitest.Wheel("demo", "1.0")); err != nil || res.Status != 200 {
		t.Fatalf("upload: %v %v", res, err)
	}
	// 4. A rebuilt file under the same name: File already exists.
	rebuilt := pypitest.Wheel("demo", "1.0", pypitest.DistOptions{Metadata: []string{"Keywords: rebuilt"}})
	if res, err := h.Upload(token, whl, rebuilt); err != nil || res.Status != 400 {
		t.Fatalf("second upload: %v %v", res, err)
	}
	want := map[string]string{ // event kind and verdict -> what the scenario asserts
		"mint error":   "! mint",
		"mint ok":      "\nmint\n",
		"upload ok":    "stdout '^200 OK$'",
		"upload error": "File already exists",
	}
	dir := t.TempDir()
	n := 0
	for _, e := range h.Events("") {
		key := e.Kind + " " + e.Verdict
		if e.Kind == "token" {
			continue
		}
		resp, err := h.Client().Get(h.IndexURL() + "/_fake/events/" + strconv.FormatInt(e.Seq, 10) + "/scenario.txtar")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("event %d (%s): %s\n%s", e.Seq, key, resp.Status, body)
		}
		if !strings.Contains(string(body), want[key]) {
			t.Errorf("event %d (%s): scenario lacks %q:\n%s", e.Seq, key, want[key], body)
		}
		name := strings.ReplaceAll(key, " ", "_") + "_" + strconv.FormatInt(e.Seq, 10) + ".txtar"
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 4 {
		t.Fatalf("%d scenarios downloaded, want 4", n)
	}
	p := params()
	p.Dir = dir
	testscript.Run(t, p)
}
