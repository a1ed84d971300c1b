package pyname

import "testing"

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Foo.Bar": "foo-bar", "foo__bar": "foo-bar", "FOO-_.bar": "foo-bar", "does_not_exist": "does-not-exist",
		"dOeS-NoT-ExISt": "does-not-exist", "a": "a",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUltranormalize(t *testing.T) {
	for _, n := range []string{"toast1ng", "toastlng", "t0asting", "toast-ing", "toast.ing", "toast_ing", "TOASTING", "toastIng"} {
		if got := Ultranormalize(n); got != Ultranormalize("toasting") {
			t.Errorf("Ultranormalize(%q) = %q, want it to collide with toasting (%q)", n, got, Ultranormalize("toasting"))
		}
	}
	if Ultranormalize("toasted") == Ultranormalize("toasting") {
		t.Error("different names collide")
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "A1", "foo-bar", "foo.bar_baz", "0", "ſ"} {
		if !ValidName(ok) {
			t.Errorf("ValidName(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", "foo-", "-foo", ".foo", "foo bar", "foo!", "fóo", "foo\n"} {
		if ValidName(bad) {
			t.Errorf("ValidName(%q) = true", bad)
		}
	}
	if !ValidNameDollar("foo\n") {
		t.Error(`ValidNameDollar("foo\n") should accept the trailing newline, like Python's $`)
	}
}

func TestStdlib(t *testing.T) {
	for _, n := range []string{"xml", "XML", "pickle", "main", "future", "al", "test", "xml.etree", "encodings.idna", "CGIHTTPServer", "XML_Etree"} {
		if !IsStdlib(n) {
			t.Errorf("IsStdlib(%q) = false", n)
		}
	}
	for _, n := range []string{"requests", "xml-foo", "numpy"} {
		if IsStdlib(n) {
			t.Errorf("IsStdlib(%q) = true", n)
		}
	}
}

func TestCheckProjectName(t *testing.T) {
	reg := Registry{
		Exists:     func(n string) bool { return n == "existing-project" },
		Prohibited: func(n string) bool { return n == "requirements-txt" || n == "rrequirements-txt" },
		TooSimilar: func(u string) bool { return u == Ultranormalize("toasting") },
	}
	cases := []struct {
		name   string
		status int
		msg    string
	}{
		{"foo-", 400, "The name 'foo-' is invalid."},
		{"xml", 400, "The name 'xml' isn't allowed (conflict with Python Standard Library module name). See https://pypi.org/help/#project-name for more information."},
		{"Existing_Project", 409, "The name 'Existing_Project' conflicts with an existing project. See https://pypi.org/help/#project-name for more information."},
		{"requirements.txt", 400, "The name 'requirements.txt' isn't allowed. See https://pypi.org/help/#project-name for more information."},
		{"toast1ng", 400, "The name 'toast1ng' is too similar to an existing project. See https://pypi.org/help/#project-name for more information."},
	}
	for _, c := range cases {
		rej := CheckProjectName(c.name, reg)
		if rej == nil {
			t.Fatalf("CheckProjectName(%q) = nil", c.name)
		}
		if rej.Status != c.status || rej.Message != c.msg {
			t.Errorf("CheckProjectName(%q) = %d %q, want %d %q", c.name, rej.Status, rej.Message, c.status, c.msg)
		}
	}
	if rej := CheckProjectName("brand-new", reg); rej != nil {
		t.Errorf("brand-new refused: %v", rej)
	}
	if rej := CheckProjectName("brand-new", Registry{}); rej != nil {
		t.Errorf("nil registry funcs must mean no: %v", rej)
	}
}
