package oidc

import (
	"sync"

	"github.com/google/uuid"

	"github.com/fakepypi/fakepypi/internal/clock"
)

// JTIRetention is how long past `exp` a used jti is remembered: the 30 s
// leeway plus a 5 s margin (`SET ... NX EXAT exp+30+5`, warehouse/oidc/services.py).
const JTIRetention = Leeway + 5

// JTIStore remembers used JWT identifiers per service, keyed by the
// service's canonical issuer URL (so custom GitLab issuers share
// gitlab.com's namespace, as in PyPI).
//
// Like Redis keys set with EXAT, remembered identifiers go away once
// their time is past: every so often a Store sweeps the forgotten ones
// out, so memory follows the identifiers still remembered, not every
// mint since start. A GitHub jti (a UUID) takes 16 bytes.
type JTIStore struct {
	Clock clock.Clock

	mu        sync.Mutex
	used      map[jtiKey]int64 // → Unix second from which it is forgotten
	nextSweep int              // sweep when len(used) reaches it
}

// jtiKey is one remembered identifier: a UUID in canonical form is kept
// as its 16 bytes, anything else as the string.
type jtiKey struct {
	issuer string // CanonicalIssuer(service): one of a few constants
	uuid   [16]byte
	other  string
}

// minSweep is the store size below which no sweep is made.
const minSweep = 1024

// NewJTIStore returns an empty store.
func NewJTIStore(c clock.Clock) *JTIStore {
	return &JTIStore{Clock: c, used: map[jtiKey]int64{}, nextSweep: minSweep}
}

func makeJTIKey(service, jti string) jtiKey {
	k := jtiKey{issuer: CanonicalIssuer(service)}
	if u, err := uuid.Parse(jti); err == nil && u.String() == jti {
		k.uuid = u
	} else {
		k.other = jti
	}
	return k
}

// Exists reports whether jti is remembered (check_existing_jti).
func (s *JTIStore) Exists(service, jti string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveLocked(makeJTIKey(service, jti), s.Clock.Now().Unix())
}

func (s *JTIStore) liveLocked(key jtiKey, now int64) bool {
	until, ok := s.used[key]
	if !ok {
		return false
	}
	if now >= until {
		delete(s.used, key)
		return false
	}
	return true
}

// Store records jti until exp+35 s unless it is already recorded, in one
// atomic step like Redis SET NX. It reports whether it stored the jti.
func (s *JTIStore) Store(service, jti string, exp int64) bool {
	key := makeJTIKey(service, jti)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Clock.Now().Unix()
	if s.liveLocked(key, now) {
		return false
	}
	s.used[key] = exp + JTIRetention
	if len(s.used) >= s.nextSweep {
		// Amortized: a sweep of n entries happens at most once per n/2
		// stores, since the next one waits for twice the live count.
		for k, until := range s.used {
			if now >= until {
				delete(s.used, k)
			}
		}
		s.nextSweep = max(minSweep, 2*len(s.used))
	}
	return true
}

// Len returns how many identifiers are remembered now.
func (s *JTIStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Clock.Now().Unix()
	n := 0
	for k := range s.used {
		if s.liveLocked(k, now) {
			n++
		}
	}
	return n
}
