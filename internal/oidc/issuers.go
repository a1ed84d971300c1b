// Package oidc verifies CI identity tokens the way PyPI does before it
// looks for a trusted publisher (warehouse/oidc/services.py).
//
// PyPI peeks at the unverified `iss`, maps it to one of four services,
// fetches that issuer's keys by OIDC discovery, and then checks the JWT with
// PyJWT: RS256 only, a `kid` that names a key, a single-string `aud`, and
// 30 s of leeway on exp/iat/nbf. Every failure collapses to one client
// message, so Verify returns an error carrying the harness's own reason for
// the event log.
//
// The harness differs from PyPI in one deliberate way: each issuer's
// discovery URL is configurable, so a token whose `iss` is the real
// "https://token.actions.githubusercontent.com" is checked against keys
// served by fakeissuer (or any other local issuer).
package oidc

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Services, named as PyPI names its OIDCPublisherService instances; the
// name appears in the not-enabled message.
const (
	GitHub      = "github"
	GitLab      = "gitlab"
	Google      = "google"
	ActiveState = "activestate"
)

// Canonical issuer strings, matched exactly (warehouse/oidc/utils.py).
const (
	GitHubIssuer      = "https://token.actions.githubusercontent.com"
	GitLabIssuer      = "https://gitlab.com"
	GoogleIssuer      = "https://accounts.google.com"
	ActiveStateIssuer = "https://platform.activestate.com/api/v1/oauth/oidc"
)

// Services lists the four services in PyPI's order.
var Services = []string{GitHub, GitLab, Google, ActiveState}

// CanonicalIssuer returns the canonical `iss` of a service ("" if unknown).
func CanonicalIssuer(service string) string {
	switch service {
	case GitHub:
		return GitHubIssuer
	case GitLab:
		return GitLabIssuer
	case Google:
		return GoogleIssuer
	case ActiveState:
		return ActiveStateIssuer
	}
	return ""
}

// ValidService reports whether s names one of the four services.
func ValidService(s string) bool { return CanonicalIssuer(s) != "" }

// Issuer is one `iss` string PyPI accepts.
type Issuer struct {
	// URL is the exact `iss` value tokens carry.
	URL string `json:"url" yaml:"url"`
	// Service is github, gitlab, google or activestate.
	Service string `json:"service" yaml:"service"`
	// Discovery is where the harness fetches
	// /.well-known/openid-configuration from (a base URL, or the full
	// document URL); empty means URL itself, as PyPI does.
	Discovery string `json:"discovery,omitempty" yaml:"discovery,omitempty"`
	// Custom marks an organization-registered issuer
	// (OrganizationOIDCIssuer): it is accepted at the issuer lookup, sees
	// only the global disallow-oidc flag, and matches only GitLab
	// publishers (warehouse oidc/services.py custom-issuer guard).
	Custom bool `json:"custom,omitempty" yaml:"custom,omitempty"`
}

// DiscoveryBase returns the URL discovery starts from.
func (i Issuer) DiscoveryBase() string {
	if i.Discovery != "" {
		return strings.TrimRight(strings.TrimSuffix(i.Discovery, "/.well-known/openid-configuration"), "/")
	}
	return i.URL
}

// Registry maps `iss` strings to issuers. The four canonical issuers are
// always present; Set may change their discovery URL and add custom ones.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Issuer
}

// NewRegistry returns a registry with the canonical issuers, discovered
// at their real URLs until configured otherwise.
func NewRegistry() *Registry {
	r := &Registry{m: map[string]Issuer{}}
	for _, s := range Services {
		r.m[CanonicalIssuer(s)] = Issuer{URL: CanonicalIssuer(s), Service: s}
	}
	return r
}

// Set adds or replaces an issuer after checking it.
func (r *Registry) Set(i Issuer) error {
	if i.URL == "" {
		return fmt.Errorf("issuer url is empty")
	}
	if !ValidService(i.Service) {
		return fmt.Errorf("issuer %q: unknown service %q (want github, gitlab, google or activestate)", i.URL, i.Service)
	}
	if canon, ok := serviceOfCanonical(i.URL); ok {
		if canon != i.Service {
			return fmt.Errorf("issuer %q is %s's canonical issuer, not %s", i.URL, canon, i.Service)
		}
		i.Custom = false
	} else {
		// Only organization-registered issuers can be non-canonical.
		i.Custom = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[i.URL] = i
	return nil
}

// Remove forgets a custom issuer, or resets a canonical one's discovery.
func (r *Registry) Remove(url string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.m[url]
	if !ok {
		return false
	}
	if i.Custom {
		delete(r.m, url)
	} else {
		r.m[url] = Issuer{URL: url, Service: i.Service}
	}
	return true
}

// Lookup maps an unverified `iss` to its issuer, by exact string.
func (r *Registry) Lookup(iss string) (Issuer, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	i, ok := r.m[iss]
	return i, ok
}

// List returns every issuer, canonical ones first.
func (r *Registry) List() []Issuer {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Issuer, 0, len(r.m))
	for _, i := range r.m {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Custom != out[b].Custom {
			return !out[a].Custom
		}
		return out[a].URL < out[b].URL
	})
	return out
}

func serviceOfCanonical(url string) (string, bool) {
	for _, s := range Services {
		if CanonicalIssuer(s) == url {
			return s, true
		}
	}
	return "", false
}
