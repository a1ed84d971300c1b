package issuer

import (
	"fmt"
	"strings"
)

// Kind names a CI system (an issuer PyPI trusts, or one a client detects).
type Kind string

// The CI kinds fakeissuer emulates.
const (
	GitHub      Kind = "github"
	GitLab      Kind = "gitlab"
	Google      Kind = "google"
	ActiveState Kind = "activestate"
	Buildkite   Kind = "buildkite"
	CircleCI    Kind = "circleci"
)

// Kinds lists every kind, GitHub first.
var Kinds = []Kind{GitHub, GitLab, Google, ActiveState, Buildkite, CircleCI}

// Canonical issuer strings. The first four are the exact strings Warehouse
// matches (warehouse/oidc/utils.py); Buildkite's and CircleCI's are the issuers
// those services put in their tokens (PyPI has no publisher for them).
const (
	GitHubIssuer      = "https://token.actions.githubusercontent.com"
	GitLabIssuer      = "https://gitlab.com"
	GoogleIssuer      = "https://accounts.google.com"
	ActiveStateIssuer = "https://platform.activestate.com/api/v1/oauth/oidc"
	BuildkiteIssuer   = "https://agent.buildkite.com"
	CircleCIIssuer    = "https://oidc.circleci.com/org/" + defaultCircleOrgID
)

// SelfIssuer as an issuer value means "this server's own URL for that kind",
// so a verifier that discovers keys from `iss` finds them here.
const SelfIssuer = "self"

func defaultIssuer(k Kind) string {
	switch k {
	case GitHub:
		return GitHubIssuer
	case GitLab:
		return GitLabIssuer
	case Google:
		return GoogleIssuer
	case ActiveState:
		return ActiveStateIssuer
	case Buildkite:
		return BuildkiteIssuer
	case CircleCI:
		return CircleCIIssuer
	}
	return ""
}

// ParseKind accepts a kind name, case-insensitively.
func ParseKind(s string) (Kind, error) {
	k := Kind(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range Kinds {
		if k == known {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown CI kind %q (want one of github, gitlab, google, activestate, buildkite, circleci)", s)
}

// pathPrefix is where a kind's discovery document and JWKS live on this
// server. GitHub is also served at the root, like the real issuer.
func (k Kind) pathPrefix() string { return "/" + string(k) }
