package pages_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/fakepypi/fakepypi/internal/testenv"
	"github.com/fakepypi/fakepypi/pypitest"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "rewrite docs/screenshots/*.png from the pages")

// ghActionBlock is what gh-action-pypi-publish's oidc-exchange.py writes
// to the step summary when PyPI refuses the token (_RENDERED_CLAIMS),
// for a run of carol/debugme's publish.yml in no environment.
const ghActionBlock = `Token request failed: the server refused the request for the following reasons:

* ` + "`invalid-publisher`" + `: valid token, but no corresponding publisher (Publisher with matching claims was not found)

This generally indicates a trusted publisher configuration error, but could
also indicate an internal error on GitHub or PyPI's part.


The claims rendered below are **for debugging purposes only**. You should **not**
use them to configure a trusted publisher unless they already match your expectations.

If a claim is not present in the claim set, then it is rendered as ` + "`MISSING`" + `.

* ` + "`sub`: `repo:carol/debugme:ref:refs/tags/v1.0`" + `
* ` + "`repository`: `carol/debugme`" + `
* ` + "`repository_owner`: `carol`" + `
* ` + "`repository_owner_id`: `4242`" + `
* ` + "`job_workflow_ref`: `carol/debugme/.github/workflows/publish.yml@refs/tags/v1.0`" + `
* ` + "`ref`: `refs/tags/v1.0`" + `

See https://docs.pypi.org/trusted-publishers/troubleshooting/ for more help.
`

// demoWheel is demo 1.0 with a Markdown description, a licence
// expression and a Python requirement, so its page has them all.
func demoWheel() []byte {
	return pypitest.Wheel("demo", "1.0", pypitest.DistOptions{Metadata: []string{
		"License: MIT",
		"Requires-Python: >=3.9",
		"Project-URL: Source, https://github.com/octo-org/octo-repo",
		"Classifier: Programming Language :: Python :: 3",
		"Description-Content-Type: text/markdown",
		"",
		"# demo",
		"",
		"A *small* package, published by **trusted publishing** to fakepypi.",
		"",
		"```",
		"pip install demo",
		"```",
	}})
}

var publishOnce sync.Once

// publishDemo uploads demo 1.0 once to the shared harness with twine,
// through the proxy, as a GitHub job with trusted publishing would, and
// returns the "View at:" URL twine prints.
func publishDemo(t *testing.T, h *pypitest.Harness) string {
	t.Helper()
	twine := testenv.NeedCommand(t, "twine", "apt-get install twine")
	var url string
	var err error
	publishOnce.Do(func() {
		dir := t.TempDir()
		if err = os.WriteFile(filepath.Join(dir, pypitest.WheelFilename("demo", "1.0")), demoWheel(), 0o644); err != nil {
			return
		}
		token := h.PublishToken()
		cmd := exec.Command(twine, "upload", "--non-interactive", "--disable-progress-bar",
			"--repository-url", "https://upload.pypi.org/legacy/", filepath.Join(dir, "demo-1.0-py3-none-any.whl"))
		cmd.Env = append(h.Environ(os.Environ()), "TWINE_USERNAME=__token__", "TWINE_PASSWORD="+token, "NO_COLOR=1")
		var out []byte
		out, err = cmd.CombinedOutput()
		if err != nil {
			t.Logf("twine: %s", out)
			return
		}
		plain := regexp.MustCompile("\x1b\\[[0-9;?]*[A-Za-z]").ReplaceAll(out, nil) // rich's colours
		m := regexp.MustCompile(`View at:\s+(\S+)`).FindSubmatch(plain)
		if m == nil {
			t.Logf("twine: %s", out)
			err = io.ErrUnexpectedEOF
			return
		}
		viewAt = string(m[1])
	})
	if err != nil {
		t.Fatalf("twine upload: %v", err)
	}
	url = viewAt
	if url == "" {
		t.Fatal("demo was not published (an earlier test failed to)")
	}
	return url
}

var viewAt string

// TestBrowserViewAt follows twine's "View at:" link through the proxy,
// as a person would after a publish, then the links on the page.
func TestBrowserViewAt(t *testing.T) {
	tb := newTab(t)
	_, h := startBrowser(t)
	url := publishDemo(t, h)
	if url != "https://pypi.org/project/demo/1.0/" {
		t.Fatalf("twine printed View at: %s", url)
	}
	tb.open(url)
	if got := tb.title(); got != "demo · PyPI" {
		t.Errorf("title %q, want %q", got, "demo · PyPI")
	}
	if got := tb.text("h1"); got != "demo 1.0" {
		t.Errorf("h1 %q", got)
	}
	if got := tb.text(".description"); !strings.Contains(got, "A small package, published by trusted publishing to fakepypi.") {
		t.Errorf("description not rendered: %q", got)
	}
	if got := tb.eval(`document.querySelector(".description strong").innerText`); got != "trusted publishing" {
		t.Errorf("markdown bold rendered as %q", got)
	}
	side := tb.text("aside")
	for _, want := range []string{"MIT", "Python >=3.9", "Programming Language :: Python :: 3", "Source", "demo-owner", "1 trusted publisher"} {
		if !strings.Contains(side, want) {
			t.Errorf("sidebar lacks %q:\n%s", want, side)
		}
	}
	files := tb.text("#files ~ .file, .file")
	if !strings.Contains(files, "demo-1.0-py3-none-any.whl") {
		t.Errorf("files: %q", files)
	}
	// The three digests, as the JSON API has them.
	var doc struct {
		URLs []struct {
			Digests map[string]string `json:"digests"`
		} `json:"urls"`
	}
	getJSON(t, h.Client(), "https://pypi.org/pypi/demo/1.0/json", &doc)
	hashes := tb.eval(`document.querySelector(".hashes").textContent`)
	for _, k := range []string{"sha256", "md5", "blake2b_256"} {
		if d := doc.URLs[0].Digests[k]; d == "" || !strings.Contains(hashes, d) {
			t.Errorf("hash %s %q not on the page:\n%s", k, d, hashes)
		}
	}
	// The download link is the file on files.pythonhosted.org.
	if href := tb.eval(`document.querySelector(".file a.name").href`); !strings.HasPrefix(href, "https://files.pythonhosted.org/packages/") {
		t.Errorf("file link %s", href)
	}
	// Release history, then the publishing settings.
	if got := tb.text(".releases li.current"); !strings.Contains(got, "1.0") || !strings.Contains(got, "This release") {
		t.Errorf("release history: %q", got)
	}
	tb.click(`a[href="/manage/project/demo/settings/publishing/"]`)
	tb.waitLocation("/settings/publishing/")
	if got := tb.title(); got != "Trusted Publisher Management · PyPI" {
		t.Errorf("settings title %q", got)
	}
	if got := tb.text("#publishers"); !strings.Contains(got, "octo-org/octo-repo") || !strings.Contains(got, "release.yml") || !strings.Contains(got, "(Any)") {
		t.Errorf("publishers table: %q", got)
	}
	// The project URL without its slash, and in another spelling.
	tb.open("https://pypi.org/project/DEMO")
	if got := tb.location(); got != "https://pypi.org/project/demo/" {
		t.Errorf("redirected to %s", got)
	}
	// A link from PyPI's upload messages.
	tb.open("https://pypi.org/help/#file-name-reuse")
	if got := tb.text("#file-name-reuse h3"); !strings.Contains(got, "Filename or contents already exists") {
		t.Errorf("#file-name-reuse: %q", got)
	}
	savePage(t, tb, "project", "https://pypi.org/project/demo/")
}

// TestBrowserDashboard: a refused mint appears live on the open
// dashboard; its page shows the claims beside the closest publisher with
// the differing field highlighted, and a scenario to download.
func TestBrowserDashboard(t *testing.T) {
	tb := newTab(t)
	_, h := startBrowser(t)
	tb.open(direct(h) + "/_fake/")
	if got := tb.title(); got != "Dashboard · fakepypi" {
		t.Errorf("title %q", got)
	}
	// A job running publish.yml instead of release.yml: the most common
	// mistake. The dashboard is already open; the row must arrive by itself.
	if err := h.SetContext("github.workflow_file", ".github/workflows/publish.yml"); err != nil {
		t.Fatal(err)
	}
	tok, err := h.OIDCToken("github", "pypi")
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Exchange(tok)
	if err != nil || len(res.Errors) != 1 || res.Errors[0].Code != "invalid-publisher" {
		t.Fatalf("exchange: %+v %v", res, err)
	}
	h.SetContext("github.workflow_file", ".github/workflows/release.yml")
	row := tb.waitText(".timeline", "Mint-token refused: invalid-publisher")
	if !strings.Contains(row, `workflow filename configured "release.yml", token's job_workflow_ref names "publish.yml"`) {
		t.Errorf("row without the difference: %q", row)
	}
	// The filter keeps only refusals.
	tb.do(chromedp.SetValue(chromedp.CSS("#outcome"), "error"))
	tb.click(`form.toolbar button[type=submit]`)
	tb.waitLocation("outcome=error")
	if got := tb.eval(`Array.from(document.querySelectorAll(".event")).map(e => e.dataset.outcome).join(",")`); got == "" || strings.Contains(got, "ok") {
		t.Errorf("filtered outcomes: %q", got)
	}
	savePage(t, tb, "dashboard", direct(h)+"/_fake/")
	tb.open(direct(h) + "/_fake/?kind=mint&outcome=error")
	tb.click(`.event.error a[href^="/_fake/events/"]`)
	tb.waitLocation("/_fake/events/")
	if got := tb.text("h1"); got != "Mint-token refused: invalid-publisher" {
		t.Errorf("event h1 %q", got)
	}
	diff := tb.eval(`Array.from(document.querySelectorAll("#compare tr.differs")).map(r => r.dataset.field + ":" + Array.from(r.querySelectorAll("mark")).map(m => m.innerText).join("|")).join(";")`)
	if diff != "workflow_filename:release.yml|publish.yml" {
		t.Errorf("highlighted differences: %q", diff)
	}
	if same := tb.eval(`Array.from(document.querySelectorAll("#compare tr.same")).map(r => r.dataset.field).join(",")`); !strings.Contains(same, "owner,repository") {
		t.Errorf("matching rows: %q", same)
	}
	if got := tb.text("#verdict"); !strings.Contains(got, "valid token, but no corresponding publisher (Publisher with matching claims was not found)") {
		t.Errorf("verdict: %q", got)
	}
	eventURL := tb.location()
	savePage(t, tb, "event", eventURL)
	href := tb.eval(`document.querySelector("#scenario").href`)
	if !strings.HasSuffix(href, "/scenario.txtar") {
		t.Fatalf("scenario link %q", href)
	}
	txt := get(t, h.Client(), href)
	for _, want := range []string{"workflow_file=.github/workflows/publish.yml", "! mint", "-- .pypi/config.yaml --", "workflow_filename: release.yml"} {
		if !strings.Contains(txt, want) {
			t.Errorf("scenario lacks %q:\n%s", want, txt)
		}
	}
	// The token the attempt presented, one click away.
	tb.open(eventURL)
	tb.click(`a[href^="/_fake/events/"]:not([href$=".txtar"])`)
	tb.waitText("h1", "OIDC token issued")
	if got := tb.text("h1"); !strings.Contains(got, "OIDC token issued (GitHub") {
		t.Errorf("token event: %q", got)
	}
}

// TestBrowserDebugger pastes gh-action-pypi-publish's claims block, reads
// the verdict and the highlighted differences, replaces the closest
// publisher from the page (through the control plane) and sees the same
// claims accepted.
func TestBrowserDebugger(t *testing.T) {
	tb := newTab(t)
	_, h := startBrowser(t)
	restorePublishers(t, h)
	tb.open(direct(h) + "/_fake/debugger")
	tb.do(chromedp.SetValue(chromedp.CSS("#input"), ghActionBlock))
	tb.click(`#debug-form button[type=submit]`)
	tb.waitLocation("input=")
	verdict := tb.text("#verdict")
	if !strings.Contains(verdict, "PyPI would refuse these claims: invalid-publisher.") {
		t.Fatalf("verdict: %q", verdict)
	}
	// The same job's real token, exchanged: the debugger must show its bytes.
	for k, v := range map[string]string{"repository": "carol/debugme", "owner_id": "4242", "workflow_file": ".github/workflows/publish.yml", "ref": "refs/tags/v1.0"} {
		if err := h.SetContext("github."+k, v); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := h.OIDCToken("github", "pypi")
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Exchange(tok)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"repository", "owner_id", "workflow_file", "ref"} {
		h.SetContext("github."+k, "")
	}
	want := string(res.Body)
	if !strings.Contains(want, "Publisher with matching claims was not found") {
		t.Fatalf("the real exchange answered %s", want)
	}
	if got := tb.text("#pypi-answer"); got != want {
		t.Errorf("answer\n got %s\nwant %s", got, want)
	}
	diff := tb.eval(`Array.from(document.querySelectorAll("#compare tr.differs")).map(r => r.dataset.field).join(",")`)
	if diff != "workflow_filename,environment" {
		t.Errorf("differing fields: %q", diff)
	}
	if got := tb.text("#claims"); !strings.Contains(got, "carol/debugme") || !strings.Contains(got, "assumed") {
		t.Errorf("claims table: %q", got)
	}
	savePage(t, tb, "debugger", "")
	// Replace the closest publisher with one the claims match.
	tb.do(chromedp.Click(chromedp.CSS(`#save-publisher`)))
	tb.waitText("#verdict", "PyPI would mint a token")
	var pubs []map[string]any
	getJSON(t, h.Client(), direct(h)+"/_fake/publishers", &pubs)
	found := false
	for _, p := range pubs {
		if p["repository"] == "debugme" {
			found = p["workflow_filename"] == "publish.yml" && p["environment"] == nil
		}
	}
	if !found {
		t.Errorf("publisher not replaced: %v", pubs)
	}
}

// TestBrowserControlToken: with a control token, a browser opens the
// dashboard once with ?token=, keeps the cookie, sees live updates and
// saves from the debugger; without it, the pages are refused.
func TestBrowserControlToken(t *testing.T) {
	tb := newTab(t)
	h := pypitest.New(t, pypitest.WithControlToken("s3cret-token"))
	base := direct(h)
	resp, err := http.Get(base + "/_fake/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dashboard without the token: %d", resp.StatusCode)
	}
	tb.open(base + "/_fake/?token=s3cret-token")
	if got := tb.location(); got != base+"/_fake/" {
		t.Errorf("not redirected without the token: %s", got)
	}
	h.PublishToken()
	tb.waitText(".timeline", "GitHub token exchanged for an API token")
	tb.open(base + "/_fake/debugger?input=" + strings.ReplaceAll(`{"iss":"https://token.actions.githubusercontent.com","repository":"octo-org/other","repository_owner":"octo-org","repository_owner_id":"1","job_workflow_ref":"octo-org/other/.github/workflows/release.yml@refs/heads/main","jti":"x","event_name":"push","ref":"refs/heads/main","sha":"abc"}`, "#", "%23"))
	tb.waitText("#verdict", "invalid-publisher")
	tb.do(chromedp.Click(chromedp.CSS(`#save-publisher`)))
	tb.waitText("#verdict", "PyPI would mint a token")
}

// TestBrowserPages opens the remaining pages and checks what they say.
func TestBrowserPages(t *testing.T) {
	tb := newTab(t)
	_, h := startBrowser(t)
	tb.open(direct(h) + "/")
	if got := tb.text("h1"); !strings.Contains(got, "an offline PyPI for trusted publishing") {
		t.Errorf("landing h1 %q", got)
	}
	if env := tb.text("#env-block"); !strings.Contains(env, "export GITHUB_REPOSITORY='octo-org/octo-repo'") || strings.Contains(env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN='0") {
		t.Errorf("landing env: %q", env)
	}
	savePage(t, tb, "landing", "")
	tb.click(`a.button[href="/_fake/debugger"]`)
	tb.waitLocation("/_fake/debugger")
	if got := tb.title(); got != "Claims debugger · fakepypi" {
		t.Errorf("debugger title %q", got)
	}
	tb.open("https://pypi.org/help/")
	if got := tb.title(); got != "Help · PyPI" {
		t.Errorf("help title %q", got)
	}
	for _, a := range []string{"file-name-reuse", "invalid-auth", "trusted-publishers", "apitoken", "project-name",
		"verified-email", "two-factor-authentication", "twofa", "admin-intervention", "description-content-type", "yanked"} {
		if tb.eval(`String(document.getElementById("`+a+`") !== null)`) != "true" {
			t.Errorf("/help/ has no #%s", a)
		}
	}
	savePage(t, tb, "help", "")
	tb.open("https://pypi.org/manage/account/publishing/")
	if got := tb.text("#pending"); !strings.Contains(got, "newthing") || !strings.Contains(got, "my-group/newthing") {
		t.Errorf("pending publishers: %q", got)
	}
	tb.open("http://" + strings.TrimPrefix(h.IssuerURL(), "https://") + "/")
	if got := tb.text("h1"); !strings.Contains(got, "the CI side of trusted publishing") {
		t.Errorf("issuer landing h1 %q", got)
	}
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, b)
	}
	return string(b)
}

func getJSON(t *testing.T, c *http.Client, url string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(get(t, c, url)), v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// savePage checks that the page rendered (a screenshot with more than a
// blank page's colours) and, with -update-screenshots, writes it to
// docs/screenshots/NAME.png.
func savePage(t *testing.T, tb *tab, name, url string) {
	t.Helper()
	if url != "" && tb.location() != url {
		tb.open(url)
	}
	shot := tb.screenshot()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", name, err)
	}
	colours := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[r>>8<<16|g>>8<<8|bl>>8] = true
		}
	}
	if len(colours) < 20 || b.Dy() < 400 {
		t.Errorf("%s looks blank: %d colours, %dx%d", name, len(colours), b.Dx(), b.Dy())
	}
	if *updateScreenshots {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", name+".png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func urlQuery(s string) string { return url.QueryEscape(s) }

// direct is the index's direct listener over plain HTTP (the same port
// speaks both), which the browser needs no certificate for.
// restorePublishers puts the shared harness's publishers back as they
// are now when t ends, for a test that changes them through a page: the
// next test (or the next run under -count) starts from sharedConfig again.
func restorePublishers(t *testing.T, h *pypitest.Harness) {
	t.Helper()
	var before []json.RawMessage
	getJSON(t, h.Client(), direct(h)+"/_fake/publishers", &before)
	t.Cleanup(func() {
		var after []json.RawMessage
		getJSON(t, h.Client(), direct(h)+"/_fake/publishers", &after)
		id := func(raw json.RawMessage) string {
			var p struct {
				ID string `json:"id"`
			}
			json.Unmarshal(raw, &p)
			return p.ID
		}
		had, has := map[string]bool{}, map[string]bool{}
		for _, p := range before {
			had[id(p)] = true
		}
		for _, p := range after {
			has[id(p)] = true
			if !had[id(p)] {
				controlJSON(t, h, http.MethodDelete, "/_fake/publishers/"+id(p), nil, http.StatusNoContent)
			}
		}
		for _, p := range before {
			if !has[id(p)] {
				controlJSON(t, h, http.MethodPost, "/_fake/publishers", p, http.StatusOK)
			}
		}
	})
}

// controlJSON sends body (if any) to the shared harness's control plane
// and fails t unless the answer has status want.
func controlJSON(t *testing.T, h *pypitest.Harness, method, path string, body []byte, want int) {
	t.Helper()
	req, err := http.NewRequest(method, direct(h)+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s\n%s", method, path, resp.Status, b)
	}
}

func direct(h *pypitest.Harness) string {
	return "http://" + strings.TrimPrefix(h.IndexURL(), "https://")
}
