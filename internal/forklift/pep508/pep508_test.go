package pep508

import "testing"

func TestRequirementString(t *testing.T) {
	cases := []struct{ in, out string }{
		{"requests [socks, security] (>=2.0,<3) ; python_version < '3.8'", `requests[security,socks]<3,>=2.0; python_version < "3.8"`},
		{"foo@ https://x/y.whl ; extra == 'Foo_Bar'", `foo@ https://x/y.whl ; extra == "foo-bar"`},
		{`bar ; extra=='A.B' or (os_name == "nt" and python_implementation=='CPython')`, `bar; extra == "a-b" or (os_name == "nt" and platform_python_implementation == "CPython")`},
		{"baz[x,x]", "baz[x]"},
		{"name", "name"},
		{"Name_With.Dots >= 1.0", "Name_With.Dots>=1.0"},
		{"x; 'a' not  in sys.platform", `x; "a" not in sys_platform`},
	}
	for _, c := range cases {
		r, err := Parse(c.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.in, err)
		}
		if got := r.String(); got != c.out {
			t.Errorf("str(Requirement(%q)) = %q, want %q", c.in, got, c.out)
		}
	}
}

func TestRequirementErrors(t *testing.T) {
	cases := []struct{ in, msg string }{
		{"foo; os_name", "Expected marker operator, one of <=, <, !=, ==, >=, >, ~=, ===, in, not in\n    foo; os_name\n                ^"},
		{"1foo-", "Expected end or semicolon (after name and no valid version specifier)\n    1foo-\n        ^"},
		{"foo bar", "Expected end or semicolon (after name and no valid version specifier)\n    foo bar\n        ^"},
		{"foo (>=1.0", "Expected matching RIGHT_PARENTHESIS for LEFT_PARENTHESIS, after version specifier\n    foo (>=1.0\n        ~~~~~~^"},
		{"", "Expected package name at the start of dependency specifier\n    \n    ^"},
	}
	for _, c := range cases {
		_, err := Parse(c.in)
		if err == nil {
			t.Fatalf("Parse(%q) succeeded", c.in)
		}
		if err.Error() != c.msg {
			t.Errorf("Parse(%q) error\n got %q\nwant %q", c.in, err.Error(), c.msg)
		}
	}
	for _, bad := range []string{"foo >=1.0.*", "foo>=1.0+local", "foo[bar baz]", "foo @", "foo; python_version <"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded, want error", bad)
		}
	}
}
