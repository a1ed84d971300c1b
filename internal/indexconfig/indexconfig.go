// Package indexconfig reads fakeindex's declarative setup: one YAML file
// naming users, projects, trusted and pending publishers, API tokens,
// issuers, the audience and admin flags, in PyPI's own vocabulary.
// Mistakes are reported with the file and line they are on.
package indexconfig

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"

	"github.com/fakepypi/fakepypi/internal/adminflag"
	"github.com/fakepypi/fakepypi/internal/apitoken"
	"github.com/fakepypi/fakepypi/internal/forklift/pyname"
	"github.com/fakepypi/fakepypi/internal/oidc"
	"github.com/fakepypi/fakepypi/internal/publisher"
	"github.com/fakepypi/fakepypi/internal/suggest"
)

// File is the whole setup. Its zero value is a valid, empty index that
// accepts trusted publishing with audience "pypi".
type File struct {
	// Audience is what OIDC tokens must carry in aud (PyPI: "pypi",
	// TestPyPI: "testpypi").
	Audience string `yaml:"audience,omitempty" json:"audience"`
	// Domain is the macaroon location, PyPI's request.domain.
	Domain string `yaml:"domain,omitempty" json:"domain"`
	// Flags lists admin flags that are on (disallow-oidc, read-only, ...).
	Flags []string `yaml:"flags,omitempty" json:"flags"`
	// Issuers sets discovery URLs for the canonical issuers and registers
	// custom (organization) issuers.
	Issuers []oidc.Issuer `yaml:"issuers,omitempty" json:"issuers"`
	// ProhibitedNames is the admin list of refused project names.
	ProhibitedNames []string `yaml:"prohibited_names,omitempty" json:"prohibited_names"`

	Users             []User                `yaml:"users,omitempty" json:"users"`
	Projects          []Project             `yaml:"projects,omitempty" json:"projects"`
	Publishers        []publisher.Publisher `yaml:"publishers,omitempty" json:"publishers"`
	PendingPublishers []publisher.Publisher `yaml:"pending_publishers,omitempty" json:"pending_publishers"`
	Tokens            []apitoken.UserToken  `yaml:"tokens,omitempty" json:"tokens"`

	// path and lines locate entries for error messages.
	path  string
	lines map[any]int
}

// User is an account. Email verification and 2FA default to true, since
// PyPI refuses uploads from accounts without them.
type User struct {
	Name string `yaml:"name" json:"name"`
	// ID is the user's UUID (default: one derived from the name). A real
	// token's RequestUser caveat names PyPI's id of its user, which the
	// index then gives the user.
	ID            string `yaml:"id,omitempty" json:"id,omitempty"`
	EmailVerified *bool  `yaml:"email_verified,omitempty" json:"email_verified,omitempty"`
	TwoFactor     *bool  `yaml:"two_factor,omitempty" json:"two_factor,omitempty"`
	// Frozen disables the account: its tokens give no identity.
	Frozen bool `yaml:"frozen,omitempty" json:"frozen,omitempty"`
}

// Verified and TwoFA apply the defaults.
func (u User) Verified() bool { return u.EmailVerified == nil || *u.EmailVerified }
func (u User) TwoFA() bool    { return u.TwoFactor == nil || *u.TwoFactor }

// Project is a project that exists from the start.
type Project struct {
	Name         string   `yaml:"name" json:"name"`
	Owners       []string `yaml:"owners,omitempty" json:"owners,omitempty"`
	Maintainers  []string `yaml:"maintainers,omitempty" json:"maintainers,omitempty"`
	Organization string   `yaml:"organization,omitempty" json:"organization,omitempty"`
	// Limits in bytes; zero means PyPI's defaults (100 MiB, 10 GiB).
	UploadLimit    int64 `yaml:"upload_limit,omitempty" json:"upload_limit,omitempty"`
	TotalSizeLimit int64 `yaml:"total_size_limit,omitempty" json:"total_size_limit,omitempty"`
	// Status is the project's PEP 792 status: active (the default),
	// archived or quarantined (see ProjectStatusProblem).
	Status string `yaml:"status,omitempty" json:"status,omitempty"`
	// ID is the project's UUID (default: a new one). A real token's
	// ProjectID caveat names PyPI's id of its project.
	ID string `yaml:"id,omitempty" json:"id,omitempty"`
}

// ProjectStatusProblem says why status cannot be a project's status, or
// "" when it can. PyPI's admins and owners set a lifecycle status that
// shows as active, archived or quarantined; PyPI has no lifecycle status
// for PEP 792's "deprecated" (warehouse/packaging/models.py
// Project.project_status: "PyPI doesn't yet have a deprecated lifecycle
// status"), so the fake refuses it rather than answer what PyPI cannot.
func ProjectStatusProblem(status string) string {
	switch status {
	case "", "active", "archived", "quarantined":
		return ""
	case "deprecated":
		return `project status "deprecated" is PEP 792's, but PyPI has no lifecycle status that shows it (warehouse/packaging/models.py project_status); use active, archived or quarantined`
	}
	return fmt.Sprintf("unknown project status %q (known: active, archived, quarantined)", status)
}

// Load reads and validates a file.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse reads and validates YAML; path is only used in messages.
func Parse(path string, data []byte) (*File, error) {
	f := &File{path: path, lines: map[any]int{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(doc.Content) == 0 {
		return f, f.Validate()
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, f.errf(root, "the top level must be a mapping")
	}
	if err := checkKeys(f, root, reflect.TypeOf(*f)); err != nil {
		return nil, err
	}
	if err := root.Decode(f); err != nil {
		// "path:LINE: what the value should be" per error, as for the
		// other mistakes, rather than yaml.v3's Go type names.
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			m = suggest.YAMLTypeError(m)
			if rest, ok := strings.CutPrefix(m, "line "); ok {
				m = path + ":" + rest
			} else {
				m = path + ": " + m
			}
			msgs[i] = m
		}
		return nil, errors.New(strings.Join(msgs, "\n"))
	}
	// Remember where each list entry is, and reject unknown keys in it.
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i].Value, root.Content[i+1]
		var elem reflect.Type
		var at func(int) any
		switch key {
		case "users":
			elem, at = reflect.TypeOf(User{}), func(j int) any { return &f.Users[j] }
		case "projects":
			elem, at = reflect.TypeOf(Project{}), func(j int) any { return &f.Projects[j] }
		case "publishers":
			elem, at = reflect.TypeOf(publisher.Publisher{}), func(j int) any { return &f.Publishers[j] }
		case "pending_publishers":
			elem, at = reflect.TypeOf(publisher.Publisher{}), func(j int) any { return &f.PendingPublishers[j] }
		case "tokens":
			elem, at = reflect.TypeOf(apitoken.UserToken{}), func(j int) any { return &f.Tokens[j] }
		case "issuers":
			elem, at = reflect.TypeOf(oidc.Issuer{}), func(j int) any { return &f.Issuers[j] }
		default:
			continue
		}
		if val.Kind != yaml.SequenceNode {
			return nil, f.errf(val, "%s must be a list", key)
		}
		for j, item := range val.Content {
			if err := checkKeys(f, item, elem); err != nil {
				return nil, err
			}
			f.lines[at(j)] = item.Line
		}
	}
	for i := range f.PendingPublishers {
		f.PendingPublishers[i].Pending = true
	}
	return f, f.Validate()
}

// checkKeys rejects keys that t (a struct with yaml tags) does not have.
func checkKeys(f *File, n *yaml.Node, t reflect.Type) error {
	if n.Kind != yaml.MappingNode {
		return f.errf(n, "expected a mapping")
	}
	allowed := map[string]bool{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			allowed[name] = true
			names = append(names, name)
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !allowed[k.Value] {
			if hint := suggest.DidYouMean(k.Value, names); hint != "" {
				return f.errf(k, "unknown key %q%s", k.Value, hint)
			}
			return f.errf(k, "unknown key %q (known: %s)", k.Value, strings.Join(names, ", "))
		}
	}
	return nil
}

func (f *File) errf(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", f.path, n.Line, fmt.Sprintf(format, args...))
}

// at prefixes a message with the entry's file:line when known.
func (f *File) at(entry any, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if line, ok := f.lines[entry]; ok {
		return fmt.Errorf("%s:%d: %s", f.path, line, msg)
	}
	if f.path != "" {
		return fmt.Errorf("%s: %s", f.path, msg)
	}
	return errors.New(msg)
}

// Validate checks references between entries and every publisher and
// token, reporting all problems at once. Defaults are filled in.
func (f *File) Validate() error {
	if f.Audience == "" {
		f.Audience = "pypi"
	}
	if f.Domain == "" {
		f.Domain = "pypi.org"
	}
	var errs []error
	for _, fl := range f.Flags {
		if !adminflag.Valid(fl) {
			errs = append(errs, f.at(nil, "unknown admin flag %q (known: %s)", fl, strings.Join(adminflag.Known, ", ")))
		}
	}
	users := map[string]bool{}
	for i := range f.Users {
		u := &f.Users[i]
		if u.Name == "" {
			errs = append(errs, f.at(u, "user needs a name"))
		} else if users[u.Name] {
			errs = append(errs, f.at(u, "user %q is declared twice", u.Name))
		}
		if u.ID != "" {
			if _, err := uuid.Parse(u.ID); err != nil {
				errs = append(errs, f.at(u, "user %q: id %q is not a UUID", u.Name, u.ID))
			}
		}
		users[u.Name] = true
	}
	projects := map[string]bool{}
	for i := range f.Projects {
		p := &f.Projects[i]
		if p.Name == "" {
			errs = append(errs, f.at(p, "project needs a name"))
			continue
		}
		if msg := pyname.NameProblem(p.Name); msg != "" {
			errs = append(errs, f.at(p, "%s", msg))
			continue
		}
		key := normalize(p.Name)
		if projects[key] {
			errs = append(errs, f.at(p, "project %q is declared twice", p.Name))
		}
		projects[key] = true
		for _, o := range append(append([]string{}, p.Owners...), p.Maintainers...) {
			if !users[o] {
				errs = append(errs, f.at(p, "project %q names user %q, who is not in users", p.Name, o))
			}
		}
		if p.UploadLimit < 0 || p.TotalSizeLimit < 0 {
			errs = append(errs, f.at(p, "project %q: limits must not be negative", p.Name))
		}
		if msg := ProjectStatusProblem(p.Status); msg != "" {
			errs = append(errs, f.at(p, "project %q: %s", p.Name, msg))
		}
		if p.ID != "" {
			if _, err := uuid.Parse(p.ID); err != nil {
				errs = append(errs, f.at(p, "project %q: id %q is not a UUID", p.Name, p.ID))
			}
		}
	}
	for i := range f.Issuers {
		is := &f.Issuers[i]
		if err := oidc.NewRegistry().Set(*is); err != nil {
			errs = append(errs, f.at(is, "%v", err))
		}
	}
	for i := range f.Publishers {
		p := &f.Publishers[i]
		id := p.ID
		if err := p.Normalize(); err != nil {
			errs = append(errs, f.at(p, "publisher: %v", err))
		}
		p.ID = id // IDs are assigned when the index starts, unless given
		for _, name := range p.Projects {
			if !projects[normalize(name)] {
				errs = append(errs, f.at(p, "publisher names project %q, which is not in projects", name))
			}
		}
	}
	for i := range f.PendingPublishers {
		p := &f.PendingPublishers[i]
		p.Pending = true
		id := p.ID
		if err := p.Normalize(); err != nil {
			errs = append(errs, f.at(p, "pending publisher: %v", err))
		}
		p.ID = id
		if p.AddedBy != "" && !users[p.AddedBy] {
			errs = append(errs, f.at(p, "pending publisher added_by %q is not in users", p.AddedBy))
		}
	}
	names := map[string]bool{}
	for i := range f.Tokens {
		t := &f.Tokens[i]
		if t.Value != "" {
			lit, err := apitoken.ParseLiteral(t.Value)
			if err != nil {
				errs = append(errs, f.at(t, "token %s: %v", tokenLabel(t), err))
				continue
			}
			if t.Name == "" {
				t.Name = apitoken.LiteralName(lit)
			}
			if len(t.Projects) > 0 {
				errs = append(errs, f.at(t, "token %q: a token given by value is scoped by its own caveats; remove projects", t.Name))
			}
		}
		switch {
		case t.Name == "":
			errs = append(errs, f.at(t, "token needs a name"))
		case names[t.Name]:
			errs = append(errs, f.at(t, "token %q is declared twice", t.Name))
		}
		names[t.Name] = true
		if !users[t.User] {
			errs = append(errs, f.at(t, "token %q: user %q is not in users", t.Name, t.User))
		}
		for _, pn := range t.Projects {
			if !projects[normalize(pn)] {
				errs = append(errs, f.at(t, "token %q is scoped to project %q, which is not in projects", t.Name, pn))
			}
		}
	}
	return errors.Join(errs...)
}

// tokenLabel names a token in messages.
func tokenLabel(t *apitoken.UserToken) string {
	if t.Name != "" {
		return fmt.Sprintf("%q", t.Name)
	}
	v := t.Value
	if len(v) > 24 {
		v = v[:24] + "..."
	}
	return fmt.Sprintf("%q", v)
}

// normalize is PEP 503, as PyPI compares project names.
func normalize(s string) string { return pyname.Normalize(s) }
