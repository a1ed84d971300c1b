package spdx

import (
	"errors"
	"strings"
	"testing"
)

// Expected values follow packaging 26.2's canonicalize_license_expression
// (packaging/licenses/__init__.py) and its docstring and test examples.
func TestCanonicalize(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		// plain identifiers, case normalized through the SPDX 3.27.0 list
		{"MIT", "MIT"},
		{"mit", "MIT"},
		{"mIt", "MIT"},
		{"apache-2.0 or mit", "Apache-2.0 OR MIT"},
		{"mit and (apache-2.0 or bsd-2-clause)", "MIT AND (Apache-2.0 OR BSD-2-Clause)"},
		{"0bsd", "0BSD"},
		{"gpl-2.0-with-gcc-exception", "GPL-2.0-with-GCC-exception"}, // deprecated ids are listed
		{"bsd-2-clause-pkgconf-disclaimer", "BSD-2-Clause-pkgconf-disclaimer"},
		// operators in any case, whitespace of any Python kind
		{"MIT aNd Apache-2.0", "MIT AND Apache-2.0"},
		{"  MIT\tOR\n0BSD  ", "MIT OR 0BSD"},
		{"MIT\u00a0OR\u3000ISC", "MIT OR ISC"},
		{"MIT\x1fOR\x1cISC", "MIT OR ISC"},
		// +
		{"gpl-2.0+", "GPL-2.0+"}, // the deprecated "GPL-2.0+" id itself
		{"mit+", "MIT+"},
		{"LGPL-2.1-only+ OR mit", "LGPL-2.1-only+ OR MIT"},
		// WITH exceptions
		{"gpl-2.0-only with classpath-exception-2.0", "GPL-2.0-only WITH Classpath-exception-2.0"},
		{"Apache-2.0 WITH llvm-exception", "Apache-2.0 WITH LLVM-exception"},
		{"GPL-3.0-or-later WITH gcc-exception-3.1 OR MIT", "GPL-3.0-or-later WITH GCC-exception-3.1 OR MIT"},
		// 26.2 lets these through (refused after 26.2, pypa/packaging#1266)
		{"MIT WITH Classpath-exception-2.0 WITH GCC-exception-3.1", "MIT WITH Classpath-exception-2.0 WITH GCC-exception-3.1"},
		{"(MIT) WITH Classpath-exception-2.0", "(MIT) WITH Classpath-exception-2.0"},
		{"(MIT OR Apache-2.0) WITH Classpath-exception-2.0", "(MIT OR Apache-2.0) WITH Classpath-exception-2.0"},
		{"GPL-2.0-only WITH (MIT)", "GPL-2.0-only WITH (MIT)"}, // after WITH "(", a licence is looked up
		// LicenseRef-
		{"LicenseRef-Proprietary", "LicenseRef-Proprietary"},
		{"licenseref-public-domain", "LicenseRef-public-domain"},
		{"LICENSEREF-My.Thing-1 AND mit", "LicenseRef-My.Thing-1 AND MIT"},
		{"LicenseRef-", "LicenseRef-"},                                           // empty ref passes in 26.2
		{"(LicenseRef-Foo)", "(LicenseRef-Foo)"},                                 // refs are read after padding
		{"LicenseRef-Foo OR licenseref-foo", "LicenseRef-foo OR LicenseRef-foo"}, // last spelling wins in 26.2
		{"LicenseRef-Foo+ OR LicenseRef-Foo", "LicenseRef-Foo+ OR LicenseRef-Foo"},
		// parentheses
		{"(MIT)", "(MIT)"},
		{"( mit OR ( isc AND 0bsd ) )", "(MIT OR (ISC AND 0BSD))"},
		{"MIT OR(ISC)", "MIT OR (ISC)"},
		{"MIT with (isc)", "MIT WITH (ISC)"},
		{nested(199, "mit"), nested(199, "MIT")},
	}
	for _, c := range cases {
		got, err := Canonicalize(c.in)
		if err != nil || got != c.want {
			t.Errorf("Canonicalize(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestCanonicalizeRefused(t *testing.T) {
	cases := []struct {
		in, msg string
	}{
		{"", "Invalid license expression: ''"},
		{"   ", "Invalid license expression: '   '"},
		{"(mit", "Invalid license expression: '(mit'"},
		{"mit)", "Invalid license expression: 'mit)'"},
		{")mit(", "Invalid license expression: ')mit('"},
		{"MIT AND", "Invalid license expression: 'MIT AND'"},
		{"OR MIT", "Invalid license expression: 'OR MIT'"},
		{"WITH MIT", "Invalid license expression: 'WITH MIT'"},
		{"MIT Apache-2.0", "Invalid license expression: 'MIT Apache-2.0'"},
		{"MIT AND OR ISC", "Invalid license expression: 'MIT AND OR ISC'"},
		{"MIT (ISC)", "Invalid license expression: 'MIT (ISC)'"},
		{"(MIT)(ISC)", "Invalid license expression: '(MIT)(ISC)'"},
		{"()", "Invalid license expression: '()'"},
		{"() OR MIT", "Invalid license expression: '() OR MIT'"},
		{"MIT OR ()", "Invalid license expression: 'MIT OR ()'"},
		{"(MIT OR)", "Invalid license expression: '(MIT OR)'"},
		{"((MIT))", "Invalid license expression: '((MIT))'"},
		{"MIT OR ((ISC))", "Invalid license expression: 'MIT OR ((ISC))'"},
		// unknown identifiers, reported lowercased
		{"Use-it-after-midnight", "Unknown license: 'use-it-after-midnight'"},
		{"invalid", "Unknown license: 'invalid'"},
		{"MIT OR Apache2", "Unknown license: 'apache2'"},
		{"MIT License", "Invalid license expression: 'MIT License'"},
		{"BSD-3-Clause-Tso", "Unknown license: 'bsd-3-clause-tso'"}, // SPDX 3.28, not in packaging 26.2
		{"M\u0130T", "Unknown license: 'mi\u0307t'"},                // Python lowercases İ to i + U+0307
		{"MIT++", "Unknown license: 'mit+'"},
		{"DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2", "Unknown license: 'documentref-spdx-tool-1.2:licenseref-mit-style-2'"},
		{"Classpath-exception-2.0", "Unknown license: 'classpath-exception-2.0'"},
		// exceptions
		{"MIT WITH Foo-exception", "Unknown license exception: 'foo-exception'"},
		{"GPL-2.0-only WITH MIT", "Unknown license exception: 'mit'"},
		{"GPL-2.0-only WITH LicenseRef-Exc", "Unknown license exception: 'licenseref-exc'"},
		{"GPL-2.0-only WITH Classpath-exception-2.0+", "Unknown license exception: 'classpath-exception-2.0+'"},
		{"GPL-2.0-only WITH Google-Patent-WebM", "Unknown license exception: 'google-patent-webm'"}, // SPDX 3.28+
		// LicenseRef- characters
		{"LicenseRef-Foo_Bar", "Invalid licenseref: 'licenseref-foo_bar'"},
		{"LicenseRef-Caf\u00e9", "Invalid licenseref: 'licenseref-caf\u00e9'"},
	}
	for _, c := range cases {
		got, err := Canonicalize(c.in)
		var e *Error
		if !errors.As(err, &e) || e.Msg != c.msg || e.Crash {
			t.Errorf("Canonicalize(%q) = %q, %v; want error %q", c.in, got, err, c.msg)
		}
	}
}

func TestCanonicalizeCrash(t *testing.T) {
	// packaging 26.2 raises KeyError (fixed by pypa/packaging#1219) and
	// 200 nested parentheses overflow CPython's parser: MemoryError.
	for _, in := range []string{"LicenseRef-Foo+", "MIT OR licenseref-x+", nested(200, "MIT")} {
		_, err := Canonicalize(in)
		var e *Error
		if !errors.As(err, &e) || !e.Crash {
			t.Errorf("Canonicalize(%q) = %v, want a Crash error", in, err)
		}
	}
}

func TestLists(t *testing.T) {
	// Counts of packaging 26.2's _spdx.py (SPDX License List 3.27.0).
	if len(licenses()) != 699 || len(exceptions()) != 79 {
		t.Errorf("%d licences, %d exceptions; want 699, 79", len(licenses()), len(exceptions()))
	}
	if !IsLicense("apache-2.0") || IsLicense("Apache2") || !IsException("LLVM-EXCEPTION") || IsException("MIT") {
		t.Error("IsLicense/IsException")
	}
}

// nested is "(X OR (X OR ... (X)...))" with depth parentheses.
func nested(depth int, id string) string {
	return strings.Repeat("("+id+" OR ", depth-1) + "(" + id + strings.Repeat(")", depth)
}
