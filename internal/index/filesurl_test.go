package index

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/internal/readapi"
)

// TestFilesURLAndForwardedScheme: behind fakeindex proxy (compose.yaml) the
// index must link files as PyPI does, on https://files.pythonhosted.org/
// packages/ (PyPI's files.url setting), and build its redirects with the
// scheme the client used, which the proxy tells in X-Forwarded-Proto (as
// PyPI's CDN tells Warehouse's ProxyFixer, warehouse/utils/wsgi.py).
func TestFilesURLAndForwardedScheme(t *testing.T) {
	s, err := New(Config{FilesURL: "https://files.pythonhosted.org/packages/"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read.Seed(readapi.SeedFile{Project: "demo", Version: "1.0", Filename: "demo-1.0-py3-none-any.whl", Content: []byte("w")}); err != nil {
		t.Fatal(err)
	}
	get := func(path string, hdr ...string) (int, string, string) {
		req := httptest.NewRequest("GET", "http://pypi.org"+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String(), rec.Header().Get("Location")
	}
	if _, body, _ := get("/simple/demo/", "X-Forwarded-Proto", "https"); !strings.Contains(body, `<a href="https://files.pythonhosted.org/packages/`) {
		t.Errorf("simple page links:\n%s", body)
	}
	if _, body, _ := get("/pypi/demo/json"); !strings.Contains(body, `"url":"https://files.pythonhosted.org/packages/`) {
		t.Errorf("JSON API links:\n%s", body)
	}
	if code, _, loc := get("/simple/Demo/", "X-Forwarded-Proto", "https"); code != 301 || loc != "https://pypi.org/simple/demo/" {
		t.Errorf("redirect behind the proxy: %d %q", code, loc)
	}
	// Without the flag and the header: the index alone links to itself.
	s2, _ := New(Config{})
	s2.Read.Seed(readapi.SeedFile{Project: "demo", Version: "1.0", Filename: "demo-1.0-py3-none-any.whl", Content: []byte("w")})
	req := httptest.NewRequest("GET", "http://127.0.0.1:8080/simple/demo/", nil)
	rec := httptest.NewRecorder()
	s2.ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), `<a href="http://127.0.0.1:8080/packages/`) {
		t.Errorf("index alone:\n%s", rec.Body.String())
	}
}
