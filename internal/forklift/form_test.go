package forklift

import (
	"strings"
	"testing"
)

const sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func baseFields() Fields {
	return Fields{
		"name":             {"foo"},
		"version":          {"1.0"},
		"metadata_version": {"2.1"},
		"filetype":         {"sdist"},
		"pyversion":        {"source"},
		"sha256_digest":    {sha},
		":action":          {"file_upload"},
		"protocol_version": {"1"},
	}
}

func with(f Fields, kv ...any) Fields {
	out := Fields{}
	for k, v := range f {
		out[k] = append([]string(nil), v...)
	}
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		switch v := kv[i+1].(type) {
		case nil:
			delete(out, k)
		case string:
			out[k] = []string{v}
		case []string:
			out[k] = v
		}
	}
	return out
}

func TestSanitize(t *testing.T) {
	f := Fields{
		"summary":   {"UNKNOWN "},
		"license":   {"MIT", " UNKNOWN"},
		"author":    {"UNKNOWN", "Jane"},
		"home_page": {"a\x00b"},
		"keep":      {"x"},
	}
	Sanitize(f)
	if _, ok := f["summary"]; ok {
		t.Error("summary UNKNOWN not removed")
	}
	if _, ok := f["license"]; ok {
		t.Error("the last value decides: license should be removed")
	}
	if got := f["author"]; len(got) != 2 {
		t.Errorf("author = %q, the last value is not UNKNOWN so it stays", got)
	}
	if got := f["home_page"]; len(got) != 1 || got[0] != `a\x00b` {
		t.Errorf("NUL not escaped: %q", got)
	}
	if FileFieldError("content") != nil || FileFieldError("gpg_signature") != nil {
		t.Error("content and gpg_signature may be file parts")
	}
	if e := FileFieldError("summary"); e == nil || e.Message != "summary: Should not be a tuple." || e.Status != 400 {
		t.Errorf("FileFieldError = %v", e)
	}
}

func TestValidateForm(t *testing.T) {
	long := strings.Repeat("a", 40) + "-" + strings.Repeat("b", 40) + "-"
	cases := []struct {
		name string
		f    Fields
		want string
	}{
		{"protocol 2", with(baseFields(), "protocol_version", "2"), "Unknown protocol version."},
		{"no name", with(baseFields(), "name", nil), "'' is an invalid value for Name. Error: This field is required. See https://packaging.python.org/specifications/core-metadata for more information."},
		{"empty name", with(baseFields(), "name", ""), "'' is an invalid value for Name. Error: This field is required. See https://packaging.python.org/specifications/core-metadata for more information."},
		{"bad name", with(baseFields(), "name", "foo-"), "'foo-' is an invalid value for Name. Error: Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'. See https://packaging.python.org/specifications/core-metadata for more information."},
		{"long bad name", with(baseFields(), "name", long), "'" + strings.Repeat("a", 30) + "..." + strings.Repeat("b", 29) + "-' is an invalid value for Name. Error: Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'. See https://packaging.python.org/specifications/core-metadata for more information."},
		{"no filetype", with(baseFields(), "filetype", nil), "Invalid value for filetype. Error: This field is required."},
		{"egg", with(baseFields(), "filetype", "bdist_egg"), "Invalid value for filetype. Error: Use a known file type."},
		{"wheel without pyversion", with(baseFields(), "filetype", "bdist_wheel", "pyversion", nil), "Invalid value for pyversion. Error: Python version is required for binary distribution uploads."},
		{"sdist with py3", with(baseFields(), "pyversion", "py3"), "Invalid value for pyversion. Error: Use 'source' as Python version for an sdist."},
		{"no digest", with(baseFields(), "sha256_digest", nil), "Error: Include at least one message digest."},
		{"bad sha256", with(baseFields(), "sha256_digest", "abc"), "Invalid value for sha256_digest. Error: Use a valid, hex-encoded, SHA256 message digest."},
		{"bad blake2", with(baseFields(), "blake2_256_digest", "zz"), "Invalid value for blake2_256_digest. Error: Use a valid, hex-encoded, BLAKE2 message digest."},
		// Priority: name first, then field names in sorted order.
		{"name beats filetype", with(baseFields(), "name", "foo-", "filetype", nil), "'foo-' is an invalid value for Name. Error: Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'. See https://packaging.python.org/specifications/core-metadata for more information."},
		{"blake2 sorts before filetype", with(baseFields(), "filetype", nil, "blake2_256_digest", "zz"), "Invalid value for blake2_256_digest. Error: Use a valid, hex-encoded, BLAKE2 message digest."},
		{"field errors before digest presence", with(baseFields(), "sha256_digest", nil, "filetype", "bdist_dumb"), "Invalid value for filetype. Error: Use a known file type."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			form, err := ValidateForm(c.f)
			if err == nil {
				t.Fatalf("accepted: %+v", form)
			}
			if err.Status != 400 || err.Message != c.want {
				t.Errorf("got %d %q\nwant 400 %q", err.Status, err.Message, c.want)
			}
		})
	}
}

func TestValidateFormAccepts(t *testing.T) {
	f, err := ValidateForm(with(baseFields(), "pyversion", nil, "protocol_version", nil))
	if err != nil {
		t.Fatal(err)
	}
	if f.Pyversion != "source" || f.Filetype != "sdist" || f.Name != "foo" {
		t.Errorf("form = %+v", f)
	}
	// md5 alone is enough and its format is not checked; uppercase hex is fine.
	if _, err := ValidateForm(with(baseFields(), "sha256_digest", nil, "md5_digest", "not-hex")); err != nil {
		t.Errorf("md5 only: %v", err)
	}
	if _, err := ValidateForm(with(baseFields(), "sha256_digest", strings.ToUpper(sha))); err != nil {
		t.Errorf("uppercase sha256: %v", err)
	}
	w, err := ValidateForm(with(baseFields(), "filetype", "bdist_wheel", "pyversion", "cp312"))
	if err != nil || w.Pyversion != "cp312" {
		t.Errorf("wheel: %+v %v", w, err)
	}
}

func TestValidateContentType(t *testing.T) {
	for _, ct := range []string{"", "image/png", "image/"} {
		if e := ValidateContentType(ct); e == nil || e.Message != "Invalid distribution file." {
			t.Errorf("ValidateContentType(%q) = %v", ct, e)
		}
	}
	if e := ValidateContentType("application/octet-stream"); e != nil {
		t.Errorf("octet-stream refused: %v", e)
	}
}
