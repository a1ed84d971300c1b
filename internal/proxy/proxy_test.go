package proxy

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/localca"
	"github.com/fakepypi/fakepypi/internal/pypihdr"
	"github.com/fakepypi/fakepypi/internal/testenv"
)

type fixture struct {
	ca  *localca.CA
	p   *Proxy
	srv *Server
	log *testenv.LogBuffer
}

// start runs a proxy on loopback with a CA on disk, so non-Go clients can
// be given its bundle.
func start(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	ca, err := localca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	buf := &testenv.LogBuffer{}
	opts = append([]Option{WithLogger(slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))}, opts...)
	p := New(ca, opts...)
	srv, err := Start(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		if t.Failed() {
			t.Logf("proxy log:\n%s", buf)
		}
	})
	return &fixture{ca: ca, p: p, srv: srv, log: buf}
}

// fileExists is the status line PyPI sends for a re-upload of a file
// under a new content; twine prints the reason and --skip-existing
// matches on it.
const fileExists = "400 File already exists ('demo-1.0.tar.gz', with blake2_256 hash 'abc'). See https://pypi.org/help/#file-name-reuse for more information."

// writeFileExists answers with fileExists by hijacking the connection, the
// way the upload handler does.
func writeFileExists(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "hijack: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	body := "400 File already exists\n"
	fmt.Fprintf(brw, "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", fileExists, len(body), body)
	brw.Flush()
}

func TestTunnelGetAndPost(t *testing.T) {
	f := start(t)
	f.p.Handle("pypi.org", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || r.TLS.ServerName != "pypi.org" {
			t.Errorf("TLS = %+v, want a TLS request for pypi.org", r.TLS)
		}
		fmt.Fprintf(w, "simple host=%s path=%s", r.Host, r.URL.Path)
	}))
	f.p.Handle("upload.pypi.org", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		fmt.Fprintf(w, "upload host=%s tls=%v n=%d sha256=%x", r.Host, r.TLS != nil, n, h.Sum(nil))
	}))
	c := f.srv.Client()

	var reused []bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
	for range 2 {
		req, _ := http.NewRequest("GET", "https://pypi.org/simple/", nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		if got := do(t, c, req); got != "simple host=pypi.org path=/simple/" {
			t.Errorf("GET = %q", got)
		}
	}
	if len(reused) != 2 || !reused[1] {
		t.Errorf("second request reused the tunnel: %v, want keep-alive", reused)
	}

	body := strings.Repeat("wheel bytes ", 1000)
	req, _ := http.NewRequest("POST", "https://upload.pypi.org/legacy/", strings.NewReader(body))
	sum := sha256.Sum256([]byte(body))
	want := fmt.Sprintf("upload host=upload.pypi.org tls=true n=%d sha256=%x", len(body), sum)
	if got := do(t, c, req); got != want {
		t.Errorf("POST = %q, want %q", got, want)
	}
}

// do sends req, expects 200 and returns the body.
func do(t *testing.T, c *http.Client, req *http.Request) string {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s: %s", req.Method, req.URL, resp.Status, b)
	}
	return string(b)
}

// pattern is an endless, cheap, non-constant byte stream.
type pattern struct{ i byte }

func (p *pattern) Read(b []byte) (int, error) {
	for k := range b {
		b[k] = p.i
		p.i = p.i*31 + 7
	}
	return len(b), nil
}

func TestLargeChunkedUpload(t *testing.T) {
	f := start(t)
	f.p.Handle("upload.pypi.org", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%v %d %x", r.TransferEncoding, n, h.Sum(nil))
	}))
	const size = 50 << 20
	want := sha256.New()
	io.Copy(want, io.LimitReader(&pattern{}, size))
	// No ContentLength: the client sends the body chunked, as requests
	// does for a generator body.
	req, _ := http.NewRequest("POST", "https://upload.pypi.org/legacy/", io.NopCloser(io.LimitReader(&pattern{}, size)))
	got := do(t, f.srv.Client(), req)
	if w := fmt.Sprintf("[chunked] %d %x", size, want.Sum(nil)); got != w {
		t.Fatalf("handler saw %q, want %q", got, w)
	}
}

// TestBodyStreams checks that the handler reads the start of an upload
// while the client is still sending it, i.e. nothing buffers the body.
func TestBodyStreams(t *testing.T) {
	f := start(t)
	gotFirst := make(chan struct{})
	f.p.Handle("upload.pypi.org", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := make([]byte, 5)
		if _, err := io.ReadFull(r.Body, first); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		close(gotFirst)
		rest, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s|%s", first, rest)
	}))
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("first"))
		select {
		case <-gotFirst:
			pw.Write([]byte("second"))
			pw.Close()
		case <-time.After(5 * time.Second):
			pw.CloseWithError(fmt.Errorf("handler never saw the first bytes: body is being buffered"))
		}
	}()
	req, _ := http.NewRequest("POST", "https://upload.pypi.org/legacy/", pr)
	if got := do(t, f.srv.Client(), req); got != "first|second" {
		t.Fatalf("got %q", got)
	}
}

func TestCustomStatusLine(t *testing.T) {
	f := start(t)
	f.p.Handle("upload.pypi.org", http.HandlerFunc(writeFileExists))
	backend := httptest.NewServer(http.HandlerFunc(writeFileExists))
	defer backend.Close()
	if err := f.p.HandleUpstream("test.pypi.org", backend.URL); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"https://upload.pypi.org/legacy/", // in-process handler, tunnelled
		"http://upload.pypi.org/legacy/",  // in-process handler, plain HTTP
		"https://test.pypi.org/legacy/",   // upstream server
	} {
		resp, err := f.srv.Client().Post(u, "multipart/form-data", strings.NewReader("content"))
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Status != fileExists || string(b) != "400 File already exists\n" {
			t.Errorf("%s: status %q body %q, want status %q", u, resp.Status, b, fileExists)
		}
	}
}

func TestRefusal(t *testing.T) {
	var hooked []Refusal
	var mu sync.Mutex
	f := start(t, OnRefuse(func(r Refusal) { mu.Lock(); hooked = append(hooked, r); mu.Unlock() }))
	f.p.Handle("pypi.org", http.NotFoundHandler())
	f.p.Handle("upload.pypi.org", http.NotFoundHandler())

	// CONNECT by hand: Go's client reports only the status of a refused
	// CONNECT, and the body is what a human reads.
	conn, err := net.Dial("tcp", f.srv.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "CONNECT evil.example.com:443 HTTP/1.1\r\nHost: evil.example.com:443\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: "CONNECT"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	const msg = "fakepypi proxy: refusing to connect to evil.example.com:443: not an emulated host (emulated: pypi.org, upload.pypi.org)"
	if resp.StatusCode != http.StatusForbidden || resp.Status != "403 Forbidden" || strings.TrimSpace(string(b)) != msg {
		t.Errorf("CONNECT: %s %q", resp.Status, b)
	}

	// Through the Go client as well, and for plain HTTP.
	if _, err := f.srv.Client().Get("https://evil.example.com/"); err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("https GET: err = %v, want a Forbidden proxy error", err)
	}
	resp, err = f.srv.Client().Get("http://evil.example.com:8080/x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "refusing to connect to evil.example.com:8080") {
		t.Errorf("plain GET: %s %q", resp.Status, b)
	}

	got := f.p.Refused()
	want := []string{"CONNECT evil.example.com:443", "CONNECT evil.example.com:443", "GET evil.example.com:8080"}
	if len(got) != len(want) {
		t.Fatalf("Refused() = %+v", got)
	}
	for i, r := range got {
		if r.Method+" "+r.Target != want[i] || r.Client == "" || r.Time.IsZero() || !strings.HasPrefix(r.Message, "fakepypi proxy: refusing") {
			t.Errorf("refusal %d = %+v, want %s", i, r, want[i])
		}
	}
	mu.Lock()
	if len(hooked) != 3 {
		t.Errorf("OnRefuse called %d times", len(hooked))
	}
	mu.Unlock()
	if !strings.Contains(f.log.String(), "target=evil.example.com:443") {
		t.Errorf("refusal not logged:\n%s", f.log)
	}
}

func TestPlainHTTP(t *testing.T) {
	f := start(t)
	f.p.Handle("pypi.org", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "host=%s tls=%v uri=%s proxyconn=%q", r.Host, r.TLS != nil, r.RequestURI, r.Header.Get("Proxy-Connection"))
	}))
	req, _ := http.NewRequest("GET", "http://PyPI.org/simple/demo/?format=json", nil)
	req.Header.Set("Proxy-Connection", "keep-alive")
	if got, want := do(t, f.srv.Client(), req), `host=pypi.org tls=false uri=/simple/demo/?format=json proxyconn=""`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNonDefaultPortAndIP(t *testing.T) {
	f := start(t)
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Host) })
	f.p.Handle("pypi.org", echo)
	f.p.Handle("127.0.0.1", echo)
	for u, want := range map[string]string{
		"https://pypi.org:8443/":   "pypi.org:8443",
		"https://127.0.0.1:9/":     "127.0.0.1:9",
		"https://127.0.0.1:443/x":  "127.0.0.1",
		"https://pypi.org:443/abc": "pypi.org",
	} {
		req, _ := http.NewRequest("GET", u, nil)
		if got := do(t, f.srv.Client(), req); got != want {
			t.Errorf("%s: handler saw Host %q, want %q", u, got, want)
		}
	}
}

func TestUpstream(t *testing.T) {
	f := start(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "host=%s path=%s proto=%s n=%d", r.Host, r.URL.Path, r.Header.Get("X-Forwarded-Proto"), n)
	}))
	defer backend.Close()
	if err := f.p.HandleUpstream("files.pythonhosted.org", backend.URL+"/base"); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("PUT", "https://files.pythonhosted.org/packages/a/b.whl", strings.NewReader("12345"))
	want := "host=files.pythonhosted.org path=/base/packages/a/b.whl proto=https n=5"
	if got := do(t, f.srv.Client(), req); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// An https upstream, as a separately started fakeindex would be,
	// verified against the same CA.
	// (Not httptest's StartTLS: its own certificate would shadow
	// GetCertificate.)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", f.ca.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	tlsBackend := &http.Server{Handler: backend.Config.Handler}
	go tlsBackend.Serve(ln)
	defer tlsBackend.Close()
	if err := f.p.HandleUpstream("pypi.org", "https://"+ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest("GET", "https://pypi.org/simple/", nil)
	if got, want := do(t, f.srv.Client(), req), "host=pypi.org path=/simple/ proto=https n=0"; got != want {
		t.Errorf("https upstream: got %q, want %q", got, want)
	}

	if err := f.p.HandleUpstream("x.example", "ftp://nope"); err == nil {
		t.Error("HandleUpstream accepted an ftp URL")
	}
	backend.Close()
	resp, err := f.srv.Client().Get("https://files.pythonhosted.org/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("dead upstream: %s, want 502", resp.Status)
	}
}

func TestUntrustedClientIsLogged(t *testing.T) {
	f := start(t)
	f.p.Handle("pypi.org", http.NotFoundHandler())
	c := f.srv.Client()
	c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{} // system roots only
	if _, err := c.Get("https://pypi.org/simple/"); err == nil {
		t.Fatal("a client not trusting the CA connected")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(f.log.String(), "does the client trust") {
		if time.Now().After(deadline) {
			t.Fatalf("failed handshake not logged:\n%s", f.log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCloseEndsTunnels(t *testing.T) {
	f := start(t)
	f.p.Handle("pypi.org", http.NotFoundHandler())
	conn, err := net.Dial("tcp", f.srv.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "CONNECT pypi.org:443 HTTP/1.1\r\nHost: pypi.org:443\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	tc := tls.Client(conn, &tls.Config{ServerName: "pypi.org", RootCAs: f.ca.CertPool()})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	tc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := tc.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("tunnel still open after Close: %v", err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestUpstreamHeaderSpelling: Go's transport canonicalizes the upstream's
// header names (X-Pypi-Last-Serial); the proxy gives back PyPI's spelling
// (warehouse/api/simple.py sets X-PyPI-Last-Serial).
func TestUpstreamHeaderSpelling(t *testing.T) {
	f := start(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pypihdr.Set(w.Header(), pypihdr.LastSerial, "7")
	}))
	defer backend.Close()
	if err := f.p.HandleUpstream("pypi.org", backend.URL); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET http://pypi.org/simple/ HTTP/1.1\r\nHost: pypi.org\r\nConnection: close\r\n\r\n")
	raw, _ := io.ReadAll(conn)
	if !strings.Contains(string(raw), "\r\nX-PyPI-Last-Serial: 7\r\n") {
		t.Fatalf("answer through the proxy:\n%s", raw)
	}
}
