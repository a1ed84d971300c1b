package issuer

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/internal/testenv"
)

// TestHandlerPanicLoggedAnd500: a panicking handler is logged with its
// stack and answered 500 in GitHub's {"message"} shape, where net/http
// used to drop the connection without a word.
func TestHandlerPanicLoggedAnd500(t *testing.T) {
	var logs testenv.LogBuffer
	s, err := Start(Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.keys = nil // the JWKS endpoint now dereferences nil
	resp, err := http.Get(s.URL() + "/.well-known/jwks")
	if err != nil {
		t.Fatalf("the panic dropped the connection: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(b), `"message": "internal error in fakeissuer (logged): GET /.well-known/jwks"`) {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
	if out := logs.String(); !strings.Contains(out, "handler panic") || !strings.Contains(out, "nil pointer dereference") {
		t.Errorf("panic not logged:\n%s", out)
	}
}
