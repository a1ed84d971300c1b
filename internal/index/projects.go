package index

import (
	"errors"
	"fmt"
	"github.com/google/uuid"
	"net/http"
	"sort"
	"sync"

	"github.com/fakepypi/fakepypi/internal/adminflag"
	"github.com/fakepypi/fakepypi/internal/apitoken"
	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/forklift/pyname"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/pypierr"
	"github.com/fakepypi/fakepypi/internal/trust"
)

func normalize(name string) string { return pyname.Normalize(name) }

// MsgRegistrationDisabled is create_project's answer when the
// disallow-new-project-registration flag is on
// (warehouse/packaging/services.py), its link on help's domain.
func MsgRegistrationDisabled(help pypierr.Help) string {
	return "New project registration temporarily disabled. See " + help.URL("admin-intervention") + " for more information."
}

// projectDir connects the exchange (and the upload endpoint) to the
// catalog, adding PyPI's new-project rules.
type projectDir struct {
	s *Server

	mu         sync.RWMutex
	prohibited map[string]bool // normalized names
}

func (d *projectDir) prohibit(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.prohibited[normalize(name)] = true
}

// prohibitedNames lists the prohibited names (normalized), sorted.
func (d *projectDir) prohibitedNames() []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []string
	for n := range d.prohibited {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (d *projectDir) isProhibited(normalized string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.prohibited[normalized]
}

// Lookup implements trust.Projects.
func (d *projectDir) Lookup(name string) (trust.ProjectInfo, bool) {
	p, ok := d.s.Catalog.Project(normalize(name))
	if !ok {
		return trust.ProjectInfo{}, false
	}
	return trust.ProjectInfo{ID: p.ID.String(), Name: p.Name}, true
}

// SameName implements trust.Projects.
func (d *projectDir) SameName(a, b string) bool { return normalize(a) == normalize(b) }

// CreateForPublisher implements trust.Projects: create_project without
// the rate limit.
func (d *projectDir) CreateForPublisher(name, creator, organization string) (trust.ProjectInfo, error) {
	p, err := d.s.CreateProject(name, creator, organization)
	if err != nil {
		return trust.ProjectInfo{}, err
	}
	return trust.ProjectInfo{ID: p.ID.String(), Name: p.Name}, nil
}

// CreateProject is warehouse's ProjectService.create_project after its
// rate limit: the disallow-new-project-registration flag, then
// check_project_name (regex, stdlib, existing, prohibited, too similar).
// The creator becomes Owner unless an organization owns the project. The
// upload endpoint applies its own rate limit first, then calls this. A
// refusal is a *pypierr.Error with PyPI's status and message (ProjectService.check_project_name, warehouse/packaging/services.py).
func (s *Server) CreateProject(name, creator, organization string) (catalog.Project, error) {
	if s.Flags.Enabled(adminflag.DisallowNewProjectRegistration) {
		return catalog.Project{}, pypierr.New(http.StatusForbidden, MsgRegistrationDisabled(s.Tokens.Help))
	}
	if rej := pyname.CheckProjectName(name, s.nameRegistry()); rej != nil {
		return catalog.Project{}, rej
	}
	np := catalog.NewProject{Name: name, NormalizedName: normalize(name), Organization: organization}
	if organization == "" && creator != "" {
		np.Roles = []catalog.Role{{Role: "Owner", User: creator}}
	}
	p, err := s.Catalog.CreateProject(np)
	if errors.Is(err, catalog.ErrProjectExists) {
		// Lost a race with another creation: PyPI's unique index says the same.
		if rej := pyname.CheckProjectName(name, s.nameRegistry()); rej != nil {
			return catalog.Project{}, rej
		}
	}
	if err == nil {
		s.invalidatePending(name, creator)
	}
	return p, err
}

// invalidatePending is create_project's clean-up (warehouse/packaging/services.py): the
// pending publishers of other users whose project name ultranormalizes
// like the new project's are deleted.
func (s *Server) invalidatePending(name, creator string) {
	u := pyname.Ultranormalize(name)
	for _, p := range s.Publishers.List(true) {
		if p.AddedBy != creator && pyname.Ultranormalize(p.ProjectName) == u {
			s.Publishers.Remove(p.ID)
		}
	}
}

func (s *Server) nameRegistry() pyname.Registry {
	return pyname.Registry{
		Help:   s.Tokens.Help,
		Exists: func(n string) bool { _, ok := s.Catalog.Project(n); return ok },
		Prohibited: func(n string) bool {
			return s.projects.isProhibited(n)
		},
		TooSimilar: func(u string) bool {
			for _, p := range s.Catalog.Projects() {
				if pyname.Ultranormalize(p.NormalizedName) == u {
					return true
				}
			}
			return false
		},
	}
}

// createConfigured creates a project declared in the setup; configured
// projects skip the name rules (an admin can create anything).
func (d *projectDir) createConfigured(p indexconfig.Project) (catalog.Project, error) {
	id := uuid.Nil
	if p.ID != "" {
		var err error
		if id, err = uuid.Parse(p.ID); err != nil {
			return catalog.Project{}, fmt.Errorf("id %q: %v", p.ID, err)
		}
	}
	return d.createConfiguredID(p, id)
}

// createConfiguredID is createConfigured with the project's id (uuid.Nil:
// a new one).
func (d *projectDir) createConfiguredID(p indexconfig.Project, id uuid.UUID) (catalog.Project, error) {
	np := catalog.NewProject{ID: id, Name: p.Name, NormalizedName: normalize(p.Name), Organization: p.Organization,
		UploadLimit: p.UploadLimit, TotalSizeLimit: p.TotalSizeLimit, Status: p.Status}
	for _, o := range p.Owners {
		np.Roles = append(np.Roles, catalog.Role{Role: "Owner", User: o})
	}
	for _, m := range p.Maintainers {
		np.Roles = append(np.Roles, catalog.Role{Role: "Maintainer", User: m})
	}
	return d.s.Catalog.CreateProject(np)
}

// SetProjectStatus moves a project to a PEP 792 status the way PyPI's
// own actions do (warehouse/utils/project.py): archive_project only from
// active (or after a quarantine), unarchive_project only from archived;
// quarantine_project from anything, journaled, and it freezes the
// project's users; clear_project_quarantine, journaled, leaves them
// frozen.
func (s *Server) SetProjectStatus(name, status string) (catalog.Project, error) {
	norm := normalize(name)
	p, ok := s.Catalog.Project(norm)
	if !ok {
		return catalog.Project{}, fmt.Errorf("no such project %q: %w", name, catalog.ErrProjectNotFound)
	}
	from, to := p.StatusOrActive(), status
	switch {
	case from == to:
		return p, nil
	case to == catalog.StatusArchived && from == catalog.StatusQuarantined:
		// archive_project: "Cannot archive project with status
		// quarantine-enter".
		return p, fmt.Errorf("PyPI cannot archive a quarantined project (archive_project refuses it): clear the quarantine first")
	case from == catalog.StatusArchived && to == catalog.StatusActive, from == catalog.StatusActive && to == catalog.StatusArchived:
		err := s.Catalog.SetStatus(norm, to)
		p, _ = s.Catalog.Project(norm)
		return p, err
	case to == catalog.StatusQuarantined:
		for _, r := range p.Roles {
			s.users.freeze(r.User)
		}
		err := s.Catalog.SetStatusJournaled(norm, to) // "project quarantined"
		p, _ = s.Catalog.Project(norm)
		return p, err
	case from == catalog.StatusQuarantined && to == catalog.StatusActive:
		err := s.Catalog.SetStatusJournaled(norm, to) // "project quarantine cleared"
		p, _ = s.Catalog.Project(norm)
		return p, err
	}
	return p, fmt.Errorf("PyPI has no action that takes a project from %s to %s", from, to)
}

// AuthProject converts a catalog project for apitoken.Service.Authorize.
func AuthProject(p catalog.Project) apitoken.Project {
	out := apitoken.Project{ID: p.ID.String(), Name: p.Name, NormalizedName: p.NormalizedName, Status: p.Status}
	for _, r := range p.Roles {
		out.Collaborators = append(out.Collaborators, r.User)
	}
	return out
}

// userDir is the account table (apitoken.Users).
type userDir struct {
	mu    sync.RWMutex
	users map[string]apitoken.User
}

func newUserDir() *userDir { return &userDir{users: map[string]apitoken.User{}} }

func (u *userDir) put(name string, verified, twoFA bool) apitoken.User {
	return u.putUser(apitoken.User{ID: apitoken.UserID(name), Name: name, EmailVerified: verified, TwoFactor: twoFA})
}

func (u *userDir) putUser(usr apitoken.User) apitoken.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.users[usr.Name] = usr
	return usr
}

// freeze disables an account, as quarantine_project does to the users of
// the project (warehouse/utils/project.py).
func (u *userDir) freeze(name string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if usr, ok := u.users[name]; ok {
		usr.Frozen = true
		u.users[name] = usr
	}
}

func (u *userDir) ensure(name string) {
	if _, ok := u.User(name); !ok {
		u.put(name, true, true)
	}
}

// User implements apitoken.Users.
func (u *userDir) User(name string) (apitoken.User, bool) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	usr, ok := u.users[name]
	return usr, ok
}

func (u *userDir) list() []apitoken.User {
	u.mu.RLock()
	defer u.mu.RUnlock()
	out := make([]apitoken.User, 0, len(u.users))
	for _, usr := range u.users {
		out = append(out, usr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
