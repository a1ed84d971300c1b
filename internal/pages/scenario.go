package pages

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"go.yaml.in/yaml/v3"

	"github.com/fakepypi/fakepypi/internal/events"
	"github.com/fakepypi/fakepypi/internal/forklift/pyname"
	"github.com/fakepypi/fakepypi/internal/lazyregexp"
	"github.com/fakepypi/fakepypi/internal/oidc"
	"github.com/fakepypi/fakepypi/internal/publisher"
)

// Scenario serves GET /_fake/events/{seq}/scenario.txtar: a testscript
// scenario (the format of scenarios/*.txtar, docs/scenarios.md) that
// starts from this index's configuration as it is now and repeats what
// led to the event: for a mint attempt, a CI job with the token's
// identity and the issuer faults it carried; for an upload, the same
// identity and a file of the same name with the recorded form fields. It
// asserts PyPI's answer, so running it shows whether the verdict repeats.
func (s *Site) Scenario(w http.ResponseWriter, r *http.Request) {
	seq := mux.Vars(r)["seq"]
	e, ok := s.event(seq)
	if !ok {
		http.Error(w, "no event "+seq, http.StatusNotFound)
		return
	}
	txt, err := s.ScenarioFor(e)
	if err != nil {
		http.Error(w, "event "+seq+": "+err.Error(), http.StatusUnprocessableEntity)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="event-`+seq+`.txtar"`)
	w.Write([]byte(txt))
}

// ScenarioFor writes the scenario for one event.
func (s *Site) ScenarioFor(e events.Event) (string, error) {
	v := view(e)
	var b strings.Builder
	fmt.Fprintf(&b, "# Reproduces event #%d of fakepypi's dashboard: %s.\n", e.Seq, v.Title)
	if e.Message != "" {
		fmt.Fprintf(&b, "# PyPI answered %d: %s\n", e.Status, oneLine(e.Message))
	}
	if e.Why != "" {
		fmt.Fprintf(&b, "# fakepypi's diagnosis: %s\n", oneLine(e.Why))
	}
	b.WriteString("# The configuration below is the index's as it was when this file was\n# downloaded; edit it and the commands to explore the fix.\n\n")
	var files []string
	switch {
	case v.Mint != nil && v.Mint.Service != "":
		s.mintSteps(&b, e, v.Mint)
	case v.Upload != nil && v.Upload.Filename != "":
		var err error
		if files, err = s.uploadSteps(&b, e, v.Upload); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("a %s event cannot be replayed as a scenario (only mint attempts with a known issuer, and uploads)", e.Kind)
	}
	cfg, err := s.scenarioConfig()
	if err != nil {
		return "", err
	}
	b.WriteString("\n-- .pypi/config.yaml --\n")
	b.WriteString(cfg)
	for _, f := range files {
		b.WriteString("-- " + f + " --\n")
	}
	return b.String(), nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// scenarioConfig is the live configuration without the issuers the
// harness points at its own fake issuer: a scenario gets its own.
func (s *Site) scenarioConfig() (string, error) {
	f := s.Snapshot()
	var keep []oidc.Issuer
	for _, is := range f.Issuers {
		if !oidc.ValidService(is.Service) || is.URL != oidc.CanonicalIssuer(is.Service) {
			keep = append(keep, is)
		}
	}
	f.Issuers = keep
	f.Domain = "" // the scenario's harness is PyPI's
	out, err := yaml.Marshal(f)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// quoteArg quotes a testscript argument when it needs it (” is a
// quote inside quotes).
func quoteArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\"#$\\{}") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// quoteRE makes a regexp matching s literally, quoted for testscript;
// hex digests (64 hex digits: a file's blake2b-256 or sha256) match any
// digest, since a replayed file is rebuilt, not the original.
func quoteRE(s string) string {
	return quoteArg(digest().ReplaceAllString(regexp.QuoteMeta(s), `[0-9a-f]{64}`))
}

var digest = lazyregexp.New(`\b[0-9a-f]{64}\b`)

func claimString(c map[string]any, k string) string { v, _ := c[k].(string); return v }

// ciFields turns a token's claims into the `ci KIND field=value` fields
// (fakeissuer's run context) that make the fake issuer mint a token with
// the same identity.
func ciFields(service string, c map[string]any) (kind string, fields []string) {
	add := func(k, v string) {
		if v != "" {
			fields = append(fields, k+"="+quoteArg(v))
		}
	}
	switch service {
	case oidc.GitHub:
		kind = "github"
		repo := claimString(c, "repository")
		add("repository", repo)
		if owner, _, _ := strings.Cut(repo, "/"); claimString(c, "repository_owner") != owner {
			add("owner", claimString(c, "repository_owner"))
		}
		add("owner_id", claimString(c, "repository_owner_id"))
		wf, ref, _ := strings.Cut(claimString(c, "workflow_ref"), "@")
		if path := strings.TrimPrefix(wf, repo+"/"); path != wf {
			add("workflow_file", path)
		}
		if r := claimString(c, "ref"); r != "" {
			add("ref", r)
		} else {
			add("ref", ref)
		}
		add("sha", claimString(c, "sha"))
		add("event", claimString(c, "event_name"))
		add("environment", claimString(c, "environment"))
		if jwr := claimString(c, "job_workflow_ref"); jwr != "" && jwr != claimString(c, "workflow_ref") {
			add("reusable_workflow", jwr)
		}
	case oidc.GitLab:
		kind = "gitlab"
		add("project_path", claimString(c, "project_path"))
		uri, _, _ := strings.Cut(claimString(c, "ci_config_ref_uri"), "@")
		if i := strings.Index(uri, "//"); i >= 0 {
			add("config_path", uri[i+2:])
		}
		rp := claimString(c, "ref_path")
		switch {
		case strings.HasPrefix(rp, "refs/tags/"):
			add("ref", strings.TrimPrefix(rp, "refs/tags/"))
			add("ref_type", "tag")
		case strings.HasPrefix(rp, "refs/heads/"):
			add("ref", strings.TrimPrefix(rp, "refs/heads/"))
		}
		add("sha", claimString(c, "sha"))
		add("environment", claimString(c, "environment"))
	case oidc.Google:
		kind = "google"
		add("email", claimString(c, "email"))
		add("sub", claimString(c, "sub"))
		if v, ok := c["email_verified"].(bool); ok && !v {
			add("email_verified", "false")
		}
	case oidc.ActiveState:
		kind = "activestate"
		for _, k := range []string{"organization", "project", "actor", "actor_id", "builder"} {
			add(k, claimString(c, k))
		}
	}
	return kind, fields
}

func (s *Site) mintSteps(b *strings.Builder, e events.Event, d *mintDetails) {
	kind, fields := ciFields(d.Service, d.Claims)
	fmt.Fprintf(b, "ci %s %s\n", kind, strings.Join(fields, " "))
	// The issuer faults of the token, when this harness's issuer minted it.
	var tok *tokenDetails
	if jti := claimString(d.Claims, "jti"); jti != "" {
		for _, te := range s.Events.List(events.Filter{Kind: events.KindToken}) {
			if tv := view(te); tv.Token != nil && tv.Token.Claims["jti"] == jti {
				tok = tv.Token
			}
		}
	}
	var args []string
	if tok != nil && len(tok.Faults) > 0 {
		fs := make([]string, len(tok.Faults))
		for i, f := range tok.Faults {
			fs[i] = quoteArg(f)
		}
		fmt.Fprintf(b, "fault -once %s\n", strings.Join(fs, " "))
	}
	if aud := claimString(d.Claims, "aud"); aud != "" && aud != s.Exchange.Audience() && (tok == nil || len(tok.Faults) == 0) {
		args = append(args, "-aud", quoteArg(aud))
	}
	if kind != "github" {
		args = append(args, "-kind", kind)
	}
	cmd := strings.TrimSpace("mint " + strings.Join(args, " "))
	// PyPI's JSON is compact (warehouse's json renderer); the optional
	// spaces keep the assertion true for an indented rendering too.
	if e.Verdict == "ok" {
		fmt.Fprintf(b, "%s\nstdout '\"success\": ?true'\n", cmd)
		return
	}
	fmt.Fprintf(b, "! %s\n", cmd)
	if e.Code != "" {
		re := strings.Join([]string{regexp.QuoteMeta(`"code":`), " ?", regexp.QuoteMeta(`"` + e.Code + `",`), " ?",
			regexp.QuoteMeta(`"description":`), " ?", digest().ReplaceAllString(regexp.QuoteMeta(`"`+jsonEscape(e.Message)+`"`), `[0-9a-f]{64}`)}, "")
		fmt.Fprintf(b, "stdout %s\n", quoteArg(re))
	} else {
		fmt.Fprintf(b, "stdout %s\n", quoteRE(e.Message))
	}
}

// jsonEscape is how a description appears inside PyPI's JSON.
func jsonEscape(s string) string {
	q := strconv.QuoteToASCII(s)
	q = q[1 : len(q)-1]
	return strings.ReplaceAll(q, `\'`, `'`)
}

// uploadSkipped are form fields the upload command computes itself.
var uploadSkipped = map[string]bool{":action": true, "protocol_version": true, "md5_digest": true, "sha256_digest": true,
	"blake2_256_digest": true, "content": true, "filetype": true, "pyversion": true}

func (s *Site) uploadSteps(b *strings.Builder, e events.Event, d *uploadDetails) ([]string, error) {
	project, version, kind, err := splitFilename(d.Filename)
	if err != nil {
		return nil, err
	}
	switch d.Identity {
	case "publisher":
		p, ok := s.Publishers.Get(d.Publisher)
		if !ok {
			return nil, fmt.Errorf("publisher %s is no longer configured", d.Publisher)
		}
		kind, fields := ciFields(p.Service, publisherClaims(p))
		fmt.Fprintf(b, "ci %s %s\n", kind, strings.Join(fields, " "))
		if kind == "github" {
			b.WriteString("mint\n")
		} else {
			fmt.Fprintf(b, "mint -kind %s\n", kind)
		}
	case "user":
		if d.Token == "" {
			return nil, fmt.Errorf("the upload used a token that is not in the configuration")
		}
		fmt.Fprintf(b, "apitoken %s\n", quoteArg(d.Token))
	default:
		return nil, fmt.Errorf("an upload with identity %q cannot be replayed", d.Identity)
	}
	// A distinct keyword makes this file's bytes differ from the files
	// seeded below under the same name, as a rebuilt file's do.
	fmt.Fprintf(b, "dist %s %s %s 'Keywords: fakepypi-replay-%d'\n", kind, quoteArg(project), quoteArg(version), e.Seq)
	cmd := "upload"
	var keys []string
	for k := range d.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vs := d.Fields[k]
		if uploadSkipped[k] || len(vs) != 1 || strings.HasSuffix(vs[0], "…") || k == "keywords" {
			continue
		}
		cmd += " -field " + quoteArg(k+"="+vs[0])
	}
	cmd += " dist/" + quoteArg(distName(kind, project, version))
	if e.Verdict == "ok" {
		fmt.Fprintf(b, "%s\nstdout '^200 OK$'\n", cmd)
	} else {
		fmt.Fprintf(b, "! %s\nstdout %s\n", cmd, quoteRE(fmt.Sprintf("%d %s", e.Status, e.Message)))
	}
	// Files the project had before the upload: the event's own file only
	// when the upload was refused (an accepted one added it).
	var files []string
	if p, ok := s.Catalog.Project(pyname.Normalize(project)); ok {
		for _, r := range p.Releases {
			for _, f := range r.Files {
				if f.Filename == d.Filename && e.Verdict == "ok" {
					continue
				}
				files = append(files, ".pypi/files/"+p.Name+"/"+f.Filename)
			}
		}
	}
	return files, nil
}

// splitFilename reads project and version from a wheel or sdist name,
// and which `dist` builds it.
func splitFilename(fn string) (project, version, kind string, err error) {
	switch {
	case strings.HasSuffix(fn, ".whl"):
		parts := strings.Split(strings.TrimSuffix(fn, ".whl"), "-")
		if len(parts) < 5 {
			return "", "", "", fmt.Errorf("%s is not a wheel filename", fn)
		}
		return parts[0], parts[1], "wheel", nil
	case strings.HasSuffix(fn, ".tar.gz"), strings.HasSuffix(fn, ".zip"):
		kind = "sdist"
		base := strings.TrimSuffix(fn, ".tar.gz")
		if strings.HasSuffix(fn, ".zip") {
			kind, base = "sdist-zip", strings.TrimSuffix(fn, ".zip")
		}
		i := strings.LastIndexByte(base, '-')
		if i <= 0 {
			return "", "", "", fmt.Errorf("%s is not an sdist filename", fn)
		}
		return base[:i], base[i+1:], kind, nil
	}
	return "", "", "", fmt.Errorf("%s is neither a wheel nor an sdist", fn)
}

// distName is the file `dist` writes (scenarios' dist command: PEP 427
// and PEP 625 names).
func distName(kind, project, version string) string {
	n := strings.ReplaceAll(pyname.Normalize(project), "-", "_")
	switch kind {
	case "wheel":
		return n + "-" + version + "-py3-none-any.whl"
	case "sdist-zip":
		return n + "-" + version + ".zip"
	}
	return n + "-" + version + ".tar.gz"
}

// publisherClaims are the claims of a run that a publisher matches.
func publisherClaims(p publisher.Publisher) map[string]any {
	switch p.Service {
	case oidc.GitHub:
		c := map[string]any{"repository": p.Owner + "/" + p.Repository, "repository_owner": p.Owner,
			"workflow_ref": p.Owner + "/" + p.Repository + "/.github/workflows/" + p.WorkflowFilename + "@refs/heads/main"}
		if p.OwnerID != "" {
			c["repository_owner_id"] = p.OwnerID
		}
		if p.Environment != "" {
			c["environment"] = p.Environment
		}
		c["job_workflow_ref"] = c["workflow_ref"]
		return c
	case oidc.GitLab:
		c := map[string]any{"project_path": p.Namespace + "/" + p.Project,
			"ci_config_ref_uri": "gitlab.com/" + p.Namespace + "/" + p.Project + "//" + p.WorkflowFilepath + "@refs/heads/main"}
		if p.Environment != "" {
			c["environment"] = p.Environment
		}
		return c
	case oidc.Google:
		c := map[string]any{"email": p.Email}
		if p.Sub != "" {
			c["sub"] = p.Sub
		}
		return c
	case oidc.ActiveState:
		c := map[string]any{"organization": p.Organization, "project": p.Project, "actor": p.Actor}
		if p.ActorID != "" {
			c["actor_id"] = p.ActorID
		}
		return c
	}
	return nil
}
