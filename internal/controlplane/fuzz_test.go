package controlplane

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzGuard: any Host, Authorization, Cookie, method, path and
// Content-Type reach the handler only when the rules allow it.
func FuzzGuard(f *testing.F) {
	const tok = "fuzz-token"
	name, val := CookieFor(tok)
	for _, s := range [][6]string{
		{"127.0.0.1:8080", "Bearer " + tok, "", "GET", "/_fake/tokens", ""},
		{"evil.example", "Bearer " + tok, "", "GET", "/_fake/tokens", ""},
		{"pypi.org", "", name + "=" + val, "POST", "/_fake/clock", "application/json"},
		{"[::1]", "Bearer " + tok, "", "DELETE", "/_fake/faults", "text/plain"},
		{"localhost", "", "", "GET", "/_fake/x?token=" + tok, ""},
		{"LOCALHOST.", "bearer  " + tok, "", "PUT", "/_fake", "application/json; charset=x"},
		{"", "", "", "GET", "/simple/", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5])
	}
	var reached bool
	h := Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }),
		Policy{Token: tok, AllowHosts: []string{"fakeindex"}, Open: []string{"/_fake/health"}},
		func(w http.ResponseWriter, r *http.Request, status int, msg string) { w.WriteHeader(status) })
	f.Fuzz(func(t *testing.T, host, auth, cookie, method, target, ctype string) {
		r, err := http.NewRequest(method, "http://x"+target, nil)
		if err != nil || !strings.HasPrefix(target, "/") {
			return
		}
		r.Host = host
		r.Header.Set("Authorization", auth)
		r.Header.Set("Cookie", cookie)
		r.Header.Set("Content-Type", ctype)
		reached = false
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if !reached || !IsControlPath(r.URL.Path) || r.URL.Path == "/_fake/health" {
			return
		}
		hn := HostName(host)
		if !IsLoopback(hn) && !isEmulated(hn) && hn != "fakeindex" {
			t.Fatalf("Host %q reached the control plane", host)
		}
		if !strings.Contains(auth, tok) && !strings.Contains(cookie, val) {
			t.Fatalf("reached without the token: auth %q cookie %q", auth, cookie)
		}
		if isWrite(r.Method) && !strings.Contains(strings.ToLower(ctype), "application/json") {
			t.Fatalf("a %s with Content-Type %q reached the control plane", r.Method, ctype)
		}
	})
}
