package pages_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/internal/harness"
	"github.com/fakepypi/fakepypi/internal/pages"
	"github.com/fakepypi/fakepypi/pypitest"
)

// fetch GETs url without following redirects.
func fetch(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	nc := *c
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := nc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var titleRE = regexp.MustCompile(`<title>([^<]*)</title>`)

func title(body string) string {
	m := titleRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestRedirectsAndReleases: Warehouse's redirects and release selection,
// a yanked release's marks, a pre-release not chosen for the project page.
func TestRedirectsAndReleases(t *testing.T) {
	h := pypitest.New(t)
	token := h.PublishToken()
	for _, v := range []string{"1.0", "1.1", "2.0b1"} {
		if res, err := h.Upload(token, pypitest.WheelFilename("demo", v), pypitest.Wheel("demo", v)); err != nil || res.Status != 200 {
			t.Fatalf("upload %s: %v %v", v, res, err)
		}
	}
	c, base := h.Client(), h.IndexURL()
	req, _ := http.NewRequest(http.MethodPost, base+"/_fake/projects/demo/releases/1.1/yank", strings.NewReader(`{"reason": "broken wheel"}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := c.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("yank: %v %v", resp, err)
	}
	for path, want := range map[string]string{
		"/project/Demo/":       "/project/demo/",
		"/project/demo":        "/project/demo/",
		"/project/demo/1.0.0/": "/project/demo/1.0/",
		"/project/DEMO/1.0.0/": "/project/demo/1.0/",
		"/project/demo/1.0":    "/project/demo/1.0/",
		"/p/demo/":             "/project/demo/",
		"/pypi/demo/":          "/project/demo/",
		"/pypi/demo/1.0/":      "/project/demo/1.0/",
		"/help":                "/help/",
		"/manage/project/DEMO/settings/publishing/": "/manage/project/demo/settings/publishing/",
	} {
		resp, _ := fetch(t, c, base+path)
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != base+want {
			t.Errorf("%s: %d Location %q, want 301 %s", path, resp.StatusCode, resp.Header.Get("Location"), base+want)
		}
	}
	// The project page shows 1.0: 1.1 is yanked, 2.0b1 a pre-release.
	resp, body := fetch(t, c, base+"/project/demo/")
	if resp.StatusCode != 200 || title(body) != "demo · PyPI" || !strings.Contains(body, "<h1>demo 1.0</h1>") {
		t.Fatalf("project page: %d %q", resp.StatusCode, title(body))
	}
	if !strings.Contains(body, `href="/help/#yanked">Yanked</a>`) || !strings.Contains(body, "<strong>Yanked reason:</strong> broken wheel") ||
		!strings.Contains(body, `href="/help/#pre-release-versioning">Pre-release</a>`) {
		t.Errorf("release history lacks the yanked and pre-release marks:\n%s", body)
	}
	_, body = fetch(t, c, base+"/project/demo/1.1/")
	if !strings.Contains(body, `id="yanked-status"`) || !strings.Contains(body, "broken wheel") || !strings.Contains(body, `href="/project/demo/1.0/">release 1.0</a>`) {
		t.Errorf("yanked release page:\n%s", body)
	}
	_, body = fetch(t, c, base+"/project/demo/2.0b1/")
	if !strings.Contains(body, "pip install demo==2.0b1") {
		t.Errorf("pre-release page without its pinned pip command")
	}
	for _, path := range []string{"/project/nothing/", "/project/demo/9.9/", "/manage/project/nothing/settings/publishing/"} {
		if resp, body := fetch(t, c, base+path); resp.StatusCode != 404 || !strings.Contains(title(body), "404") {
			t.Errorf("%s: %d %q", path, resp.StatusCode, title(body))
		}
	}
	// An event that does not exist, and one that cannot be replayed.
	if resp, _ := fetch(t, c, base+"/_fake/events/999"); resp.StatusCode != 404 {
		t.Errorf("/_fake/events/999: %d", resp.StatusCode)
	}
	// The event as JSON.
	req, _ = http.NewRequest(http.MethodGet, base+"/_fake/events/2", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Seq  int64  `json:"seq"`
		Kind string `json:"kind"`
	}
	json.NewDecoder(resp.Body).Decode(&ev)
	resp.Body.Close()
	if ev.Seq != 2 || ev.Kind != "mint" {
		t.Errorf("event 2 as JSON: %+v", ev)
	}
}

// TestTestPyPIPages: through the proxy, test.pypi.org serves TestPyPI's
// pages from its own index, and the dashboard's partial rows.
func TestTestPyPIPages(t *testing.T) {
	h, err := harness.Start(harness.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	c := h.Client()
	resp, body := fetch(t, c, "https://test.pypi.org/help/")
	if resp.StatusCode != 200 || title(body) != "Help · TestPyPI" {
		t.Errorf("test.pypi.org/help/: %d %q", resp.StatusCode, title(body))
	}
	resp, body = fetch(t, c, "https://pypi.org/help/")
	if resp.StatusCode != 200 || title(body) != "Help · PyPI" {
		t.Errorf("pypi.org/help/: %d %q", resp.StatusCode, title(body))
	}
	// / of PyPI's hosts is not the harness's landing page.
	if resp, _ := fetch(t, c, "https://pypi.org/"); resp.StatusCode != 404 {
		t.Errorf("pypi.org/: %d", resp.StatusCode)
	}
	if resp, _ := fetch(t, c, "https://token.actions.githubusercontent.com/"); resp.StatusCode != 404 {
		t.Errorf("token.actions.githubusercontent.com/: %d", resp.StatusCode)
	}
	// The dashboard's live rows: an HTML fragment and the last sequence.
	resp, body = fetch(t, c, h.IndexURL()+"/_fake/?partial=1&after=0")
	if resp.StatusCode != 200 || resp.Header.Get("X-Fakepypi-Last-Seq") == "" || strings.Contains(body, "<html") {
		t.Errorf("partial: %d %q %q", resp.StatusCode, resp.Header.Get("X-Fakepypi-Last-Seq"), body)
	}
}

// TestDebuggerForms: the three inputs the debugger reads.
func TestDebuggerForms(t *testing.T) {
	for _, tc := range []struct {
		in, form string
		claims   map[string]string
	}{
		{ghActionBlock, "gh-action claims block", map[string]string{"repository": "carol/debugme", "ref": "refs/tags/v1.0"}},
		// The ::error:: annotation: newlines are %0A.
		{"::error::Trusted publishing exchange failure: %0A* `repository`: `a/b`%0A* `repository_owner_id`: `MISSING`%0A", "gh-action claims block", map[string]string{"repository": "a/b"}},
		{`{"iss": "https://gitlab.com", "project_path": "g/p"}`, "json", map[string]string{"project_path": "g/p"}},
		{"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "jwt", map[string]string{"sub": "x"}},
	} {
		claims, form, _, err := pages.ParseClaims(tc.in)
		if err != nil || form != tc.form {
			t.Errorf("%.40q: form %q err %v", tc.in, form, err)
			continue
		}
		for k, v := range tc.claims {
			if claims[k] != v {
				t.Errorf("%.40q: %s = %v, want %s", tc.in, k, claims[k], v)
			}
		}
		if _, ok := claims["repository_owner_id"]; ok && strings.Contains(tc.in, "`repository_owner_id`: `MISSING`") {
			t.Errorf("%.40q: a MISSING claim was kept", tc.in)
		}
	}
	for _, bad := range []string{"", "hello", "{not json"} {
		if _, _, _, err := pages.ParseClaims(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestRenderDescription: the three content types PyPI renders.
func TestRenderDescription(t *testing.T) {
	for _, tc := range []struct{ text, ct, want string }{
		{"# Title\n\nSome *emphasis* and `code`.", "text/markdown", "<h1>Title</h1>\n<p>Some <em>emphasis</em> and <code>code</code>.</p>\n"},
		{"<script>alert(1)</script>\n\nok", "text/markdown", "<!-- raw HTML omitted -->\n<p>ok</p>\n"},
		{"a < b", "text/plain", "<pre>a &lt; b</pre>"},
		{"Title\n=====\n\nSee ``pip install x`` and `docs <https://example.com>`_.\n\n- one\n- two\n\nExample::\n\n    code here\n", "",
			"<h2>Title</h2>\n<p>See <code>pip install x</code> and <a href=\"https://example.com\" rel=\"nofollow\">docs</a>.</p>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n<p>Example:</p>\n<pre>code here</pre>\n"},
		{"`x <javascript:alert(1)>`_", "text/x-rst", "<p>x</p>\n"},
	} {
		if got := string(pages.RenderDescription(tc.text, tc.ct)); got != tc.want {
			t.Errorf("%q (%s):\n got %q\nwant %q", tc.text, tc.ct, got, tc.want)
		}
	}
	if got := pages.FileSize(1234); got != "1.2 kB" {
		t.Errorf("FileSize(1234) = %q", got)
	}
}

// TestInForce: the dashboard names the faults, flags and clock changes
// that bend the answers, the index's and the issuer's.
func TestInForce(t *testing.T) {
	h := pypitest.New(t)
	c := h.Client()
	_, body := fetch(t, c, h.IndexURL()+"/_fake/")
	if !strings.Contains(body, "Nothing bends the answers now") {
		t.Errorf("a fresh harness shows something in force")
	}
	if err := h.SetIndexFaults("upload", "status:503"); err != nil {
		t.Fatal(err)
	}
	if err := h.SetFaults("expired"); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, h.IndexURL()+"/_fake/flags", strings.NewReader(`{"read-only": true}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := c.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("flags: %v %v", resp, err)
	}
	h.AdvanceClock(16 * 60 * 1e9)
	_, body = fetch(t, c, h.IndexURL()+"/_fake/")
	for _, want := range []string{"index fault on upload: every request status:503", "admin flag: read-only", "CI issuer: every token expired", "clock moved by 16m"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard does not say %q", want)
		}
	}
}
