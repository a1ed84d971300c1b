package pypitest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/fakepypi/fakepypi/internal/oidc"
	"github.com/fakepypi/fakepypi/internal/sigstore"
)

// WithSigstoreFaults makes the fake Sigstore misbehave from the start
// (sigstore.Faults: "other-identity", "expired-certificate",
// "missing-entry", "bad-inclusion-proof", "bad-signature").
func WithSigstoreFaults(names ...string) Option {
	return func(o *options) error {
		for _, n := range names {
			if !sigstore.ValidFault(n) {
				return fmt.Errorf("unknown sigstore fault %q (want one of %s)", n, strings.Join(sigstore.Faults, ", "))
			}
		}
		o.sigFaults = append(o.sigFaults, names...)
		return nil
	}
}

// SetSigstoreFaults replaces the fake Sigstore's faults (none clears).
func (h *Harness) SetSigstoreFaults(names ...string) error { return h.h.Sigstore().SetFaults(names...) }

// SigstoreURL is the fake Sigstore's base URL (Fulcio's and Rekor's paths;
// GET /_fake/sigstore/trusted_root.json).
func (h *Harness) SigstoreURL() string { return h.h.SigstoreURL() }

// TrustedRoot is the fake Sigstore's trusted_root.json, the root the
// index verifies attestations against.
func (h *Harness) TrustedRoot() []byte { return h.h.Sigstore().TrustedRootJSON() }

// Attest makes the PEP 740 publish attestation of a distribution as
// gh-action-pypi-publish does, for a job of CI kind ("github" when
// empty): an identity token with audience "sigstore", a certificate from
// the fake Fulcio, the statement logged in the fake Rekor. The result is
// the content of <filename>.publish.attestation.
func (h *Harness) Attest(kind, filename string, content []byte) ([]byte, error) {
	if kind == "" {
		kind = "github"
	}
	tok, err := h.OIDCToken(kind, sigstore.Audience)
	if err != nil {
		return nil, err
	}
	a, err := sigstore.NewAttester(sigstore.Local{S: h.h.Sigstore()}, tok)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(content)
	att, err := a.Attest(filename, hex.EncodeToString(sum[:]))
	if err != nil {
		return nil, err
	}
	return json.Marshal(att)
}

// AttestationsField is the "attestations" form field twine >= 6.1 sends
// for a distribution (json.dumps of the list of attestation objects).
func AttestationsField(attestations ...[]byte) string {
	raws := make([]string, len(attestations))
	for i, a := range attestations {
		raws[i] = string(a)
	}
	return "[" + strings.Join(raws, ", ") + "]"
}

// SplitInputs is twine 6.1's _split_inputs for attestations
// (twine/commands/__init__.py): arguments matching "*.*.attestation" are
// attestations, each belonging to the distributions whose basename it
// starts with; the rest are distributions.
func SplitInputs(inputs []string) (dists []string, attestations map[string][]string) {
	var atts []string
	for _, in := range inputs {
		if ok, _ := filepath.Match("*.*.attestation", filepath.Base(in)); ok {
			atts = append(atts, in)
		} else {
			dists = append(dists, in)
		}
	}
	attestations = map[string][]string{}
	for _, d := range dists {
		for _, a := range atts {
			if strings.HasPrefix(filepath.Base(a), filepath.Base(d)) {
				attestations[d] = append(attestations[d], a)
			}
		}
	}
	return dists, attestations
}

// ForgeAttestation makes an attestation that is right in every way but
// one: it comes from another Sigstore instance, which the index does not
// trust, for the same identity (a job of CI kind). PyPI refuses it at the
// certificate chain.
func (h *Harness) ForgeAttestation(kind, filename string, content []byte) ([]byte, error) {
	if kind == "" {
		kind = "github"
	}
	tok, err := h.OIDCToken(kind, sigstore.Audience)
	if err != nil {
		return nil, err
	}
	u, err := oidc.Peek(tok)
	if err != nil {
		return nil, err
	}
	other, err := sigstore.New(sigstore.Config{Clock: h.h.Index().Clock(),
		VerifyToken: func(string) (map[string]any, error) { return u.Claims, nil }})
	if err != nil {
		return nil, err
	}
	a, err := sigstore.NewAttester(sigstore.Local{S: other}, tok)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(content)
	att, err := a.Attest(filename, hex.EncodeToString(sum[:]))
	if err != nil {
		return nil, err
	}
	return json.Marshal(att)
}
