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
	// warehouse/oidc/views.py _invalid through the json renderer
	// (warehouse/config.py: sort_keys=True, separators=(",", ":")).
	want := `{"errors":[{"code":"invalid-publisher","description":"valid token, but no corresponding publisher (Publisher with matching claims was not found)"}],"message":"Token request failed"}`
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

// Pyramid's HTTPException.prepare (pyramid/httpexceptions.py, Pyramid 2.1
// as Warehouse pins it): the class's body template, then the page for the
// Accept header. 405 and the redirects have templates of their own.
func TestBodyTemplates(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		accept               string
		code                 int
		message, method, loc string
		wantType, wantBody   string
	}{
		{"400 html", "*/*", 400, "Unknown protocol version.", "POST", "", "text/html; charset=UTF-8",
			"<html>\n <head>\n  <title>400 Unknown protocol version.</title>\n </head>\n <body>\n  <h1>400 Unknown protocol version.</h1>\n" +
				"  The server could not comply with the request since it is either malformed or otherwise incorrect.<br/><br/>\nUnknown protocol version.\n\n\n </body>\n</html>"},
		{"400 json", "application/json", 400, "Unknown protocol version.", "POST", "", "application/json",
			`{"message": "The server could not comply with the request since it is either malformed or otherwise incorrect.\n\n\nUnknown protocol version.\n\n", "code": "400 Unknown protocol version.", "title": "Bad Request"}`},
		{"400 plain", "", 400, "Unknown protocol version.", "POST", "", "text/plain; charset=UTF-8",
			"400 Unknown protocol version.\n\nThe server could not comply with the request since it is either malformed or otherwise incorrect.\n\n\nUnknown protocol version.\n\n"},
		// HTTPMethodNotAllowed: "The method ${REQUEST_METHOD} is not
		// allowed for this resource. ${br}${br}\n${detail}"
		{"405 html", "*/*", 405, "", "POST", "", "text/html; charset=UTF-8",
			"<html>\n <head>\n  <title>405 Method Not Allowed</title>\n </head>\n <body>\n  <h1>405 Method Not Allowed</h1>\n" +
				"  The method POST is not allowed for this resource. <br/><br/>\n\n </body>\n</html>"},
		{"405 json", "application/json", 405, "", "GET", "", "application/json",
			`{"message": "The method GET is not allowed for this resource. \n\n\n", "code": "405 Method Not Allowed", "title": "Method Not Allowed"}`},
		{"405 plain", "", 405, "", "PUT", "", "text/plain; charset=UTF-8",
			"405 Method Not Allowed\n\nThe method PUT is not allowed for this resource. \n\n\n"},
		// _HTTPMove: "${explanation} ${location}; you should be redirected
		// automatically.\n${detail}\n${html_comment}"
		{"308 plain", "", 308, "An upload was attempted to /legacy but the expected upload URL is /legacy/ (with a trailing slash)", "POST", "/legacy/", "text/plain; charset=UTF-8",
			"308 An upload was attempted to /legacy but the expected upload URL is /legacy/ (with a trailing slash)\n\n" +
				"The resource has been moved to /legacy/; you should be redirected automatically.\nAn upload was attempted to /legacy but the expected upload URL is /legacy/ (with a trailing slash)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctype, body := render(tc.accept, tc.code, tc.message, tc.message, tc.method, tc.loc)
			if ctype != tc.wantType || string(body) != tc.wantBody {
				t.Errorf("got %q\n%q\nwant %q\n%q", ctype, body, tc.wantType, tc.wantBody)
			}
		})
	}
}
