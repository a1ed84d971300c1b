package indexconfig

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestValidateMessages: every check of Validate, with the entry's line.
func TestValidateMessages(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"- a\n", "x.yaml:1: the top level must be a mapping"},
		{"users: {name: a}\n", "x.yaml:1: a mapping is not a list (lines starting with \"- \", or [a, b])"},
		{"users:\n  - alice\n", "x.yaml:2: `alice` is not a mapping (key: value lines)"},
		{"audience: [a]\n", "x.yaml:1: a list is not a string"},
		{"audience: 'a\n", "x.yaml: yaml: "},
		{"users:\n  - {name: a}\n  - {name: a}\n", "x.yaml:3: user \"a\" is declared twice"},
		{"users:\n  - {two_factor: false}\n", "x.yaml:2: user needs a name"},
		{"projects:\n  - {owners: []}\n", "x.yaml:2: project needs a name"},
		{"projects:\n  - {name: Foo_Bar}\n  - {name: foo.bar}\n", "x.yaml:3: project \"foo.bar\" is declared twice"},
		{"projects:\n  - {name: ../../x}\n", "x.yaml:2: '../../x' is not a valid project name: it must start and end with an ASCII letter or digit, with only letters, digits, '.', '_' and '-' between (PROJECT_NAME_RE, warehouse/utils/project.py)"},
		{"users: [{name: a}]\nprojects:\n  - {name: p, maintainers: [z]}\n", "x.yaml:3: project \"p\" names user \"z\", who is not in users"},
		{"projects:\n  - {name: p, upload_limit: -1}\n", "x.yaml:2: project \"p\": limits must not be negative"},
		{"projects:\n  - {name: p, total_size_limit: -1}\n", "x.yaml:2: project \"p\": limits must not be negative"},
		{"projects:\n  - {name: p, status: gone}\n", "x.yaml:2: project \"p\": unknown project status \"gone\" (known: active, archived, quarantined)"},
		{"projects:\n  - {name: p, status: deprecated}\n", "x.yaml:2: project \"p\": project status \"deprecated\" is PEP 792's, but PyPI has no lifecycle status that shows it"},
		{"issuers:\n  - {url: \"https://gitlab.com\", service: github}\n", "x.yaml:2: issuer \"https://gitlab.com\" is gitlab's canonical issuer, not github"},
		{"issuers:\n  - {url: \"https://x\", service: bitbucket}\n", "x.yaml:2: issuer \"https://x\": unknown service \"bitbucket\" (want github, gitlab, google or activestate)"},
		{"issuers:\n  - {service: gitlab}\n", "x.yaml:2: issuer url is empty"},
		{"publishers:\n  - {service: google, email: a@b.c, projects: [nope]}\n", "x.yaml:2: publisher names project \"nope\", which is not in projects"},
		{"publishers:\n  - {service: svn}\n", "x.yaml:2: publisher: unknown publisher service \"svn\" (want github, gitlab, google or activestate)"},
		{"publishers:\n  - {service: google, mail: a@b.c}\n", "x.yaml:2: unknown key \"mail\" (did you mean email?)"},
		{"publishers:\n  - {service: google, zzz: a@b.c}\n", "x.yaml:2: unknown key \"zzz\" (known: id, service, owner, owner_id, repository, workflow_filename, namespace, project, workflow_filepath, issuer_url, environment, email, sub, organization, actor, actor_id, projects, project_name, added_by, pypi_organization, created)"},
		{"pending_publishers:\n  - {service: google, email: a@b.c, project_name: p, added_by: zed}\n", "x.yaml:2: pending publisher added_by \"zed\" is not in users"},
		{"pending_publishers:\n  - {service: google, email: a@b.c}\n", "x.yaml:2: pending publisher: pending publisher project_name \"\" is not a valid project name"},
		{"pending_publishers:\n  - {service: google, email: a@b.c, project_name: p, pending: false}\n", "x.yaml:2: unknown key \"pending\""},
		{"users: [{name: a}]\ntokens:\n  - {user: a}\n", "x.yaml:3: token needs a name"},
		{"users: [{name: a}]\ntokens:\n  - {name: t, user: a}\n  - {name: t, user: a}\n", "x.yaml:4: token \"t\" is declared twice"},
		{"users: [{name: a}]\ntokens:\n  - {name: t, user: a, projects: [p]}\n", "x.yaml:3: token \"t\" is scoped to project \"p\", which is not in projects"},
		{"flags: [read-only, nope]\n", "x.yaml: unknown admin flag \"nope\" (known: disallow-oidc, disallow-github-oidc, disallow-gitlab-oidc, disallow-google-oidc, disallow-activestate-oidc, read-only, disallow-new-upload, disallow-new-project-registration, disable-pep740, disable-upload-scanning)"},
	} {
		_, err := Parse("x.yaml", []byte(tc.src))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s", tc.src, err, tc.want)
		}
	}
}

// TestValidateReportsAll: every problem at once, one per line.
func TestValidateReportsAll(t *testing.T) {
	_, err := Parse("x.yaml", []byte("flags: [nope]\nusers:\n  - {name: a}\ntokens:\n  - {name: t, user: ghost}\nprojects:\n  - {name: p, owners: [b]}\n"))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "x.yaml: unknown admin flag") ||
		lines[1] != `x.yaml:7: project "p" names user "b", who is not in users` || lines[2] != `x.yaml:5: token "t": user "ghost" is not in users` {
		t.Fatalf("errors:\n%s", err)
	}
	// Without a path (a File built in Go), messages have no location.
	f := &File{Tokens: nil, Users: []User{{}}}
	if err := f.Validate(); err == nil || err.Error() != "user needs a name" {
		t.Fatalf("in-memory: %v", err)
	}
}

func TestParseDefaultsAndNormalization(t *testing.T) {
	f, err := Parse("x.yaml", []byte(`
audience: testpypi
domain: test.pypi.org
users:
  - name: a
  - name: b
    two_factor: false
    email_verified: false
projects: [{name: P, owners: [a]}]
publishers:
  - {service: github, owner: o, repository: r, workflow_filename: x.yml, environment: PyPI, projects: [p]}
  - {service: gitlab, namespace: n, project: r, workflow_filepath: .gitlab-ci.yml, projects: [p]}
pending_publishers:
  - {service: google, email: a@b.c, project_name: new}
`))
	if err != nil {
		t.Fatal(err)
	}
	if f.Audience != "testpypi" || f.Domain != "test.pypi.org" {
		t.Fatalf("audience/domain %q %q", f.Audience, f.Domain)
	}
	if !f.Users[0].Verified() || !f.Users[0].TwoFA() || f.Users[1].Verified() || f.Users[1].TwoFA() {
		t.Fatalf("user defaults %+v", f.Users)
	}
	if f.Publishers[0].Environment != "pypi" || f.Publishers[1].IssuerURL != "https://gitlab.com" || f.Publishers[0].ID != "" {
		t.Fatalf("publishers %+v", f.Publishers)
	}
	if !f.PendingPublishers[0].Pending {
		t.Fatalf("pending not marked")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	os.WriteFile(p, []byte("users: [{name: a}]\ntokens:\n  - {name: t, user: b}\n"), 0o644)
	if _, err := Load(p); err == nil || err.Error() != p+`:3: token "t": user "b" is not in users` {
		t.Fatalf("Load: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
}

// TestDocumentedConfigurations: the configuration file shown in
// docs/fakeindex.md and the demo configuration load.
func TestDocumentedConfigurations(t *testing.T) {
	doc, err := os.ReadFile("../../docs/fakeindex.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Configuration file.*?```yaml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("no yaml block under \"Configuration file\" in docs/fakeindex.md")
	}
	f, err := Parse("docs/fakeindex.md", m[1])
	if err != nil {
		t.Fatalf("the documented configuration does not load:\n%v", err)
	}
	if len(f.Publishers) != 4 || len(f.PendingPublishers) != 1 || len(f.Tokens) != 2 || len(f.Issuers) != 3 {
		t.Fatalf("documented configuration: %d publishers, %d pending, %d tokens, %d issuers",
			len(f.Publishers), len(f.PendingPublishers), len(f.Tokens), len(f.Issuers))
	}
	if _, err := Load("../../examples/demo.yaml"); err != nil {
		t.Fatalf("examples/demo.yaml: %v", err)
	}
}
