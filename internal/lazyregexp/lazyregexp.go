// Package lazyregexp compiles a regular expression at its first use
// instead of at package init.
//
// Every fakeindex process links the upload checks, the read APIs, the
// reStructuredText detector and the pages, whose patterns together were
// most of what package init allocated; a server that never sees a
// Requires-Dist, a License-Expression or a description page should not
// compile (and keep) their patterns. The standard library does the same
// for its own tools (internal/lazyregexp).
package lazyregexp

import (
	"regexp"
	"sync"
)

// New returns a function that compiles expr the first time it is called
// and returns the same *regexp.Regexp ever after. Like regexp.MustCompile
// it panics on a bad expression, at the first call.
func New(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
