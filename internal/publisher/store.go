package publisher

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/fakepypi/fakepypi/internal/oidc"
)

// Store holds publishers and pending publishers. It is safe for
// concurrent use; callers that need several steps to be atomic (reifying
// a pending publisher) hold Lock themselves.
type Store struct {
	mu   sync.RWMutex
	pubs []Publisher // registration order: lookups see the oldest first
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{} }

// Add normalizes and stores p, refusing a duplicate of PyPI's unique key.
func (s *Store) Add(p Publisher) (Publisher, error) {
	if err := p.Normalize(); err != nil {
		return Publisher{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.pubs {
		if q.ID == p.ID {
			return Publisher{}, fmt.Errorf("publisher id %s already exists", p.ID)
		}
		if q.Pending == p.Pending && SameIdentity(p, q) && (!p.Pending || q.ProjectName == p.ProjectName) {
			return Publisher{}, fmt.Errorf("an identical publisher already exists: %s", q)
		}
	}
	s.pubs = append(s.pubs, p)
	return p, nil
}

// ExpirePending deletes the pending publishers whose PendingExpiry is at
// or before now (the daily job would have run) and returns them. Pending
// publishers without a Created time never expire.
func (s *Store) ExpirePending(now time.Time) []Publisher {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []Publisher
	s.pubs = slices.DeleteFunc(s.pubs, func(p Publisher) bool {
		if p.Pending && !p.Created.IsZero() && !now.Before(PendingExpiry(p.Created)) {
			gone = append(gone, p)
			return true
		}
		return false
	})
	return gone
}

// Remove deletes the publisher with id.
func (s *Store) Remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.pubs)
	s.pubs = slices.DeleteFunc(s.pubs, func(p Publisher) bool { return p.ID == id })
	return len(s.pubs) != n
}

// Get returns the publisher with id.
func (s *Store) Get(id string) (Publisher, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, p := range s.pubs {
		if p.ID == id {
			return p, true
		}
	}
	return Publisher{}, false
}

// List returns normal (pending=false) or pending publishers.
func (s *Store) List(pending bool) []Publisher {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []Publisher{}
	for _, p := range s.pubs {
		if p.Pending == pending {
			out = append(out, p)
		}
	}
	return out
}

func (s *Store) candidates(service string, pending bool) []Publisher {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Publisher
	for _, p := range s.pubs {
		if p.Service == service && p.Pending == pending {
			out = append(out, p)
		}
	}
	return out
}

// Find is OIDCPublisherService.find_publisher: the publisher of service
// (pending or normal) that the verified claims match, or an
// *InvalidPublisherError, ErrReusedToken or *InternalError.
func (s *Store) Find(service string, claims oidc.Claims, pending bool, used JTIChecker) (Publisher, error) {
	return find(service, claims, s.candidates(service, pending), used)
}

// Reify turns pending publisher id into a normal publisher attached to
// project, reusing an identical normal publisher if one exists
// (PendingGitHubPublisher.reify and friends), and deletes every pending
// publisher whose project normalizes to the same name (they are
// invalidated by the project's creation). It returns the normal publisher.
func (s *Store) Reify(id, project string, sameProject func(a, b string) bool) (Publisher, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.pubs, func(p Publisher) bool { return p.ID == id && p.Pending })
	if i < 0 {
		return Publisher{}, fmt.Errorf("no pending publisher %s", id)
	}
	pend := s.pubs[i]
	var out Publisher
	j := slices.IndexFunc(s.pubs, func(p Publisher) bool { return !p.Pending && SameIdentity(p, pend) })
	if j >= 0 {
		if !slices.Contains(s.pubs[j].Projects, project) {
			s.pubs[j].Projects = append(slices.Clone(s.pubs[j].Projects), project)
		}
		out = s.pubs[j]
	} else {
		out = pend
		out.Pending = false
		out.ProjectName, out.AddedBy, out.PyPIOrganization = "", "", ""
		out.Projects = []string{project}
		s.pubs = append(s.pubs, out)
	}
	s.pubs = slices.DeleteFunc(s.pubs, func(p Publisher) bool {
		return p.Pending && (p.ID == id || sameProject(p.ProjectName, pend.ProjectName))
	})
	return out, nil
}

// Attach adds project to a normal publisher.
func (s *Store) Attach(id, project string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range s.pubs {
		if p.ID == id && !p.Pending {
			if !slices.Contains(p.Projects, project) {
				s.pubs[i].Projects = append(slices.Clone(p.Projects), project)
			}
			return nil
		}
	}
	return fmt.Errorf("no publisher %s", id)
}

// Detach removes project from every normal publisher, as deleting a
// project deletes its publisher associations in PyPI (the publishers
// stay). same compares project names (PEP 503 normalization).
func (s *Store) Detach(project string, same func(a, b string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range s.pubs {
		if !p.Pending && slices.ContainsFunc(p.Projects, func(n string) bool { return same(n, project) }) {
			s.pubs[i].Projects = slices.DeleteFunc(slices.Clone(p.Projects), func(n string) bool { return same(n, project) })
		}
	}
}
