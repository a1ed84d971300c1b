package apitoken

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/fuzzseed"
)

// FuzzAuthorization: any Authorization header, and any token inside a
// Basic __token__ or Bearer header (macaroons: a real user token and a
// real trusted-publishing token of this service, each with bytes
// changed), is identified or refused with one of PyPI's *Error values,
// and never panics; an identity is then authorized against a project.
func FuzzAuthorization(f *testing.F) {
	fx := newFixture(f)
	user, err := fx.s.MintUser(UserToken{Name: "t", User: "alice"}, UserID("alice"), nil)
	if err != nil {
		f.Fatal(err)
	}
	scoped, _ := fx.s.MintUser(UserToken{Name: "s", User: "alice", Projects: []string{"foo-bar"}}, UserID("alice"),
		[]ScopedProject{{ID: fx.foo.ID, NormalizedName: fx.foo.NormalizedName}})
	fx.pubs["pub-1"] = []string{"foo-bar"}
	oidcTok, _, _ := fx.s.MintOIDC("pub-1", []string{fx.foo.ID}, map[string]any{"ref": "refs/tags/v1", "sha": "abc"})
	for _, tok := range []string{user, scoped, oidcTok} {
		f.Add("Basic " + b64("__token__:"+tok))
		f.Add("Basic " + b64("__token__:"+tok[:len(tok)-3]))
		f.Add("Bearer " + tok)
		f.Add("token " + tok)
	}
	for _, s := range fuzzseed.Strings(f, "auth_test.go", "apitoken_test.go") {
		f.Add(s)
		f.Add("Basic " + b64("__token__:"+s))
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("POST", "/legacy/", nil)
		r.Header["Authorization"] = []string{header}
		var id Identity
		var err error
		fuzzseed.Within(t, 5*time.Second, header, func() {
			id, err = fx.s.Authenticate(r)
			if err == nil && !id.IsNone() {
				err = fx.s.Authorize(id, fx.foo)
			}
			if tok, ok := strings.CutPrefix(header, "Bearer "); ok {
				fx.s.Identify(tok)
			}
		})
		var ae *Error
		if err != nil && (!errors.As(err, &ae) || ae.Status < 400 || ae.Message == "") {
			t.Fatalf("%q: %v is not one of PyPI's refusals", header, err)
		}
	})
}
