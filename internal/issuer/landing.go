package issuer

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/fakepypi/fakepypi/internal/pages"
)

// maxLandingTokens bounds the tokens the landing page lists.
const maxLandingTokens = 50

// landing serves GET / on the direct listener: what this issuer is, its
// issuers, faults in force and the tokens it minted. Under its public
// name (token.actions.githubusercontent.com behind the harness's proxy)
// / stays GitHub's 404: the page is the harness's, not GitHub's.
func (s *Server) landing(w http.ResponseWriter, r *http.Request) {
	if s.public(r) {
		writeMessage(w, http.StatusNotFound, "no route for "+r.URL.Path)
		return
	}
	base := s.requestBase(r)
	v := pages.IssuerLanding{Base: base, TokenURL: base + githubTokenPath + "?api-version=2.0"}
	infos := s.issuers(base)
	for _, k := range Kinds {
		i := infos[k]
		v.Issuers = append(v.Issuers, pages.IssuerRow{Kind: kindTitle(k), Issuer: i.Issuer, Discovery: i.DiscoveryURL, JWKS: i.JWKSURL})
	}
	s.mu.Lock()
	for _, f := range s.sticky {
		v.Faults = append(v.Faults, f.String())
	}
	v.Queued = len(s.queue)
	s.mu.Unlock()
	issued := s.Issued()
	for i := len(issued) - 1; i >= 0 && len(v.Tokens) < maxLandingTokens; i-- {
		t := issued[i]
		sub, _ := t.Claims["sub"].(string)
		v.Tokens = append(v.Tokens, pages.IssuedRow{Kind: kindTitle(t.Kind), Audience: t.Audience, Faults: t.Faults, IssuedAt: t.IssuedAt, Subject: sub})
	}
	pages.RenderIssuerLanding(w, v)
}

// public reports a request addressed to the issuer's public host name
// (token.actions.githubusercontent.com behind the harness's proxy), as
// opposed to a loopback address or localhost.
func (s *Server) public(r *http.Request) bool {
	u, err := url.Parse(s.cfg.PublicURL)
	if s.cfg.PublicURL == "" || err != nil {
		return false
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(host) != nil || strings.EqualFold(host, "localhost") {
		return false
	}
	return strings.EqualFold(host, u.Hostname())
}

// FaultsInForce describes the issuer's faults for the index's dashboard:
// the sticky ones, then each queued one-shot set.
func (s *Server) FaultsInForce() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if len(s.sticky) > 0 {
		names := make([]string, len(s.sticky))
		for i, f := range s.sticky {
			names[i] = f.String()
		}
		out = append(out, "CI issuer: every token "+strings.Join(names, ", "))
	}
	for i, q := range s.queue {
		names := make([]string, len(q))
		for j, f := range q {
			names[j] = f.String()
		}
		out = append(out, fmt.Sprintf("CI issuer: token %d from now %s", i+1, strings.Join(names, ", ")))
	}
	return out
}
