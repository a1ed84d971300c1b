package pypierr

import (
	"net/http/httptest"
	"testing"
)

func TestReasonPhrase(t *testing.T) {
	for in, want := range map[string]string{
		"plain":         "plain",
		"caf\u00e9":     "caf\xe9", // ISO-8859-1
		"snow \u2603 x": "snow ? x",
		"a\r\nb":        "a  b",
	} {
		if got := ReasonPhrase(in); got != want {
			t.Errorf("ReasonPhrase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteMint(t *testing.T) {
	rec := httptest.NewRecorder()
	Mint("invalid-publisher", "valid token, but no corresponding publisher (Publisher with matching claims was not found)").WriteMint(rec)
	want := `{"message": "Token request failed", "errors": [{"code": "invalid-publisher", "description": "valid token, but no corresponding publisher (Publisher with matching claims was not found)"}]}`
	if rec.Code != 422 || rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
}

func TestError(t *testing.T) {
	if got := BadRequest("Unknown protocol version.").Error(); got != "400 Unknown protocol version." {
		t.Errorf("Error() = %q", got)
	}
	if got := Mint("invalid-token", "malformed or invalid token").Error(); got != "422 invalid-token: malformed or invalid token" {
		t.Errorf("Error() = %q", got)
	}
}
