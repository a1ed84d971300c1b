package index

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/apitoken"
	"github.com/fakepypi/fakepypi/internal/events"
	"github.com/fakepypi/fakepypi/internal/oidc"
	"github.com/fakepypi/fakepypi/internal/publisher"
	"github.com/fakepypi/fakepypi/internal/trust"
)

// TestAudience: warehouse/oidc/views.py oidc_audience, rendered by the
// json renderer (warehouse/config.py: sort_keys, separators (",", ":")),
// and its 403, an HTTPForbidden(json=...) that WebOb serializes with
// separators (",", ":") (webob/response.py).
func TestAudience(t *testing.T) {
	ti := newTestIssuer(t)
	s, _ := newTestServer(t, ti, testSetup)
	if code, body, h := do(t, s, "GET", "/_/oidc/audience", ""); code != 200 || body != `{"audience":"pypi"}` || h.Get("Content-Type") != "application/json" {
		t.Fatalf("audience = %d %s %q", code, body, h.Get("Content-Type"))
	}
	if code, body, h := do(t, s, "POST", "/_/oidc/audience", ""); code != 405 || h.Get("Allow") != "GET" ||
		body != "405 Method Not Allowed\n\nThe method POST is not allowed for this resource. \n\n\n" {
		t.Fatalf("POST audience = %d Allow=%q %q", code, h.Get("Allow"), body)
	}
	// requests (twine, the action) sends Accept: */*: Pyramid's HTML page
	// (warehouse/csrf.py require_method_view raises HTTPMethodNotAllowed).
	req := httptest.NewRequest("PUT", "/_/oidc/mint-token", nil)
	req.Header.Set("Accept", "*/*")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if want := "<html>\n <head>\n  <title>405 Method Not Allowed</title>\n </head>\n <body>\n  <h1>405 Method Not Allowed</h1>\n" +
		"  The method PUT is not allowed for this resource. <br/><br/>\n\n </body>\n</html>"; rec.Code != 405 || rec.Body.String() != want ||
		rec.Header().Get("Content-Type") != "text/html; charset=UTF-8" || rec.Header().Get("Allow") != "POST" {
		t.Fatalf("PUT mint-token, Accept */*: %d %q %q", rec.Code, rec.Header(), rec.Body.String())
	}
	if code, _, h := do(t, s, "GET", "/_/oidc/mint-token", ""); code != 405 || h.Get("Allow") != "POST" {
		t.Fatalf("GET mint-token = %d Allow=%q", code, h.Get("Allow"))
	}
	s.Flags.Set("disallow-github-oidc", true) // per-issuer flags do not affect the audience
	if code, _, _ := do(t, s, "GET", "/_/oidc/audience", ""); code != 200 {
		t.Fatalf("per-issuer flag changed audience: %d", code)
	}
	s.Flags.Set("disallow-oidc", true)
	if code, body, _ := do(t, s, "GET", "/_/oidc/audience", ""); code != 403 || body != `{"message":"Trusted publishing functionality not enabled"}` {
		t.Fatalf("disabled audience = %d %s", code, body)
	}
	s.Exchange.SetAudience("testpypi")
	s.Flags.Set("disallow-oidc", false)
	if _, body, _ := do(t, s, "GET", "/_/oidc/audience", ""); body != `{"audience":"testpypi"}` {
		t.Fatalf("testpypi audience = %s", body)
	}
}

// TestMintSuccessAndToken: mint_token's success dict through the json
// renderer (warehouse/oidc/views.py, warehouse/config.py): keys sorted,
// compact, so "expires" comes first.
func TestMintSuccessAndToken(t *testing.T) {
	ti := newTestIssuer(t)
	s, clk := newTestServer(t, ti, testSetup)
	for _, path := range []string{"/_/oidc/mint-token", "/_/oidc/github/mint-token"} {
		code, body, h := do(t, s, "POST", path, mintBody(ti.sign(t, githubClaims("jti-"+path))))
		if code != 200 || h.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		var got struct {
			Success bool   `json:"success"`
			Token   string `json:"token"`
			Expires int64  `json:"expires"`
		}
		json.Unmarshal([]byte(body), &got)
		want := fmt.Sprintf(`{"expires":%d,"success":true,"token":"%s"}`, t0.Unix()+900, got.Token)
		if body != want {
			t.Fatalf("body\n got %s\nwant %s", body, want)
		}
		if !strings.HasPrefix(got.Token, "pypi-AgEIcHlwaS5vcmcCJ") {
			t.Fatalf("token %s does not start like PyPI's", got.Token)
		}
	}
	// The token authorizes uploads to sampleproject only, for 900 s.
	_, body, _ := do(t, s, "POST", "/_/oidc/mint-token", mintBody(ti.sign(t, githubClaims("jti-auth"))))
	var got struct{ Token string }
	json.Unmarshal([]byte(body), &got)
	sample, _ := s.Catalog.Project("sampleproject")
	other, _ := s.Catalog.Project("other-project")
	id := authenticate(t, s, "Basic "+basic("__token__", " "+got.Token+" "))
	if id.Kind != apitoken.KindPublisher {
		t.Fatalf("identity = %+v", id)
	}
	if err := s.Tokens.Authorize(id, AuthProject(sample)); err != nil {
		t.Fatalf("authorize sampleproject: %v", err)
	}
	wantErr(t, s.Tokens.Authorize(id, AuthProject(other)), 403, "Invalid API Token: OIDC scoped token is not valid for project 'other-project'")
	clk.Advance(899 * time.Second)
	if err := s.Tokens.Authorize(id, AuthProject(sample)); err != nil {
		t.Fatalf("at 899 s: %v", err)
	}
	clk.Advance(time.Second)
	wantErr(t, s.Tokens.Authorize(id, AuthProject(sample)), 403, "Invalid API Token: token is expired")

	// Tampered signature.
	tampered := tamper(t, got.Token)
	id = s.Tokens.Identify(tampered)
	clk.Set(t0)
	wantErr(t, s.Tokens.Authorize(id, AuthProject(sample)), 403, "Invalid API Token: signatures do not match")
}

func tamper(t *testing.T, tok string) string {
	// Flip a bit in the last byte of the signature.
	b := []byte(tok)
	c := b[len(b)-2]
	if c == 'A' {
		b[len(b)-2] = 'B'
	} else {
		b[len(b)-2] = 'A'
	}
	return string(b)
}

func basic(u, p string) string {
	return strings.TrimSpace(base64Std(u + ":" + p))
}

func authenticate(t *testing.T, s *Server, auth string) apitoken.Identity {
	t.Helper()
	r := httptest.NewRequest("POST", "/legacy/", nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	id, err := s.Tokens.Authenticate(r)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return id
}

func wantErr(t *testing.T, err error, status int, msg string) {
	t.Helper()
	e, ok := err.(*apitoken.Error)
	if !ok || e.Status != status || e.Message != msg {
		t.Fatalf("error = %v, want %d %s", err, status, msg)
	}
}

func TestUserTokens(t *testing.T) {
	ti := newTestIssuer(t)
	s, _ := newTestServer(t, ti, testSetup)
	all, _ := s.Token("alice-all")
	scoped, _ := s.Token("alice-sample")
	sample, _ := s.Catalog.Project("sampleproject")
	other, _ := s.Catalog.Project("other-project")
	if !strings.HasPrefix(all, "pypi-AgEIcHlwaS5vcmcCJ") {
		t.Fatalf("user token %s", all)
	}
	for _, auth := range []string{"Bearer " + all, "token " + all, "Basic " + basic("__token__", all)} {
		id := authenticate(t, s, auth)
		if id.Kind != apitoken.KindUser || id.User.Name != "alice" {
			t.Fatalf("%s: identity %+v", auth[:6], id)
		}
		if err := s.Tokens.Authorize(id, AuthProject(sample)); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.Tokens.Authorize(id, AuthProject(other)), 403, "The user 'alice' isn't allowed to upload to project 'other-project'. See https://pypi.org/help/#project-name for more information.")
	}
	id := authenticate(t, s, "Bearer "+scoped)
	wantErr(t, s.Tokens.Authorize(id, AuthProject(other)), 403, "Invalid API Token: project-scoped token is not valid for project: 'other-project'")
	// No identity cases.
	for _, auth := range []string{"", "Bearer garbage", "Bearer " + strings.TrimPrefix(all, "pypi-"), "Bearer pypi-"} {
		if id := authenticate(t, s, auth); !id.IsNone() {
			t.Fatalf("%q gave identity %+v", auth, id)
		}
	}
	r := httptest.NewRequest("POST", "/legacy/", nil)
	r.SetBasicAuth("alice", "hunter2")
	_, err := s.Tokens.Authenticate(r)
	wantErr(t, err, 403, apitoken.MsgPasswordAuth(""))
	// Stable across servers: user-scoped tokens derive from their name.
	s2, _ := newTestServer(t, ti, testSetup)
	if all2, _ := s2.Token("alice-all"); all2 != all {
		t.Fatalf("user token changed between runs")
	}
	bob := apitoken.Identity{Kind: apitoken.KindUser, User: &apitoken.User{Name: "bob", EmailVerified: true}}
	if err := apitoken.EnsureUserCanUpload(bob, ""); err == nil || !strings.Contains(err.Error(), "does not have two-factor authentication enabled") {
		t.Fatalf("2FA check: %v", err)
	}
}

// TestMintErrors covers every code and the reasons of warehouse/oidc/models/, in the order
// of warehouse/oidc/views.py, with the edge cases of Warehouse's
// tests/unit/oidc/test_views.py.
func TestMintErrors(t *testing.T) {
	ti := newTestIssuer(t)
	now := t0.Unix()
	with := func(edit func(c map[string]any)) map[string]any {
		c := githubClaims(fmt.Sprintf("jti-%d", time.Now().UnixNano()))
		edit(c)
		return c
	}
	other, _ := newOtherKey(t)
	gh := oidc.GitHubIssuer
	notFound := "valid token, but no corresponding publisher (Publisher with matching claims was not found)"
	cases := []struct {
		name  string
		body  func() string
		setup func(s *Server)
		code  string
		desc  string
	}{
		{"empty body", func() string { return "" }, nil, "invalid-payload", ""},
		{"list body", func() string { return "[]" }, nil, "invalid-payload", ""},
		{"string body", func() string { return `"a string"` }, nil, "invalid-payload", ""},
		{"number", func() string { return "12345" }, nil, "invalid-payload", ""},
		{"float", func() string { return "3.14" }, nil, "invalid-payload", ""},
		{"null", func() string { return "null" }, nil, "invalid-payload", ""},
		{"empty object", func() string { return "{}" }, nil, "invalid-payload", "1 validation error for TokenPayload\ntoken\n  Field required [type=missing, input_value={}, input_type=dict]\n    For further information visit https://errors.pydantic.dev/2.13/v/missing"},
		{"token null", func() string { return `{"token": null}` }, nil, "invalid-payload", "1 validation error for TokenPayload\ntoken\n  Input should be a valid string [type=string_type, input_value=None, input_type=NoneType]\n    For further information visit https://errors.pydantic.dev/2.13/v/string_type"},
		{"wrong key", func() string { return `{"wrongkey": ""}` }, nil, "invalid-payload", ""},
		{"token float", func() string { return `{"token": 3.14}` }, nil, "invalid-payload", ""},
		{"token 0", func() string { return `{"token": 0}` }, nil, "invalid-payload", ""},
		{"token list", func() string { return `{"token": [""]}` }, nil, "invalid-payload", ""},
		{"token empty list", func() string { return `{"token": []}` }, nil, "invalid-payload", ""},
		{"token object", func() string { return `{"token": {}}` }, nil, "invalid-payload", ""},
		{"not a jwt", func() string { return mintBody("not-a-jwt") }, nil, "invalid-payload", "malformed JWT"},
		{"HS256 without iss", func() string {
			return mintBody(unsigned(map[string]any{"alg": "HS256", "typ": "JWT"}, map[string]any{"sub": "x"}))
		}, nil, "invalid-payload", "malformed JWT"},
		{"unknown issuer", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) { c["iss"] = "https://issuer.invalid" })))
		}, nil, "invalid-payload", "unknown trusted publishing issuer"},
		{"not enabled github", func() string { return mintBody(ti.sign(t, with(func(map[string]any) {}))) },
			func(s *Server) { s.Flags.Set("disallow-github-oidc", true) }, "not-enabled", "github trusted publishing functionality not enabled"},
		{"not enabled global activestate", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) { c["iss"] = oidc.ActiveStateIssuer })))
		}, func(s *Server) { s.Flags.Set("disallow-oidc", true) }, "not-enabled", "activestate trusted publishing functionality not enabled"},
		{"bad signature", func() string { return mintBody(ti.signWith(t, with(func(map[string]any) {}), ti.kid, other)) }, nil, "invalid-token", "malformed or invalid token"},
		{"unknown kid", func() string { return mintBody(ti.signWith(t, with(func(map[string]any) {}), "nope", ti.key)) }, nil, "invalid-token", "malformed or invalid token"},
		{"missing kid", func() string { return mintBody(ti.signWith(t, with(func(map[string]any) {}), "", ti.key)) }, nil, "invalid-token", "malformed or invalid token"},
		{"alg none", func() string {
			return mintBody(unsigned(map[string]any{"alg": "none", "kid": ti.kid}, with(func(map[string]any) {})))
		}, nil, "invalid-token", "malformed or invalid token"},
		{"HS256", func() string {
			return mintBody(unsigned(map[string]any{"alg": "HS256", "kid": ti.kid}, with(func(map[string]any) {})))
		}, nil, "invalid-token", "malformed or invalid token"},
		{"aud list", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) { c["aud"] = []string{"pypi"} })))
		}, nil, "invalid-token", "malformed or invalid token"},
		{"aud wrong", func() string { return mintBody(ti.sign(t, with(func(c map[string]any) { c["aud"] = "testpypi" }))) }, nil, "invalid-token", "malformed or invalid token"},
		{"aud missing", func() string { return mintBody(ti.sign(t, with(func(c map[string]any) { delete(c, "aud") }))) }, nil, "invalid-token", "malformed or invalid token"},
		{"exp missing", func() string { return mintBody(ti.sign(t, with(func(c map[string]any) { delete(c, "exp") }))) }, nil, "invalid-token", "malformed or invalid token"},
		{"iat missing", func() string { return mintBody(ti.sign(t, with(func(c map[string]any) { delete(c, "iat") }))) }, nil, "invalid-token", "malformed or invalid token"},
		{"expired beyond leeway", func() string { return mintBody(ti.sign(t, with(func(c map[string]any) { c["exp"] = now - 30 }))) }, nil, "invalid-token", "malformed or invalid token"},
		{"iat in future", func() string { return mintBody(ti.sign(t, with(func(c map[string]any) { c["iat"] = now + 31 }))) }, nil, "invalid-token", "malformed or invalid token"},
		{"nbf in future", func() string { return mintBody(ti.sign(t, with(func(c map[string]any) { c["nbf"] = now + 31 }))) }, nil, "invalid-token", "malformed or invalid token"},
		{"sub not a string", func() string { return mintBody(ti.sign(t, with(func(c map[string]any) { c["sub"] = 5 }))) }, nil, "invalid-token", "malformed or invalid token"},
		{"jti not a string", func() string { return mintBody(ti.sign(t, with(func(c map[string]any) { c["jti"] = 5 }))) }, nil, "invalid-token", "malformed or invalid token"},
		{"within leeway", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) { c["exp"] = now - 29; c["iat"] = now + 30; c["nbf"] = now + 30 })))
		}, nil, "", ""},
		{"wrong workflow", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) {
				c["job_workflow_ref"] = "octo-org/sampleproject/.github/workflows/release.yaml@refs/tags/v1.0"
			})))
		}, nil, "invalid-publisher", notFound},
		{"wrong owner id", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) { c["repository_owner_id"] = "9" })))
		}, nil, "invalid-publisher", notFound},
		{"missing claim", func() string { return mintBody(ti.sign(t, with(func(c map[string]any) { delete(c, "event_name") }))) }, nil, "invalid-publisher", "valid token, but no corresponding publisher (Missing claim 'event_name')"},
		{"null claim", func() string { return mintBody(ti.sign(t, with(func(c map[string]any) { c["sha"] = nil }))) }, nil, "invalid-publisher", "valid token, but no corresponding publisher (Missing claim 'sha')"},
		{"no workflow file", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) { c["job_workflow_ref"] = "octo-org/sampleproject/.github/workflows/main.yml" })))
		}, nil, "invalid-publisher", "valid token, but no corresponding publisher (Could not job extract workflow filename from OIDC claims)"},
		{"impersonation", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) {
				c["job_workflow_ref"] = "octo-org/sampleproject/.github/workflows/release.yml@evil.yml@refs/tags/v1.0"
			})))
		}, nil, "invalid-publisher", notFound},
		{"ref mismatch", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) {
				c["job_workflow_ref"] = "octo-org/sampleproject/.github/workflows/release.yml@refs/heads/other"
			})))
		}, nil, "invalid-publisher", "valid token, but no corresponding publisher (The job_workflow_ref claim does not match, expecting one of ['octo-org/sampleproject/.github/workflows/release.yml@0123456789abcdef0123456789abcdef01234567', 'octo-org/sampleproject/.github/workflows/release.yml@refs/tags/v1.0'], got 'octo-org/sampleproject/.github/workflows/release.yml@refs/heads/other')"},
		{"ref and sha empty", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) { c["ref"] = ""; c["sha"] = "" })))
		}, nil, "invalid-publisher", "valid token, but no corresponding publisher (The ref and sha claims are empty)"},
		{"only sha", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) {
				c["ref"] = ""
				c["job_workflow_ref"] = "octo-org/sampleproject/.github/workflows/release.yml@0123456789abcdef0123456789abcdef01234567"
			})))
		}, nil, "", ""},
		{"empty job_workflow_ref", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) { c["job_workflow_ref"] = "" })))
		}, nil, "invalid-publisher", "valid token, but no corresponding publisher (Could not job extract workflow filename from OIDC claims)"},
		{"pull_request_target", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) { c["event_name"] = "pull_request_target" })))
		}, nil, "invalid-publisher", "valid token, but no corresponding publisher (Publishing from a workflow invoked via 'pull_request_target' is not supported.)"},
		{"repository case-insensitive claim", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) { c["repository"] = "Octo-Org/sampleproject" })))
		}, nil, "invalid-publisher", notFound},
		{"repo_property claims tolerated", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) { c["repo_property_team"] = "x" })))
		}, nil, "", ""},
		{"github custom issuer", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) { c["iss"] = "https://ghes.example.com/_services/token" })))
		}, func(s *Server) {
			s.Issuers.Set(oidc.Issuer{URL: "https://ghes.example.com/_services/token", Service: "github", Discovery: ti.srv.URL})
		}, "invalid-publisher", "valid token, but no corresponding publisher (JWT issuer 'https://ghes.example.com/_services/token' does not match expected issuer 'https://token.actions.githubusercontent.com')"},
		{"custom issuer ignores per-issuer flag", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) { c["iss"] = "https://ghes.example.com/_services/token" })))
		}, func(s *Server) {
			s.Issuers.Set(oidc.Issuer{URL: "https://ghes.example.com/_services/token", Service: "github", Discovery: ti.srv.URL})
			s.Flags.Set("disallow-github-oidc", true)
		}, "invalid-publisher", "valid token, but no corresponding publisher (JWT issuer 'https://ghes.example.com/_services/token' does not match expected issuer 'https://token.actions.githubusercontent.com')"},
		{"repository without slash is a 500", func() string {
			return mintBody(ti.sign(t, with(func(c map[string]any) { c["repository"] = "noslash" })))
		}, nil, "500", ""},
	}
	_ = gh
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestServer(t, ti, testSetup)
			if tc.setup != nil {
				tc.setup(s)
			}
			code, body, _ := do(t, s, "POST", "/_/oidc/mint-token", tc.body())
			switch tc.code {
			case "":
				if code != 200 {
					t.Fatalf("want success, got %d %s", code, body)
				}
			case "500":
				if code != 500 {
					t.Fatalf("want 500, got %d %s", code, body)
				}
			default:
				if code != 422 {
					t.Fatalf("status %d %s", code, body)
				}
				if tc.desc != "" {
					if want := wantError(tc.code, tc.desc); body != want {
						t.Fatalf("body\n got %s\nwant %s", body, want)
					}
				} else if !strings.Contains(body, `"code":"`+tc.code+`"`) || strings.Contains(body, `"description":""`) {
					t.Fatalf("body %s", body)
				}
			}
			if ev, ok := s.Events.Last(events.KindMint); !ok || (tc.code != "" && ev.Verdict != "error") {
				t.Fatalf("event %+v", ev)
			}
		})
	}
}

func TestEnvironmentRules(t *testing.T) {
	ti := newTestIssuer(t)
	base := `
users: [{name: alice}]
projects: [{name: p, owners: [alice]}]
publishers:
`
	pub := func(env string) string {
		return fmt.Sprintf("  - {service: github, owner: octo-org, repository: sampleproject, workflow_filename: release.yml, environment: %q, projects: [p]}\n", env)
	}
	cases := []struct {
		pubs   []string
		token  any // nil = no environment claim
		ok     bool
		chosen string
	}{
		{[]string{""}, "prod", true, ""},
		{[]string{"prod"}, "PROD", true, "prod"},
		{[]string{"prod"}, nil, false, ""},
		{[]string{"prod"}, "staging", false, ""},
		{[]string{"", "prod"}, "prod", true, "prod"},
		{[]string{"prod", ""}, "other", true, ""},
	}
	for i, tc := range cases {
		setup := base
		for _, e := range tc.pubs {
			setup += pub(e)
		}
		s, _ := newTestServer(t, ti, setup)
		c := githubClaims(fmt.Sprint("env-", i))
		if tc.token != nil {
			c["environment"] = tc.token
		}
		code, body, _ := do(t, s, "POST", "/_/oidc/mint-token", mintBody(ti.sign(t, c)))
		if (code == 200) != tc.ok {
			t.Fatalf("case %d: %d %s", i, code, body)
		}
		ev, _ := s.Events.Last(events.KindMint)
		d := ev.Details.(*trust.MintDetails)
		if tc.ok && d.Publisher.Environment != tc.chosen {
			t.Fatalf("case %d chose environment %q", i, d.Publisher.Environment)
		}
	}
}

func TestDiagnosis(t *testing.T) {
	ti := newTestIssuer(t)
	s, _ := newTestServer(t, ti, testSetup)
	c := githubClaims("diag")
	c["job_workflow_ref"] = "octo-org/sampleproject/.github/workflows/release.yaml@refs/tags/v1.0"
	code, body, _ := do(t, s, "POST", "/_/oidc/mint-token", mintBody(ti.sign(t, c)))
	if code != 422 {
		t.Fatal(body)
	}
	ev, _ := s.Events.Last(events.KindMint)
	d := ev.Details.(*trust.MintDetails)
	if d.Diagnosis == nil || len(d.Diagnosis.Differences) != 1 ||
		d.Diagnosis.Differences[0] != `workflow filename configured "release.yml", token's job_workflow_ref names "release.yaml"` {
		t.Fatalf("diagnosis %+v", d.Diagnosis)
	}
	if !strings.Contains(ev.Why, "release.yaml") || d.Claims["job_workflow_ref"] == nil {
		t.Fatalf("event %+v", ev)
	}
	// Over HTTP too.
	_, evBody, _ := do(t, s, "GET", "/_fake/events?kind=mint", "")
	if !strings.Contains(evBody, `token's job_workflow_ref names \"release.yaml\"`) {
		t.Fatalf("/_fake/events: %s", evBody)
	}
}

func TestReplay(t *testing.T) {
	ti := newTestIssuer(t)
	s, clk := newTestServer(t, ti, testSetup)
	tok := ti.sign(t, githubClaims("replay"))
	if code, body, _ := do(t, s, "POST", "/_/oidc/mint-token", mintBody(tok)); code != 200 {
		t.Fatal(body)
	}
	if _, body, _ := do(t, s, "POST", "/_/oidc/mint-token", mintBody(tok)); body != wantError("invalid-reuse-token", "invalid token: already used") {
		t.Fatal(body)
	}
	// Retained until exp + 35 s; after that the JWT is expired anyway.
	if !s.JTI.Exists("github", "replay") {
		t.Fatal("jti forgotten")
	}
	clk.Set(t0.Add(300*time.Second + 34*time.Second))
	if !s.JTI.Exists("github", "replay") {
		t.Fatal("jti forgotten before exp+35")
	}
	clk.Set(t0.Add(300*time.Second + 35*time.Second))
	if s.JTI.Exists("github", "replay") {
		t.Fatal("jti kept after exp+35")
	}

	// A JWT rejected for its publisher is not consumed.
	s2, _ := newTestServer(t, ti, testSetup)
	c := githubClaims("fix-later")
	c["repository_owner_id"] = "2002"
	tok = ti.sign(t, c)
	if _, body, _ := do(t, s2, "POST", "/_/oidc/mint-token", mintBody(tok)); !strings.Contains(body, "invalid-publisher") {
		t.Fatal(body)
	}
	// PyPI's unique key leaves owner_id out, so replace the publisher.
	s2.Publishers.Remove(s2.Publishers.List(false)[0].ID)
	if _, err := s2.AddPublisher(publisher.Publisher{Service: "github", Owner: "octo-org", OwnerID: "2002", Repository: "sampleproject",
		WorkflowFilename: "release.yml", Projects: []string{"sampleproject"}}); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := do(t, s2, "POST", "/_/oidc/mint-token", mintBody(tok)); code != 200 {
		t.Fatal(body)
	}
}

func TestConcurrentMintsOfOneJTI(t *testing.T) {
	ti := newTestIssuer(t)
	s, _ := newTestServer(t, ti, testSetup)
	tok := ti.sign(t, githubClaims("concurrent"))
	const n = 24
	var wg sync.WaitGroup
	codes := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body, _ := do(t, s, "POST", "/_/oidc/mint-token", mintBody(tok))
			if code == 200 {
				codes[i] = "ok"
			} else if body == wantError("invalid-reuse-token", "invalid token: already used") {
				codes[i] = "reuse"
			} else {
				codes[i] = body
			}
		}()
	}
	wg.Wait()
	ok, reuse := 0, 0
	for _, c := range codes {
		switch c {
		case "ok":
			ok++
		case "reuse":
			reuse++
		default:
			t.Fatalf("unexpected %s", c)
		}
	}
	if ok != 1 || reuse != n-1 {
		t.Fatalf("ok=%d reuse=%d", ok, reuse)
	}
}

func TestPendingPublisher(t *testing.T) {
	ti := newTestIssuer(t)
	setup := testSetup + `
pending_publishers:
  - {service: github, owner: octo-org, repository: newproj, workflow_filename: release.yml, project_name: New_Proj, added_by: alice}
  - {service: github, owner: octo-org, repository: newproj, workflow_filename: other.yml, project_name: new-proj, added_by: bob}
  - {service: github, owner: octo-org, repository: stdlib, workflow_filename: release.yml, project_name: xml, added_by: alice}
  - {service: github, owner: octo-org, repository: exists, workflow_filename: release.yml, project_name: SampleProject, added_by: alice}
`
	s, _ := newTestServer(t, ti, setup)
	claims := func(repo, jti string) map[string]any {
		c := githubClaims(jti)
		c["repository"] = "octo-org/" + repo
		c["job_workflow_ref"] = "octo-org/" + repo + "/.github/workflows/release.yml@refs/tags/v1.0"
		return c
	}
	if code, body, _ := do(t, s, "POST", "/_/oidc/mint-token", mintBody(ti.sign(t, claims("newproj", "p1")))); code != 200 {
		t.Fatal(body)
	}
	p, ok := s.Catalog.Project("new-proj")
	if !ok || p.Name != "New_Proj" || len(p.Roles) != 1 || p.Roles[0].User != "alice" || p.Roles[0].Role != "Owner" {
		t.Fatalf("project %+v", p)
	}
	if n := len(s.Publishers.List(true)); n != 2 {
		t.Fatalf("pending publishers left: %d (the same-name one must be invalidated)", n)
	}
	// Minting again goes through the reified publisher.
	if code, body, _ := do(t, s, "POST", "/_/oidc/mint-token", mintBody(ti.sign(t, claims("newproj", "p2")))); code != 200 {
		t.Fatal(body)
	}
	_, body, _ := do(t, s, "POST", "/_/oidc/mint-token", mintBody(ti.sign(t, claims("stdlib", "p3"))))
	if body != wantError("invalid-payload", "The name 'xml' isn't allowed (conflict with Python Standard Library module name). See https://pypi.org/help/#project-name for more information.") {
		t.Fatal(body)
	}
	_, body, _ = do(t, s, "POST", "/_/oidc/mint-token", mintBody(ti.sign(t, claims("exists", "p4"))))
	if body != wantError("invalid-pending-publisher", "valid token, but project already exists") {
		t.Fatal(body)
	}
	if n := len(s.Publishers.List(true)); n != 1 {
		t.Fatalf("pending publisher for an existing project not deleted: %d left", n)
	}
	s.Flags.Set("disallow-new-project-registration", true)
	s.AddPublisher(publisher.Publisher{Pending: true, Service: "github", Owner: "octo-org", Repository: "later", WorkflowFilename: "release.yml", ProjectName: "later"})
	_, body, _ = do(t, s, "POST", "/_/oidc/mint-token", mintBody(ti.sign(t, claims("later", "p5"))))
	if body != wantError("invalid-payload", MsgRegistrationDisabled("")) {
		t.Fatal(body)
	}
}

func TestOtherIssuers(t *testing.T) {
	ti := newTestIssuer(t)
	setup := strings.Replace(testSetup, "tokens:", `
  - {service: gitlab, namespace: Group/Sub, project: proj, workflow_filepath: ci/release.yml, environment: Prod, projects: [sampleproject]}
  - {service: gitlab, namespace: team, project: proj, workflow_filepath: .gitlab-ci.yml, issuer_url: "https://gitlab.example.com", projects: [sampleproject]}
  - {service: google, email: ci@example.iam.gserviceaccount.com, projects: [sampleproject]}
  - {service: activestate, organization: org, project: proj, actor: someone, actor_id: "a-1", projects: [sampleproject]}
tokens:`, 1)
	s, _ := newTestServer(t, ti, setup)
	s.Issuers.Set(oidc.Issuer{URL: "https://gitlab.example.com", Service: "gitlab", Discovery: ti.srv.URL})
	now := t0.Unix()
	reg := func(iss, jti string) map[string]any {
		return map[string]any{"iss": iss, "aud": "pypi", "iat": now, "exp": now + 300, "jti": jti}
	}
	gitlab := func(jti string) map[string]any {
		c := reg(oidc.GitLabIssuer, jti)
		c["sub"] = "project_path:group/sub/proj:ref_type:tag:ref:v1"
		c["project_path"] = "group/sub/proj"
		c["ci_config_ref_uri"] = "gitlab.com/Group/Sub/proj//ci/release.yml@refs/tags/v1"
		c["ref_path"] = "refs/tags/v1"
		c["sha"] = "abc"
		c["environment"] = "Prod"
		return c
	}
	mint := func(c map[string]any) (int, string) {
		code, body, _ := do(t, s, "POST", "/_/oidc/mint-token", mintBody(ti.sign(t, c)))
		return code, body
	}
	if code, body := mint(gitlab("g1")); code != 200 {
		t.Fatal("gitlab:", body)
	}
	c := gitlab("g2")
	c["environment"] = "prod" // case-sensitive for GitLab
	if _, body := mint(c); body != wantError("invalid-publisher", "valid token, but no corresponding publisher (Publisher with matching claims was not found)") {
		t.Fatal(body)
	}
	c = gitlab("g3")
	c["sha"] = ""
	if _, body := mint(c); body != wantError("invalid-publisher", "valid token, but no corresponding publisher (The ref_path and sha claims are empty)") {
		t.Fatal(body)
	}
	c = gitlab("g4")
	c["ci_config_ref_uri"] = "gitlab.com/Group/Sub/proj/ci/release.yml@refs/tags/v1"
	if _, body := mint(c); body != wantError("invalid-publisher", "valid token, but no corresponding publisher (Could not extract workflow filename from OIDC claims)") {
		t.Fatal(body)
	}
	// Custom GitLab instance.
	c = reg("https://gitlab.example.com", "g5")
	c["sub"], c["project_path"], c["ref_path"], c["sha"] = "project_path:team/proj:ref_type:branch:ref:main", "team/proj", "refs/heads/main", "def"
	c["ci_config_ref_uri"] = "gitlab.example.com/team/proj//.gitlab-ci.yml@refs/heads/main"
	if code, body := mint(c); code != 200 {
		t.Fatal("custom gitlab:", body)
	}
	// Google.
	g := reg(oidc.GoogleIssuer, "")
	delete(g, "jti")
	g["email"], g["email_verified"], g["sub"] = "ci@example.iam.gserviceaccount.com", true, "1234"
	if code, body := mint(g); code != 200 {
		t.Fatal("google:", body)
	}
	g["email_verified"] = false
	if _, body := mint(g); body != wantError("invalid-publisher", "valid token, but no corresponding publisher (Check failed for required claim 'email_verified')") {
		t.Fatal(body)
	}
	delete(g, "email_verified")
	if _, body := mint(g); body != wantError("invalid-publisher", "valid token, but no corresponding publisher (Missing claim 'email_verified')") {
		t.Fatal(body)
	}
	// ActiveState.
	as := func(sub string) map[string]any {
		c := reg(oidc.ActiveStateIssuer, "")
		delete(c, "jti")
		c["sub"], c["organization"], c["project"], c["actor_id"], c["builder"] = sub, "org", "proj", "a-1", "pypi-publisher"
		return c
	}
	if code, body := mint(as("org:org:project:proj:x")); code != 200 {
		t.Fatal("activestate:", body)
	}
	for sub, reason := range map[string]string{
		"org:org:project":      "Invalid 'subject' claim. Wrong format",
		"org:org:project:else": "Invalid 'subject' claim",
		"":                     "Missing 'subject' claim",
	} {
		if _, body := mint(as(sub)); body != wantError("invalid-publisher", "valid token, but no corresponding publisher ("+reason+")") {
			t.Fatalf("sub %q: %s", sub, body)
		}
	}
}

func TestKeyRefreshCooldown(t *testing.T) {
	ti := newTestIssuer(t)
	s, clk := newTestServer(t, ti, testSetup)
	unknown := func(jti string) string {
		return mintBody(ti.signWith(t, githubClaims(jti), "rotated", ti.key))
	}
	do(t, s, "POST", "/_/oidc/mint-token", unknown("k1"))
	do(t, s, "POST", "/_/oidc/mint-token", unknown("k2"))
	if n := ti.fetches.Load(); n != 1 {
		t.Fatalf("fetches within cooldown = %d, want 1", n)
	}
	clk.Advance(61 * time.Second)
	do(t, s, "POST", "/_/oidc/mint-token", unknown("k3"))
	if n := ti.fetches.Load(); n != 2 {
		t.Fatalf("fetches after cooldown = %d, want 2", n)
	}
	// A known kid needs no fetch.
	do(t, s, "POST", "/_/oidc/mint-token", mintBody(ti.sign(t, githubClaims("k4"))))
	if n := ti.fetches.Load(); n != 2 {
		t.Fatalf("fetches for a cached kid = %d", n)
	}
	_ = http.StatusOK
}

// TestPendingPublisherExpires: a pending publisher lives 30 days; PyPI's
// daily job (02:00 UTC, warehouse/oidc/tasks.py
// delete_expired_pending_publishers, warehouse#19996) deletes it, after
// which its token matches nothing. Against the index's clock.
func TestPendingPublisherExpires(t *testing.T) {
	ti := newTestIssuer(t)
	setup := testSetup + `
pending_publishers:
  - {service: github, owner: octo-org, repository: proj-a, workflow_filename: release.yml, project_name: proj-a, added_by: alice}
  - {service: github, owner: octo-org, repository: proj-b, workflow_filename: release.yml, project_name: proj-b, added_by: alice}
`
	s, clk := newTestServer(t, ti, setup) // registered at t0, 2026-03-01 12:00 UTC
	mint := func(repo, jti string) (int, string) {
		c := githubClaims(jti)
		now := clk.Now().Unix()
		c["iat"], c["nbf"], c["exp"] = now, now-5, now+300
		c["repository"] = "octo-org/" + repo
		c["job_workflow_ref"] = "octo-org/" + repo + "/.github/workflows/release.yml@refs/tags/v1.0"
		code, body, _ := do(t, s, "POST", "/_/oidc/mint-token", mintBody(ti.sign(t, c)))
		return code, body
	}
	clk.Set(time.Date(2026, 4, 1, 1, 59, 59, 0, time.UTC)) // 30 days on, before the job's run
	if code, body := mint("proj-a", "e1"); code != 200 {
		t.Fatalf("before the run: %d %s", code, body)
	}
	clk.Set(time.Date(2026, 4, 1, 2, 0, 0, 0, time.UTC))
	code, body := mint("proj-b", "e2")
	if want := wantError("invalid-publisher", "valid token, but no corresponding publisher (Publisher with matching claims was not found)"); code != 422 || body != want {
		t.Fatalf("after the run: %d %s", code, body)
	}
	if _, ok := s.Catalog.Project("proj-b"); ok || len(s.Publishers.List(true)) != 0 {
		t.Fatalf("expired pending publisher still acted: %v", s.Publishers.List(true))
	}
	if ev, ok := s.Events.Last(events.KindExpiry); !ok || !strings.Contains(ev.Message, `"proj-b" expired`) {
		t.Fatalf("no expiry event: %+v", ev)
	}
}
