package spdx

import (
	"testing"

	"github.com/fakepypi/fakepypi/internal/fuzzseed"
)

// FuzzCanonicalize: any License-Expression value is refused or
// canonicalized without a panic, and a canonical expression is its own
// canonical form.
func FuzzCanonicalize(f *testing.F) {
	for _, s := range fuzzseed.Strings(f, "spdx_test.go") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Canonicalize(s)
		if err != nil {
			return
		}
		c2, err := Canonicalize(c)
		if err != nil || c2 != c {
			t.Fatalf("%q -> %q -> %q, %v", s, c, c2, err)
		}
	})
}
