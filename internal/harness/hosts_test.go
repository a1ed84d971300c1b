package harness

import (
	"net/http"
	"slices"
	"testing"
)

// TestHostListsMatchRoutes keeps the exported host lists, which
// `fakeindex proxy` routes, equal to the hosts the in-process harness
// answers.
func TestHostListsMatchRoutes(t *testing.T) {
	m := hostRoutes(http.NotFoundHandler(), http.NotFoundHandler(), false)
	var got []string
	for h := range m {
		got = append(got, h)
	}
	want := append(append([]string(nil), PyPIHosts...), TestPyPIHosts...)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("hostRoutes answers %v, exported lists say %v", got, want)
	}
}
