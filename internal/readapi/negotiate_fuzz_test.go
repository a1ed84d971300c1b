package readapi

import (
	"net/http"
	"slices"
	"testing"

	"github.com/fakepypi/fakepypi/internal/fuzzseed"
	"github.com/fakepypi/fakepypi/internal/pypierr"
	"github.com/fakepypi/fakepypi/internal/pytp"
)

// FuzzAccept: every Accept header the read APIs, the upload answers
// (Pyramid's error bodies) and PEP 807 discovery negotiate on is handled
// without a panic; the read APIs answer with a subset of their offers, in
// no invented order.
func FuzzAccept(f *testing.F) {
	for _, s := range fuzzseed.Strings(f, "readapi_test.go") {
		f.Add(s)
	}
	for _, s := range []string{"", "*/*", "application/vnd.pypi.simple.v1+json, text/html;q=0.2", "text/html;level=1;q=0.5, */*;q=0",
		"application/json;q=1.0001", "a/b;q=0.5;ext=1, ,", "*/x", "text/*;q=0.000"} {
		f.Add(s)
	}
	offers := []string{"application/vnd.pypi.simple.v1+json", "application/vnd.pypi.simple.v1+html", "text/html"}
	f.Fuzz(func(t *testing.T, accept string) {
		r, _ := http.NewRequest("GET", "/simple/", nil)
		r.Header["Accept"] = []string{accept}
		got := acceptableOffers(r, offers)
		for _, o := range got {
			if !slices.Contains(offers, o) {
				t.Fatalf("%q: offer %q invented", accept, o)
			}
		}
		if len(got) > len(offers) {
			t.Fatalf("%q: %v", accept, got)
		}
		ctype, body := pypierr.Body(accept, 400, "Invalid value for version.")
		if ctype == "" || len(body) == 0 {
			t.Fatalf("%q: empty error body", accept)
		}
		pytp.Acceptable([]string{accept})
	})
}
