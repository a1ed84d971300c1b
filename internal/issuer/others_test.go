package issuer

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The other issuers PyPI trusts: each token verifies against the discovery
// document served under /<kind>/ and carries the claims Warehouse reads.
func TestOtherIssuers(t *testing.T) {
	s := startTest(t, Config{})
	ctx := context.Background()
	cases := []struct {
		kind Kind
		iss  string
		want map[string]any
	}{
		{GitLab, GitLabIssuer, map[string]any{
			"sub":               "project_path:my-group/my-project:ref_type:branch:ref:main",
			"project_path":      "my-group/my-project",
			"namespace_path":    "my-group",
			"ref_path":          "refs/heads/main",
			"ci_config_ref_uri": "gitlab.com/my-group/my-project//.gitlab-ci.yml@refs/heads/main",
			"runner_id":         float64(1), // an integer on GitLab
		}},
		{Google, GoogleIssuer, map[string]any{
			"email":          "publisher@my-project.iam.gserviceaccount.com",
			"email_verified": true,
			"sub":            "112233445566778899001",
		}},
		{ActiveState, ActiveStateIssuer, map[string]any{
			"sub":          "org:fakeorg:project:fakeproject",
			"organization": "fakeorg",
			"project":      "fakeproject",
			"builder":      "pypi-publisher",
		}},
		{Buildkite, BuildkiteIssuer, map[string]any{"organization_slug": "acme-inc", "pipeline_slug": "release"}},
		{CircleCI, CircleCIIssuer, map[string]any{"oidc.circleci.com/project-id": s.Context().CircleCI.ProjectID}},
	}
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			v := discover(t, s.DiscoveryURL(c.kind))
			if v.issuer != c.iss || s.Issuer(c.kind) != c.iss {
				t.Fatalf("issuer %q, want %q", v.issuer, c.iss)
			}
			tok, err := s.TokenFor(ctx, c.kind, "pypi")
			if err != nil {
				t.Fatal(err)
			}
			claims, err := v.verify(tok, "pypi")
			if err != nil {
				t.Fatal(err)
			}
			for k, w := range c.want {
				if claims[k] != w {
					t.Errorf("%s = %#v, want %#v", k, claims[k], w)
				}
			}
		})
	}
	if _, err := s.TokenFor(ctx, Kind("travis"), "pypi"); err == nil {
		t.Fatal("unknown kind accepted")
	}
}

func TestGitLabTag(t *testing.T) {
	s := startTest(t, Config{Context: RunContext{GitLab: GitLabRun{ProjectPath: "a/b/c", Ref: "v1.0", RefType: "tag", Environment: "release"}}})
	tok, err := s.TokenFor(context.Background(), GitLab, "pypi")
	if err != nil {
		t.Fatal(err)
	}
	c := decodeSegment(t, tok, 1)
	if c["sub"] != "project_path:a/b/c:ref_type:tag:ref:v1.0" || c["ref_path"] != "refs/tags/v1.0" ||
		c["namespace_path"] != "a/b" || c["environment"] != "release" {
		t.Fatalf("claims %v", c)
	}
}

func TestGoogleMetadataIdentity(t *testing.T) {
	s := startTest(t, Config{})
	url := s.URL() + "/computeMetadata/v1/instance/service-accounts/default/identity?audience=pypi&format=full"
	get := func(flavor bool, url string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if flavor {
			req.Header.Set("Metadata-Flavor", "Google")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.Header.Get("Metadata-Flavor") != "Google" {
			t.Errorf("response lacks Metadata-Flavor: Google")
		}
		return resp.StatusCode, string(b)
	}
	status, body := get(true, url)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	v := discover(t, s.DiscoveryURL(Google))
	if _, err := v.verify(body, "pypi"); err != nil {
		t.Fatalf("raw JWT body: %v", err)
	}
	if status, _ := get(false, url); status != 403 {
		t.Errorf("without Metadata-Flavor: %d", status)
	}
	if status, _ := get(true, strings.Replace(url, "audience=pypi", "", 1)); status != 400 {
		t.Errorf("without audience: %d", status)
	}
	if status, _ := get(true, url+"&fault=endpoint-500"); status != 500 {
		t.Errorf("endpoint-500: %d", status)
	}
}
