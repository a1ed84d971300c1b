package pypihdr

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The wire spelling survives a real server, and Respell undoes a Go
// client's canonicalization.
func TestSpelling(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Set(w.Header(), LastSerial, "42")
		Set(w.Header(), RateLimitPolicy, `"a";q=20;w=3600;pk=:user:`)
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, ok := resp.Header["X-Pypi-Last-Serial"]; !ok {
		t.Fatalf("net/http no longer canonicalizes: %v", resp.Header)
	}
	Respell(resp.Header)
	if resp.Header[LastSerial][0] != "42" || resp.Header[RateLimitPolicy] == nil || resp.Header["X-Pypi-Last-Serial"] != nil {
		t.Fatalf("Respell: %v", resp.Header)
	}
	// The bytes on the wire.
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
	var raw strings.Builder
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		raw.WriteString(sc.Text() + "\n")
	}
	if !strings.Contains(raw.String(), "\nX-PyPI-Last-Serial: 42\n") || !strings.Contains(raw.String(), "\nRateLimit-Policy: ") {
		t.Fatalf("wire:\n%s", raw.String())
	}
}
