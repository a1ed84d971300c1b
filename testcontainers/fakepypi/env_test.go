package fakepypi

import (
	"reflect"
	"testing"
)

// TestParseShell reads what `fakeindex up --env-file` writes, including a
// value with a single quote (written '\”) and an empty one.
func TestParseShell(t *testing.T) {
	in := "# fakepypi harness environment (fakeindex up)\n" +
		"unset GITLAB_CI BUILDKITE\n" +
		"export GITHUB_ACTIONS='true'\n" +
		"export ODD='it'\\''s'\n" +
		"export NO_PROXY=''\n"
	vars, unset, err := parseShell([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{{"GITHUB_ACTIONS", "true"}, {"ODD", "it's"}, {"NO_PROXY", ""}}
	if !reflect.DeepEqual(vars, want) {
		t.Errorf("vars = %q, want %q", vars, want)
	}
	if !reflect.DeepEqual(unset, []string{"GITLAB_CI", "BUILDKITE"}) {
		t.Errorf("unset = %q", unset)
	}
	if _, _, err := parseShell([]byte("export X=unquoted\n")); err == nil {
		t.Error("unquoted value accepted")
	}
}
