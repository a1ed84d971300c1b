package issuer

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// The GitHub docs' curl form: "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=pypi"
// with "bearer", and the other clients' shapes (actions/toolkit packages/core/src/oidc-utils.ts, di/id, maturin).
func TestGitHubTokenEndpointClientShapes(t *testing.T) {
	s := startTest(t, Config{})
	v := discover(t, s.URL()+"/.well-known/openid-configuration")
	if v.issuer != GitHubIssuer {
		t.Fatalf("discovery issuer = %q, want %q", v.issuer, GitHubIssuer)
	}
	if !strings.Contains(s.RequestURL(), "?api-version=2.0") {
		t.Fatalf("request URL %q has no query to append to", s.RequestURL())
	}
	merged, _ := url.Parse(s.RequestURL())
	q := merged.Query()
	q.Set("audience", "api://AzureADTokenExchange")
	merged.RawQuery = q.Encode()

	cases := []struct {
		name, url, scheme, aud string
	}{
		{"curl docs", s.RequestURL() + "&audience=pypi", "bearer", "pypi"},
		{"toolkit", s.RequestURL() + "&audience=" + url.QueryEscape("api://AzureADTokenExchange"), "Bearer", "api://AzureADTokenExchange"},
		{"id merged query", merged.String(), "bearer", "api://AzureADTokenExchange"},
		{"upper-case scheme", s.RequestURL() + "&audience=testpypi", "BEARER", "testpypi"},
		{"appended after a preset audience", s.RequestURL() + "&audience=old&audience=pypi", "bearer", "pypi"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := requestToken(t, c.url, c.scheme, s.RequestToken())
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			var resp map[string]any
			if err := json.Unmarshal(body, &resp); err != nil {
				t.Fatal(err)
			}
			raw, _ := resp["value"].(string)
			claims, err := v.verify(raw, c.aud)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if claims["aud"] != c.aud {
				t.Fatalf("aud = %v, want %q", claims["aud"], c.aud)
			}
		})
	}
}

func TestGitHubTokenEndpointRejectsBadRequestToken(t *testing.T) {
	s := startTest(t, Config{RequestToken: "right-token"})
	for _, c := range []struct{ name, scheme, token string }{
		{"missing header", "", ""},
		{"wrong token", "bearer", "wrong-token"},
		{"wrong scheme", "Basic", "right-token"},
		{"no token", "bearer", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := requestToken(t, s.RequestURL()+"&audience=pypi", c.scheme, c.token)
			if status != 401 {
				t.Fatalf("status %d, want 401: %s", status, body)
			}
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil || m["message"] == "" || m["value"] != nil {
				t.Fatalf("body %s: want {\"message\": ...}", body)
			}
		})
	}
	if len(s.Issued()) != 0 {
		t.Fatalf("rejected requests minted %d tokens", len(s.Issued()))
	}
}

func TestGitHubDefaultAudienceIsOwnerURL(t *testing.T) {
	s := startTest(t, Config{})
	raw := githubJWT(t, s, "")
	claims := decodeSegment(t, raw, 1)
	if claims["aud"] != "https://github.com/octo-org" {
		t.Fatalf("aud = %v", claims["aud"])
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestGitHubClaimSet(t *testing.T) {
	s := startTest(t, Config{})
	raw := githubJWT(t, s, "&audience=pypi")
	v := discover(t, s.DiscoveryURL(GitHub))
	claims, err := v.verify(raw, "pypi")
	if err != nil {
		t.Fatal(err)
	}
	header := decodeSegment(t, raw, 0)
	if header["alg"] != "RS256" || header["typ"] != "JWT" || header["kid"] != s.KeyIDs()[0] || header["x5t"] == nil {
		t.Fatalf("header %v", header)
	}
	if !uuidRE.MatchString(header["kid"].(string)) {
		t.Fatalf("kid %v is not UUID-shaped like GitHub's", header["kid"])
	}
	want := map[string]string{
		"iss":                   GitHubIssuer,
		"sub":                   "repo:octo-org/octo-repo:ref:refs/heads/main",
		"repository":            "octo-org/octo-repo",
		"repository_owner":      "octo-org",
		"repository_owner_id":   "131804563",
		"repository_id":         "632596897",
		"repository_visibility": "public",
		"workflow_ref":          "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
		"job_workflow_ref":      "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
		"ref":                   "refs/heads/main",
		"ref_type":              "branch",
		"ref_protected":         "true",
		"event_name":            "push",
		"run_attempt":           "1",
		"runner_environment":    "github-hosted",
		"head_ref":              "",
		"base_ref":              "",
	}
	for k, w := range want {
		if claims[k] != w {
			t.Errorf("%s = %#v, want %q", k, claims[k], w)
		}
	}
	// Every custom value is a JSON string; only iat/nbf/exp are numbers.
	for k, val := range claims {
		switch k {
		case "iat", "nbf", "exp":
			if _, ok := val.(float64); !ok {
				t.Errorf("%s = %#v, want a number", k, val)
			}
		default:
			if _, ok := val.(string); !ok {
				t.Errorf("%s = %#v, want a string", k, val)
			}
		}
	}
	for _, absent := range []string{"environment", "environment_node_id", "enterprise", "enterprise_id"} {
		if _, ok := claims[absent]; ok {
			t.Errorf("%s present without being configured", absent)
		}
	}
	if claims["exp"].(float64)-claims["iat"].(float64) != 300 {
		t.Errorf("exp - iat = %v, want 300", claims["exp"].(float64)-claims["iat"].(float64))
	}
	if !uuidRE.MatchString(claims["jti"].(string)) {
		t.Errorf("jti %v is not a UUID", claims["jti"])
	}
	again := decodeSegment(t, githubJWT(t, s, "&audience=pypi"), 1)
	if again["jti"] == claims["jti"] {
		t.Errorf("jti reused: %v", claims["jti"])
	}
	// Every claim GitHub lists is one discovery advertises.
	var doc struct {
		Claims []string `json:"claims_supported"`
	}
	getJSON(t, s.URL()+"/.well-known/openid-configuration", &doc)
	supported := map[string]bool{}
	for _, c := range doc.Claims {
		supported[c] = true
	}
	for k := range claims {
		if !supported[k] {
			t.Errorf("claim %s not in claims_supported", k)
		}
	}
}

func TestGitHubSubjectForms(t *testing.T) {
	cases := []struct {
		name string
		run  GitHubRun
		sub  string
	}{
		{"environment wins", GitHubRun{Environment: "pypi", Event: "pull_request"}, "repo:octo-org/octo-repo:environment:pypi"},
		{"pull_request", GitHubRun{Event: "pull_request"}, "repo:octo-org/octo-repo:pull_request"},
		{"branch", GitHubRun{Ref: "refs/heads/demo-branch"}, "repo:octo-org/octo-repo:ref:refs/heads/demo-branch"},
		{"tag", GitHubRun{Ref: "refs/tags/v1.0.0", Event: "release"}, "repo:octo-org/octo-repo:ref:refs/tags/v1.0.0"},
	}
	s := startTest(t, Config{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := s.SetContext(RunContext{GitHub: c.run}); err != nil {
				t.Fatal(err)
			}
			claims := decodeSegment(t, githubJWT(t, s, "&audience=pypi"), 1)
			if claims["sub"] != c.sub {
				t.Fatalf("sub = %v, want %q", claims["sub"], c.sub)
			}
			if c.run.Environment != "" && (claims["environment"] != c.run.Environment || claims["environment_node_id"] == "") {
				t.Fatalf("environment claims %v %v", claims["environment"], claims["environment_node_id"])
			}
			if strings.HasPrefix(c.run.Ref, "refs/tags/") && claims["ref_type"] != "tag" {
				t.Fatalf("ref_type = %v", claims["ref_type"])
			}
		})
	}
}

func TestGitHubReusableWorkflowAndEnterprise(t *testing.T) {
	s := startTest(t, Config{Context: RunContext{GitHub: GitHubRun{
		Repository:       "acme/app",
		ReusableWorkflow: "acme/workflows/.github/workflows/publish.yml@refs/tags/v2",
		Enterprise:       "avocado-corp",
	}}})
	claims := decodeSegment(t, githubJWT(t, s, "&audience=pypi"), 1)
	if claims["workflow_ref"] != "acme/app/.github/workflows/release.yml@refs/heads/main" {
		t.Errorf("workflow_ref = %v", claims["workflow_ref"])
	}
	if claims["job_workflow_ref"] != "acme/workflows/.github/workflows/publish.yml@refs/tags/v2" {
		t.Errorf("job_workflow_ref = %v", claims["job_workflow_ref"])
	}
	if claims["job_workflow_sha"] == claims["workflow_sha"] {
		t.Errorf("job_workflow_sha equals workflow_sha for a reusable workflow")
	}
	if claims["repository_owner"] != "acme" || claims["enterprise"] != "avocado-corp" || claims["enterprise_id"] != "2" {
		t.Errorf("owner/enterprise claims: %v %v %v", claims["repository_owner"], claims["enterprise"], claims["enterprise_id"])
	}
}

func TestDiscoveryMatchesGitHub(t *testing.T) {
	s := startTest(t, Config{})
	var doc map[string]any
	getJSON(t, s.URL()+"/.well-known/openid-configuration", &doc)
	var keys []string
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"claims_supported", "id_token_signing_alg_values_supported", "issuer", "jwks_uri",
		"response_types_supported", "scopes_supported", "subject_types_supported"}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("discovery fields %v, want %v", keys, want)
	}
	if doc["jwks_uri"] != s.URL()+"/.well-known/jwks" {
		t.Fatalf("jwks_uri = %v", doc["jwks_uri"])
	}
	if len(doc["claims_supported"].([]any)) != len(githubClaimsSupported) {
		t.Fatalf("claims_supported has %d entries", len(doc["claims_supported"].([]any)))
	}
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	getJSON(t, s.URL()+"/.well-known/jwks", &jwks)
	k := jwks.Keys[0]
	for _, f := range []string{"kty", "alg", "use", "kid", "n", "e", "x5c", "x5t"} {
		if k[f] == nil {
			t.Errorf("JWK lacks %s: %v", f, k)
		}
	}
	if k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" || k["e"] != "AQAB" {
		t.Errorf("JWK %v", k)
	}
	// RSA-2048: a 256-byte modulus is 342 base64url characters.
	if n := len(k["n"].(string)); n != 342 {
		t.Errorf("modulus is %d base64url characters, want 342", n)
	}
}

func TestSeedGivesSameKeys(t *testing.T) {
	a := startTest(t, Config{Seed: "same", Keys: 2})
	b := startTest(t, Config{Seed: "same", Keys: 2})
	c := startTest(t, Config{Seed: "other"})
	if !reflect.DeepEqual(a.KeyIDs(), b.KeyIDs()) || len(a.KeyIDs()) != 2 {
		t.Fatalf("same seed, kids %v vs %v", a.KeyIDs(), b.KeyIDs())
	}
	if a.KeyIDs()[0] == a.KeyIDs()[1] || c.KeyIDs()[0] == a.KeyIDs()[0] || c.KeyIDs()[0] == a.KeyIDs()[1] {
		t.Fatalf("distinct keys share a kid: %v %v", a.KeyIDs(), c.KeyIDs())
	}
	if a.RequestToken() != b.RequestToken() || a.RequestToken() == c.RequestToken() {
		t.Fatalf("request tokens not derived from the seed")
	}
}

func TestKeyRotation(t *testing.T) {
	s := startTest(t, Config{})
	old := githubJWT(t, s, "&audience=pypi")
	oldKid := s.KeyIDs()[0]
	newKid, err := s.RotateKey()
	if err != nil {
		t.Fatal(err)
	}
	fresh := githubJWT(t, s, "&audience=pypi")
	if kid := decodeSegment(t, fresh, 0)["kid"]; kid != newKid {
		t.Fatalf("after rotation signed by %v, want %v", kid, newKid)
	}
	v := discover(t, s.DiscoveryURL(GitHub))
	if len(v.keys.Keys) != 2 {
		t.Fatalf("JWKS has %d keys after rotation", len(v.keys.Keys))
	}
	for _, tok := range []string{old, fresh} {
		if _, err := v.verify(tok, "pypi"); err != nil {
			t.Fatalf("before retiring: %v", err)
		}
	}
	if err := s.RetireKey(oldKid); err != nil {
		t.Fatal(err)
	}
	v = discover(t, s.DiscoveryURL(GitHub))
	if _, err := v.verify(old, "pypi"); err == nil {
		t.Fatal("token of a retired key still verifies")
	}
	if _, err := v.verify(fresh, "pypi"); err != nil {
		t.Fatalf("current key: %v", err)
	}
	if err := s.RetireKey(newKid); !errors.Is(err, ErrLastKey) {
		t.Fatalf("retiring the last key: %v", err)
	}
	if err := s.RetireKey("nope"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("retiring an unknown key: %v", err)
	}
}

// New gives a plain http.Handler: documents then name the host the request
// came to, and Config.Now sets the clock.
func TestHandlerWithoutListenerAndClock(t *testing.T) {
	fixed := time.Date(2026, 2, 1, 10, 25, 59, 0, time.UTC)
	s, err := New(Config{Seed: testSeed, RequestToken: "t", Now: func() time.Time { return fixed }})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	var doc map[string]any
	getJSON(t, ts.URL+"/gitlab/.well-known/openid-configuration", &doc)
	if doc["jwks_uri"] != ts.URL+"/gitlab/.well-known/jwks" || doc["issuer"] != GitLabIssuer {
		t.Fatalf("discovery %v", doc)
	}
	status, body := requestToken(t, ts.URL+"/github/idtoken?api-version=2.0&audience=pypi", "bearer", "t")
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var resp struct{ Value string }
	json.Unmarshal(body, &resp)
	c := decodeSegment(t, resp.Value, 1)
	if c["iat"] != float64(fixed.Unix()) || c["nbf"] != float64(fixed.Unix()-300) || c["exp"] != float64(fixed.Unix()+300) {
		t.Fatalf("times %v %v %v, want iat %d", c["iat"], c["nbf"], c["exp"], fixed.Unix())
	}
}
