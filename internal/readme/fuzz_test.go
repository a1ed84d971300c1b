package readme

import (
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/fuzzseed"
)

// FuzzCheck: the reStructuredText detector (upload step 15) on any
// description, under each content type: it answers within a bound (no
// quadratic blow-up on a 1 MB README) and refuses only with its 400, and
// Check refuses exactly when Problem finds one for reST.
func FuzzCheck(f *testing.F) {
	for _, s := range fuzzseed.Strings(f, "rst_test.go", "readme_test.go") {
		f.Add(s)
	}
	for _, s := range fragments {
		f.Add(s)
	}
	f.Add(strings.Join(fragments, "\n"))
	rst, md, plain := "text/x-rst", "text/markdown", "text/plain"
	f.Fuzz(func(t *testing.T, desc string) {
		fuzzseed.Within(t, 10*time.Second, len(desc), func() {
			for _, ct := range []*string{nil, &rst, &md, &plain} {
				e := Check(&desc, ct, "pypi.org")
				if e != nil && (e.Status != 400 || e.Message == "") {
					t.Fatalf("refusal %d %q", e.Status, e.Message)
				}
				if (ct == nil || ct == &rst) && desc != "" && (e != nil) != (Problem(desc) != "") {
					t.Fatalf("Check and Problem disagree on %q", desc)
				}
			}
		})
	})
}
