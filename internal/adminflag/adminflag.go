// Package adminflag holds PyPI's admin flags, the switches PyPI's
// administrators flip to turn features off (warehouse admin/flags.py,
// AdminFlagValue). The names are PyPI's own.
package adminflag

import (
	"fmt"
	"sort"
	"sync"
)

// Flag names.
const (
	DisallowOIDC                   = "disallow-oidc"
	DisallowGitHubOIDC             = "disallow-github-oidc"
	DisallowGitLabOIDC             = "disallow-gitlab-oidc"
	DisallowGoogleOIDC             = "disallow-google-oidc"
	DisallowActiveStateOIDC        = "disallow-activestate-oidc"
	ReadOnly                       = "read-only"
	DisallowNewUpload              = "disallow-new-upload"
	DisallowNewProjectRegistration = "disallow-new-project-registration"
	DisablePEP740                  = "disable-pep740"
	DisableUploadScanning          = "disable-upload-scanning"
)

// Known lists every flag name.
var Known = []string{
	DisallowOIDC, DisallowGitHubOIDC, DisallowGitLabOIDC, DisallowGoogleOIDC, DisallowActiveStateOIDC,
	ReadOnly, DisallowNewUpload, DisallowNewProjectRegistration, DisablePEP740, DisableUploadScanning,
}

// ForService returns the per-issuer OIDC flag of a trusted-publishing
// service ("github" → disallow-github-oidc).
func ForService(service string) string { return "disallow-" + service + "-oidc" }

// Set is the current state of every flag; all are off initially. It is
// safe for concurrent use.
type Set struct {
	mu sync.RWMutex
	on map[string]bool
}

// New returns a Set with every flag off.
func New() *Set { return &Set{on: map[string]bool{}} }

// Valid reports whether name is a known flag.
func Valid(name string) bool {
	for _, k := range Known {
		if k == name {
			return true
		}
	}
	return false
}

// Enabled reports whether a flag is on.
func (s *Set) Enabled(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.on[name]
}

// Set turns a flag on or off.
func (s *Set) Set(name string, on bool) error {
	if !Valid(name) {
		return fmt.Errorf("unknown admin flag %q", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.on[name] = on
	return nil
}

// All returns every flag with its state.
func (s *Set) All() map[string]bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]bool{}
	for _, k := range Known {
		out[k] = s.on[k]
	}
	return out
}

// EnabledNames lists the names of the flags that are on, sorted.
func (s *Set) EnabledNames() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for k, v := range s.on {
		if v {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
