package indexfault

import (
	"testing"

	"github.com/fakepypi/fakepypi/internal/fuzzseed"
)

// FuzzParseRule: --fault and /_fake/faults rules parse or are refused;
// a parsed rule prints back to one that parses to the same faults.
func FuzzParseRule(f *testing.F) {
	for _, s := range fuzzseed.Strings(f, "indexfault_test.go") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseFault(s)
		r, err := ParseRule(s)
		if err != nil {
			return
		}
		if len(r.Faults) == 0 {
			t.Fatalf("%q: a rule with no fault", s)
		}
		set := New(nil, nil)
		if err := set.SetSticky(r.Endpoint, r.Faults...); err != nil {
			t.Fatalf("%q parsed but SetSticky refuses it: %v", s, err)
		}
	})
}
