package issuer

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func call(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if method != "GET" && method != "HEAD" {
		req.Header.Set("Content-Type", "application/json") // the control plane takes JSON writes only
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, url, b)
	}
	return resp.StatusCode, m
}

func TestControlContext(t *testing.T) {
	s := startTest(t, Config{})
	base := s.URL() + "/_fake/context"
	status, m := call(t, "PATCH", base, `{"github": {"environment": "pypi", "ref": "refs/tags/v1.2.3"}}`)
	if status != 200 || m["github"].(map[string]any)["environment"] != "pypi" {
		t.Fatalf("PATCH: %d %v", status, m)
	}
	claims := decodeSegment(t, githubJWT(t, s, "&audience=pypi"), 1)
	if claims["sub"] != "repo:octo-org/octo-repo:environment:pypi" || claims["ref"] != "refs/tags/v1.2.3" || claims["ref_type"] != "tag" {
		t.Fatalf("claims after PATCH: %v %v %v", claims["sub"], claims["ref"], claims["ref_type"])
	}
	// A second PATCH keeps what the first set.
	call(t, "PATCH", base, `{"github": {"actor": "hubot"}}`)
	if g := s.Context().GitHub; g.Environment != "pypi" || g.Actor != "hubot" {
		t.Fatalf("merge lost fields: %+v", g)
	}
	// PUT replaces: unset fields go back to defaults.
	status, _ = call(t, "PUT", base, `{"github": {"repository": "someone/else"}}`)
	if g := s.Context().GitHub; status != 200 || g.Environment != "" || g.Owner != "someone" || g.Actor != "octocat" {
		t.Fatalf("PUT: %d %+v", status, g)
	}
	for _, bad := range []string{`{"github": {"repository": "no-slash"}}`, `{"github": {"nonsense": 1}}`, `not json`, ``} {
		status, m := call(t, "PATCH", base, bad)
		if status != 400 || m["message"] == nil {
			t.Errorf("PATCH %q: %d %v", bad, status, m)
		}
	}
	if s.Context().GitHub.Repository != "someone/else" {
		t.Fatalf("a rejected PATCH changed the context")
	}
}

func TestControlFaultsKeysTokens(t *testing.T) {
	s := startTest(t, Config{})
	status, m := call(t, "POST", s.URL()+"/_fake/faults", `{"faults": ["expired", "claim:actor=eve"], "count": 2}`)
	if status != 200 || len(m["queued"].([]any)) != 2 {
		t.Fatalf("queue: %d %v", status, m)
	}
	for i := range 3 {
		c := decodeSegment(t, githubJWT(t, s, "&audience=pypi"), 1)
		faulty := c["actor"] == "eve"
		if faulty != (i < 2) {
			t.Fatalf("token %d: actor %v", i, c["actor"])
		}
	}
	if status, m := call(t, "PUT", s.URL()+"/_fake/faults", `{"faults": ["wrong-issuer"]}`); status != 200 || len(m["sticky"].([]any)) != 1 {
		t.Fatalf("sticky: %d %v", status, m)
	}
	if c := decodeSegment(t, githubJWT(t, s, ""), 1); c["iss"] != WrongIssuer {
		t.Fatalf("sticky fault not applied: %v", c["iss"])
	}
	if status, m := call(t, "DELETE", s.URL()+"/_fake/faults", ""); status != 200 || len(m["sticky"].([]any)) != 0 {
		t.Fatalf("clear: %d %v", status, m)
	}
	if status, m := call(t, "POST", s.URL()+"/_fake/faults", `{"faults": ["nope"]}`); status != 400 || !strings.Contains(m["message"].(string), "unknown fault") {
		t.Fatalf("bad fault: %d %v", status, m)
	}

	status, m = call(t, "POST", s.URL()+"/_fake/keys/rotate", "")
	keys := m["keys"].([]any)
	if status != 200 || len(keys) != 2 || m["signing"] != keys[1].(map[string]any)["kid"] {
		t.Fatalf("rotate: %d %v", status, m)
	}
	old := keys[0].(map[string]any)["kid"].(string)
	if status, m := call(t, "DELETE", s.URL()+"/_fake/keys/"+old, ""); status != 200 || len(m["keys"].([]any)) != 1 {
		t.Fatalf("retire: %d %v", status, m)
	}
	if status, _ := call(t, "DELETE", s.URL()+"/_fake/keys/"+old, ""); status != 404 {
		t.Fatalf("retire twice: %d", status)
	}
	if status, _ := call(t, "DELETE", s.URL()+"/_fake/keys/"+s.KeyIDs()[0], ""); status != 409 {
		t.Fatalf("retire last: %d", status)
	}

	status, m = call(t, "GET", s.URL()+"/_fake/tokens", "")
	tokens := m["tokens"].([]any)
	if status != 200 || len(tokens) != 4 {
		t.Fatalf("tokens: %d, %d listed", status, len(tokens))
	}
	first := tokens[0].(map[string]any)
	if first["kind"] != "github" || first["claims"].(map[string]any)["actor"] != "eve" || first["token"] == "" {
		t.Fatalf("token record %v", first)
	}
	call(t, "DELETE", s.URL()+"/_fake/tokens", "")
	if len(s.Issued()) != 0 {
		t.Fatal("tokens not cleared")
	}
}

func TestControlMintAndIssuers(t *testing.T) {
	s := startTest(t, Config{Issuers: map[Kind]string{GitLab: "https://gitlab.example.com", Buildkite: SelfIssuer}})
	status, m := call(t, "POST", s.URL()+"/_fake/token", `{"ci": "gitlab", "audience": "pypi", "faults": ["missing:sha"]}`)
	claims := m["claims"].(map[string]any)
	if status != 200 || claims["iss"] != "https://gitlab.example.com" || claims["sha"] != nil {
		t.Fatalf("mint: %d %v", status, m)
	}
	if claims["ci_config_ref_uri"] != "gitlab.example.com/my-group/my-project//.gitlab-ci.yml@refs/heads/main" {
		t.Fatalf("custom instance ci_config_ref_uri = %v", claims["ci_config_ref_uri"])
	}
	if status, _ := call(t, "GET", s.URL()+"/_fake/token?ci=nope", ""); status != 400 {
		t.Fatalf("unknown ci: %d", status)
	}
	_, m = call(t, "GET", s.URL()+"/_fake/issuers", "")
	iss := m["issuers"].(map[string]any)
	if iss["github"].(map[string]any)["issuer"] != GitHubIssuer ||
		iss["activestate"].(map[string]any)["issuer"] != ActiveStateIssuer ||
		iss["google"].(map[string]any)["discovery_url"] != s.URL()+"/google/.well-known/openid-configuration" ||
		iss["buildkite"].(map[string]any)["issuer"] != s.URL()+"/buildkite" {
		t.Fatalf("issuers: %v", iss)
	}
	if s.Issuers()[GitLab].Issuer != "https://gitlab.example.com" || s.Issuer(Google) != GoogleIssuer {
		t.Fatal("Go API issuers disagree")
	}
	if status, m := call(t, "GET", s.URL()+"/_fake/nothing", ""); status != 404 || m["message"] == nil {
		t.Fatalf("unknown control path: %d %v", status, m)
	}
	if status, _ := call(t, "DELETE", s.URL()+"/_fake/context", ""); status != 405 {
		t.Fatalf("wrong method: %d", status)
	}
}
