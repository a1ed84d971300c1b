package pep508

import (
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/fuzzseed"
)

// FuzzRequirement: requirements and markers parse without panicking,
// and a parsed requirement's string form is stable: parsed again, it
// prints the same, unless a marker value holds a '"'. packaging's str()
// quotes every value with '"', so such a value comes out unparsable or
// as another marker (0;(os.name!='"and python_implementation!="') prints
// as 0; os_name != ""and python_implementation!="", which reparses as
// two comparisons: checked against packaging 23.0), and String does the
// same; the inputs that showed it are kept as seeds.
func FuzzRequirement(f *testing.F) {
	for _, s := range fuzzseed.Strings(f, "pep508_test.go") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var r *Requirement
		var err error
		fuzzseed.Within(t, 5*time.Second, s, func() {
			if m, err := ParseMarker(s); err == nil {
				_ = m.String()
			}
			r, err = Parse(s)
		})
		if err != nil {
			return
		}
		out := r.String()
		if strings.Contains(s, `"`) && strings.Contains(s, "'") {
			return // a '"' inside a '...' value: see above
		}
		r2, err := Parse(out)
		if err != nil {
			return
		}
		if r2.String() != out {
			t.Fatalf("%q -> %q -> %q", s, out, r2.String())
		}
	})
}
