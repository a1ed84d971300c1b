package proxy

import (
	"bufio"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/internal/localca"
)

// FuzzProxyRequest: any request a client can make of the proxy (CONNECT
// with any target, absolute-form requests to any URL, origin-form
// requests) is parsed by net/http as on the wire, then answered by the
// proxy without a panic: only emulated hosts reach a handler, with a Host
// that names them; everything else is refused or a 400.
func FuzzProxyRequest(f *testing.F) {
	ca, err := localca.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	p := New(ca, WithLogger(slog.New(slog.DiscardHandler)))
	defer p.Close()
	var reached string
	p.Handle("pypi.org", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = r.Host
		io.WriteString(w, "ok")
	}))
	p.Handle("::1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = r.Host }))
	for _, s := range []string{
		"CONNECT pypi.org:443 HTTP/1.1\r\nHost: pypi.org:443\r\n\r\n",
		"CONNECT PyPI.org.:443 HTTP/1.1\r\nHost: x\r\n\r\n",
		"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n",
		"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n",
		"CONNECT pypi.org HTTP/1.1\r\nHost: pypi.org\r\n\r\n",
		"CONNECT pypi.org.evil.example:443 HTTP/1.1\r\n\r\n",
		"GET http://pypi.org/simple/ HTTP/1.1\r\nHost: pypi.org\r\nProxy-Authorization: x\r\n\r\n",
		"GET http://pypi.org:8080/simple/?a=b HTTP/1.1\r\nHost: other\r\n\r\n",
		"GET https://pypi.org/simple/ HTTP/1.1\r\nHost: pypi.org\r\n\r\n",
		"GET http://evil.example/ HTTP/1.1\r\nHost: pypi.org\r\n\r\n",
		"GET /simple/ HTTP/1.1\r\nHost: pypi.org\r\n\r\n",
		"POST http://pypi.org/legacy/ HTTP/1.1\r\nHost: pypi.org\r\nContent-Length: 3\r\n\r\nabc",
		"GET http://[::1]:80/x HTTP/1.1\r\nHost: [::1]\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		r.RemoteAddr = "127.0.0.1:1"
		reached = ""
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, r)
		if reached != "" && hostKey(reached) != "pypi.org" && hostKey(reached) != "::1" {
			t.Fatalf("%q reached an emulated handler as Host %q", raw, reached)
		}
		if rec.Code == 0 {
			t.Fatalf("%q: no answer", raw)
		}
		hostKey(r.Host)
		displayHost(r.Host, "443")
	})
}
