package index

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/internal/testenv"
)

// TestHandlerPanicLoggedAnd500 is issue 11 item 8's second half: a
// handler that panics (here: state broken behind the server's back) used
// to get the connection dropped with nothing logged, since net/http's
// error log was discarded. Now the panic and its stack are logged and the
// client gets a 500: PyPI's plain "Internal Server Error" on PyPI's
// paths, {"error"} on the control plane. The server keeps serving.
func TestHandlerPanicLoggedAnd500(t *testing.T) {
	var logs testenv.LogBuffer
	s, err := New(Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	s.Exchange.Flags = nil // the audience endpoint now dereferences nil
	s.Events = nil         // and so does /_fake/events

	for _, tc := range []struct{ path, ctype, body string }{
		{"/_/oidc/audience", "text/plain; charset=UTF-8", "Internal Server Error"},
		{"/_fake/events", "application/json", `"error": "internal error in fakeindex (logged): GET /_fake/events"`},
	} {
		resp, err := http.Get(s.URL() + tc.path)
		if err != nil {
			t.Fatalf("%s: the panic dropped the connection: %v", tc.path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 500 || resp.Header.Get("Content-Type") != tc.ctype || !strings.Contains(string(b), tc.body) {
			t.Errorf("%s: %d %q %s", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
	out := logs.String()
	for _, want := range []string{"level=ERROR", "handler panic", "path=/_/oidc/audience", "path=/_fake/events", "nil pointer dereference", "goroutine"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if resp, err := http.Get(s.URL() + "/simple/"); err != nil || resp.StatusCode != 200 {
		t.Errorf("after the panics: %v %v", resp, err)
	}
}
