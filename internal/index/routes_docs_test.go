package index

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// routeDocs are the documents that describe the index's routes: the
// exchange and the control plane, the read APIs, the upload API.
var routeDocs = []string{"fakeindex.md", "read-api.md", "upload.md"}

// placeholder matches a path variable as the route table writes it
// ({name}, {path:.+}) and as the docs do ({project}, <sha256 …>).
var placeholder = regexp.MustCompile(`\{[^}]*\}|<[^>]*>`)

// methodWord finds HTTP method names in a docs line.
var methodWord = regexp.MustCompile(`\b(GET|HEAD|POST|PUT|PATCH|DELETE)\b`)

// TestDocsDocumentEveryRoute walks the route table of a Server from New
// and checks that every path, with every method it answers, is in the
// docs: some line names the path (placeholders may be named differently)
// and the method, or names the path and no method at all, which the docs
// use for GET (and its HEAD). HEAD is not checked: every route with GET
// has it.
func TestDocsDocumentEveryRoute(t *testing.T) {
	var lines []string
	for _, d := range routeDocs {
		b, err := os.ReadFile("../../docs/" + d)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			lines = append(lines, placeholder.ReplaceAllString(l, "{}"))
		}
	}
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	r, ok := s.routes().(*mux.Router)
	if !ok {
		t.Fatalf("routes() is a %T, not the *mux.Router this test walks", s.routes())
	}
	n, missing := 0, map[string]bool{}
	err = r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		if route.GetHandler() == nil {
			return nil // a subrouter's prefix: its routes are walked next
		}
		tmpl, err := route.GetPathTemplate()
		if err != nil {
			t.Errorf("route without a path: %v", err)
			return nil
		}
		n++
		pathRe, _ := route.GetPathRegexp()
		prefix := !strings.HasSuffix(pathRe, "$") // PathPrefix: anything may follow
		p := regexp.QuoteMeta(placeholder.ReplaceAllString(tmpl, "{}"))
		end := `($|[^\w/.{}-])`
		if prefix {
			end = ""
		}
		re := regexp.MustCompile(`(^|[^\w/.{}-])` + p + end)
		var named []string
		for _, l := range lines {
			if re.MatchString(l) {
				named = append(named, l)
			}
		}
		if len(named) == 0 {
			if missing[tmpl] {
				return nil // reported for another method
			}
			missing[tmpl] = true
			t.Errorf("%s: not in docs/%s", tmpl, strings.Join(routeDocs, ", docs/"))
			return nil
		}
		methods, _ := route.GetMethods() // none: the handler checks the method
		for _, m := range methods {
			if m == "HEAD" {
				continue
			}
			found := false
			for _, l := range named {
				words := methodWord.FindAllString(l, -1)
				if strings.Contains(" "+strings.Join(words, " ")+" ", " "+m+" ") || (m == "GET" && len(words) == 0) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s %s: the docs name the path but not the method", m, tmpl)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 40 {
		t.Errorf("walked %d routes; the table has more: is the walk broken?", n)
	}
}
