package index

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/events"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/indexfault"
)

// faultServer is an index listening on loopback, for faults that only
// show on the wire (resets, delays, reason phrases).
func faultServer(t *testing.T) *Server {
	t.Helper()
	ti := newTestIssuer(t)
	s, _ := newTestServer(t, ti, testSetup)
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type wireAnswer struct {
	status int
	ctype  string
	body   string
}

func send(t *testing.T, c *http.Client, method, url, body string) (wireAnswer, error) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	jsonWrite(req)
	resp, err := c.Do(req)
	if err != nil {
		return wireAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return wireAnswer{}, err
	}
	return wireAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}, nil
}

func mustSend(t *testing.T, method, url, body string) wireAnswer {
	t.Helper()
	a, err := send(t, http.DefaultClient, method, url, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return a
}

// control calls /_fake/faults and fails the test unless it answers want.
func control(t *testing.T, s *Server, method, body string, want int) string {
	t.Helper()
	a := mustSend(t, method, s.URL()+"/_fake/faults", body)
	if a.status != want {
		t.Fatalf("%s /_fake/faults %s: %d %s, want %d", method, body, a.status, a.body, want)
	}
	return a.body
}

func faultEvents(s *Server) []events.Event {
	return s.Events.List(events.Filter{Kind: events.KindFault})
}

func TestFaultsNoneSetChangesNothing(t *testing.T) {
	s := faultServer(t)
	if a := mustSend(t, "GET", s.URL()+"/_/oidc/audience", ""); a.status != 200 || a.body != `{"audience":"pypi"}` {
		t.Fatalf("audience without faults: %d %q", a.status, a.body)
	}
	// Setting then clearing leaves no trace either.
	control(t, s, "PUT", `{"endpoint": "audience", "faults": ["status:503"]}`, 200)
	control(t, s, "DELETE", "", 200)
	if a := mustSend(t, "GET", s.URL()+"/_/oidc/audience", ""); a.status != 200 || a.body != `{"audience":"pypi"}` {
		t.Fatalf("audience after DELETE: %d %q", a.status, a.body)
	}
	if evs := faultEvents(s); len(evs) != 0 {
		t.Fatalf("fault events with no fault set: %+v", evs)
	}
}

func TestFaultStickyStatusOnAudience(t *testing.T) {
	s := faultServer(t)
	got := control(t, s, "PUT", `{"endpoint": "audience", "faults": ["status:503"]}`, 200)
	want := "{\n  \"sticky\": [\n    {\n      \"endpoint\": \"audience\",\n      \"faults\": [\n        \"status:503\"\n      ]\n    }\n  ],\n  \"queued\": []\n}\n"
	if got != want {
		t.Fatalf("PUT answer:\n%s\nwant:\n%s", got, want)
	}
	for i := range 2 { // sticky: every request
		a := mustSend(t, "GET", s.URL()+"/_/oidc/audience", "")
		if a.status != 503 || !strings.HasPrefix(a.ctype, "text/html") || !strings.Contains(a.body, "<title>503 Service Unavailable</title>") {
			t.Fatalf("request %d: %d %s %q", i, a.status, a.ctype, a.body)
		}
		if json.Valid([]byte(a.body)) {
			t.Fatalf("a 5xx page must not be JSON: %q", a.body)
		}
	}
	// Other endpoints are untouched.
	if a := mustSend(t, "POST", s.URL()+"/_/oidc/mint-token", `{}`); a.status != 422 {
		t.Fatalf("mint-token under an audience fault: %d %q", a.status, a.body)
	}
	evs := faultEvents(s)
	if len(evs) != 2 {
		t.Fatalf("fault events: %+v", evs)
	}
	e := evs[0]
	d := e.Details.(map[string]any)
	if e.Verdict != "injected" || e.Status != 503 || e.Code != "status:503" || e.Why != "sticky for audience" ||
		e.Message != "503 Service Unavailable (HTML)" || d["endpoint"] != "audience" || d["path"] != "/_/oidc/audience" || d["method"] != "GET" {
		t.Fatalf("event: %+v", e)
	}
}

func TestFaultQueuedCountOnMintToken(t *testing.T) {
	s := faultServer(t)
	control(t, s, "POST", `{"endpoint": "mint-token", "faults": ["no-value"], "count": 2}`, 200)
	if st := s.Faults.State(); len(st.Queued) != 2 || len(st.Sticky) != 0 {
		t.Fatalf("state after queuing 2: %+v", st)
	}
	// An audience request does not consume the mint-token entries.
	if a := mustSend(t, "GET", s.URL()+"/_/oidc/audience", ""); a.status != 200 {
		t.Fatalf("audience: %d", a.status)
	}
	for _, path := range []string{"/_/oidc/mint-token", "/_/oidc/github/mint-token"} {
		a := mustSend(t, "POST", s.URL()+path, `{"token": "x"}`)
		if a.status != 200 || a.body != `{"success":true}` || a.ctype != "application/json" {
			t.Fatalf("%s: %d %s %q", path, a.status, a.ctype, a.body)
		}
	}
	// The third is PyPI's own answer again.
	a := mustSend(t, "POST", s.URL()+"/_/oidc/mint-token", `{"token": "x"}`)
	if a.status != 422 || a.body != wantError("invalid-payload", "malformed JWT") {
		t.Fatalf("after the queue: %d %q", a.status, a.body)
	}
	if evs := faultEvents(s); len(evs) != 2 || evs[0].Why != "queued for mint-token" || evs[1].Details.(map[string]any)["path"] != "/_/oidc/github/mint-token" {
		t.Fatalf("events: %+v", evs)
	}
}

func TestFaultNonJSONAndNoValueOnAudience(t *testing.T) {
	s := faultServer(t)
	control(t, s, "POST", `{"endpoint": "audience", "faults": ["non-json"]}`, 200)
	control(t, s, "POST", `{"endpoint": "audience", "faults": ["no-value"]}`, 200)
	a := mustSend(t, "GET", s.URL()+"/_/oidc/audience", "")
	if a.status != 200 || !strings.HasPrefix(a.ctype, "text/html") || json.Valid([]byte(a.body)) {
		t.Fatalf("non-json: %d %s %q", a.status, a.ctype, a.body)
	}
	a = mustSend(t, "GET", s.URL()+"/_/oidc/audience", "")
	if a.status != 200 || a.body != `{}` {
		t.Fatalf("no-value: %d %q", a.status, a.body)
	}
}

func TestFaultStatusOnUploadStoresNothing(t *testing.T) {
	c := startCtl(t)
	control(t, c.s, "PUT", `{"endpoint": "upload", "faults": ["status:500"]}`, 200)
	tok, _ := c.s.Token("alice-all")
	// twine prints `Received "500: Internal Server Error"`: the standard phrase.
	if _, status := c.upload(tok, "sampleproject", "1.0"); status != "500 Internal Server Error" {
		t.Fatalf("status line %q", status)
	}
	if evs := c.s.Events.List(events.Filter{Kind: events.KindUpload}); len(evs) != 0 {
		t.Fatalf("the upload reached PyPI's handler: %+v", evs)
	}
	if a := mustSend(t, "GET", c.url+"/simple/sampleproject/", ""); a.status != 200 || strings.Contains(a.body, "sampleproject-1.0") {
		t.Fatalf("file stored despite the fault: %d\n%s", a.status, a.body)
	}
	// Cleared, the same upload goes through.
	control(t, c.s, "DELETE", "", 200)
	if _, status := c.upload(tok, "sampleproject", "1.0"); status != "200 OK" {
		t.Fatalf("upload without fault: %q", status)
	}
}

func TestFaultDelayBeyondClientTimeout(t *testing.T) {
	s := faultServer(t)
	control(t, s, "POST", `{"endpoint": "mint-token", "faults": ["delay:400ms"]}`, 200)
	impatient := &http.Client{Timeout: 100 * time.Millisecond}
	start := time.Now()
	_, err := send(t, impatient, "POST", s.URL()+"/_/oidc/mint-token", `{"token": "x"}`)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("want a client timeout, got %v", err)
	}
	if e := time.Since(start); e > 2*time.Second {
		t.Fatalf("timed out after %s", e)
	}
	// The entry was one-shot: the next request is answered at once.
	a, err := send(t, impatient, "POST", s.URL()+"/_/oidc/mint-token", `{"token": "x"}`)
	if err != nil || a.status != 422 {
		t.Fatalf("after the delay: %v %+v", err, a)
	}
	if evs := faultEvents(s); len(evs) != 1 || evs[0].Code != "delay:400ms" || evs[0].Message != "after 400ms: PyPI's answer" {
		t.Fatalf("events: %+v", evs)
	}
}

func TestFaultDelayThenStatus(t *testing.T) {
	s := faultServer(t)
	control(t, s, "POST", `{"endpoint": "audience", "faults": ["delay:150ms", "status:504"]}`, 200)
	start := time.Now()
	a := mustSend(t, "GET", s.URL()+"/_/oidc/audience", "")
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("answered after %s, want at least 150ms", el)
	}
	if a.status != 504 || !strings.Contains(a.body, "504 Gateway Timeout") {
		t.Fatalf("%d %q", a.status, a.body)
	}
}

func TestFaultClearEndsDelay(t *testing.T) {
	s := faultServer(t)
	control(t, s, "PUT", `{"endpoint": "audience", "faults": ["delay:1m"]}`, 200)
	done := make(chan wireAnswer, 1)
	go func() {
		a, _ := send(t, http.DefaultClient, "GET", s.URL()+"/_/oidc/audience", "")
		done <- a
	}()
	for deadline := time.Now().Add(5 * time.Second); len(faultEvents(s)) == 0; { // until the request is being held
		if time.Now().After(deadline) {
			t.Fatal("the delay fault was never applied")
		}
		time.Sleep(5 * time.Millisecond)
	}
	control(t, s, "DELETE", "", 200)
	select {
	case a := <-done:
		if a.status != 200 || a.body != `{"audience":"pypi"}` {
			t.Fatalf("after DELETE: %+v", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("DELETE /_fake/faults did not end the delay")
	}
}

func TestFaultResetPlainAndTLS(t *testing.T) {
	s, _ := newTestServer(t, newTestIssuer(t), testSetup)
	for _, useTLS := range []bool{false, true} {
		srv := httptest.NewUnstartedServer(s)
		client := http.DefaultClient
		if useTLS {
			srv.StartTLS()
			client = srv.Client()
		} else {
			srv.Start()
		}
		if err := s.Faults.Queue(indexfault.Upload, 1, indexfault.Fault{Name: indexfault.FaultReset}); err != nil {
			t.Fatal(err)
		}
		_, err := send(t, client, "POST", srv.URL+"/legacy/", "some body")
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("tls=%v: want connection reset by peer, got %v", useTLS, err)
		}
		srv.Close()
	}
	evs := faultEvents(s)
	if len(evs) != 2 || evs[0].Code != "reset" || evs[0].Message != "connection reset, no answer" || evs[0].Status != 0 {
		t.Fatalf("events: %+v", evs)
	}
}

func TestFaultAnyEndpoint(t *testing.T) {
	s := faultServer(t)
	control(t, s, "PUT", `{"faults": ["status:502"]}`, 200)
	for _, p := range []string{"/_/oidc/audience", "/simple/", "/simple/sampleproject/", "/pypi/sampleproject/json",
		"/packages/aa/bb/x.tar.gz", "/.well-known/pytp/x"} {
		if a := mustSend(t, "GET", s.URL()+p, ""); a.status != 502 {
			t.Errorf("%s: %d, want 502", p, a.status)
		}
	}
	// The control plane is never faulty: the fault can always be undone.
	if a := mustSend(t, "GET", s.URL()+"/_fake/events?kind=fault", ""); a.status != 200 {
		t.Fatalf("/_fake/events: %d", a.status)
	}
	// A queued entry for one endpoint comes before the sticky ones.
	control(t, s, "POST", `{"endpoint": "simple", "faults": ["status:404"]}`, 200)
	if a := mustSend(t, "GET", s.URL()+"/simple/", ""); a.status != 404 {
		t.Fatalf("queued 404 over sticky 502: %d", a.status)
	}
	evs := faultEvents(s)
	if last := evs[len(evs)-1]; last.Code != "status:404,status:502" || last.Why != "queued for simple, sticky for any" {
		t.Fatalf("last event: %+v", last)
	}
}

func TestFaultControlRefusals(t *testing.T) {
	s := faultServer(t)
	for _, c := range []struct{ method, body, want string }{
		{"POST", `{"faults": ["status:200"]}`, "want status:CODE with CODE from 400 to 599"},
		{"POST", `{"faults": ["bogus"]}`, `unknown index fault \"bogus\"`},
		{"POST", `{"faults": ["delay:forever"]}`, "want delay:DURATION"},
		{"POST", `{"faults": ["delay:11m"]}`, "at most 10m0s"},
		{"POST", `{"endpoint": "legacy", "faults": ["reset"]}`, `unknown endpoint \"legacy\"`},
		{"POST", `{"endpoint": "upload", "faults": ["no-value"]}`, "fault no-value needs endpoint audience, mint-token or discovery"},
		{"POST", `{"faults": ["no-value"]}`, "fault no-value needs endpoint"},
		{"POST", `{"faults": ["reset", "status:500"]}`, "at most one of status, json-status, non-json, no-value and reset"},
		{"POST", `{"faults": []}`, "no faults given"},
		{"POST", `{"faults": ["reset"], "count": 1001}`, "count must be between 1 and 1000"},
		{"POST", `{"faults": ["reset"], "count": -1}`, "count must be between 1 and 1000"},
		{"PUT", `{"faults": ["reset"], "count": 2}`, "count is for POST"},
		{"PUT", `{"fault": ["reset"]}`, "unknown field"},
	} {
		got := control(t, s, c.method, c.body, 400)
		if !strings.Contains(got, c.want) {
			t.Errorf("%s %s: %s, want it to say %q", c.method, c.body, got, c.want)
		}
	}
	if st := s.Faults.State(); len(st.Sticky)+len(st.Queued) != 0 {
		t.Fatalf("a refused request changed the state: %+v", st)
	}
	// PUT with an empty list removes one endpoint's sticky faults only.
	control(t, s, "PUT", `{"endpoint": "upload", "faults": ["status:503"]}`, 200)
	control(t, s, "PUT", `{"endpoint": "simple", "faults": ["status:503"]}`, 200)
	control(t, s, "PUT", `{"endpoint": "upload", "faults": []}`, 200)
	if st := s.Faults.State(); len(st.Sticky) != 1 || st.Sticky[0].Endpoint != "simple" {
		t.Fatalf("state: %+v", st)
	}
}

func TestOldPyPIUploadURLMoved(t *testing.T) {
	for _, c := range []struct{ domain, host string }{{"", "upload.pypi.org"}, {"test.pypi.org", "test.pypi.org"}} {
		f, err := indexconfig.Parse("t.yaml", []byte("domain: "+c.domain+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := Start(Config{Setup: *f})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		want := "410 This API has moved to https://" + c.host + "/legacy/. See TODO for more information."
		for _, action := range []string{"file_upload", "submit", "submit_pkg_info", "doc_upload"} {
			// In the form, as twine sends it.
			body, ctype := multipartFields(map[string]string{":action": action, "name": "demo"})
			if got := rawStatusLine(t, s.URL(), "POST", "/pypi", ctype, body); got != want {
				t.Errorf("%s: %q, want %q", action, got, want)
			}
		}
		// In the query string.
		if got := rawStatusLine(t, s.URL(), "POST", "/pypi?:action=submit", "", nil); got != want {
			t.Errorf("query :action: %q", got)
		}
		if evs := s.Events.List(events.Filter{Kind: events.KindUpload}); len(evs) != 5 || evs[0].Status != 410 {
			t.Errorf("upload events: %+v", evs)
		}
	}
	s, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, path := range []string{"/pypi", "/pypi?:action=list_classifiers"} {
		if got := rawStatusLine(t, s.URL(), "POST", path, "", nil); got != "404 Not Found" {
			t.Errorf("%s: %q, want 404", path, got)
		}
	}
}

func multipartFields(fields map[string]string) ([]byte, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// rawStatusLine sends a request and returns the status line as written,
// reason phrase included (net/http's client keeps it in resp.Status too,
// but reading the wire shows exactly what twine's requests reads).
func rawStatusLine(t *testing.T, base, method, path, ctype string, body []byte) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), method, base+path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(strings.TrimRight(line, "\r\n"), "HTTP/1.1 ")
}
