package pages_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/internal/testenv"
	"github.com/fakepypi/fakepypi/pypitest"
)

// strictParse runs html5lib's parser in strict mode on each file given:
// it raises on the first parse error of the WHATWG HTML algorithm
// (misnested or unclosed elements, bad attributes, stray end tags, a
// missing doctype...). It is Debian's python3-html5lib, offline.
const strictParse = `
import sys, html5lib
bad = 0
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        data = f.read()
    try:
        html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(data)
    except html5lib.html5parser.ParseError as e:
        bad += 1
        print(f"{path}: {e}")
sys.exit(1 if bad else 0)
`

var idAttr = regexp.MustCompile(`\sid="([^"]+)"`)

// TestHTMLValid fetches every kind of page and checks its HTML with
// html5lib in strict mode, and that no id appears twice.
func TestHTMLValid(t *testing.T) {
	py := testenv.NeedPython(t, "apt-get install python3-html5lib", "html5lib")
	h := pypitest.New(t, pypitest.WithConfig(sharedConfig))
	token := h.PublishToken()
	if res, err := h.Upload(token, pypitest.WheelFilename("demo", "1.0"), demoWheel()); err != nil || res.StatusLine() != "200 OK" {
		t.Fatalf("upload: %v %v", res, err)
	}
	h.SetContext("github.workflow_file", ".github/workflows/publish.yml")
	tok, _ := h.OIDCToken("github", "pypi")
	h.Exchange(tok)
	pages := map[string]string{
		"landing":          "/",
		"project":          "/project/demo/",
		"release":          "/project/demo/1.0/",
		"publishing":       "/manage/project/demo/settings/publishing/",
		"account":          "/manage/account/publishing/",
		"help":             "/help/",
		"dashboard":        "/_fake/",
		"dashboard-filter": "/_fake/?kind=mint&outcome=error",
		"event-token":      "/_fake/events/1",
		"event-mint":       "/_fake/events/2",
		"event-upload":     "/_fake/events/3",
		"event-refused":    "/_fake/events/5",
		"debugger":         "/_fake/debugger",
		"debugger-block":   "/_fake/debugger?input=" + urlQuery(ghActionBlock),
		"debugger-error":   "/_fake/debugger?input=nonsense",
		"notfound":         "/project/nothing/",
		"issuer":           "ISSUER/",
	}
	dir := t.TempDir()
	var files []string
	for name, path := range pages {
		url := h.IndexURL() + path
		if p, ok := strings.CutPrefix(path, "ISSUER"); ok {
			url = h.IssuerURL() + p
		}
		resp, err := h.Client().Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", name, ct)
		}
		seen := map[string]bool{}
		for _, m := range idAttr.FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Errorf("%s: id %q appears twice", name, m[1])
			}
			seen[m[1]] = true
		}
		f := filepath.Join(dir, name+".html")
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	out, err := exec.Command(py, append([]string{"-c", strictParse}, files...)...).CombinedOutput()
	if err != nil {
		t.Errorf("html5lib (strict) found errors:\n%s", out)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}
