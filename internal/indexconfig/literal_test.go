package indexconfig

import (
	"encoding/base64"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"gopkg.in/macaroon.v2"

	"github.com/fakepypi/fakepypi/internal/apitoken"
)

// literal is a token in PyPI's shape (apitoken.Mint) whose identifier is
// id; an id that is not a UUID is put in as it is, as a token PyPI never
// issued would have it.
func literal(t *testing.T, id string, caveats ...string) string {
	t.Helper()
	u, err := uuid.Parse(id)
	if err != nil {
		m, _ := macaroon.New([]byte("k"), []byte(id), "pypi.org", macaroon.V2)
		b, _ := m.MarshalBinary()
		return "pypi-" + base64.RawURLEncoding.EncodeToString(b)
	}
	tok, err := apitoken.Mint("pypi.org", u, []byte("k"), caveats...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestLiteralTokenConfig: a token given by value is checked when the file
// is read, with the line of its entry.
func TestLiteralTokenConfig(t *testing.T) {
	id := uuid.NewString()
	for _, tc := range []struct{ token, extra, want string }{
		{"pypi-nonsense", "", `x.yaml:4: token "t": not a PyPI API token: token is not a macaroon`},
		{"not-a-token", "", `x.yaml:4: token "t": not a PyPI API token: token does not start with pypi-`},
		{literal(t, "not-a-uuid"), "", `x.yaml:4: token "t": not a PyPI API token: macaroon identifier "not-a-uuid" is not a UUID`},
		{literal(t, id, `[4,"`+id+`",null]`), "", `x.yaml:4: token "t": caveat [4,"` + id + `",null]: this is a trusted publisher's token (OIDCPublisher caveat)`},
		{literal(t, id, `[9,1]`), "", `x.yaml:4: token "t": caveat [9,1]: unknown caveat tag 9`},
		{literal(t, id, `{"version":1}`), "", `x.yaml:4: token "t": caveat {"version":1}: a legacy caveat PyPI cannot adapt`},
		{literal(t, id, `[3,"`+id+`"]`), ", projects: [p]", `x.yaml:4: token "t": a token given by value is scoped by its own caveats; remove projects`},
	} {
		src := "users: [{name: a}]\nprojects: [{name: p}]\ntokens:\n  - {name: t, user: a, value: \"" + tc.token + "\"" + tc.extra + "}\n"
		_, err := Parse("x.yaml", []byte(src))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %s", tc.token, err, tc.want)
		}
	}
	// Without a name the token is named after its identifier.
	f, err := Parse("x.yaml", []byte("users: [{name: a}]\ntokens:\n  - {user: a, value: \""+literal(t, id, `[3,"`+id+`"]`)+"\"}\n"))
	if err != nil || f.Tokens[0].Name != "literal-"+strings.SplitN(id, "-", 2)[0] {
		t.Fatalf("unnamed literal token: %v %+v", err, f.Tokens)
	}
	if _, err := Parse("x.yaml", []byte("users: [{name: a, id: nope}]\n")); err == nil || !strings.Contains(err.Error(), `user "a": id "nope" is not a UUID`) {
		t.Errorf("user id: %v", err)
	}
}

// TestDocumentedLiteralTokens: the example under "Real tokens given by
// value" in docs/fakeindex.md loads.
func TestDocumentedLiteralTokens(t *testing.T) {
	doc, err := os.ReadFile("../../docs/fakeindex.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Real tokens given by value.*?```yaml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("no yaml block under \"Real tokens given by value\"")
	}
	f, err := Parse("docs/fakeindex.md", m[1])
	if err != nil || len(f.Tokens) != 2 {
		t.Fatalf("the documented tokens do not load: %v", err)
	}
}
