package publisher

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/oidc"
)

// Table tests of Store.Find against warehouse/oidc/models/ (_core.py,
// github.py, gitlab.py, google.py, activestate.py): every reason text
// those models raise, byte for byte, and which publisher is chosen.

const (
	ghRef = "refs/tags/v1.0"
	ghSHA = "0123456789abcdef0123456789abcdef01234567"
)

func ghPublisher() Publisher {
	return Publisher{Service: oidc.GitHub, Owner: "octo-org", OwnerID: "1001", Repository: "sampleproject",
		WorkflowFilename: "release.yml", Projects: []string{"sampleproject"}}
}

func ghToken() oidc.Claims {
	return oidc.Claims{
		"iss": oidc.GitHubIssuer, "aud": "pypi", "jti": "jti-1",
		"sub":              "repo:octo-org/sampleproject:ref:" + ghRef,
		"repository":       "octo-org/sampleproject",
		"repository_owner": "octo-org", "repository_owner_id": "1001",
		"workflow_ref":     "octo-org/sampleproject/.github/workflows/release.yml@" + ghRef,
		"job_workflow_ref": "octo-org/sampleproject/.github/workflows/release.yml@" + ghRef,
		"ref":              ghRef, "sha": ghSHA, "event_name": "push",
	}
}

func glPublisher() Publisher {
	return Publisher{Service: oidc.GitLab, Namespace: "Group/Sub", Project: "Proj", WorkflowFilepath: "ci/release.yml",
		Projects: []string{"sampleproject"}}
}

func glToken() oidc.Claims {
	return oidc.Claims{
		"iss": oidc.GitLabIssuer, "aud": "pypi", "jti": "jti-1",
		"sub":               "project_path:Group/Sub/Proj:ref_type:branch:ref:main",
		"project_path":      "Group/Sub/Proj",
		"ci_config_ref_uri": "gitlab.com/Group/Sub/Proj//ci/release.yml@refs/heads/main",
		"ref_path":          "refs/heads/main", "sha": ghSHA,
	}
}

func googlePublisher() Publisher {
	return Publisher{Service: oidc.Google, Email: "ci@proj.iam.gserviceaccount.com", Projects: []string{"sampleproject"}}
}

func googleToken() oidc.Claims {
	return oidc.Claims{"iss": oidc.GoogleIssuer, "aud": "pypi", "sub": "1234567890",
		"email": "ci@proj.iam.gserviceaccount.com", "email_verified": true}
}

func asPublisher() Publisher {
	return Publisher{Service: oidc.ActiveState, Organization: "org", Project: "proj", Actor: "someone", ActorID: "a1",
		Projects: []string{"sampleproject"}}
}

func asToken() oidc.Claims {
	return oidc.Claims{"iss": oidc.ActiveStateIssuer, "aud": "pypi", "sub": "org:org:project:proj",
		"organization": "org", "project": "proj", "actor": "someone", "actor_id": "a1", "builder": "pypi-publisher"}
}

// findCase: edit the token (and optionally the publishers), then expect
// either the publisher at index match or the reason text.
type findCase struct {
	name   string
	pubs   func() []Publisher // default: the service's one publisher
	edit   func(c oidc.Claims)
	used   bool   // the jti checker says "already used"
	match  int    // index of the expected publisher when reason == ""
	reason string // exact InvalidPublisherError reason
	intern bool   // an *InternalError (PyPI's 500)
	reused bool   // ErrReusedToken
}

func set(kv ...any) func(oidc.Claims) {
	return func(c oidc.Claims) {
		for i := 0; i < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
	}
}

func del(names ...string) func(oidc.Claims) {
	return func(c oidc.Claims) {
		for _, n := range names {
			delete(c, n)
		}
	}
}

func runFind(t *testing.T, service string, base func() oidc.Claims, def func() []Publisher, cases []findCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := NewStore()
			pubsOf := def
			if tc.pubs != nil {
				pubsOf = tc.pubs
			}
			var added []Publisher
			for _, p := range pubsOf() {
				got, err := s.Add(p)
				if err != nil {
					t.Fatal(err)
				}
				added = append(added, got)
			}
			c := base()
			if tc.edit != nil {
				tc.edit(c)
			}
			var asked []string
			used := func(svc, jti string) bool {
				asked = append(asked, svc+"/"+jti)
				return tc.used
			}
			got, err := s.Find(service, c, false, used)
			var ipe *InvalidPublisherError
			var ie *InternalError
			switch {
			case tc.intern:
				if !errors.As(err, &ie) {
					t.Fatalf("err = %v, want an InternalError", err)
				}
			case tc.reused:
				if !errors.Is(err, ErrReusedToken) {
					t.Fatalf("err = %v, want ErrReusedToken", err)
				}
				if err.Error() != "invalid token: already used" {
					t.Fatalf("ErrReusedToken text %q", err)
				}
			case tc.reason != "":
				if !errors.As(err, &ipe) {
					t.Fatalf("err = %#v, want reason %q", err, tc.reason)
				}
				if ipe.Reason != tc.reason || err.Error() != tc.reason {
					t.Fatalf("reason\n got %s\nwant %s", ipe.Reason, tc.reason)
				}
			default:
				if err != nil {
					t.Fatalf("err = %v, want a match", err)
				}
				if got.ID != added[tc.match].ID {
					t.Fatalf("matched %s, want %s", got, added[tc.match])
				}
			}
			// The pending store is separate: nothing pending matches.
			if _, err := s.Find(service, base(), true, nil); err == nil {
				t.Fatalf("a normal publisher matched as pending")
			}
		})
	}
}

func TestFindGitHub(t *testing.T) {
	two := func(envA, envB string) func() []Publisher {
		return func() []Publisher {
			a, b := ghPublisher(), ghPublisher()
			a.Environment, b.Environment = envA, envB
			return []Publisher{a, b}
		}
	}
	withEnv := func(env string) func() []Publisher {
		return func() []Publisher { p := ghPublisher(); p.Environment = env; return []Publisher{p} }
	}
	const wf = "octo-org/sampleproject/.github/workflows/"
	cases := []findCase{
		{name: "match"},
		{name: "owner id empty matches any", pubs: func() []Publisher { p := ghPublisher(); p.OwnerID = ""; return []Publisher{p} },
			edit: set("repository_owner_id", "9999")},
		{name: "owner id differs", edit: set("repository_owner_id", "1002"), reason: ReasonNotFound},
		{name: "owner id not a string", edit: set("repository_owner_id", json.Number("1001")), reason: ReasonNotFound},
		{name: "repository other case", edit: set("repository", "Octo-Org/SampleProject"), reason: ReasonNotFound},
		{name: "repository name differs", edit: set("repository", "octo-org/other"), reason: ReasonNotFound},
		{name: "repository owner claim differs", edit: set("repository_owner", "Octo-Org"),
			reason: "Check failed for required claim 'repository_owner'"},
		{name: "repository without slash", edit: set("repository", "sampleproject"), intern: true},
		{name: "repository not a string", edit: set("repository", json.Number("1")), intern: true},
		{name: "workflow filename differs", edit: set("job_workflow_ref", wf+"release.yaml@"+ghRef), reason: ReasonNotFound},
		{name: "workflow filename other case", edit: set("job_workflow_ref", wf+"Release.yml@"+ghRef), reason: ReasonNotFound},
		{name: "no workflow file in job_workflow_ref", edit: set("job_workflow_ref", wf+"release@"+ghRef),
			reason: "Could not job extract workflow filename from OIDC claims"},
		{name: "job_workflow_ref without @", edit: set("job_workflow_ref", wf+"release.yml"),
			reason: "Could not job extract workflow filename from OIDC claims"},
		{name: "job_workflow_ref empty", edit: set("job_workflow_ref", ""),
			reason: "Could not job extract workflow filename from OIDC claims"},
		{name: "workflow_ref is not what counts", edit: set("workflow_ref", wf+"other.yml@"+ghRef)},
		{name: "job_workflow_ref at the sha", edit: set("job_workflow_ref", wf+"release.yml@"+ghSHA)},
		{name: "empty ref, sha used", edit: set("ref", "", "job_workflow_ref", wf+"release.yml@"+ghSHA)},
		{name: "empty ref and sha", edit: set("ref", "", "sha", ""), reason: "The ref and sha claims are empty"},
		{name: "job_workflow_ref at another ref", edit: set("job_workflow_ref", wf+"release.yml@refs/heads/main"),
			reason: "The job_workflow_ref claim does not match, expecting one of ['" + wf + "release.yml@" + ghSHA + "', '" +
				wf + "release.yml@" + ghRef + "'], got '" + wf + "release.yml@refs/heads/main'"},
		{name: "only sha expected when ref is empty", edit: set("ref", ""),
			reason: "The job_workflow_ref claim does not match, expecting one of ['" + wf + "release.yml@" + ghSHA + "'], got '" + wf + "release.yml@" + ghRef + "'"},
		// Reusable workflows (warehouse/oidc/models/github.py): the called file from job_workflow_ref,
		// the caller's repository.
		{name: "reusable workflow in the same repo names the called file",
			pubs: func() []Publisher { p := ghPublisher(); p.WorkflowFilename = "build.yml"; return []Publisher{p} },
			edit: set("job_workflow_ref", wf+"build.yml@"+ghRef)},
		{name: "reusable workflow: publisher naming the caller", edit: set("job_workflow_ref", wf+"build.yml@"+ghRef), reason: ReasonNotFound},
		{name: "reusable workflow from another repository",
			edit: set("job_workflow_ref", "other-org/shared/.github/workflows/release.yml@refs/heads/main"),
			reason: "The job_workflow_ref claim does not match, expecting one of ['" + wf + "release.yml@" + ghSHA + "', '" +
				wf + "release.yml@" + ghRef + "'], got 'other-org/shared/.github/workflows/release.yml@refs/heads/main'"},
		{name: "pull_request_target", edit: set("event_name", "pull_request_target"),
			reason: "Publishing from a workflow invoked via 'pull_request_target' is not supported."},
		{name: "pull_request is fine", edit: set("event_name", "pull_request")},
		{name: "jti reused", used: true, reused: true},
		{name: "ref check before jti check", used: true, edit: set("ref", "", "sha", ""), reason: "The ref and sha claims are empty"},
		{name: "jti check before event_name", used: true, edit: set("event_name", "pull_request_target"), reused: true},
		{name: "custom issuer", edit: set("iss", "https://ghe.example.com"),
			reason: "JWT issuer 'https://ghe.example.com' does not match expected issuer 'https://token.actions.githubusercontent.com'"},
		// Environments: stored lowercased, compared case-insensitively.
		{name: "environment matches any case", pubs: withEnv("PyPI"), edit: set("environment", "PYPI")},
		{name: "environment-constrained needs an environment", pubs: withEnv("pypi"), reason: ReasonNotFound},
		{name: "environment empty string", pubs: withEnv("pypi"), edit: set("environment", ""), reason: ReasonNotFound},
		{name: "environment differs", pubs: withEnv("pypi"), edit: set("environment", "staging"), reason: ReasonNotFound},
		{name: "any-environment publisher takes a token with one", edit: set("environment", "whatever")},
		{name: "exact environment preferred", pubs: two("", "pypi"), edit: set("environment", "PyPI"), match: 1},
		{name: "falls back to the any-environment one", pubs: two("pypi", ""), edit: set("environment", "test"), match: 1},
		{name: "no environment picks the any one", pubs: two("pypi", ""), match: 1},
		{name: "only other environments configured", pubs: func() []Publisher {
			a, b := ghPublisher(), ghPublisher()
			b.OwnerID = ""
			b.Environment = "other"
			a.Environment = "pypi"
			return []Publisher{b, a}
		}, edit: set("environment", "zzz"), reason: ReasonNotFound},
		{name: "environment chooses among owner ids", pubs: func() []Publisher {
			a, b := ghPublisher(), ghPublisher()
			b.OwnerID, b.Environment = "", "Other"
			return []Publisher{b, a}
		}, edit: set("environment", "OTHER")},
	}
	for _, name := range []string{"repository", "repository_owner", "repository_owner_id", "job_workflow_ref", "jti", "event_name", "ref", "sha"} {
		cases = append(cases,
			findCase{name: "missing " + name, edit: del(name), reason: "Missing claim '" + name + "'"},
			findCase{name: "null " + name, edit: set(name, nil), reason: "Missing claim '" + name + "'"})
	}
	runFind(t, oidc.GitHub, ghToken, func() []Publisher { return []Publisher{ghPublisher()} }, cases)
}

func TestFindGitHubJTIChecker(t *testing.T) {
	s := NewStore()
	s.Add(ghPublisher())
	var asked []string
	_, err := s.Find(oidc.GitHub, ghToken(), false, func(svc, jti string) bool {
		asked = append(asked, svc+" "+jti)
		return false
	})
	if err != nil || strings.Join(asked, ",") != "github jti-1" {
		t.Fatalf("err %v, jti checker asked %q", err, asked)
	}
}

func TestFindGitLab(t *testing.T) {
	const base = "gitlab.com/Group/Sub/Proj//ci/release.yml@"
	withEnv := func(env string) func() []Publisher {
		return func() []Publisher { p := glPublisher(); p.Environment = env; return []Publisher{p} }
	}
	custom := func() []Publisher {
		p := glPublisher()
		p.IssuerURL = "https://gitlab.example.com"
		return []Publisher{p}
	}
	cases := []findCase{
		{name: "match"},
		{name: "namespace and project in any case", edit: set("project_path", "group/sub/proj", "sub", "project_path:GROUP/SUB/PROJ:ref_type:branch")},
		{name: "sub with only two parts", edit: set("sub", "project_path:group/sub/proj")},
		{name: "sub with one part", edit: set("sub", "project_path"), reason: "Check failed for required claim 'sub'"},
		{name: "sub names another project", edit: set("sub", "project_path:group/sub/other:ref_type:branch"), reason: "Check failed for required claim 'sub'"},
		{name: "sub empty", edit: set("sub", ""), reason: "Check failed for required claim 'sub'"},
		{name: "project differs", edit: set("project_path", "Group/Sub/Other"), reason: ReasonNotFound},
		{name: "namespace differs", edit: set("project_path", "Group/Proj"), reason: ReasonNotFound},
		{name: "project_path without slash", edit: set("project_path", "proj"), intern: true},
		{name: "workflow path differs in case", edit: set("ci_config_ref_uri", "gitlab.com/Group/Sub/Proj//ci/Release.yml@refs/heads/main"), reason: ReasonNotFound},
		{name: "workflow path without //", edit: set("ci_config_ref_uri", "gitlab.com/Group/Sub/Proj/ci/release.yml@refs/heads/main"),
			reason: "Could not extract workflow filename from OIDC claims"},
		{name: "ci_config_ref_uri empty", edit: set("ci_config_ref_uri", ""), reason: "Could not extract workflow filename from OIDC claims"},
		{name: "ci_config_ref_uri with the token's spelling",
			edit: set("project_path", "group/sub/proj", "ci_config_ref_uri", "gitlab.com/group/sub/proj//ci/release.yml@refs/heads/main"),
			reason: "The ci_config_ref_uri claim does not match, expecting one of ['" + base + ghSHA + "', '" + base +
				"refs/heads/main'], got 'gitlab.com/group/sub/proj//ci/release.yml@refs/heads/main'"},
		{name: "ci_config_ref_uri at the sha", edit: set("ci_config_ref_uri", base+ghSHA)},
		{name: "ci_config_ref_uri at another ref", edit: set("ci_config_ref_uri", base+"refs/heads/dev"),
			reason: "The ci_config_ref_uri claim does not match, expecting one of ['" + base + ghSHA + "', '" + base +
				"refs/heads/main'], got '" + base + "refs/heads/dev'"},
		{name: "empty ref_path", edit: set("ref_path", ""), reason: "The ref_path and sha claims are empty"},
		{name: "empty sha", edit: set("sha", ""), reason: "The ref_path and sha claims are empty"},
		{name: "jti reused", used: true, reused: true},
		{name: "environment exact", pubs: withEnv("Production"), edit: set("environment", "Production")},
		{name: "environment is case-sensitive", pubs: withEnv("Production"), edit: set("environment", "production"), reason: ReasonNotFound},
		{name: "environment required when configured", pubs: withEnv("Production"), reason: ReasonNotFound},
		{name: "custom issuer publisher", pubs: custom, edit: set("iss", "https://gitlab.example.com",
			"ci_config_ref_uri", "gitlab.example.com/Group/Sub/Proj//ci/release.yml@refs/heads/main")},
		{name: "custom issuer publisher, gitlab.com token", pubs: custom, reason: ReasonNotFound},
		{name: "gitlab.com publisher, custom token", edit: set("iss", "https://gitlab.example.com"), reason: ReasonNotFound},
		{name: "custom host in ci_config_ref_uri must be the issuer's", pubs: custom, edit: set("iss", "https://gitlab.example.com"),
			reason: "The ci_config_ref_uri claim does not match, expecting one of ['gitlab.example.com/Group/Sub/Proj//ci/release.yml@" + ghSHA +
				"', 'gitlab.example.com/Group/Sub/Proj//ci/release.yml@refs/heads/main'], got '" + base + "refs/heads/main'"},
	}
	for _, name := range []string{"sub", "project_path", "ci_config_ref_uri", "jti", "ref_path", "sha"} {
		cases = append(cases, findCase{name: "missing " + name, edit: del(name), reason: "Missing claim '" + name + "'"})
	}
	runFind(t, oidc.GitLab, glToken, func() []Publisher { return []Publisher{glPublisher()} }, cases)
}

func TestFindGoogle(t *testing.T) {
	withSubs := func(subs ...string) func() []Publisher {
		return func() []Publisher {
			var out []Publisher
			for _, s := range subs {
				p := googlePublisher()
				p.Sub = s
				out = append(out, p)
			}
			return out
		}
	}
	cases := []findCase{
		{name: "match"},
		{name: "no jti needed", edit: del("jti", "sub")},
		{name: "email differs", edit: set("email", "other@proj.iam.gserviceaccount.com"), reason: ReasonNotFound},
		{name: "email other case", edit: set("email", "CI@proj.iam.gserviceaccount.com"), reason: ReasonNotFound},
		{name: "email_verified false", edit: set("email_verified", false), reason: "Check failed for required claim 'email_verified'"},
		{name: "email_verified as a string", edit: set("email_verified", "true"), reason: "Check failed for required claim 'email_verified'"},
		{name: "missing email", edit: del("email"), reason: "Missing claim 'email'"},
		{name: "missing email_verified", edit: del("email_verified"), reason: "Missing claim 'email_verified'"},
		{name: "null email_verified", edit: set("email_verified", nil), reason: "Missing claim 'email_verified'"},
		{name: "sub pinned", pubs: withSubs("1234567890")},
		{name: "sub pinned, token differs", pubs: withSubs("42"), reason: ReasonNotFound},
		{name: "sub pinned, token has none", pubs: withSubs("42"), edit: del("sub"), reason: ReasonNotFound},
		{name: "exact sub preferred", pubs: withSubs("", "1234567890"), match: 1},
		{name: "any-sub fallback", pubs: withSubs("42", ""), match: 1},
		{name: "custom issuer", edit: set("iss", "https://accounts.example.com"),
			reason: "JWT issuer 'https://accounts.example.com' does not match expected issuer 'https://accounts.google.com'"},
	}
	runFind(t, oidc.Google, googleToken, func() []Publisher { return []Publisher{googlePublisher()} }, cases)
}

func TestFindActiveState(t *testing.T) {
	cases := []findCase{
		{name: "match"},
		{name: "sub with more parts", edit: set("sub", "org:org:project:proj:extra:parts")},
		{name: "actor id empty matches any", pubs: func() []Publisher { p := asPublisher(); p.ActorID = ""; return []Publisher{p} },
			edit: set("actor_id", "zzz")},
		{name: "actor claim unchecked", edit: set("actor", "someone-else")},
		{name: "sub empty", edit: set("sub", ""), reason: "Missing 'subject' claim"},
		{name: "sub short", edit: set("sub", "org:org:project"), reason: "Invalid 'subject' claim. Wrong format"},
		{name: "sub names another project", edit: set("sub", "org:org:project:other"), reason: "Invalid 'subject' claim"},
		{name: "sub other case", edit: set("sub", "org:Org:project:proj"), reason: "Invalid 'subject' claim"},
		{name: "builder", edit: set("builder", "someone"), reason: "Check failed for required claim 'builder'"},
		{name: "organization differs", edit: set("organization", "Org"), reason: ReasonNotFound},
		{name: "project differs", edit: set("project", "proj2"), reason: ReasonNotFound},
		{name: "actor id differs", edit: set("actor_id", "a2"), reason: ReasonNotFound},
		{name: "custom issuer", edit: set("iss", "https://as.example.com"),
			reason: "JWT issuer 'https://as.example.com' does not match expected issuer 'https://platform.activestate.com/api/v1/oauth/oidc'"},
	}
	for _, name := range []string{"sub", "organization", "project", "actor_id", "builder"} {
		cases = append(cases, findCase{name: "missing " + name, edit: del(name), reason: "Missing claim '" + name + "'"})
	}
	runFind(t, oidc.ActiveState, asToken, func() []Publisher { return []Publisher{asPublisher()} }, cases)
}

// TestVerifyReasons covers the reasons that Find's lookup makes
// unreachable (the lookup already filtered on the same field) but that
// verify_claims still spells out, in PyPI's order.
func TestVerifyReasons(t *testing.T) {
	envPub := ghPublisher()
	envPub.Environment = "pypi"
	glEnv := glPublisher()
	glEnv.Environment, glEnv.IssuerURL = "Prod", oidc.GitLabIssuer
	gPub := googlePublisher()
	gPub.Sub = "42"
	for _, tc := range []struct {
		name   string
		p      Publisher
		c      oidc.Claims
		edit   func(oidc.Claims)
		reason string
	}{
		{"github repository", ghPublisher(), ghToken(), set("repository", "octo-org/other"), "Check failed for required claim 'repository'"},
		{"github repository empty", ghPublisher(), ghToken(), set("repository", ""), "Check failed for required claim 'repository'"},
		{"github owner id", ghPublisher(), ghToken(), set("repository_owner_id", "7"), "Check failed for required claim 'repository_owner_id'"},
		{"github job_workflow_ref empty", ghPublisher(), ghToken(), set("job_workflow_ref", ""), "The job_workflow_ref claim is empty"},
		{"github environment", envPub, ghToken(), set("environment", "prod"), "Check failed for optional claim 'environment'"},
		{"github environment missing", envPub, ghToken(), nil, "Check failed for optional claim 'environment'"},
		{"gitlab project_path", glPublisher(), glToken(), set("project_path", "group/other"), "Check failed for required claim 'project_path'"},
		{"gitlab ci_config_ref_uri empty", glPublisher(), glToken(), set("ci_config_ref_uri", ""), "The ci_config_ref_uri claim is empty"},
		{"gitlab environment", glEnv, glToken(), set("environment", "prod"), "Check failed for optional claim 'environment'"},
		{"google email", googlePublisher(), googleToken(), set("email", "x@y.z"), "Check failed for required claim 'email'"},
		{"google sub", gPub, googleToken(), nil, "Check failed for optional claim 'sub'"},
		{"google sub empty", gPub, googleToken(), set("sub", ""), "Check failed for optional claim 'sub'"},
		{"activestate organization", asPublisher(), asToken(), set("organization", "x", "sub", "org:org:project:proj"), "Check failed for required claim 'organization'"},
		{"activestate project", asPublisher(), asToken(), set("project", "x"), "Check failed for required claim 'project'"},
		{"activestate actor_id", asPublisher(), asToken(), set("actor_id", "x"), "Check failed for required claim 'actor_id'"},
	} {
		if tc.edit != nil {
			tc.edit(tc.c)
		}
		err := verify(tc.p, tc.c, nil)
		var ipe *InvalidPublisherError
		if !errors.As(err, &ipe) || ipe.Reason != tc.reason {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.reason)
		}
	}
}

func TestDiagnose(t *testing.T) {
	s := NewStore()
	if d := s.Diagnose(oidc.GitHub, ghToken()); d.Closest != nil || d.Summary != "no GitHub publisher (normal or pending) is configured" {
		t.Fatalf("empty store: %+v", d)
	}
	far := ghPublisher()
	far.Owner, far.Repository = "someone", "else"
	far, _ = s.Add(far)
	near, _ := s.Add(ghPublisher())
	g, _ := s.Add(googlePublisher())

	const wf = "octo-org/sampleproject/.github/workflows/"
	c := ghToken()
	c["job_workflow_ref"] = wf + "release.yaml@" + ghRef
	d := s.Diagnose(oidc.GitHub, c)
	want := `workflow filename configured "release.yml", token's job_workflow_ref names "release.yaml"`
	if d.Closest == nil || d.Closest.ID != near.ID || strings.Join(d.Differences, "|") != want {
		t.Fatalf("diagnosis = %+v", d)
	}
	if d.Summary != "closest publisher GitHub octo-org/sampleproject workflow release.yml ["+near.ID+"]: "+want {
		t.Fatalf("summary = %s", d.Summary)
	}

	// Every GitHub field at once, against the near publisher.
	envd := ghPublisher()
	envd.Environment = "pypi"
	envd.Repository = "envd"
	s2 := NewStore()
	envd, _ = s2.Add(envd)
	c = oidc.Claims{"iss": "https://ghe.example.com", "repository": "Octo/Other", "repository_owner_id": json.Number("5"),
		"job_workflow_ref": "Octo/Other/.github/workflows/nofile@main", "environment": "Staging", "event_name": "pull_request_target"}
	d = s2.Diagnose(oidc.GitHub, c)
	wantDiffs := []string{
		`owner configured "octo-org", token's repository is "Octo/Other"`,
		`repository name configured "envd", token's repository is "Octo/Other"`,
		`owner id configured "1001", token's repository_owner_id is 5 (not a string)`,
		`workflow filename configured "release.yml", token's job_workflow_ref "Octo/Other/.github/workflows/nofile@main" names no workflow file`,
		`environment configured "pypi", token has environment "Staging"`,
		`token's iss "https://ghe.example.com" is not GitHub's "https://token.actions.githubusercontent.com"`,
		`token's event_name is "pull_request_target", which PyPI refuses`,
	}
	if strings.Join(d.Differences, "\n") != strings.Join(wantDiffs, "\n") {
		t.Fatalf("differences\n got %s\nwant %s", strings.Join(d.Differences, "\n"), strings.Join(wantDiffs, "\n"))
	}
	// A missing owner id and environment read differently.
	delete(c, "repository_owner_id")
	delete(c, "environment")
	d = s2.Diagnose(oidc.GitHub, c)
	if d.Differences[2] != `owner id configured "1001", token's has no repository_owner_id` ||
		d.Differences[4] != `environment configured "pypi", token has no environment` {
		t.Fatalf("differences = %q", d.Differences)
	}
	c["repository_owner_id"] = nil
	if d = s2.Diagnose(oidc.GitHub, c); d.Differences[2] != `owner id configured "1001", token's has repository_owner_id null` {
		t.Fatalf("null owner id: %q", d.Differences[2])
	}

	// Nothing differs in the configured fields: the reason says why.
	c = ghToken()
	c["job_workflow_ref"] = wf + "release.yml@refs/heads/main"
	d = s.Diagnose(oidc.GitHub, c)
	if d.Closest.ID != near.ID || len(d.Differences) != 0 ||
		d.Summary != "closest publisher GitHub octo-org/sampleproject workflow release.yml ["+near.ID+"] matches every configured field; see the reason" {
		t.Fatalf("no differences: %+v", d)
	}
	_ = far

	// Pending publishers are candidates too, and named as pending.
	s3 := NewStore()
	pend := ghPublisher()
	pend.Projects, pend.Pending, pend.ProjectName = nil, true, "newproj"
	pend, err := s3.Add(pend)
	if err != nil {
		t.Fatal(err)
	}
	c = ghToken()
	c["repository_owner"], c["repository"] = "octo-org", "octo-org/sampleprojekt"
	d = s3.Diagnose(oidc.GitHub, c)
	if d.Summary != `closest publisher pending GitHub octo-org/sampleproject workflow release.yml for project newproj [`+pend.ID+
		`]: repository name configured "sampleproject", token's repository is "octo-org/sampleprojekt"` {
		t.Fatalf("pending summary = %s", d.Summary)
	}

	// Google.
	c = googleToken()
	c["email"], c["email_verified"] = "x@y.z", false
	gs := googlePublisher()
	gs.Sub = "42"
	s4 := NewStore()
	gs, _ = s4.Add(gs)
	d = s4.Diagnose(oidc.Google, c)
	want = `email configured "ci@proj.iam.gserviceaccount.com", token's email is "x@y.z"|subject configured "42", token's sub is "1234567890"|token's email_verified is not true`
	if strings.Join(d.Differences, "|") != want || d.Summary != "closest publisher Google ci@proj.iam.gserviceaccount.com sub 42 ["+gs.ID+"]: "+strings.ReplaceAll(want, "|", "; ") {
		t.Fatalf("google: %+v", d)
	}
	_ = g
}

func TestDiagnoseGitLabAndActiveState(t *testing.T) {
	s := NewStore()
	p := glPublisher()
	p.Environment, p.IssuerURL = "Prod", "https://gitlab.example.com"
	p, _ = s.Add(p)
	c := oidc.Claims{"iss": oidc.GitLabIssuer, "project_path": "grp/proj2", "ci_config_ref_uri": "gitlab.com/grp/proj2//x.yml@main", "environment": "prod"}
	d := s.Diagnose(oidc.GitLab, c)
	want := []string{
		`namespace configured "Group/Sub", token's project_path is "grp/proj2"`,
		`project configured "Proj", token's project_path is "grp/proj2"`,
		`workflow file path configured "ci/release.yml", token's ci_config_ref_uri names "x.yml"`,
		`issuer configured "https://gitlab.example.com", token's iss is "https://gitlab.com"`,
		`environment configured "Prod" (case-sensitive for GitLab), token has environment "prod"`,
	}
	if strings.Join(d.Differences, "\n") != strings.Join(want, "\n") {
		t.Fatalf("gitlab differences:\n%s", strings.Join(d.Differences, "\n"))
	}
	if !strings.HasPrefix(d.Summary, "closest publisher GitLab Group/Sub/Proj workflow ci/release.yml at https://gitlab.example.com environment Prod ["+p.ID+"]: ") {
		t.Fatalf("gitlab summary = %s", d.Summary)
	}
	c["ci_config_ref_uri"] = "gitlab.com/grp/proj2/x.yml@main"
	d = s.Diagnose(oidc.GitLab, c)
	if d.Differences[2] != `workflow file path configured "ci/release.yml", token's ci_config_ref_uri "gitlab.com/grp/proj2/x.yml@main" names no workflow file` {
		t.Fatalf("gitlab no file: %q", d.Differences[2])
	}

	as := NewStore()
	ap, _ := as.Add(asPublisher())
	c = oidc.Claims{"iss": oidc.ActiveStateIssuer, "organization": "org2", "project": json.Number("3"), "actor_id": "a9"}
	d = as.Diagnose(oidc.ActiveState, c)
	want = []string{
		`organization configured "org", token's organization is "org2"`,
		`project configured "proj", token's project is 3 (not a string)`,
		`actor id configured "a1", token's actor_id is "a9"`,
		`token's has no builder, PyPI requires "pypi-publisher"`,
	}
	if strings.Join(d.Differences, "\n") != strings.Join(want, "\n") || d.Closest.ID != ap.ID ||
		!strings.HasPrefix(d.Summary, "closest publisher ActiveState org/proj actor someone ["+ap.ID+"]: ") {
		t.Fatalf("activestate: %+v", d)
	}
}

func TestStoreLifecycle(t *testing.T) {
	s := NewStore()
	p, err := s.Add(ghPublisher())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ghPublisher()); err == nil || err.Error() != "an identical publisher already exists: "+p.String() {
		t.Fatalf("duplicate: %v", err)
	}
	// Same identity with another environment is another publisher.
	e := ghPublisher()
	e.Environment = "PyPI"
	e, err = s.Add(e)
	if err != nil || e.Environment != "pypi" {
		t.Fatalf("env publisher: %+v %v", e, err)
	}
	// A pending publisher with the same identity coexists with the normal one.
	pend := ghPublisher()
	pend.Projects, pend.Pending, pend.ProjectName, pend.AddedBy = nil, true, "New.Proj", "alice"
	pend, err = s.Add(pend)
	if err != nil {
		t.Fatal(err)
	}
	other := ghPublisher()
	other.Projects, other.Pending, other.ProjectName, other.Repository = nil, true, "new_proj", "elsewhere"
	other, _ = s.Add(other)
	if len(s.List(false)) != 2 || len(s.List(true)) != 2 {
		t.Fatalf("lists %d %d", len(s.List(false)), len(s.List(true)))
	}
	// Reify reuses the identical normal publisher, attaches the project
	// and drops every pending publisher of the same normalized name.
	same := func(a, b string) bool {
		n := func(s string) string { return strings.NewReplacer(".", "-", "_", "-").Replace(strings.ToLower(s)) }
		return n(a) == n(b)
	}
	got, err := s.Reify(pend.ID, "New.Proj", same)
	if err != nil || got.ID != p.ID || strings.Join(got.Projects, ",") != "sampleproject,New.Proj" {
		t.Fatalf("reify = %+v %v", got, err)
	}
	if len(s.List(true)) != 0 {
		t.Fatalf("pending left: %+v", s.List(true))
	}
	if _, err := s.Reify(other.ID, "x", same); err == nil || err.Error() != "no pending publisher "+other.ID {
		t.Fatalf("reify of a dropped pending publisher: %v", err)
	}
	// Reify without an identical publisher creates one.
	pg := googlePublisher()
	pg.Projects, pg.Pending, pg.ProjectName, pg.AddedBy, pg.PyPIOrganization = nil, true, "gp", "alice", "acme"
	pg, _ = s.Add(pg)
	got, err = s.Reify(pg.ID, "gp", same)
	if err != nil || got.ID != pg.ID || got.Pending || got.ProjectName != "" || got.AddedBy != "" || got.PyPIOrganization != "" ||
		strings.Join(got.Projects, ",") != "gp" {
		t.Fatalf("reify new = %+v %v", got, err)
	}
	if err := s.Attach(got.ID, "gp2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Attach(got.ID, "gp2"); err != nil {
		t.Fatal(err)
	}
	if g, _ := s.Get(got.ID); strings.Join(g.Projects, ",") != "gp,gp2" {
		t.Fatalf("attach: %v", g.Projects)
	}
	if err := s.Attach("nope", "x"); err == nil || err.Error() != "no publisher nope" {
		t.Fatalf("attach unknown: %v", err)
	}
	if !s.Remove(e.ID) || s.Remove(e.ID) {
		t.Fatalf("remove twice")
	}
	if _, ok := s.Get(e.ID); ok {
		t.Fatalf("removed publisher still there")
	}
}

func TestPublisherStrings(t *testing.T) {
	gl := glPublisher()
	gl.Normalize()
	as := asPublisher()
	as.Environment = ""
	for p, want := range map[*Publisher]string{
		&gl: "GitLab Group/Sub/Proj workflow ci/release.yml [",
		&as: "ActiveState org/proj actor someone [",
	} {
		if got := p.String(); got != want+p.ID+"]" {
			t.Errorf("String = %q", got)
		}
	}
	for svc, name := range map[string]string{"github": "GitHub", "gitlab": "GitLab", "google": "Google", "activestate": "ActiveState", "x": "x"} {
		if got := (Publisher{Service: svc}).Name(); got != name {
			t.Errorf("Name(%s) = %s", svc, got)
		}
	}
	if gl.IssuerURL != oidc.GitLabIssuer {
		t.Errorf("GitLab issuer not defaulted: %q", gl.IssuerURL)
	}
	a, b := asPublisher(), asPublisher()
	b.Actor = "other"
	c, d := glPublisher(), glPublisher()
	d.Environment = "x"
	if SameIdentity(a, b) || !SameIdentity(a, asPublisher()) || SameIdentity(c, d) || SameIdentity(a, c) ||
		!SameIdentity(googlePublisher(), googlePublisher()) || SameIdentity(Publisher{Service: "x"}, Publisher{Service: "x"}) {
		t.Errorf("SameIdentity")
	}
}

func TestDetach(t *testing.T) {
	s := NewStore()
	a := ghPublisher()
	a.Projects = []string{"Foo_Bar", "baz"}
	a, _ = s.Add(a)
	pend := googlePublisher()
	pend.Projects, pend.Pending, pend.ProjectName = nil, true, "foo-bar"
	pend, _ = s.Add(pend)
	s.Detach("foo.bar", func(x, y string) bool {
		n := strings.NewReplacer("_", "-", ".", "-")
		return n.Replace(strings.ToLower(x)) == n.Replace(strings.ToLower(y))
	})
	if got, _ := s.Get(a.ID); strings.Join(got.Projects, ",") != "baz" {
		t.Fatalf("projects after Detach = %v", got.Projects)
	}
	if got, ok := s.Get(pend.ID); !ok || got.ProjectName != "foo-bar" {
		t.Fatalf("pending publisher changed: %+v", got)
	}
}

// TestPendingExpiry: warehouse/oidc/tasks.py deletes pending publishers
// created before (run time - 30 days) at its daily 02:00 UTC run.
func TestPendingExpiry(t *testing.T) {
	for _, tc := range []struct{ created, want string }{
		{"2026-01-01T10:00:00Z", "2026-02-01T02:00:00Z"},
		{"2026-01-01T01:59:59Z", "2026-01-31T02:00:00Z"},
		{"2026-01-01T02:00:00Z", "2026-02-01T02:00:00Z"}, // created < cutoff is strict
		{"2026-01-01T03:00:00+02:00", "2026-01-31T02:00:00Z"},
	} {
		c, _ := time.Parse(time.RFC3339, tc.created)
		if got := PendingExpiry(c).Format(time.RFC3339); got != tc.want {
			t.Errorf("PendingExpiry(%s) = %s, want %s", tc.created, got, tc.want)
		}
	}
	s := NewStore()
	c, _ := time.Parse(time.RFC3339, "2026-01-01T10:00:00Z")
	p, err := s.Add(Publisher{Service: "google", Email: "a@b.c", Pending: true, ProjectName: "p", Created: c})
	if err != nil {
		t.Fatal(err)
	}
	if gone := s.ExpirePending(PendingExpiry(c).Add(-time.Second)); len(gone) != 0 {
		t.Fatalf("expired a second early: %v", gone)
	}
	if gone := s.ExpirePending(PendingExpiry(c)); len(gone) != 1 || gone[0].ID != p.ID || len(s.List(true)) != 0 {
		t.Fatalf("not expired at the run: %v %v", gone, s.List(true))
	}
}
