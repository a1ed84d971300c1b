package fakepypi

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/testcontainers/testcontainers-go"
)

// options is what the module-private Options configure; the rest goes
// through testcontainers' own ContainerCustomizers.
type options struct {
	config     []byte // index configuration YAML; nil: the image's demo configuration
	audience   string
	publishers []Publisher
	sets       []string // issuer run-context fields, path=value
}

// Option is a module-specific option. It is a
// testcontainers.ContainerCustomizer with a no-op Customize, so it can be
// passed to Run in the same list as testcontainers' options.
type Option func(*options) error

var _ testcontainers.ContainerCustomizer = (Option)(nil)

// Customize does nothing: Run applies Options to its settings itself.
func (o Option) Customize(*testcontainers.GenericContainerRequest) error { return nil }

// WithConfig loads the index configuration (users, projects, publishers,
// tokens, audience, flags; docs/fakeindex.md) from a YAML file instead of
// the demo configuration.
func WithConfig(path string) Option {
	return func(o *options) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("fakepypi: WithConfig: %w", err)
		}
		o.config = b
		return nil
	}
}

// WithConfigReader is WithConfig with the YAML read from r.
func WithConfigReader(r io.Reader) Option {
	return func(o *options) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("fakepypi: WithConfigReader: %w", err)
		}
		o.config = b
		return nil
	}
}

// WithAudience sets the aud the index requires in OIDC tokens (PyPI:
// "pypi", TestPyPI: "testpypi"). Set after start through PUT
// /_fake/audience, so it overrides the configuration's audience.
func WithAudience(aud string) Option {
	return func(o *options) error {
		if aud == "" {
			return errors.New("fakepypi: WithAudience: empty audience")
		}
		o.audience = aud
		return nil
	}
}

// WithPublisher registers a trusted publisher on the PyPI index once it is
// up, creating its projects if they do not exist yet. Repeatable.
func WithPublisher(p Publisher) Option {
	return func(o *options) error {
		if p.Service == "" {
			return errors.New("fakepypi: WithPublisher: Service is required (github, gitlab, google or activestate)")
		}
		if len(p.Projects) == 0 {
			return errors.New("fakepypi: WithPublisher: no Projects")
		}
		o.publishers = append(o.publishers, p)
		return nil
	}
}

// WithRunContext sets one field of the fake issuer's run context, so the
// tokens it mints carry other claims: path=value as for `fakeindex up
// --set`, e.g. WithRunContext("github.environment", "pypi") or
// WithRunContext("github.repository", "me/mypkg"). Repeatable.
func WithRunContext(path, value string) Option {
	return func(o *options) error {
		if path == "" || strings.Contains(path, "=") {
			return fmt.Errorf("fakepypi: WithRunContext: bad path %q", path)
		}
		o.sets = append(o.sets, path+"="+value)
		return nil
	}
}

// Publisher is a trusted publisher as the index's configuration and
// POST /_fake/publishers take it (docs/fakeindex.md). Set the fields of
// Service; empty fields are left out.
type Publisher struct {
	// Service is github, gitlab, google or activestate.
	Service string `json:"service"`
	// GitHub: repository owner and name, workflow file name.
	Owner            string `json:"owner,omitempty"`
	OwnerID          string `json:"owner_id,omitempty"`
	Repository       string `json:"repository,omitempty"`
	WorkflowFilename string `json:"workflow_filename,omitempty"`
	// GitLab: namespace, project, workflow file path, issuer URL.
	Namespace        string `json:"namespace,omitempty"`
	Project          string `json:"project,omitempty"`
	WorkflowFilepath string `json:"workflow_filepath,omitempty"`
	IssuerURL        string `json:"issuer_url,omitempty"`
	// GitHub and GitLab deployment environment; "" accepts any.
	Environment string `json:"environment,omitempty"`
	// Google: service account email and optional sub.
	Email string `json:"email,omitempty"`
	Sub   string `json:"sub,omitempty"`
	// ActiveState: organization, actor (Project above).
	Organization string `json:"organization,omitempty"`
	Actor        string `json:"actor,omitempty"`
	// Projects the publisher may upload to; created if missing.
	Projects []string `json:"projects"`
}

// GitHubPublisher is the publisher matching a GitHub workflow:
// repository "owner/name" and the workflow's file name (release.yml).
func GitHubPublisher(repository, workflowFilename string, projects ...string) Publisher {
	owner, name, _ := strings.Cut(repository, "/")
	return Publisher{Service: "github", Owner: owner, Repository: name, WorkflowFilename: workflowFilename, Projects: projects}
}
