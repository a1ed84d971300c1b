package harness

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/httpserver"
)

// fastLimits make the listeners' bounds testable in a second: 1000
// bytes/s over 300 ms windows, 300 ms idle and header timeouts.
var fastLimits = httpserver.Limits{ReadHeaderTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond,
	MinRate: 1000, Window: 300 * time.Millisecond}

// trickle sends a request head on c, then its body one byte every 50 ms
// (20 bytes/s) until the server answers or closes; it returns the answer
// (nil if the connection was closed without one) and how long it took.
func trickle(t *testing.T, c net.Conn, head string) (*http.Response, time.Duration) {
	t.Helper()
	start := time.Now()
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := c.Write([]byte{'x'}); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%q: a trickled body was still held after 10 s", strings.SplitN(head, "\r\n", 2)[0])
	}
	if err != nil {
		return nil, time.Since(start)
	}
	io.ReadAll(resp.Body)
	return resp, time.Since(start)
}

// TestEveryListenerCutsSlowClients is issue 11 item 5: a body trickled at
// one byte per 50 ms, far under the minimum rate, is cut after about one
// window on the index's and the issuer's direct listeners, inside a proxy
// tunnel, and on a plain request through the proxy; an idle keep-alive
// connection is closed on each listener.
func TestEveryListenerCutsSlowClients(t *testing.T) {
	h := start(t, Options{NoTestPyPI: true, Scheme: SchemeHTTP, Limits: fastLimits})
	host := func(u string) string { return strings.TrimPrefix(u, "http://") }
	dial := func(addr string) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	const body = "Content-Length: 1000000\r\n\r\n"
	check := func(name string, resp *http.Response, took time.Duration) {
		t.Helper()
		if took > 5*fastLimits.Window {
			t.Errorf("%s: cut after %s, want about one window (%s)", name, took, fastLimits.Window)
		}
		if resp != nil && resp.StatusCode < 400 {
			t.Errorf("%s: a trickled body got %s", name, resp.Status)
		}
		t.Logf("%s: cut after %s (%v)", name, took.Round(time.Millisecond), statusOf(resp))
	}

	// The index: an upload trickled to /legacy/.
	resp, took := trickle(t, dial(host(h.IndexURL())),
		"POST /legacy/ HTTP/1.1\r\nHost: "+host(h.IndexURL())+"\r\nContent-Type: multipart/form-data; boundary=b\r\n"+body)
	check("index /legacy/", resp, took)

	// The issuer: a control-plane write trickled.
	resp, took = trickle(t, dial(host(h.IssuerURL())),
		"PATCH /_fake/context HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"+body)
	check("issuer /_fake/context", resp, took)

	// Through the proxy, inside a CONNECT tunnel to upload.pypi.org.
	c := dial(host(h.ProxyURL()))
	fmt.Fprintf(c, "CONNECT upload.pypi.org:443 HTTP/1.1\r\nHost: upload.pypi.org:443\r\n\r\n")
	br := bufio.NewReader(c)
	if cr, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"}); err != nil || cr.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", cr, err)
	}
	tc := tls.Client(c, &tls.Config{ServerName: "upload.pypi.org", RootCAs: h.CA().CertPool()})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	resp, took = trickle(t, tc, "POST /legacy/ HTTP/1.1\r\nHost: upload.pypi.org\r\nContent-Type: multipart/form-data; boundary=b\r\n"+body)
	check("tunnel upload.pypi.org/legacy/", resp, took)

	// A plain (absolute-form) request through the proxy.
	resp, took = trickle(t, dial(host(h.ProxyURL())),
		"POST http://"+host(h.IndexURL())+"/legacy/ HTTP/1.1\r\nHost: "+host(h.IndexURL())+"\r\nContent-Type: multipart/form-data; boundary=b\r\n"+body)
	check("proxy absolute-form /legacy/", resp, took)

	// Idle keep-alive connections and unfinished headers are closed on
	// every listener.
	for name, addr := range map[string]string{"index": host(h.IndexURL()), "issuer": host(h.IssuerURL()), "proxy": host(h.ProxyURL())} {
		idle := dial(addr)
		fmt.Fprintf(idle, "GET /_fake/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		ibr := bufio.NewReader(idle)
		if r, err := http.ReadResponse(ibr, nil); err == nil {
			io.ReadAll(r.Body)
		}
		idle.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := ibr.ReadByte(); err != io.EOF {
			t.Errorf("%s: idle keep-alive connection: %v, want the server to close it", name, err)
		}
		half := dial(addr)
		io.WriteString(half, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
		half.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadAll(half); err != nil {
			t.Errorf("%s: unfinished headers: %v, want the server to close the connection", name, err)
		}
	}
	// And the harness still serves.
	if st, _ := get(t, h.Client(), h.IndexURL()+"/simple/"); st != 200 {
		t.Errorf("after the slow clients: /simple/ %d", st)
	}
}

func statusOf(r *http.Response) string {
	if r == nil {
		return "connection closed"
	}
	return r.Status
}
