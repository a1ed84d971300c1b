// Package fuzzseed seeds Go fuzz targets from the tests that already
// exist: every string literal of the named _test.go files in the calling
// package's directory (its tables of valid and invalid inputs), so the
// corpus grows as the tables do and no table is copied.
package fuzzseed

import (
	"go/ast"
	"go/parser"
	"go/token"
	"sort"
	"strconv"
	"testing"
	"time"
)

// Strings returns the distinct string literals of files (paths relative
// to the package directory, where go test runs), sorted.
func Strings(tb testing.TB, files ...string) []string {
	tb.Helper()
	seen := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			tb.Fatalf("fuzzseed: %v", err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if s, err := strconv.Unquote(lit.Value); err == nil {
				seen[s] = true
			}
			return true
		})
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Within runs f and fails t if it has not returned after d: the fuzzer
// has no per-input timeout, and an input that makes a parser loop would
// otherwise stall the run without a report. The failing input is saved
// like a crasher, so it becomes a regression seed.
func Within(t *testing.T, d time.Duration, input any, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("no answer after %s for input %q", d, input)
	}
}
