package readapi

import "testing"

// TestSeedRefusesInvalidNames: /_fake/seed creates a missing project as
// an admin would, but not under a name PyPI could not hold (issue 11
// item 9), and creates nothing then.
func TestSeedRefusesInvalidNames(t *testing.T) {
	f := newFixture(t, Options{})
	for _, name := range []string{"../../x", "x/", ".hidden", ""} {
		_, err := f.h.Seed(SeedFile{Project: name, Version: "1.0", Filename: "x-1.0.tar.gz", Content: []byte("x")})
		if err == nil {
			t.Errorf("seed %q: accepted", name)
		}
	}
	if ps := f.cat.Projects(); len(ps) != 0 {
		t.Errorf("projects created: %+v", ps)
	}
}
