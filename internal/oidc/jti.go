package oidc

import (
	"sync"
	"time"

	"github.com/fakepypi/fakepypi/internal/clock"
)

// JTIRetention is how long past `exp` a used jti is remembered: the 30 s
// leeway plus a 5 s margin (`SET ... NX EXAT exp+30+5`, warehouse/oidc/services.py).
const JTIRetention = Leeway + 5

// JTIStore remembers used JWT identifiers per service, keyed by the
// service's canonical issuer URL (so custom GitLab issuers share
// gitlab.com's namespace, as in PyPI).
type JTIStore struct {
	Clock clock.Clock

	mu   sync.Mutex
	used map[string]time.Time // key → instant it is forgotten
}

// NewJTIStore returns an empty store.
func NewJTIStore(c clock.Clock) *JTIStore {
	return &JTIStore{Clock: c, used: map[string]time.Time{}}
}

func jtiKey(service, jti string) string { return CanonicalIssuer(service) + "/" + jti }

// Exists reports whether jti is remembered (check_existing_jti).
func (s *JTIStore) Exists(service, jti string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveLocked(jtiKey(service, jti))
}

func (s *JTIStore) liveLocked(key string) bool {
	until, ok := s.used[key]
	if !ok {
		return false
	}
	if !s.Clock.Now().Before(until) {
		delete(s.used, key)
		return false
	}
	return true
}

// Store records jti until exp+35 s unless it is already recorded, in one
// atomic step like Redis SET NX. It reports whether it stored the jti.
func (s *JTIStore) Store(service, jti string, exp int64) bool {
	key := jtiKey(service, jti)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.liveLocked(key) {
		return false
	}
	s.used[key] = time.Unix(exp+JTIRetention, 0)
	return true
}

// Len returns how many identifiers are remembered now.
func (s *JTIStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k := range s.used {
		if s.liveLocked(k) {
			n++
		}
	}
	return n
}
