package index

import (
	"fmt"

	"github.com/google/uuid"

	"github.com/fakepypi/fakepypi/internal/apitoken"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
)

// Literal tokens (apitoken.Literal): real tokens PyPI or TestPyPI issued,
// given verbatim in the configuration. The index whose domain is the
// token's location (pypi.org, test.pypi.org) takes it; the user it names
// gets the id of its RequestUser caveat, and the project it names is
// created (owned by that user) with the id of its ProjectID caveat, so the
// caveats hold as they do on PyPI.

// literalPlan is what the setup's literal tokens require of this index.
type literalPlan struct {
	tokens     []literalToken
	userIDs    map[string]string // user name → id
	projectIDs map[string]string // normalized project name → id
	// create are projects the tokens name that the setup does not
	// declare: normalized name → owner.
	create map[string]string
	// skipped are tokens for another index's domain.
	skipped []string
}

type literalToken struct {
	t   apitoken.UserToken
	lit *apitoken.Literal
}

// planLiterals reads the literal tokens of f for an index on domain.
func planLiterals(f indexconfig.File, domain string) (*literalPlan, error) {
	pl := &literalPlan{userIDs: map[string]string{}, projectIDs: map[string]string{}, create: map[string]string{}}
	for _, u := range f.Users {
		if u.ID != "" {
			pl.userIDs[u.Name] = u.ID
		}
	}
	declared := map[string]bool{}
	byID := map[string]string{}
	for _, p := range f.Projects {
		declared[normalize(p.Name)] = true
		if p.ID != "" {
			pl.projectIDs[normalize(p.Name)] = p.ID
			byID[p.ID] = normalize(p.Name)
		}
	}
	seen := map[uuid.UUID]string{}
	for _, t := range f.Tokens {
		if t.Value == "" {
			continue
		}
		lit, err := apitoken.ParseLiteral(t.Value)
		if err != nil {
			return nil, fmt.Errorf("token %q: %v", t.Name, err)
		}
		if lit.Location != domain {
			pl.skipped = append(pl.skipped, fmt.Sprintf("%s (issued by %s)", t.Name, lit.Location))
			continue
		}
		if other, ok := seen[lit.ID]; ok {
			return nil, fmt.Errorf("tokens %q and %q have the same identifier %s", other, t.Name, lit.ID)
		}
		seen[lit.ID] = t.Name
		if lit.UserID != "" {
			if have, ok := pl.userIDs[t.User]; ok && have != lit.UserID {
				return nil, fmt.Errorf("token %q names user id %s, but user %q has id %s (a token's RequestUser caveat must name its user)", t.Name, lit.UserID, t.User, have)
			}
			pl.userIDs[t.User] = lit.UserID
		}
		names, ids := lit.ProjectNames, lit.ProjectIDs
		if len(names) > 0 && len(ids) == len(names) {
			// PyPI writes both caveats from one selection of projects.
			for i, n := range names {
				n = normalize(n)
				if have, ok := pl.projectIDs[n]; ok && have != ids[i] {
					return nil, fmt.Errorf("token %q names project %q with id %s, but it has id %s", t.Name, n, ids[i], have)
				}
				if other, ok := byID[ids[i]]; ok && other != n {
					return nil, fmt.Errorf("token %q names project id %s for %q, which is %q's", t.Name, ids[i], n, other)
				}
				pl.projectIDs[n], byID[ids[i]] = ids[i], n
				if !declared[n] {
					pl.create[n] = t.User
				}
			}
		} else {
			for _, n := range names {
				if n = normalize(n); !declared[n] {
					pl.create[n] = t.User
				}
			}
			for _, id := range ids {
				if _, ok := byID[id]; !ok {
					return nil, fmt.Errorf("token %q is scoped to project id %s, which no project has: declare the project with id: %s", t.Name, id, id)
				}
			}
		}
		pl.tokens = append(pl.tokens, literalToken{t: t, lit: lit})
	}
	return pl, nil
}

// userID is the id a configured user gets.
func (pl *literalPlan) userID(name string) string {
	if id, ok := pl.userIDs[name]; ok {
		return id
	}
	return apitoken.UserID(name)
}

// projectID is the id a project gets (uuid.Nil: a new one).
func (pl *literalPlan) projectID(name string) (uuid.UUID, error) {
	s, ok := pl.projectIDs[normalize(name)]
	if !ok {
		return uuid.Nil, nil
	}
	return uuid.Parse(s)
}

// addLiteral stores one literal token, checking that the index's users
// and projects satisfy it.
func (s *Server) addLiteral(t apitoken.UserToken, lit *apitoken.Literal) error {
	u, ok := s.users.User(t.User)
	if !ok {
		return fmt.Errorf("token %q: user %q does not exist", t.Name, t.User)
	}
	if lit.UserID != "" && u.ID != lit.UserID {
		return fmt.Errorf("token %q names user id %s, but user %q has id %s: declare the user with id: %s", t.Name, lit.UserID, t.User, u.ID, lit.UserID)
	}
	s.Tokens.Revoke(t.Name)
	s.Tokens.AddLiteral(t.Name, t.User, lit)
	return nil
}
