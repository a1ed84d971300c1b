package apitoken

import (
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/clock"
)

// Tests of Authenticate (warehouse/accounts/security_policy.py, warehouse/macaroons/security_policy.py) and of static user tokens
// and OIDC tokens through Authorize (warehouse/macaroons/caveats/, warehouse/macaroons/security_policy.py).

type users map[string]User

func (u users) User(name string) (User, bool) { v, ok := u[name]; return v, ok }

type pubs map[string][]string

func (p pubs) PublisherProjects(id string) ([]string, bool) { v, ok := p[id]; return v, ok }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	s     *Service
	clk   *clock.Fake
	users users
	pubs  pubs
	foo   Project
	bar   Project
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{clk: clock.NewFake(t0), pubs: pubs{},
		users: users{
			"alice": {ID: UserID("alice"), Name: "alice", EmailVerified: true, TwoFactor: true},
			"bob":   {ID: UserID("bob"), Name: "bob", EmailVerified: true, TwoFactor: false},
			"carol": {ID: UserID("carol"), Name: "carol", EmailVerified: false, TwoFactor: true},
		},
		foo: Project{ID: "11111111-1111-4111-8111-111111111111", Name: "Foo_Bar", NormalizedName: "foo-bar", Collaborators: []string{"alice", "bob", "carol"}},
		bar: Project{ID: "22222222-2222-4222-8222-222222222222", Name: "Bar", NormalizedName: "bar", Collaborators: []string{"alice"}},
	}
	f.s = NewService("pypi.org", f.clk, f.users, f.pubs)
	return f
}

func (f *fixture) auth(t *testing.T, header string) (Identity, error) {
	t.Helper()
	r := httptest.NewRequest("POST", "/legacy/", nil)
	if header != "" {
		r.Header.Set("Authorization", header)
	}
	return f.s.Authenticate(r)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestAuthenticateForms(t *testing.T) {
	f := newFixture(t)
	tok, err := f.s.MintUser(UserToken{Name: "alice-all", User: "alice"}, UserID("alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{
		"Basic " + b64("__token__:"+tok),
		"Basic " + b64("__token__:  "+tok+"\t\n"),
		"basic " + b64("__token__:"+tok),
		"BASIC   " + b64("__token__:"+tok) + "  ",
		"Bearer " + tok,
		"bearer " + tok,
		"BEARER  " + tok + " ",
		"token " + tok,
		"Token " + tok,
		"TOKEN " + tok,
	} {
		id, err := f.auth(t, h)
		if err != nil || id.Kind != KindUser || id.User == nil || id.User.Name != "alice" || id.TokenName != "alice-all" || id.IsNone() {
			t.Errorf("%q: identity %+v, err %v", h, id, err)
		}
	}

	// Basic with any other username is PyPI's 403, even with a valid token.
	for _, h := range []string{
		"Basic " + b64("alice:"+tok),
		"Basic " + b64("alice:hunter2"),
		"basic " + b64("__TOKEN__:"+tok),
		"Basic " + b64(":"+tok),
		"Basic " + b64(" __token__:"+tok),
	} {
		_, err := f.auth(t, h)
		var e *Error
		if !errors.As(err, &e) || e.Status != 403 || e.Message != "Username/Password authentication is no longer supported. Migrate to API Tokens or Trusted Publishers instead. See https://pypi.org/help/#apitoken and https://pypi.org/help/#trusted-publishers" {
			t.Errorf("%q: err %v", h, err)
		}
	}

	// Everything else is no identity, without an error.
	other := NewService("pypi.org", f.clk, f.users, f.pubs)
	unknown, _, _ := other.MintOIDC("p", nil, nil) // a well-formed token this service never stored
	for _, h := range []string{
		"",
		"Bearer",
		"Bearer ",
		"Digest " + tok,
		"Basic !!!notbase64",
		"Basic " + b64("__token__"), // no colon
		"Basic " + b64("__token__:"),
		"Bearer " + strings.TrimPrefix(tok, "pypi-"),
		"Bearer pypi-",
		"Bearer pypi_" + strings.TrimPrefix(tok, "pypi-"),
		"Bearer PYPI-" + strings.TrimPrefix(tok, "pypi-"),
		"Bearer pypi-garbage",
		"Bearer pypi-AgEIcHlwaS5vcmcCJ",
		"Bearer " + unknown,
		"Bearer x" + tok,
	} {
		id, err := f.auth(t, h)
		if err != nil || !id.IsNone() || id.Kind != KindNone || id.Why == "" {
			t.Errorf("%q: identity %+v, err %v", h, id, err)
		}
		if err := f.s.Authorize(id, f.foo); err == nil || err.Error() != ErrNoIdentity("").Error() {
			t.Errorf("%q: Authorize = %v", h, err)
		}
	}
	if id, _ := f.auth(t, ""); id.Why != "no Authorization credentials" {
		t.Errorf("no header: why %q", id.Why)
	}
	if id, _ := f.auth(t, "Bearer "+unknown); !strings.HasPrefix(id.Why, "no stored token has identifier ") {
		t.Errorf("unknown token: why %q", id.Why)
	}
	if id, _ := f.auth(t, "Bearer pypi-garbage"); !strings.HasPrefix(id.Why, "token is not a macaroon") {
		t.Errorf("garbage: why %q", id.Why)
	}
	if id, _ := f.auth(t, "Bearer nopypi"); id.Why != "token does not start with pypi-" {
		t.Errorf("no prefix: why %q", id.Why)
	}
	// Standard alphabet and padding are accepted, as pymacaroons does.
	std := "pypi-" + strings.NewReplacer("-", "+", "_", "/").Replace(strings.TrimPrefix(tok, "pypi-")) + "=="
	if id := f.s.Identify(std); id.Kind != KindUser {
		t.Errorf("standard alphabet: %+v", id)
	}
	if ErrNoIdentity("").Status != 403 || ErrNoIdentity("").Message != "Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information." {
		t.Errorf("ErrNoIdentity = %+v", ErrNoIdentity(""))
	}
}

func TestUserTokenScopes(t *testing.T) {
	f := newFixture(t)
	all, _ := f.s.MintUser(UserToken{Name: "alice-all", User: "alice"}, UserID("alice"), nil)
	scoped, _ := f.s.MintUser(UserToken{Name: "alice-foo", User: "alice", Projects: []string{"Foo_Bar"}}, UserID("alice"),
		[]ScopedProject{{ID: f.foo.ID, NormalizedName: "foo-bar"}})
	bobs, _ := f.s.MintUser(UserToken{Name: "bob-all", User: "bob"}, UserID("bob"), nil)

	// User-scoped: every project the user has a role on.
	id := f.s.Identify(all)
	for _, p := range []Project{f.foo, f.bar} {
		if err := f.s.Authorize(id, p); err != nil {
			t.Errorf("alice-all on %s: %v", p.Name, err)
		}
	}
	// Project-scoped: only its project.
	id = f.s.Identify(scoped)
	if err := f.s.Authorize(id, f.foo); err != nil {
		t.Errorf("alice-foo on Foo_Bar: %v", err)
	}
	wantErr(t, f.s.Authorize(id, f.bar), 403, "Invalid API Token: project-scoped token is not valid for project: 'Bar'")
	// The ACL: no role on the project.
	id = f.s.Identify(bobs)
	wantErr(t, f.s.Authorize(id, f.bar), 403, "The user 'bob' isn't allowed to upload to project 'Bar'. See https://pypi.org/help/#project-name for more information.")
	// Outside a project context.
	wantErr(t, f.s.Authorize(f.s.Identify(scoped), Project{}), 403, "Invalid API Token: project-scoped token used outside of a project context")

	// 2FA and verified email, in PyPI's order (email first).
	if err := EnsureUserCanUpload(f.s.Identify(all), ""); err != nil {
		t.Errorf("alice: %v", err)
	}
	wantErr(t, EnsureUserCanUpload(f.s.Identify(bobs), ""), 403, "User 'bob', associated with the API token used, does not have two-factor authentication enabled. Please enable two-factor authentication before attempting to upload to PyPI. See https://pypi.org/help/#two-factor-authentication for more information.")
	f.users["bob"] = User{ID: UserID("bob"), Name: "bob"}
	wantErr(t, EnsureUserCanUpload(f.s.Identify(bobs), ""), 403, "User 'bob', associated with the API token used, does not have a verified primary email address. Please add a verified primary email before attempting to upload to PyPI. See https://pypi.org/help/#verified-email for more information.")
	if err := EnsureUserCanUpload(Identity{Kind: KindPublisher}, ""); err != nil {
		t.Errorf("publisher: %v", err)
	}

	// The user's identity changing (a different account with the name):
	// the RequestUser caveat no longer matches.
	f.users["alice"] = User{ID: UserID("alice2"), Name: "alice", EmailVerified: true, TwoFactor: true}
	wantErr(t, f.s.Authorize(f.s.Identify(all), f.foo), 403, "Invalid API Token: current user does not match user restriction in token")
	// The owner deleted: no identity.
	delete(f.users, "alice")
	if id := f.s.Identify(all); !id.IsNone() || id.Why != "token owner alice does not exist" {
		t.Errorf("deleted owner: %+v", id)
	}

	// Same name, same string, on any run; tokens differ per name.
	again := NewService("pypi.org", clock.NewFake(t0.Add(time.Hour)), f.users, f.pubs)
	if tok, _ := again.MintUser(UserToken{Name: "alice-all", User: "alice"}, UserID("alice"), nil); tok != all {
		t.Errorf("user-scoped token not stable across runs")
	}
	if all == bobs || UserID("alice") == UserID("bob") || UserID("alice") != UserID("alice") {
		t.Errorf("token or user IDs collide")
	}
}

func TestOIDCTokenAuthorize(t *testing.T) {
	f := newFixture(t)
	f.pubs["pub-1"] = []string{"foo-bar"}
	tok, exp, err := f.s.MintOIDC("pub-1", []string{f.foo.ID}, map[string]any{"ref": "refs/tags/v1", "sha": "abc"})
	if err != nil || exp != t0.Unix()+OIDCLifetime || OIDCLifetime != 900 {
		t.Fatalf("mint: %v %d", err, exp)
	}
	id, err := f.auth(t, "Basic "+b64("__token__:"+tok))
	if err != nil || id.Kind != KindPublisher || id.PublisherID != "pub-1" || id.Claims["sha"] != "abc" || id.User != nil {
		t.Fatalf("identity %+v %v", id, err)
	}
	if err := f.s.Authorize(id, f.foo); err != nil {
		t.Fatalf("foo: %v", err)
	}
	wantErr(t, f.s.Authorize(id, f.bar), 403, "Invalid API Token: OIDC scoped token is not valid for project 'Bar'")
	wantErr(t, f.s.Authorize(id, Project{}), 403, "Invalid API Token: OIDC scoped token used outside of a project context")
	// Valid from not_before up to (not including) expires.
	f.clk.Set(t0.Add(-time.Second))
	wantErr(t, f.s.Authorize(id, f.foo), 403, "Invalid API Token: token is expired")
	f.clk.Set(t0.Add(899 * time.Second))
	if err := f.s.Authorize(id, f.foo); err != nil {
		t.Fatalf("at 899 s: %v", err)
	}
	f.clk.Set(t0.Add(900 * time.Second))
	wantErr(t, f.s.Authorize(id, f.foo), 403, "Invalid API Token: token is expired")
	f.clk.Set(t0)

	// The publisher attached to another project after minting: the
	// OIDCPublisher caveat sees it, but the token's ProjectID caveat
	// still pins the projects of mint time.
	f.pubs["pub-1"] = []string{"foo-bar", "bar"}
	wantErr(t, f.s.Authorize(id, f.bar), 403, "Invalid API Token: project-scoped token is not valid for project: 'Bar'")
	// Detached from foo: the OIDC caveat refuses.
	f.pubs["pub-1"] = []string{"bar"}
	wantErr(t, f.s.Authorize(id, f.foo), 403, "Invalid API Token: OIDC scoped token is not valid for project 'Foo_Bar'")
	// Publisher deleted: the token is gone too.
	delete(f.pubs, "pub-1")
	if id := f.s.Identify(tok); !id.IsNone() || id.Why != "the token's publisher pub-1 no longer exists" {
		t.Fatalf("deleted publisher: %+v", id)
	}

	// A signature that does not match, with a valid identifier.
	f.pubs["pub-1"] = []string{"foo-bar"}
	b := []byte(tok)
	if b[len(b)-3] == 'A' {
		b[len(b)-3] = 'B'
	} else {
		b[len(b)-3] = 'A'
	}
	wantErr(t, f.s.Authorize(f.s.Identify(string(b)), f.foo), 403, "Invalid API Token: signatures do not match")

	// A user token is not an OIDC identity and vice versa.
	wantErr(t, f.s.Authorize(Identity{}, f.foo), 403, MsgNoIdentity(""))
}

func TestListAndRevoke(t *testing.T) {
	f := newFixture(t)
	f.pubs["p"] = []string{"foo-bar"}
	oidcTok, _, _ := f.s.MintOIDC("p", []string{f.foo.ID}, nil)
	f.clk.Advance(time.Second)
	b, _ := f.s.MintUser(UserToken{Name: "b", User: "bob"}, UserID("bob"), nil)
	f.clk.Advance(time.Second)
	a, _ := f.s.MintUser(UserToken{Name: "a", User: "alice"}, UserID("alice"), []ScopedProject{{ID: f.bar.ID, NormalizedName: "bar"}})
	l := f.s.List()
	if len(l) != 3 || l[0].Name != "b" || l[1].Name != "a" || l[2].Kind != KindPublisher {
		t.Fatalf("order: %+v", l)
	}
	if l[0].Token != b || l[1].Token != a || l[2].Token != "" || l[2].Expires != t0.Unix()+900 || l[0].Expires != 0 {
		t.Fatalf("tokens: %+v", l)
	}
	if strings.Join(l[0].Caveats, " ") != `[3,"`+UserID("bob")+`"]` ||
		strings.Join(l[1].Caveats, " ") != `[1,["bar"]] [2,["`+f.bar.ID+`"]]` ||
		strings.Join(l[2].Caveats, " ") != `[4,"p",null] [2,["`+f.foo.ID+`"]] [0,`+itoa(t0.Unix()+900)+`,`+itoa(t0.Unix())+`]` {
		t.Fatalf("caveats: %q %q %q", l[0].Caveats, l[1].Caveats, l[2].Caveats)
	}
	if !f.s.Revoke("a") || f.s.Revoke("a") || !f.s.Revoke(l[2].ID) {
		t.Fatal("revoke")
	}
	if !f.s.Identify(a).IsNone() || !f.s.Identify(oidcTok).IsNone() || f.s.Identify(b).IsNone() {
		t.Fatal("revoked tokens still identify")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func wantErr(t *testing.T, err error, status int, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Status != status || e.Message != msg {
		t.Fatalf("error = %v, want %d %s", err, status, msg)
	}
}
