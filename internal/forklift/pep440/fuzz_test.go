package pep440

import (
	"testing"

	"github.com/fakepypi/fakepypi/internal/fuzzseed"
)

// FuzzVersion: Parse, Valid, Normalize and Canonical agree with each
// other, never panic, and a normalized version parses to an equal one.
func FuzzVersion(f *testing.F) {
	for _, s := range fuzzseed.Strings(f, "pep440_test.go") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if (err == nil) != Valid(s) {
			t.Fatalf("Parse(%q) err=%v but Valid=%v", s, err, Valid(s))
		}
		CanonicalizeVersion(s)
		n, nerr := Normalize(s)
		if err != nil {
			return
		}
		if nerr != nil {
			t.Fatalf("Normalize(%q) of a valid version: %v", s, nerr)
		}
		v2, err := Parse(n)
		if err != nil {
			t.Fatalf("normalized %q of %q does not parse: %v", n, s, err)
		}
		if Compare(v, v2) != 0 || !Equal(v2, v) {
			t.Fatalf("%q and its normal form %q compare unequal", s, n)
		}
		_ = v.Canonical() + v.Public() + v.String()
	})
}

// FuzzSpecifierSet: specifier sets parse without panicking, and their
// string form parses again to a set of the same length.
func FuzzSpecifierSet(f *testing.F) {
	for _, s := range fuzzseed.Strings(f, "pep440_test.go") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseSpecifier(s)
		CanonicalizeVersionKeepZeros(s, true)
		ss, err := ParseSpecifierSet(s)
		if err != nil {
			return
		}
		again, err := ParseSpecifierSet(ss.String())
		if err != nil {
			t.Fatalf("%q -> %q does not parse: %v", s, ss.String(), err)
		}
		if again.Len() != ss.Len() {
			t.Fatalf("%q -> %q: %d specifiers, then %d", s, ss.String(), ss.Len(), again.Len())
		}
	})
}
