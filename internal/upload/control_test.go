package upload_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/index"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
)

func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if method != "GET" && method != "HEAD" {
		req.Header.Set("Content-Type", "application/json") // the control plane takes JSON writes only
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestControlAndEvents: an upload shows in the read APIs, yank/unyank and
// delete work at runtime under /_fake/, and /_fake/events tells the story.
func TestControlAndEvents(t *testing.T) {
	s, _ := newIndex(t, testSetup)
	alice := basic(token(t, s, "alice-all"))
	whl := wheel("demo", "1.0")
	if st, _ := send(t, s.URL()+"/legacy/", alice, uploadForm("demo", "1.0", "demo-1.0-py3-none-any.whl", whl)); st != okStatus {
		t.Fatal(st)
	}
	code, body := call(t, "GET", s.URL()+"/simple/demo/", "")
	if code != 200 || !strings.Contains(body, "demo-1.0-py3-none-any.whl#sha256="+sha256hex(whl)) || !strings.Contains(body, "data-dist-info-metadata") {
		t.Fatalf("simple: %d %s", code, body)
	}
	if code, _ := call(t, "POST", s.URL()+"/_fake/projects/demo/releases/1.0/yank", `{"reason": "broken"}`); code != 200 {
		t.Fatalf("yank: %d", code)
	}
	if _, body := call(t, "GET", s.URL()+"/simple/demo/", ""); !strings.Contains(body, `data-yanked="broken"`) {
		t.Fatalf("not yanked: %s", body)
	}
	if code, _ := call(t, "POST", s.URL()+"/_fake/projects/demo/releases/1.0/unyank", ""); code != 200 {
		t.Fatalf("unyank: %d", code)
	}
	if code, _ := call(t, "DELETE", s.URL()+"/_fake/projects/demo/files/demo-1.0-py3-none-any.whl", ""); code != 200 {
		t.Fatalf("delete file: %d", code)
	}
	st, _ := send(t, s.URL()+"/legacy/", alice, uploadForm("demo", "1.0", "demo-1.0-py3-none-any.whl", whl))
	if !strings.HasPrefix(st, "400 This filename was previously used") {
		t.Fatalf("re-upload after delete: %s", st)
	}

	_, body = call(t, "GET", s.URL()+"/_fake/events?kind=upload", "")
	var evs struct {
		Events []struct {
			Verdict, Message string
			Status           int
			Details          struct {
				Step, Identity, User, Token, Filename string
				Fields                                map[string][]string
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &evs); err != nil || len(evs.Events) != 2 {
		t.Fatalf("events: %v %s", err, body)
	}
	ok, bad := evs.Events[0], evs.Events[1]
	if ok.Verdict != "ok" || ok.Details.Step != "31 stored" || ok.Details.Identity != "user" || ok.Details.User != "alice" ||
		ok.Details.Token != "alice-all" || ok.Details.Fields["name"][0] != "demo" || ok.Details.Filename != "demo-1.0-py3-none-any.whl" {
		t.Errorf("ok event: %+v", ok)
	}
	if bad.Verdict != "error" || bad.Status != 400 || bad.Details.Step != "22 deleted filename" || !strings.HasPrefix(bad.Message, "This filename") {
		t.Errorf("error event: %+v", bad)
	}
}

// TestDataDirSurvivesRestart: files and catalog come back from disk.
func TestDataDirSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	f, _ := indexconfig.Parse("t.yaml", []byte(testSetup))
	start := func() *index.Server {
		clk := clock.NewFake(t0)
		cat, blobs, err := index.OpenData(dir, clk)
		if err != nil {
			t.Fatal(err)
		}
		setup := *f // its projects exist on disk after the first run
		s, err := index.Start(index.Config{Setup: setup, Clock: clk, Catalog: cat, Blobs: blobs})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := start()
	whl := wheel("demo", "1.0")
	if st, _ := send(t, s.URL()+"/legacy/", basic(token(t, s, "alice-all")), uploadForm("demo", "1.0", "demo-1.0-py3-none-any.whl", whl)); st != okStatus {
		t.Fatal(st)
	}
	s.Close()
	s = start()
	defer s.Close()
	_, body := call(t, "GET", s.URL()+"/simple/demo/", "")
	i := strings.Index(body, `href="`)
	if i < 0 {
		t.Fatalf("no link: %s", body)
	}
	href := body[i+6:]
	href = href[:strings.IndexAny(href, `#"`)]
	code, got := call(t, "GET", href, "")
	if code != 200 || got != string(whl) {
		t.Fatalf("file after restart: %d, %d bytes", code, len(got))
	}
}
