package index

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHealth: GET /_fake/health answers 200 on an empty index (container
// health checks must not depend on the configuration); other methods are
// not routed.
func TestHealth(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/_fake/health", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"ok"`) {
		t.Errorf("GET: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/_fake/health", nil))
	if rec.Code == http.StatusOK {
		t.Errorf("POST: %d", rec.Code)
	}
}
