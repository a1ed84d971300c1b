package pages_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/fakepypi/fakepypi/internal/testenv"
	"github.com/fakepypi/fakepypi/pypitest"
)

// One Chromium per test binary, started by the first browser test and
// shared by all of them (each test gets its own tab and browser context,
// so cookies do not leak between tests), and one harness with the proxy
// that it browses PyPI's host names through. Chromium trusts exactly the
// certificates that harness's CA issued for pypi.org: the test fetches
// them first with a client that trusts only that CA, and pins their keys.
var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel context.CancelFunc = func() {}
	browserErr    error
	shared        *pypitest.Harness
)

// Deadlines. Each is for one step, never a test's whole run: on a loaded
// machine (load average 10–25 on 2 cores) the same steps take several
// times as long (TestBrowserDashboard alone, Chromium's start included:
// 5.6 s quiet, 16–22 s beside 12 CPU hogs, 36–45 s beside 24 at load
// average 26), so one budget for all of a test's steps (it was 60 s), or
// chromedp's default 20 s for Chromium to print its DevTools address,
// runs out although nothing is wrong. A step that is really stuck still
// fails, after stepTimeout.
const (
	// startTimeout bounds Chromium's start (chromedp's WSURLReadTimeout).
	startTimeout = 2 * time.Minute
	// stepTimeout bounds one browser action (a navigation, a click, an
	// evaluation), and a wait for the page to show something.
	stepTimeout = time.Minute
)

func TestMain(m *testing.M) {
	code := m.Run()
	browserCancel()
	if shared != nil {
		shared.Close()
	}
	os.Exit(code)
}

// sharedConfig is the shared harness's index: the demo project, and
// others that tests change without disturbing each other.
const sharedConfig = `
users: [{name: demo-owner}, {name: carol}]
projects:
  - {name: demo, owners: [demo-owner]}
  - {name: debugme, owners: [carol]}
publishers:
  - {service: github, owner: octo-org, repository: octo-repo, workflow_filename: release.yml, projects: [demo]}
  - {service: github, owner: carol, repository: debugme, workflow_filename: release.yml, environment: pypi, projects: [debugme]}
pending_publishers:
  - {service: gitlab, namespace: my-group, project: newthing, workflow_filepath: .gitlab-ci.yml, project_name: newthing}
`

func startBrowser(t *testing.T) (context.Context, *pypitest.Harness) {
	t.Helper()
	path := testenv.NeedCommand(t, "chromium", "apt-get install chromium")
	browserOnce.Do(func() {
		var err error
		if shared, err = pypitest.Start(pypitest.WithProxy(), pypitest.WithConfig(sharedConfig)); err != nil {
			browserErr = err
			return
		}
		var proxy string
		for _, kv := range shared.Env() {
			if v, ok := strings.CutPrefix(kv, "HTTPS_PROXY="); ok {
				proxy = v
			}
		}
		leaf, err := fetchLeaf(shared.Client(), "https://pypi.org/help/")
		if err != nil {
			browserErr = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.WSURLReadTimeout(startTimeout),
			chromedp.NoSandbox, // CI runs as root
			chromedp.Headless,
			chromedp.DisableGPU,
			chromedp.WindowSize(1280, 900),
			chromedp.Flag("hide-scrollbars", true),
			// PyPI's host names through the harness's proxy; 127.0.0.1
			// (the direct listeners) bypasses it, as Chromium does for
			// loopback.
			chromedp.ProxyServer(proxy),
			chromedp.Flag("ignore-certificate-errors-spki-list", spkiPin(leaf)),
		)
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(actx)
		browserCancel = func() { cancel(); acancel() }
		browserCtx = ctx
		browserErr = chromedp.Do(ctx) // starts the browser
	})
	if browserErr != nil {
		t.Fatalf("chromium: %v", browserErr)
	}
	return browserCtx, shared
}

// tab is one browser tab of a test: its own browser context (cookies),
// optionally behind a proxy, with the page's console errors collected.
// Each of its actions gets its own stepTimeout.
type tab struct {
	t      *testing.T
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func newTab(t *testing.T) *tab {
	t.Helper()
	b, _ := startBrowser(t)
	tb := &tab{t: t}
	ctx, cancel := chromedp.NewContext(b, chromedp.WithNewBrowserContext(), chromedp.WithListener(tb.listen))
	t.Cleanup(cancel)
	tb.ctx = ctx
	// The tab opens without a deadline: chromedp binds a tab's life to
	// the context of its first Run, so the steps' deadlines below must
	// come from contexts derived after it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("new tab: %v", err)
	}
	t.Cleanup(tb.checkConsole)
	return tb
}

// listen records what a person would see in the console as an error.
func (tb *tab) listen(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
			msg = "console." + string(e.Type)
			for _, a := range e.Args {
				msg += " " + string(a.Value)
			}
		}
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
			msg = "log " + string(e.Entry.Level) + ": " + e.Entry.Text + " " + e.Entry.URL
		}
	}
	if msg != "" {
		tb.mu.Lock()
		tb.errors = append(tb.errors, msg)
		tb.mu.Unlock()
	}
}

func (tb *tab) checkConsole() {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, e := range tb.errors {
		tb.t.Errorf("browser console: %s", e)
	}
}

// step is a context for one action of the tab, ending after stepTimeout.
func (tb *tab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(tb.ctx, stepTimeout)
}

func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

func (tb *tab) open(url string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body")))
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return mustRun(tb, "text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

func (tb *tab) eval(js string) string {
	tb.t.Helper()
	return mustRun(tb, "evaluate "+js, chromedp.Evaluate[string](js))
}

func (tb *tab) title() string {
	tb.t.Helper()
	return mustRun(tb, "title", chromedp.Title())
}

func (tb *tab) location() string {
	tb.t.Helper()
	return mustRun(tb, "location", chromedp.Location())
}

// run performs one action in the tab within its own stepTimeout.
func run[T any](tb *tab, a chromedp.Action[T]) (T, error) {
	ctx, cancel := tb.step()
	defer cancel()
	return chromedp.Run(ctx, a)
}

// mustRun is run, failing the test on an error; what names the action.
func mustRun[T any](tb *tab, what string, a chromedp.Action[T]) T {
	tb.t.Helper()
	v, err := run(tb, a)
	if err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// click follows a link or presses a button a person would, then waits
// for the next page.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.do(chromedp.Click(chromedp.CSS(sel)), chromedp.WaitReady(chromedp.CSS("body")))
}

// waitText waits until sel's text contains want.
func (tb *tab) waitText(sel, want string) string {
	tb.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	var last string
	for time.Now().Before(deadline) {
		s, err := run(tb, chromedp.Evaluate[string](fmt.Sprintf(
			`(function(){var e=document.querySelector(%q);return e?e.innerText:""})()`, sel)))
		if err == nil && strings.Contains(s, want) {
			return s
		}
		last = s
		time.Sleep(100 * time.Millisecond)
	}
	tb.t.Fatalf("%s never showed %q; last: %q", sel, want, last)
	return ""
}

// waitLocation waits until the page's URL contains want.
func (tb *tab) waitLocation(want string) {
	tb.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		if strings.Contains(tb.location(), want) {
			tb.do(chromedp.WaitReady(chromedp.CSS("body")))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.t.Fatalf("location never reached %q: %s", want, tb.location())
}

func (tb *tab) screenshot() []byte {
	tb.t.Helper()
	return mustRun(tb, "screenshot", chromedp.FullScreenshot(100))
}

// spkiPin is Chromium's --ignore-certificate-errors-spki-list form of a
// certificate's key: base64(sha256(SubjectPublicKeyInfo)).
func spkiPin(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// fetchLeaf fetches url with the harness's client (through the proxy,
// trusting only the harness CA) and returns the leaf it verified.
func fetchLeaf(client *http.Client, url string) (*x509.Certificate, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return nil, fmt.Errorf("GET %s: no TLS", url)
	}
	return resp.TLS.PeerCertificates[0], nil
}
