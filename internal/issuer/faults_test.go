package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4/jwt"
)

// signatureFault: the token must not pass parsing or signature checks.
func failsSignature(err error) bool {
	return err != nil && (strings.HasPrefix(err.Error(), "parse:") || strings.HasPrefix(err.Error(), "signature:"))
}

// Each named fault, requested on the token URL, makes go-jose (with
// Warehouse's rules) reject the token for its own reason.
func TestFaultsRejectedForTheRightReason(t *testing.T) {
	s := startTest(t, Config{})
	v := discover(t, s.DiscoveryURL(GitHub))
	cases := []struct {
		fault string
		check func(error) bool
	}{
		{FaultExpired, func(err error) bool { return errors.Is(err, jwt.ErrExpired) }},
		{FaultNotYetValid, func(err error) bool { return errors.Is(err, jwt.ErrNotValidYet) }},
		{FaultIssuedInFuture, func(err error) bool { return errors.Is(err, jwt.ErrIssuedInTheFuture) }},
		{FaultAudienceList, func(err error) bool { return errors.Is(err, errAudienceNotString) }},
		{FaultWrongAudience, func(err error) bool { return errors.Is(err, jwt.ErrInvalidAudience) }},
		{FaultWrongIssuer, func(err error) bool { return errors.Is(err, jwt.ErrInvalidIssuer) }},
		{FaultUnknownKid, func(err error) bool { return failsSignature(err) && strings.Contains(err.Error(), "kid") }},
		{FaultBadSignature, failsSignature},
		{FaultAlgNone, func(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "parse:") }},
		{FaultHS256PublicKey, func(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "parse:") }},
		{"missing:aud", func(err error) bool { return errors.Is(err, errAudienceNotString) }},
		{"claim:iss=https://gitlab.com", func(err error) bool { return errors.Is(err, jwt.ErrInvalidIssuer) }},
	}
	for _, c := range cases {
		t.Run(c.fault, func(t *testing.T) {
			raw := githubJWT(t, s, "&audience=pypi&fault="+c.fault)
			_, err := v.verify(raw, "pypi")
			if !c.check(err) {
				t.Fatalf("verify error %v is not the %s failure", err, c.fault)
			}
		})
	}
	// The control: no fault, accepted.
	if _, err := v.verify(githubJWT(t, s, "&audience=pypi"), "pypi"); err != nil {
		t.Fatal(err)
	}
}

func TestFaultClaimEdits(t *testing.T) {
	s := startTest(t, Config{})
	claims := decodeSegment(t, githubJWT(t, s, "&audience=pypi&fault=missing:job_workflow_ref&fault=claim:repository_owner_id=7&fault=claim:ref_protected=yes"), 1)
	if _, ok := claims["job_workflow_ref"]; ok {
		t.Error("job_workflow_ref not removed")
	}
	if claims["repository_owner_id"] != float64(7) {
		t.Errorf("repository_owner_id = %#v, want the number 7", claims["repository_owner_id"])
	}
	if claims["ref_protected"] != "yes" {
		t.Errorf("ref_protected = %#v", claims["ref_protected"])
	}
	header := decodeSegment(t, githubJWT(t, s, "&audience=pypi&fault=alg-none"), 0)
	if header["alg"] != "none" {
		t.Errorf("alg-none header %v", header)
	}
	header = decodeSegment(t, githubJWT(t, s, "&audience=pypi&fault=hs256-public-key"), 0)
	if header["alg"] != "HS256" || header["kid"] != s.KeyIDs()[0] {
		t.Errorf("hs256 header %v", header)
	}
}

func TestFaultRunShapes(t *testing.T) {
	s := startTest(t, Config{})
	c := decodeSegment(t, githubJWT(t, s, "&audience=pypi&fault=pull-request-target"), 1)
	if c["event_name"] != "pull_request_target" || c["ref"] != "refs/heads/main" || c["sub"] != "repo:octo-org/octo-repo:ref:refs/heads/main" || c["head_ref"] == "" {
		t.Errorf("pull-request-target claims: %v %v %v %v", c["event_name"], c["ref"], c["sub"], c["head_ref"])
	}
	c = decodeSegment(t, githubJWT(t, s, "&audience=pypi&fault=reusable-other-repo"), 1)
	if c["job_workflow_ref"] != OtherRepoWorkflow || c["workflow_ref"] == OtherRepoWorkflow {
		t.Errorf("reusable-other-repo: job_workflow_ref %v workflow_ref %v", c["job_workflow_ref"], c["workflow_ref"])
	}
	status, body := requestToken(t, s.RequestURL()+"&audience=pypi&fault=fork-pr", "bearer", s.RequestToken())
	if status != 401 {
		t.Errorf("fork-pr token request: %d %s", status, body)
	}
	if _, err := s.Token(context.Background(), "pypi", Fault{Name: FaultForkPR}); !errors.Is(err, ErrTokenWithheld) {
		t.Errorf("Token with fork-pr: %v", err)
	}
	env, err := s.Env(GitHub, EnvOptions{Faults: []Fault{{Name: FaultForkPR}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := env.Lookup("ACTIONS_ID_TOKEN_REQUEST_TOKEN"); ok {
		t.Error("fork-pr env carries ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	}
	if ev, _ := env.Lookup("GITHUB_EVENT_NAME"); ev != "pull_request" {
		t.Errorf("fork-pr GITHUB_EVENT_NAME = %q", ev)
	}
	if !strings.Contains(env.Files[0].Content, `"fork":true`) {
		t.Errorf("fork-pr event payload: %s", env.Files[0].Content)
	}
}

// Token endpoint failures: the statuses and bodies clients must handle
// (actions/toolkit packages/core/src/oidc-utils.ts, di/id, uv's ambient-id).
func TestEndpointFaults(t *testing.T) {
	s := startTest(t, Config{})
	for _, c := range []struct {
		fault  string
		status int
		check  func(body []byte) bool
	}{
		{FaultEndpoint404, 404, func(b []byte) bool { return jsonHas(b, "message") }},
		{FaultEndpoint500, 500, func(b []byte) bool { return jsonHas(b, "message") }},
		{FaultEndpointNonJSON, 200, func(b []byte) bool { return !json.Valid(b) }},
		{FaultEndpointNoValue, 200, func(b []byte) bool { return json.Valid(b) && !jsonHas(b, "value") }},
	} {
		t.Run(c.fault, func(t *testing.T) {
			status, body := requestToken(t, s.RequestURL()+"&audience=pypi&fault="+c.fault, "bearer", s.RequestToken())
			if status != c.status || !c.check(body) {
				t.Fatalf("got %d %s", status, body)
			}
		})
	}
	if _, err := s.Token(context.Background(), "pypi", Fault{Name: FaultEndpoint500}); !errors.Is(err, ErrEndpointFault) {
		t.Fatalf("Token with an endpoint fault: %v", err)
	}
}

func jsonHas(b []byte, key string) bool {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	_, ok := m[key]
	return ok
}

func TestStickyAndQueuedFaults(t *testing.T) {
	s := startTest(t, Config{Faults: []Fault{{Name: FaultSetClaim, Claim: "actor", Value: "mallory"}}})
	s.QueueFaults(Fault{Name: FaultWrongAudience})
	first := decodeSegment(t, githubJWT(t, s, "&audience=pypi"), 1)
	second := decodeSegment(t, githubJWT(t, s, "&audience=pypi"), 1)
	if first["aud"] != "not-pypi" || second["aud"] != "pypi" {
		t.Fatalf("one-shot fault: first aud %v, second aud %v", first["aud"], second["aud"])
	}
	if first["actor"] != "mallory" || second["actor"] != "mallory" {
		t.Fatalf("sticky fault: actors %v %v", first["actor"], second["actor"])
	}
	s.ClearFaults()
	if c := decodeSegment(t, githubJWT(t, s, "&audience=pypi"), 1); c["actor"] != "octocat" {
		t.Fatalf("after clear actor = %v", c["actor"])
	}
	status, body := requestToken(t, s.RequestURL()+"&audience=pypi&fault=bogus", "bearer", s.RequestToken())
	if status != http.StatusBadRequest || !strings.Contains(string(body), `unknown fault \"bogus\"`) {
		t.Fatalf("unknown fault: %d %s", status, body)
	}
}

func TestParseFaultRoundTrip(t *testing.T) {
	for _, s := range []string{"expired", "missing:jti", "claim:email_verified=false", "claim:actor=mallory", `claim:x="1"`, `claim:l=["a","b"]`} {
		f, err := ParseFault(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		g, err := ParseFault(f.String())
		if err != nil || g.String() != f.String() {
			t.Fatalf("%s -> %s -> %v %v", s, f, g, err)
		}
	}
	for _, bad := range []string{"", "nope", "missing:", "claim:novalue", "claim:=1"} {
		if _, err := ParseFault(bad); err == nil {
			t.Errorf("ParseFault(%q) accepted", bad)
		}
	}
}
