package pep440

import "testing"

// Expected values were checked against Python's packaging (str(Version),
// canonicalize_version, str(SpecifierSet)).
func TestNormalize(t *testing.T) {
	cases := []struct{ in, norm, canon string }{
		{"1.0-alpha1", "1.0a1", "1a1"},
		{"1.0", "1.0", "1"},
		{"v1.0.0", "1.0.0", "1"},
		{" 1.0 ", "1.0", "1"},
		{"1!2.0.post1.dev3", "1!2.0.post1.dev3", "1!2.post1.dev3"},
		{"1.0-9", "1.0.post9", "1.post9"},
		{"1.0.POST", "1.0.post0", "1.post0"},
		{"1.0rc", "1.0rc0", "1rc0"},
		{"1.0c1", "1.0rc1", "1rc1"},
		{"1.0preview2", "1.0rc2", "1rc2"},
		{"1.0+Local.01-a", "1.0+local.1.a", "1+local.1.a"},
		{"01.002", "1.2", "1.2"},
		{"1.0a.dev", "1.0a0.dev0", "1a0.dev0"},
		{"1.99999999999999999999", "1.99999999999999999999", "1.99999999999999999999"},
		{"1.0.0.0", "1.0.0.0", "1"},
		{"0.0", "0.0", "0"},
		{"0!1.0", "1.0", "1"},
		{"1.0_beta_2", "1.0b2", "1b2"},
	}
	for _, c := range cases {
		v, err := Parse(c.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.in, err)
		}
		if got := v.String(); got != c.norm {
			t.Errorf("str(Version(%q)) = %q, want %q", c.in, got, c.norm)
		}
		if got := CanonicalizeVersion(c.in); got != c.canon {
			t.Errorf("canonicalize_version(%q) = %q, want %q", c.in, got, c.canon)
		}
	}
}

func TestInvalidVersions(t *testing.T) {
	for _, s := range []string{"", "dog", "1.0.", "1..0", "1.0+", "1.0+a..b", "1.0-", "0.0.4test1", "1.0 2", "=1.0"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) succeeded, want error", s)
		}
	}
	if got := CanonicalizeVersion("dog"); got != "dog" {
		t.Errorf("canonicalize_version of an invalid version = %q, want it unchanged", got)
	}
}

func TestOrdering(t *testing.T) {
	// Strictly increasing per PEP 440.
	order := []string{"1.0.dev0", "1.0a0.dev0", "1.0a0", "1.0a1", "1.0b1", "1.0rc1", "1.0", "1.0+abc", "1.0+1", "1.0.post0.dev0", "1.0.post0", "1.1", "1!0.1"}
	for i := 0; i+1 < len(order); i++ {
		a, _ := Parse(order[i])
		b, _ := Parse(order[i+1])
		if Compare(a, b) != -1 || Compare(b, a) != 1 {
			t.Errorf("want %s < %s", order[i], order[i+1])
		}
	}
	a, _ := Parse("1.0")
	b, _ := Parse("1.0.0")
	if !Equal(a, b) {
		t.Error("1.0 and 1.0.0 should compare equal")
	}
}

func TestSpecifierSet(t *testing.T) {
	cases := []struct{ in, out string }{
		{">= 3.8, < 4", "<4,>=3.8"},
		{">=3.8,>=3.8.0", ">=3.8"},
		{"~=3.7", "~=3.7"},
		{"==3.*, !=3.1.*", "!=3.1.*,==3.*"},
		{">=3.8,  ,<4", "<4,>=3.8"},
		{" ", ""},
		{"", ""},
		{"==1.0+local", "==1.0+local"},
		{"===foo", "===foo"},
		{">=3.08", ">=3.08"},
	}
	for _, c := range cases {
		s, err := ParseSpecifierSet(c.in)
		if err != nil {
			t.Fatalf("ParseSpecifierSet(%q): %v", c.in, err)
		}
		if got := s.String(); got != c.out {
			t.Errorf("str(SpecifierSet(%q)) = %q, want %q", c.in, got, c.out)
		}
	}
	for _, bad := range []string{">=3.*", "~=3", ">=1.0+local", "3.8", ">>3", "=>3.8", ">=3.8;"} {
		if _, err := ParseSpecifierSet(bad); err == nil {
			t.Errorf("ParseSpecifierSet(%q) succeeded, want error", bad)
		}
	}
}
