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
	sets      map[string]*jtiSet // by CanonicalIssuer(service)
	n         int                // identifiers held, live or not
	nextSweep int                // sweep when n reaches it
}

// jtiSet is one issuer's identifiers, each with the Unix second from
// which it is forgotten: a UUID in canonical form is kept as its 16 bytes
// (GitHub's jtis are UUIDs), anything else as the string.
type jtiSet struct {
	uuids map[[16]byte]int64
	other map[string]int64
}

// minSweep is the store size below which no sweep is made.
const minSweep = 1024

// NewJTIStore returns an empty store.
func NewJTIStore(c clock.Clock) *JTIStore {
	return &JTIStore{Clock: c, sets: map[string]*jtiSet{}, nextSweep: minSweep}
}

// lookup returns when jti is forgotten (ok false: not held); with del it
// also removes it.
func (s *JTIStore) lookup(service, jti string, del bool) (until int64, ok bool) {
	set := s.sets[CanonicalIssuer(service)]
	if set == nil {
		return 0, false
	}
	if u, err := uuid.Parse(jti); err == nil && u.String() == jti {
		until, ok = set.uuids[u]
		if ok && del {
			delete(set.uuids, u)
			s.n--
		}
		return until, ok
	}
	until, ok = set.other[jti]
	if ok && del {
		delete(set.other, jti)
		s.n--
	}
	return until, ok
}

// liveLocked reports whether jti is remembered at now, forgetting it if
// its time is past.
func (s *JTIStore) liveLocked(service, jti string, now int64) bool {
	until, ok := s.lookup(service, jti, false)
	if ok && now >= until {
		s.lookup(service, jti, true)
		return false
	}
	return ok
}

// Exists reports whether jti is remembered (check_existing_jti).
func (s *JTIStore) Exists(service, jti string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveLocked(service, jti, s.Clock.Now().Unix())
}

// Store records jti until exp+35 s unless it is already recorded, in one
// atomic step like Redis SET NX. It reports whether it stored the jti.
func (s *JTIStore) Store(service, jti string, exp int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Clock.Now().Unix()
	if s.liveLocked(service, jti, now) {
		return false
	}
	iss := CanonicalIssuer(service)
	set := s.sets[iss]
	if set == nil {
		set = &jtiSet{uuids: map[[16]byte]int64{}, other: map[string]int64{}}
		s.sets[iss] = set
	}
	if u, err := uuid.Parse(jti); err == nil && u.String() == jti {
		set.uuids[u] = exp + JTIRetention
	} else {
		set.other[jti] = exp + JTIRetention
	}
	s.n++
	if s.n >= s.nextSweep {
		// Amortized: a sweep of n entries happens at most once per n/2
		// stores, since the next one waits for twice the live count.
		s.sweep(now)
		s.nextSweep = max(minSweep, 2*s.n)
	}
	return true
}

// sweep forgets every identifier whose time is past.
func (s *JTIStore) sweep(now int64) {
	for _, set := range s.sets {
		for k, until := range set.uuids {
			if now >= until {
				delete(set.uuids, k)
				s.n--
			}
		}
		for k, until := range set.other {
			if now >= until {
				delete(set.other, k)
				s.n--
			}
		}
	}
}

// Len returns how many identifiers are remembered now.
func (s *JTIStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(s.Clock.Now().Unix())
	return s.n
}
