package forklift

import (
	"strings"
	"testing"
)

const see = " See https://packaging.python.org/specifications/core-metadata for more information."

func TestParseMetadataErrors(t *testing.T) {
	cases := []struct {
		name string
		f    Fields
		want string
	}{
		{"metadata 2.0", with(baseFields(), "metadata_version", "2.0"), "'2.0' is not a valid metadata version." + see},
		{"metadata missing", with(baseFields(), "metadata_version", nil), "None is not a valid metadata version." + see},
		{"metadata beats name", with(baseFields(), "metadata_version", "3.0", "name", nil), "'3.0' is not a valid metadata version." + see},
		{"name missing", with(baseFields(), "name", nil), "'name' is a required field." + see},
		{"name invalid", with(baseFields(), "name", "foo-"), "'foo-' is invalid for 'name'." + see},
		{"version missing", with(baseFields(), "version", nil), "'version' is a required field." + see},
		{"version invalid", with(baseFields(), "version", "dog"), "'dog' is invalid for 'version'." + see},
		{"local version", with(baseFields(), "version", "1.0+Local"), "The use of local versions in '1.0+local' is not allowed. See https://packaging.python.org/en/latest/specifications/version-specifiers/#local-version-identifiers for more information."},
		{"string field twice", with(baseFields(), "summary", []string{"a", "b"}), "'summary' has invalid data." + see},
		{"keywords twice", with(baseFields(), "keywords", []string{"a", "b"}), "'keywords' has invalid data." + see},
		{"duplicate url labels", with(baseFields(), "project_urls", []string{"Home, https://a", "Home, https://b"}), "'project_urls' has invalid data." + see},
		{"summary too long", with(baseFields(), "summary", strings.Repeat("é", 513)), "'summary' field must be 512 characters or less." + see},
		{"summary newline", with(baseFields(), "summary", "a\nb"), "'summary' must be a single line." + see},
		{"gated license_expression", with(baseFields(), "license_expression", "MIT"), "license-expression introduced in metadata version 2.4, not 2.1." + see},
		{"gated requires_dist", with(baseFields(), "metadata_version", "1.1", "requires_dist", "x"), "requires-dist introduced in metadata version 1.2, not 1.1." + see},
		{"gated classifiers", with(baseFields(), "metadata_version", "1.0", "classifiers", "x"), "classifier introduced in metadata version 1.1, not 1.0." + see},
		{"gated dynamic", with(baseFields(), "dynamic", "summary"), "dynamic introduced in metadata version 2.2, not 2.1." + see},
		{"gated import_name", with(baseFields(), "metadata_version", "2.4", "import_name", "foo"), "import-name introduced in metadata version 2.5, not 2.4." + see},
		{"gated description_content_type", with(baseFields(), "metadata_version", "1.2", "description_content_type", "text/plain"), "description-content-type introduced in metadata version 2.1, not 1.2." + see},
		{"invalid classifier", with(baseFields(), "classifiers", []string{"Foo :: Bar", "Environment :: Console", "Aaa"}), "'Aaa' is not a valid classifier." + see},
		{"deprecated classifier with replacement", with(baseFields(), "classifiers", "Natural Language :: Ukranian"), "The classifier 'Natural Language :: Ukranian' has been deprecated, use one of ['Natural Language :: Ukrainian'] instead." + see},
		{"deprecated classifier without replacement", with(baseFields(), "classifiers", "License :: OSI Approved :: Intel Open Source License"), "The classifier 'License :: OSI Approved :: Intel Open Source License' has been deprecated." + see},
		{"invalid classifier reported before deprecated", with(baseFields(), "classifiers", []string{"Natural Language :: Ukranian", "Zzz"}), "'Zzz' is not a valid classifier." + see},
		{"private classifier", with(baseFields(), "classifiers", "Private :: Do Not Upload"), "'Private :: Do Not Upload' is not a valid classifier." + see},
		{"bad email", with(baseFields(), "author_email", "Jane <jane>"), "'jane' is not a valid email address: An email address must have an @-sign." + see},
		{"bad maintainer email", with(baseFields(), "maintainer_email", "a@b"), "'a@b' is not a valid email address: The part after the @-sign is not valid. It should have a period." + see},
		{"bad home page", with(baseFields(), "home_page", "ftp://example.com"), "'ftp://example.com' is not a valid url." + see},
		{"bad download url", with(baseFields(), "download_url", "example.com"), "'example.com' is not a valid url." + see},
		{"url no label", with(baseFields(), "project_urls", ", https://a"), "Must have a label." + see},
		{"url long label", with(baseFields(), "project_urls", strings.Repeat("L", 33)+", https://a"), "'" + strings.Repeat("L", 33) + "' must be 32 characters or less." + see},
		{"url missing", with(baseFields(), "project_urls", "Home"), "Must have a URL." + see},
		{"url invalid", with(baseFields(), "project_urls", "Home, javascript:alert(1)"), "'javascript:alert(1)' is not a valid url." + see},
		{"direct requires_dist", with(baseFields(), "requires_dist", "foo @ https://x/foo.whl"), "Can't have direct dependency: foo@ https://x/foo.whl." + see},
		{"invalid requires_dist", with(baseFields(), "requires_dist", []string{"ok", "foo >=="}), "'foo >==' is invalid for 'requires-dist'." + see},
		{"direct provides_dist", with(baseFields(), "provides_dist", "foo @ https://x"), "Can't have direct dependency: 'foo @ https://x'." + see},
		{"invalid requires_python", with(baseFields(), "requires_python", ">=3.*"), "'>=3.*' is invalid for 'requires-python'." + see},
		{"dynamic name", with(baseFields(), "metadata_version", "2.2", "dynamic", "Name"), "'name' is not allowed as a dynamic field." + see},
		{"dynamic unknown", with(baseFields(), "metadata_version", "2.2", "dynamic", "foo"), "'foo' is not a valid dynamic field." + see},
		{"dynamic dynamic", with(baseFields(), "metadata_version", "2.2", "dynamic", "Dynamic"), "Dynamic field 'dynamic' is not a valid dynamic field." + see},
		{"license and expression", with(baseFields(), "metadata_version", "2.4", "license", "MIT License", "license_expression", "MIT"), "License is deprecated when License-Expression is present. Only License-Expression should be present." + see},
		{"bad license expression", with(baseFields(), "metadata_version", "2.4", "license_expression", "MIT AND"), "'MIT AND' is invalid for 'license-expression'." + see},
		{"unknown license id", with(baseFields(), "metadata_version", "2.4", "license_expression", "Use-it-after-midnight"), "'Use-it-after-midnight' is invalid for 'license-expression'." + see},
		{"unknown license id in or", with(baseFields(), "metadata_version", "2.4", "license_expression", "mit or apache2"), "'mit or apache2' is invalid for 'license-expression'." + see},
		{"unknown license exception", with(baseFields(), "metadata_version", "2.4", "license_expression", "GPL-2.0-only WITH Foo-exception"), "'GPL-2.0-only WITH Foo-exception' is invalid for 'license-expression'." + see},
		{"licence as exception", with(baseFields(), "metadata_version", "2.4", "license_expression", "GPL-2.0-only WITH MIT"), "'GPL-2.0-only WITH MIT' is invalid for 'license-expression'." + see},
		{"bad licenseref", with(baseFields(), "metadata_version", "2.4", "license_expression", "LicenseRef-a_b"), "'LicenseRef-a_b' is invalid for 'license-expression'." + see},
		{"licenseref plus", with(baseFields(), "metadata_version", "2.4", "license_expression", "LicenseRef-Foo+"), "'LicenseRef-Foo+' is invalid for 'license-expression'." + see},
		{"documentref", with(baseFields(), "metadata_version", "2.4", "license_expression", "DocumentRef-x:LicenseRef-y"), "'DocumentRef-x:LicenseRef-y' is invalid for 'license-expression'." + see},
		{"empty parentheses", with(baseFields(), "metadata_version", "2.4", "license_expression", "() OR MIT"), "'() OR MIT' is invalid for 'license-expression'." + see},
		{"license and lowercase expression", with(baseFields(), "metadata_version", "2.4", "license", "MIT License", "license_expression", "mit"), "License is deprecated when License-Expression is present. Only License-Expression should be present." + see},
		{"license file parent", with(baseFields(), "metadata_version", "2.4", "license_file", "../LICENSE"), "'../LICENSE' is invalid for 'license-file', parent directory indicators are not allowed." + see},
		{"license file glob", with(baseFields(), "metadata_version", "2.4", "license_file", "LICENSE*"), "'LICENSE*' is invalid for 'license-file', paths must be resolved." + see},
		{"license file absolute", with(baseFields(), "metadata_version", "2.4", "license_file", "/LICENSE"), "'/LICENSE' is invalid for 'license-file', paths must be relative." + see},
		{"license file backslash", with(baseFields(), "metadata_version", "2.4", "license_file", `a\LICENSE`), `'a\\LICENSE' is invalid for 'license-file', paths must use '/' delimiter.` + see},
		{"bad extra", with(baseFields(), "provides_extra", "-x"), "'-x' is invalid for 'provides-extra'." + see},
		{"bad content type", with(baseFields(), "description_content_type", "text/html"), "'description-content-type' must be one of ['text/plain', 'text/x-rst', 'text/markdown'], not 'text/html'." + see},
		{"bad markdown variant", with(baseFields(), "description_content_type", "text/markdown; variant=Foo"), "valid Markdown variants for 'description-content-type' are ['GFM', 'CommonMark'], not 'Foo'." + see},
		{"import name keyword", with(baseFields(), "metadata_version", "2.5", "import_name", "foo.class"), "'foo.class' is invalid for 'import-name'; 'class' is a keyword." + see},
		{"import name option", with(baseFields(), "metadata_version", "2.5", "import_name", "foo; public"), "'foo; public' is invalid for 'import-name'; the only valid option is 'private'." + see},
		// Priority: version before other fields, then sorted keys
		// (classifier < summary).
		{"version beats summary", with(baseFields(), "version", "dog", "summary", "a\nb"), "'dog' is invalid for 'version'." + see},
		{"classifier before summary", with(baseFields(), "classifiers", "Zzz", "summary", strings.Repeat("x", 600)), "'Zzz' is not a valid classifier." + see},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseMetadata(c.f)
			if err == nil {
				t.Fatalf("accepted: %+v", m)
			}
			if err.Status != 400 || err.Message != c.want {
				t.Errorf("got %d %q\nwant 400 %q", err.Status, err.Message, c.want)
			}
		})
	}
}

func TestParseMetadataAccepts(t *testing.T) {
	for _, mv := range SupportedMetadataVersions {
		if _, err := ParseMetadata(with(baseFields(), "metadata_version", mv)); err != nil {
			t.Errorf("metadata %s refused: %v", mv, err)
		}
	}
	f := with(baseFields(),
		"metadata_version", "2.4",
		"version", "1.0-alpha1",
		"summary", "A thing",
		"description", "",
		"description_content_type", "text/markdown; charset=UTF-8; variant=GFM",
		"author_email", "Jane Doe <jane@example.org>, john@example.org",
		"maintainer_email", "Jane <jane@example.org>",
		"license_expression", "mit or apache-2.0",
		"license_file", []string{"LICENSE", "licenses/NOTICE"},
		"classifiers", []string{"Programming Language :: Python :: 3", "Environment :: Console"},
		"requires_dist", []string{"requests (>=2.0) ; python_version >= '3.8'", "rich[jupyter]"},
		"requires_python", ">= 3.8, < 4",
		"project_urls", []string{"Homepage, https://example.org", "Source, https://github.com/x/y"},
		"provides_extra", []string{"Dev_Tools"},
		"dynamic", []string{"Requires-Dist", "license-file"},
		"keywords", "a, b ,,c",
		"platform", []string{"linux", "win"},
		"home_page", "https://example.org:8080/a?b=c#d",
		"import_names", "ignored", // uv's plural key is not a form field
		"Description-Content-Type", "ignored",
	)
	m, err := ParseMetadata(f)
	if err != nil {
		t.Fatal(err)
	}
	if m.Description != nil {
		t.Error("an empty description is absent")
	}
	if m.Version.String() != "1.0a1" || m.RequiresPython.String() != "<4,>=3.8" {
		t.Errorf("version %s requires_python %s", m.Version, m.RequiresPython)
	}
	if len(m.ProvidesExtra) != 1 || m.ProvidesExtra[0] != "dev-tools" {
		t.Errorf("provides_extra = %q", m.ProvidesExtra)
	}
	r := NormalizeRelease(m)
	checks := map[string][2]string{
		"version":        {r.Version, "1.0a1"},
		"canonical":      {r.CanonicalVersion, "1a1"},
		"keywords":       {*r.Keywords, "a, b, c"},
		"platform":       {*r.Platform, "linux"},
		"requires":       {strings.Join(r.RequiresDist, "|"), `requests>=2.0; python_version >= "3.8"|rich[jupyter]`},
		"dynamic":        {strings.Join(r.Dynamic, "|"), "Requires-Dist|License-File"},
		"requires_py":    {*r.RequiresPython, "<4,>=3.8"},
		"license_expr":   {*r.LicenseExpression, "MIT OR Apache-2.0"},
		"normalizedname": {r.NormalizedName, "foo"},
	}
	for k, v := range checks {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", k, v[0], v[1])
		}
	}
	if r.Summary == nil || *r.Summary != "A thing" || r.Description != nil || r.Author != nil {
		t.Errorf("pointers: %+v", r)
	}
}

func TestValidateEmail(t *testing.T) {
	cases := map[string]string{
		"jane@example.org":      "",
		"j.d+x@sub.example.org": "",
		"@example.org":          "There must be something before the @-sign.",
		"jane@":                 "There must be something after the @-sign.",
		"ja ne@example.org":     "The email address contains invalid characters before the @-sign:  .",
		".jane@example.org":     "An email address cannot start with a period.",
		"jane.@example.org":     "An email address cannot have a period immediately before the @-sign.",
		"ja..ne@example.org":    "An email address cannot have two periods in a row.",
		"jane@localhost.test":   "The part after the @-sign is a special-use or reserved name that cannot be used with email.",
		"jane@ex_ample.org":     "The part after the @-sign contains invalid characters: _.",
		"jane@example.123":      "The part after the @-sign is not valid. It is not within a valid top-level domain.",
	}
	for in, want := range cases {
		if got := validateEmail(in); got != want {
			t.Errorf("validateEmail(%q) = %q, want %q", in, got, want)
		}
	}
	if parseAddr("a@b.org, c@d.org") != "" {
		t.Error("several addresses are not validated (parseaddr returns nothing)")
	}
	if parseAddr(`"Doe, Jane" <jane@example.org>`) != "jane@example.org" {
		t.Error("quoted display name with a comma")
	}
}

func TestIsValidURI(t *testing.T) {
	for _, ok := range []string{"https://example.org", "HTTP://example.org/a%20b", "https:relative", "http://[::1]:80/", "https://u:p@h.org/?q#f"} {
		if !IsValidURI(ok) {
			t.Errorf("IsValidURI(%q) = false", ok)
		}
	}
	for _, bad := range []string{"example.org", "ftp://x", "https://exa mple.org", "https://h.org/a b", "https://h.org:port/", "mailto:a@b.c", ""} {
		if IsValidURI(bad) {
			t.Errorf("IsValidURI(%q) = true", bad)
		}
	}
}

// TestLicenseExpressionStored: the release keeps packaging's canonical
// License-Expression (packaging.licenses.canonicalize_license_expression).
func TestLicenseExpressionStored(t *testing.T) {
	cases := []struct{ in, want string }{
		{"mit", "MIT"},
		{"apache-2.0 or mit", "Apache-2.0 OR MIT"},
		{"( bsd-3-clause AND mit )or  licenseref-Proprietary", "(BSD-3-Clause AND MIT) OR LicenseRef-Proprietary"},
		{"gpl-2.0-or-later with classpath-exception-2.0", "GPL-2.0-or-later WITH Classpath-exception-2.0"},
		{"lgpl-2.1+", "LGPL-2.1+"},
		{"(MIT)", "(MIT)"},
	}
	for _, c := range cases {
		m, err := ParseMetadata(with(baseFields(), "metadata_version", "2.4", "license_expression", c.in))
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		r := NormalizeRelease(m)
		if r.LicenseExpression == nil || *r.LicenseExpression != c.want {
			t.Errorf("%q stored as %v, want %q", c.in, r.LicenseExpression, c.want)
		}
	}
	// A field whose only value is "" is absent, so no expression is checked.
	m, err := ParseMetadata(with(baseFields(), "metadata_version", "2.4", "license_expression", ""))
	if err != nil || m.LicenseExpression != nil {
		t.Errorf("empty license_expression: %v, %v", m, err)
	}
}
