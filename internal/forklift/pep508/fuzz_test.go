package pep508

import (
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/fuzzseed"
)

// FuzzRequirement: requirements and markers parse without panicking,
// and a parsed requirement's string form is stable: parsed again, it
// prints the same. (It need not parse: packaging's str() quotes a marker
// value holding '"' with '"' too, and so does String.)
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
		r2, err := Parse(out)
		if err != nil {
			return
		}
		if r2.String() != out {
			t.Fatalf("%q -> %q -> %q", s, out, r2.String())
		}
	})
}
