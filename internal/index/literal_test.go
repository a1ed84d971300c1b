package index

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gopkg.in/macaroon.v2"

	"github.com/fakepypi/fakepypi/internal/apitoken"
	"github.com/fakepypi/fakepypi/internal/catalog"
)

// pypiToken builds a token in the shape PyPI issues
// (warehouse/macaroons/services.py create_macaroon): a v2 macaroon located
// at location, identified by a UUID, with a key the index never sees,
// "pypi-" + unpadded base64url.
func pypiToken(t *testing.T, location string, id uuid.UUID, caveats ...string) (string, *macaroon.Macaroon) {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	tok, err := apitoken.Mint(location, id, key, caveats...)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, "pypi-"))
	var m macaroon.Macaroon
	if err := m.UnmarshalBinary(raw); err != nil {
		t.Fatal(err)
	}
	return tok, &m
}

func encodeToken(t *testing.T, m *macaroon.Macaroon) string {
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return "pypi-" + base64.RawURLEncoding.EncodeToString(b)
}

// attenuate adds a first-party caveat as a holder can, without the key.
func attenuate(t *testing.T, m *macaroon.Macaroon, caveat string) string {
	t.Helper()
	c := m.Clone()
	if err := c.AddFirstPartyCaveat([]byte(caveat)); err != nil {
		t.Fatal(err)
	}
	return encodeToken(t, c)
}

// TestLiteralTokens: real tokens in PyPI's shapes given verbatim in the
// configuration. The caveats are honoured as warehouse/macaroons/caveats
// verifies them (legacy v1 "permissions" mappings adapted as _legacy.py
// does), with PyPI's messages; the signature is the configured string (or
// an attenuation of it); a token issued by TestPyPI is TestPyPI's.
func TestLiteralTokens(t *testing.T) {
	userID, projectID, modernID := uuid.New(), uuid.New(), uuid.New()
	exp := t0.Add(-time.Hour).Unix()
	modernUser, userMac := pypiToken(t, "pypi.org", modernID, fmt.Sprintf(`[3,"%s"]`, userID))
	modernProject, _ := pypiToken(t, "pypi.org", uuid.New(), `[1,["sample-lib"]]`, fmt.Sprintf(`[2,["%s"]]`, projectID))
	legacyUser, _ := pypiToken(t, "pypi.org", uuid.New(), `{"permissions":"user","version":1}`)
	legacyProject, _ := pypiToken(t, "pypi.org", uuid.New(), `{"permissions":{"projects":["sample-lib"]},"version":1}`)
	expired, _ := pypiToken(t, "pypi.org", uuid.New(), fmt.Sprintf(`[3,"%s"]`, userID), fmt.Sprintf(`{"exp":%d,"nbf":%d}`, exp, exp-3600))
	testpypi, _ := pypiToken(t, "test.pypi.org", uuid.New(), fmt.Sprintf(`[3,"%s"]`, userID))
	setup := fmt.Sprintf(`
users:
  - name: carla
projects:
  - name: other-lib
    owners: [carla]
tokens:
  - {name: modern-user, user: carla, value: %s}
  - {name: modern-project, user: carla, value: %s}
  - {name: legacy-user, user: carla, value: %s}
  - {name: legacy-project, user: carla, value: %s}
  - {name: expired, user: carla, value: %s}
  - {name: testpypi, user: carla, value: %s}
`, modernUser, modernProject, legacyUser, legacyProject, expired, testpypi)
	s, _ := newTestServer(t, newTestIssuer(t), setup)

	// The user got the caveat's id; the project the token names exists,
	// owned by that user, with the caveat's id.
	if u, _ := s.users.User("carla"); u.ID != userID.String() {
		t.Fatalf("carla's id %s, want %s", u.ID, userID)
	}
	p, ok := s.Catalog.Project("sample-lib")
	if !ok || p.ID != projectID || len(p.Roles) != 1 || p.Roles[0].User != "carla" {
		t.Fatalf("sample-lib: %+v %v", p, ok)
	}
	other, _ := s.Catalog.Project("other-lib")

	authorize := func(tok string, p catalog.Project) string {
		id := s.Tokens.Identify(tok)
		if id.IsNone() {
			return "no identity: " + id.Why
		}
		if err := s.Tokens.Authorize(id, AuthProject(p)); err != nil {
			return err.(*apitoken.Error).Message
		}
		return "ok"
	}
	notValid := "Invalid API Token: project-scoped token is not valid for project: 'other-lib'"
	for _, c := range []struct {
		name, tok string
		p         catalog.Project
		want      string
	}{
		{"user-scoped", modernUser, other, "ok"},
		{"project-scoped, its project", modernProject, p, "ok"},
		{"project-scoped, another project", modernProject, other, notValid},
		{"legacy v1 user", legacyUser, other, "ok"},
		{"legacy v1 projects, its project", legacyProject, p, "ok"},
		{"legacy v1 projects, another project", legacyProject, other, notValid},
		{"legacy expiry, on the index's clock", expired, other, "Invalid API Token: token is expired"},
		{"another signature", strings.TrimSuffix(modernUser, modernUser[len(modernUser)-4:]) + "AAAA", other, "Invalid API Token: signatures do not match"},
		{"attenuated by its holder", attenuate(t, userMac, `[1,["other-lib"]]`), other, "ok"},
		{"attenuated, caveat not met", attenuate(t, userMac, `[1,["sample-lib"]]`), other, notValid},
		{"TestPyPI's token on PyPI", testpypi, other, "no identity: no stored token has identifier"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := authorize(c.tok, c.p); !strings.HasPrefix(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}

	// A forged attenuation: the same identifier and caveats, signed with
	// another key, so its signature is not chained from the configured
	// token's.
	forged, _ := pypiToken(t, "pypi.org", modernID, fmt.Sprintf(`[3,"%s"]`, userID), `[1,["other-lib"]]`)
	if got := authorize(forged, other); got != "Invalid API Token: signatures do not match" {
		t.Fatalf("forged attenuation: %q", got)
	}

	// TestPyPI's index takes the TestPyPI token (same configuration).
	f2 := strings.Replace(setup, "users:", "domain: test.pypi.org\nusers:", 1)
	s2, _ := newTestServer(t, newTestIssuer(t), f2)
	o2, _ := s2.Catalog.Project("other-lib")
	id := s2.Tokens.Identify(testpypi)
	if id.IsNone() || s2.Tokens.Authorize(id, AuthProject(o2)) != nil {
		t.Fatalf("TestPyPI's token on TestPyPI: %+v", id)
	}
	if id := s2.Tokens.Identify(modernUser); !id.IsNone() {
		t.Fatal("PyPI's token identified on TestPyPI")
	}
}
