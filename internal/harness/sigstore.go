package harness

import (
	"fmt"
	"net"
	"net/http"

	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/oidc"
	"github.com/fakepypi/fakepypi/internal/sigstore"
)

// Sigstore's production hosts, answered by the fake Sigstore through the
// proxy (gh-action-pypi-publish signs against them).
var sigstoreHosts = []string{"fulcio.sigstore.dev", "rekor.sigstore.dev"}

// startSigstore creates the fake Sigstore (internal/sigstore) on its own
// loopback listener. Its Fulcio checks identity tokens against the same
// issuers the index trusts (audience "sigstore"), fetching keys as the
// index does; both indexes verify attestations against its trusted root.
func (h *Harness) startSigstore(opts Options, issuers []oidc.Issuer, client *http.Client, clk clock.Clock) (net.Listener, error) {
	reg := oidc.NewRegistry()
	for _, is := range issuers {
		if err := reg.Set(is); err != nil {
			return nil, err
		}
	}
	v := &oidc.Verifier{Clock: clk, Keys: oidc.NewKeyCache(clk, client)}
	verify := func(raw string) (map[string]any, error) {
		u, err := oidc.Peek(raw)
		if err != nil {
			return nil, err
		}
		iss, _ := u.Claims["iss"].(string)
		is, ok := reg.Lookup(iss)
		if !ok {
			return nil, fmt.Errorf("issuer %q is not configured", iss)
		}
		return v.Verify(raw, is, sigstore.Audience)
	}
	s, err := sigstore.New(sigstore.Config{Clock: clk, VerifyToken: verify, Faults: opts.SigstoreFaults, Control: opts.Control})
	if err != nil {
		return nil, err
	}
	addr := opts.SigstoreAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := h.listen(addr, opts.Scheme, h.ca.TLSConfig())
	if err != nil {
		return nil, err
	}
	h.sig, h.sigHandler = s, s.Handler()
	h.sigstoreURL = baseURL(opts.Scheme, ln)
	h.serve(ln, h.sigHandler)
	return ln, nil
}

// Sigstore returns the fake Sigstore.
func (h *Harness) Sigstore() *sigstore.Sigstore { return h.sig }

// SigstoreURL is the fake Sigstore's direct listener (Fulcio's and
// Rekor's paths, and /_fake/sigstore/trusted_root.json).
func (h *Harness) SigstoreURL() string { return h.sigstoreURL }
