package publisher

import "testing"

func TestWorkflowFromJobWorkflowRef(t *testing.T) {
	for in, want := range map[string]string{
		"foo/bar/.github/workflows/basic.yml@refs/heads/main":                     "basic.yml",
		"foo/bar/.github/workflows/nested@evil.yml@refs/heads/main":               "nested@evil.yml",
		"foo/bar/.github/workflows/extra.yml@nested.yml@evil.yml@refs/heads/main": "extra.yml@nested.yml@evil.yml",
		"foo/bar/.github/workflows/basic.yml@refs/heads/misleading@branch.yml":    "basic.yml",
		"foo/bar/.github/workflows/foo.yml.yml@refs/heads/main":                   "foo.yml.yml",
		"foo/bar/.github/workflows/basic.yaml@refs/heads/main":                    "basic.yaml",
		"foo/bar/.github/workflows/.yml@refs/heads/main":                          "",
		"foo/bar/.github/workflows/@refs/heads/main":                              "",
		"foo/bar/.github/workflows/nosuffix@refs/heads/main":                      "",
		"foo/bar/.github/workflows/main.yml":                                      "",
	} {
		got, ok := workflowFromJobWorkflowRef(in)
		if got != want || ok != (want != "") {
			t.Errorf("%s: got %q %v, want %q", in, got, ok, want)
		}
	}
}

func TestWorkflowFromCIConfigRefURI(t *testing.T) {
	for in, want := range map[string]string{
		"gitlab.com/foo/bar//.gitlab-ci.yml@refs/heads/main": ".gitlab-ci.yml",
		"gitlab.com/foo/bar//ci/release.yaml@refs/tags/v1":   "ci/release.yaml",
		"gitlab.com/foo/bar//a.yml@b.yml@refs/heads/main":    "a.yml@b.yml",
		"gitlab.com/foo/bar/.gitlab-ci.yml@refs/heads/main":  "",
		"gitlab.com/foo/bar//ci/.yml@refs/heads/main":        "",
		"gitlab.com/foo/bar//ci/release.yml":                 "",
	} {
		got, ok := workflowFromCIConfigRefURI(in)
		if got != want || ok != (want != "") {
			t.Errorf("%s: got %q %v, want %q", in, got, ok, want)
		}
	}
}
