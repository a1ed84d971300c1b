package controlplane

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
)

// serve runs a handler that answers 200 "reached <method> <path>" behind
// the guard, on a real loopback listener.
func serve(t *testing.T, p Policy) *httptest.Server {
	t.Helper()
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "reached "+r.Method+" "+r.URL.RequestURI())
	})
	srv := httptest.NewServer(Guard(inner, p, func(w http.ResponseWriter, r *http.Request, status int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, `{"error": "`+msg+`"}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

type req struct {
	method, path, host, ctype, auth string
}

func (q req) do(t *testing.T, c *http.Client, base string) (int, string, http.Header) {
	t.Helper()
	var body io.Reader
	if q.method != "GET" && q.method != "HEAD" {
		body = strings.NewReader("{}")
	}
	r, err := http.NewRequest(q.method, base+q.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if q.host != "" {
		r.Host = q.host
	}
	if q.ctype != "" {
		r.Header.Set("Content-Type", q.ctype)
	}
	if q.auth != "" {
		r.Header.Set("Authorization", q.auth)
	}
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestHosts(t *testing.T) {
	srv := serve(t, Policy{AllowHosts: []string{"fakeindex"}})
	for _, tc := range []struct {
		host string
		want int
	}{
		{"", 200}, // the listener's own 127.0.0.1:port
		{"localhost:8080", 200},
		{"LOCALHOST", 200},
		{"app.localhost", 200},
		{"127.0.0.2", 200},
		{"[::1]:80", 200},
		{"pypi.org", 200},
		{"upload.pypi.org.", 200},
		{"token.actions.githubusercontent.com", 200},
		{"fakeindex:8080", 200},
		{"evil.example", 403},           // a rebinding page sends its own name
		{"evil.example:8080", 403},      //
		{"192.168.1.10", 403},           // a LAN address: another machine's browser
		{"localhost.evil.example", 403}, // only names *under* localhost are loopback
		{"pypi.org.evil.example", 403},
	} {
		code, body, _ := req{method: "GET", path: "/_fake/tokens", host: tc.host}.do(t, srv.Client(), srv.URL)
		if code != tc.want {
			t.Errorf("Host %q: %d %s, want %d", tc.host, code, body, tc.want)
		}
	}
	// Paths outside the control plane answer under any Host.
	if code, body, _ := (req{method: "GET", path: "/simple/", host: "evil.example"}).do(t, srv.Client(), srv.URL); code != 200 {
		t.Errorf("/simple/ under another Host: %d %s", code, body)
	}
	// The bare prefix is guarded too.
	if code, _, _ := (req{method: "GET", path: "/_fake", host: "evil.example"}).do(t, srv.Client(), srv.URL); code != 403 {
		t.Errorf("/_fake under another Host: %d", code)
	}
}

func TestHostsDirectOnlyAndStar(t *testing.T) {
	direct := serve(t, Policy{DirectOnly: true, AllowHosts: []string{"fakeindex"}})
	for host, want := range map[string]int{"pypi.org": 403, "test.pypi.org": 403, "127.0.0.1": 200, "fakeindex": 200} {
		code, body, _ := req{method: "GET", path: "/_fake/config", host: host}.do(t, direct.Client(), direct.URL)
		if code != want {
			t.Errorf("DirectOnly, Host %q: %d %s, want %d", host, code, body, want)
		}
		if want == 403 && !strings.Contains(body, "--control-direct-only") {
			t.Errorf("DirectOnly refusal does not name the flag: %s", body)
		}
	}
	star := serve(t, Policy{AllowHosts: []string{"*"}})
	if code, _, _ := (req{method: "GET", path: "/_fake/config", host: "evil.example"}).do(t, star.Client(), star.URL); code != 200 {
		t.Errorf("AllowHosts *: %d", code)
	}
}

func TestJSONWrites(t *testing.T) {
	srv := serve(t, Policy{})
	for _, tc := range []struct {
		method, ctype string
		want          int
	}{
		{"POST", "application/json", 200},
		{"POST", "application/json; charset=utf-8", 200},
		{"POST", "Application/JSON", 200},
		{"PUT", "application/json", 200},
		{"PATCH", "application/json", 200},
		{"DELETE", "application/json", 200},
		{"POST", "", 415},
		{"POST", "text/plain", 415}, // what a cross-site no-cors fetch can send
		{"POST", "application/x-www-form-urlencoded", 415},
		{"POST", "multipart/form-data; boundary=x", 415},
		{"PUT", "text/plain", 415},
		{"DELETE", "", 415},
		{"POST", "application/json-seq", 415},
		{"GET", "", 200},
		{"HEAD", "", 200},
	} {
		code, body, _ := req{method: tc.method, path: "/_fake/flags", ctype: tc.ctype}.do(t, srv.Client(), srv.URL)
		if code != tc.want {
			t.Errorf("%s with Content-Type %q: %d %s, want %d", tc.method, tc.ctype, code, body, tc.want)
		}
	}
	// PyPI's own paths take whatever their clients send.
	if code, _, _ := (req{method: "POST", path: "/legacy/", ctype: "multipart/form-data; boundary=x"}).do(t, srv.Client(), srv.URL); code != 200 {
		t.Errorf("/legacy/ with a form: %d", code)
	}
}

func TestToken(t *testing.T) {
	const tok = "s3cret-control-token"
	srv := serve(t, Policy{Token: tok, Open: []string{"/_fake/health"}})
	c := srv.Client()
	for _, tc := range []struct {
		r    req
		want int
	}{
		{req{method: "GET", path: "/_fake/tokens"}, 401},
		{req{method: "GET", path: "/_fake/tokens", auth: "Bearer " + tok}, 200},
		{req{method: "GET", path: "/_fake/tokens", auth: "bearer " + tok}, 200},
		{req{method: "GET", path: "/_fake/tokens", auth: "Bearer " + tok + "x"}, 401},
		{req{method: "GET", path: "/_fake/tokens", auth: "Bearer"}, 401},
		{req{method: "GET", path: "/_fake/tokens", auth: "Basic " + tok}, 401},
		{req{method: "GET", path: "/_fake/tokens", auth: "token " + tok}, 401},
		{req{method: "POST", path: "/_fake/tokens", ctype: "application/json"}, 401},
		{req{method: "POST", path: "/_fake/tokens", ctype: "application/json", auth: "Bearer " + tok}, 200},
		// The token does not excuse a form body.
		{req{method: "POST", path: "/_fake/tokens", ctype: "text/plain", auth: "Bearer " + tok}, 415},
		// Nor a foreign Host: a rebinding page that learnt the token is still refused.
		{req{method: "GET", path: "/_fake/tokens", host: "evil.example", auth: "Bearer " + tok}, 403},
		// Health checks run without it; PyPI's paths never need it.
		{req{method: "GET", path: "/_fake/health"}, 200},
		{req{method: "GET", path: "/simple/"}, 200},
	} {
		code, body, h := tc.r.do(t, c, srv.URL)
		if code != tc.want {
			t.Errorf("%+v: %d %s, want %d", tc.r, code, body, tc.want)
		}
		if code == 401 && h.Get("WWW-Authenticate") == "" {
			t.Errorf("%+v: 401 without WWW-Authenticate", tc.r)
		}
	}
}

// TestTokenCookie is the browser's way in: ?token= once, then a cookie.
func TestTokenCookie(t *testing.T) {
	const tok = "browser-token"
	srv := serve(t, Policy{Token: tok})
	jar, _ := cookiejar.New(nil)
	noFollow := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	code, _, h := req{method: "GET", path: "/_fake/dash?view=events&token=" + tok}.do(t, noFollow, srv.URL)
	if code != http.StatusSeeOther || h.Get("Location") != "/_fake/dash?view=events" {
		t.Fatalf("?token=: %d, Location %q; want 303 to /_fake/dash?view=events", code, h.Get("Location"))
	}
	sc := h.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/_fake/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, tok) {
		t.Errorf("the cookie holds the token itself: %q", sc)
	}
	// Followed, the redirect lands on the page with the cookie.
	code, body, _ := req{method: "GET", path: "/_fake/dash?view=events"}.do(t, noFollow, srv.URL)
	if code != 200 || body != "reached GET /_fake/dash?view=events" {
		t.Fatalf("with the cookie: %d %s", code, body)
	}
	// The cookie authorizes writes too (the page's own fetch calls).
	if code, body, _ := (req{method: "POST", path: "/_fake/clock", ctype: "application/json"}).do(t, noFollow, srv.URL); code != 200 {
		t.Errorf("POST with the cookie: %d %s", code, body)
	}
	// A wrong ?token= sets nothing.
	jar2, _ := cookiejar.New(nil)
	c2 := &http.Client{Jar: jar2, CheckRedirect: noFollow.CheckRedirect}
	if code, _, h := (req{method: "GET", path: "/_fake/dash?token=wrong"}).do(t, c2, srv.URL); code != 401 || h.Get("Set-Cookie") != "" {
		t.Errorf("wrong ?token=: %d, Set-Cookie %q", code, h.Get("Set-Cookie"))
	}
	// A forged cookie with the token as value is not the cookie.
	name, _ := CookieFor(tok)
	r, _ := http.NewRequest("GET", srv.URL+"/_fake/dash", nil)
	r.AddCookie(&http.Cookie{Name: name, Value: tok})
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("cookie holding the raw token: %d", resp.StatusCode)
	}
}

// TestNoToken: with no token configured, ?token= is an ordinary parameter.
func TestNoToken(t *testing.T) {
	srv := serve(t, Policy{})
	code, body, _ := req{method: "GET", path: "/_fake/dash?token=x"}.do(t, srv.Client(), srv.URL)
	if code != 200 || body != "reached GET /_fake/dash?token=x" {
		t.Errorf("%d %s", code, body)
	}
}

func TestCookieNamesDiffer(t *testing.T) {
	a, _ := CookieFor("one")
	b, _ := CookieFor("two")
	if a == b {
		t.Errorf("two tokens share cookie name %s", a)
	}
	if t1, t2 := NewToken(), NewToken(); t1 == t2 || len(t1) != 64 {
		t.Errorf("NewToken: %q %q", t1, t2)
	}
}
