package indexconfig

import (
	"strings"
	"testing"
)

func TestErrorsNameFileAndLine(t *testing.T) {
	for src, want := range map[string]string{
		"audience: pypi\nbogus: 1\n":                                    "x.yaml:2: unknown key \"bogus\"",
		"users:\n  - name: a\n    emial: x\n":                           "x.yaml:3: unknown key \"emial\"",
		"users: [{name: a}]\nprojects:\n  - name: p\n    owners: [b]\n": "x.yaml:3: project \"p\" names user \"b\"",
		"publishers:\n  - service: github\n    owner: o\n    repository: r\n    workflow_filename: ci/release.yml\n": "x.yaml:2: publisher: workflow_filename \"ci/release.yml\" must be a filename only",
		"flags: [disallow-everything]\n":        "unknown admin flag \"disallow-everything\"",
		"tokens:\n  - {name: t, user: ghost}\n": "x.yaml:2: token \"t\": user \"ghost\" is not in users",
	} {
		_, err := Parse("x.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", src, err, want)
		}
	}
	f, err := Parse("x.yaml", nil)
	if err != nil || f.Audience != "pypi" || f.Domain != "pypi.org" {
		t.Fatalf("empty file: %v %+v", err, f)
	}
}
