package apitoken

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fakepypi/fakepypi/internal/clock"
)

// TestWireFormat checks the wire format (warehouse/macaroons/services.py): tokens from pypi.org start
// pypi-AgEIcHlwaS5vcmcCJ, from test.pypi.org pypi-AgENdGVzdC5weXBpLm9yZw,
// and the caveats are warehouse's compact JSON.
func TestWireFormat(t *testing.T) {
	for loc, prefix := range map[string]string{"pypi.org": "pypi-AgEIcHlwaS5vcmcCJ", "test.pypi.org": "pypi-AgENdGVzdC5weXBpLm9yZw"} {
		s := NewService(loc, clock.NewFake(time.Unix(1724256000, 0)), nil, nil)
		tok, exp, err := s.MintOIDC("3f1c2e56-0000-4000-8000-000000000001", []string{"3f1c2e56-0000-4000-8000-000000000002"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok, prefix) || exp != 1724256900 {
			t.Fatalf("%s: %s %d", loc, tok, exp)
		}
		m, id, err := parse(tok)
		if err != nil || id == uuid.Nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range m.Caveats() {
			got = append(got, string(c.Id))
		}
		want := []string{
			`[4,"3f1c2e56-0000-4000-8000-000000000001",null]`,
			`[2,["3f1c2e56-0000-4000-8000-000000000002"]]`,
			`[0,1724256900,1724256000]`,
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("caveats %q", got)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, "pypi-"))
		if raw[0] != 0x02 || raw[len(raw)-34] != 0x06 || raw[len(raw)-33] != 32 {
			t.Fatalf("not the v2 layout: % x", raw[:4])
		}
	}
}

func TestCaveatErrors(t *testing.T) {
	s := NewService("pypi.org", clock.NewFake(time.Unix(100, 0)), nil, nil)
	id := Identity{Kind: KindUser, User: &User{ID: "u1", Name: "alice"}}
	p := Project{ID: "p1", Name: "Foo", NormalizedName: "foo"}
	for raw, want := range map[string]string{
		`{}`:           "caveat must be an array",
		`"x"`:          "caveat must be an array",
		`[]`:           "caveat array cannot be empty",
		`[9]`:          "caveat has unknown tag: 9",
		`not json`:     "unknown error",
		`[0]`:          "Not enough values",
		`[0,"a",1]`:    "invalid values for fields",
		`[0,100,0]`:    "token is expired",
		`[0,101,100]`:  "",
		`[3,"u2"]`:     "current user does not match user restriction in token",
		`[1,["bar"]]`:  "project-scoped token is not valid for project: 'Foo'",
		`[4,"x",null]`: "OIDC scoped token used outside of an OIDC identified request",
	} {
		if got := s.checkCaveat(raw, id, p); got != want {
			t.Errorf("%s: got %q, want %q", raw, got, want)
		}
	}
}
