// Package publisher holds trusted publishers and matches OIDC claims to
// them exactly as PyPI does (warehouse/oidc/models/_core.py and the per-service models in warehouse/oidc/models/), reason texts
// included. It also explains a miss, which PyPI does not: Diagnose names
// the configured publisher that came closest and the fields that differ.
package publisher

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fakepypi/fakepypi/internal/oidc"
)

// Publisher is a trusted publisher, or a pending one, in PyPI's own
// vocabulary. Which fields apply depends on Service.
type Publisher struct {
	ID      string `json:"id" yaml:"id,omitempty"`
	Service string `json:"service" yaml:"service"`

	// GitHub: repository_owner, repository_owner_id, repository_name,
	// workflow_filename, environment. PyPI resolves owner_id through the
	// GitHub API at registration; offline it is optional and empty matches
	// any id (a harness convenience, documented).
	Owner            string `json:"owner,omitempty" yaml:"owner,omitempty"`
	OwnerID          string `json:"owner_id,omitempty" yaml:"owner_id,omitempty"`
	Repository       string `json:"repository,omitempty" yaml:"repository,omitempty"`
	WorkflowFilename string `json:"workflow_filename,omitempty" yaml:"workflow_filename,omitempty"`

	// GitLab: namespace, project, workflow_filepath, environment,
	// issuer_url (https://gitlab.com unless a custom instance).
	Namespace        string `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	Project          string `json:"project,omitempty" yaml:"project,omitempty"` // GitLab project; ActiveState project
	WorkflowFilepath string `json:"workflow_filepath,omitempty" yaml:"workflow_filepath,omitempty"`
	IssuerURL        string `json:"issuer_url,omitempty" yaml:"issuer_url,omitempty"`

	// GitHub and GitLab; "" means any environment.
	Environment string `json:"environment,omitempty" yaml:"environment,omitempty"`

	// Google: email, sub ("" means any subject).
	Email string `json:"email,omitempty" yaml:"email,omitempty"`
	Sub   string `json:"sub,omitempty" yaml:"sub,omitempty"`

	// ActiveState: organization, project (above), actor, actor_id. PyPI
	// resolves actor_id from actor; offline, empty actor_id matches any.
	Organization string `json:"organization,omitempty" yaml:"organization,omitempty"`
	Actor        string `json:"actor,omitempty" yaml:"actor,omitempty"`
	ActorID      string `json:"actor_id,omitempty" yaml:"actor_id,omitempty"`

	// Projects a normal publisher is attached to, by name.
	Projects []string `json:"projects,omitempty" yaml:"projects,omitempty"`

	// Pending publishers: the project to create at mint time, the user
	// who registered it, and optionally the PyPI organization that will
	// own the project (then no owner role is given).
	Pending          bool   `json:"pending,omitempty" yaml:"-"`
	ProjectName      string `json:"project_name,omitempty" yaml:"project_name,omitempty"`
	AddedBy          string `json:"added_by,omitempty" yaml:"added_by,omitempty"`
	PyPIOrganization string `json:"pypi_organization,omitempty" yaml:"pypi_organization,omitempty"`
	// Created is when a pending publisher was registered (the index's
	// clock when added, unless given); it expires 30 days later (see
	// PendingExpiry).
	Created time.Time `json:"created,omitzero" yaml:"created,omitempty"`
}

// PendingExpiryDays is how long a pending publisher lives
// (warehouse/oidc/tasks.py PENDING_PUBLISHER_EXPIRY_DAYS).
const PendingExpiryDays = 30

// PendingExpiry is when a pending publisher registered at created is
// deleted: Warehouse's delete_expired_pending_publishers runs daily at
// 02:00 UTC (crontab(minute=0, hour=2), warehouse/oidc/__init__.py) and
// deletes those created before its run's time less 30 days, so the first
// 02:00 UTC strictly after created + 30 days.
func PendingExpiry(created time.Time) time.Time {
	cut := created.UTC().Add(PendingExpiryDays * 24 * time.Hour)
	run := time.Date(cut.Year(), cut.Month(), cut.Day(), 2, 0, 0, 0, time.UTC)
	if !run.After(cut) {
		run = run.Add(24 * time.Hour)
	}
	return run
}

// Name is the publisher_name PyPI shows.
func (p Publisher) Name() string {
	switch p.Service {
	case oidc.GitHub:
		return "GitHub"
	case oidc.GitLab:
		return "GitLab"
	case oidc.Google:
		return "Google"
	case oidc.ActiveState:
		return "ActiveState"
	}
	return p.Service
}

// String is a short human description for logs and diagnoses.
func (p Publisher) String() string {
	var s string
	switch p.Service {
	case oidc.GitHub:
		s = fmt.Sprintf("GitHub %s/%s workflow %s", p.Owner, p.Repository, p.WorkflowFilename)
	case oidc.GitLab:
		s = fmt.Sprintf("GitLab %s/%s workflow %s", p.Namespace, p.Project, p.WorkflowFilepath)
		if p.IssuerURL != oidc.GitLabIssuer {
			s += " at " + p.IssuerURL
		}
	case oidc.Google:
		s = "Google " + p.Email
		if p.Sub != "" {
			s += " sub " + p.Sub
		}
	case oidc.ActiveState:
		s = fmt.Sprintf("ActiveState %s/%s actor %s", p.Organization, p.Project, p.Actor)
	}
	if p.Environment != "" {
		s += " environment " + p.Environment
	}
	if p.Pending {
		s = "pending " + s + " for project " + p.ProjectName
	}
	return s + " [" + p.ID + "]"
}

var projectNameRE = regexp.MustCompile(`(?i)^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`)

// Normalize checks a publisher as PyPI's registration forms would, and
// stores it as PyPI does (GitHub environment lowercased, GitLab issuer
// defaulted). It assigns an ID when none is given.
func (p *Publisher) Normalize() error {
	if p.ID == "" {
		p.ID = uuid.NewString()
	} else if _, err := uuid.Parse(p.ID); err != nil {
		return fmt.Errorf("id %q is not a UUID", p.ID)
	}
	req := func(field, v string) error {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("%s publisher needs %s", p.Name(), field)
		}
		return nil
	}
	var errs []error
	switch p.Service {
	case oidc.GitHub:
		errs = append(errs, req("owner", p.Owner), req("repository", p.Repository), req("workflow_filename", p.WorkflowFilename))
		if p.WorkflowFilename != "" {
			if strings.Contains(p.WorkflowFilename, "/") {
				errs = append(errs, fmt.Errorf("workflow_filename %q must be a filename only, without directories", p.WorkflowFilename))
			} else if !hasYAMLExt(p.WorkflowFilename) {
				errs = append(errs, fmt.Errorf("workflow_filename %q must end with .yml or .yaml", p.WorkflowFilename))
			}
		}
		// github.py: "stored lowercased" (the form lowercases it).
		p.Environment = strings.ToLower(p.Environment)
	case oidc.GitLab:
		errs = append(errs, req("namespace", p.Namespace), req("project", p.Project), req("workflow_filepath", p.WorkflowFilepath))
		if p.WorkflowFilepath != "" && !hasYAMLExt(p.WorkflowFilepath) {
			errs = append(errs, fmt.Errorf("workflow_filepath %q must end with .yml or .yaml", p.WorkflowFilepath))
		}
		if p.IssuerURL == "" {
			p.IssuerURL = oidc.GitLabIssuer
		}
	case oidc.Google:
		errs = append(errs, req("email", p.Email))
	case oidc.ActiveState:
		errs = append(errs, req("organization", p.Organization), req("project", p.Project), req("actor", p.Actor))
	default:
		return fmt.Errorf("unknown publisher service %q (want github, gitlab, google or activestate)", p.Service)
	}
	if p.Pending {
		if !projectNameRE.MatchString(p.ProjectName) {
			errs = append(errs, fmt.Errorf("pending publisher project_name %q is not a valid project name", p.ProjectName))
		}
		if len(p.Projects) > 0 {
			errs = append(errs, errors.New("a pending publisher is not attached to projects; it names project_name"))
		}
	}
	return errors.Join(errs...)
}

func hasYAMLExt(s string) bool { return strings.HasSuffix(s, ".yml") || strings.HasSuffix(s, ".yaml") }

// SameIdentity reports whether two publishers have the same unique key
// (what reification reuses instead of creating a duplicate).
func SameIdentity(a, b Publisher) bool {
	if a.Service != b.Service {
		return false
	}
	switch a.Service {
	case oidc.GitHub:
		return a.Repository == b.Repository && a.Owner == b.Owner && a.WorkflowFilename == b.WorkflowFilename && a.Environment == b.Environment
	case oidc.GitLab:
		return a.Namespace == b.Namespace && a.Project == b.Project && a.WorkflowFilepath == b.WorkflowFilepath && a.Environment == b.Environment && a.IssuerURL == b.IssuerURL
	case oidc.Google:
		return a.Email == b.Email && a.Sub == b.Sub
	case oidc.ActiveState:
		return a.Organization == b.Organization && a.Project == b.Project && a.ActorID == b.ActorID && a.Actor == b.Actor
	}
	return false
}
