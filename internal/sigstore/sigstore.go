// Package sigstore is a fake of Sigstore's public-good instance for
// offline PEP 740 attestations: a Fulcio-like CA that issues 10-minute
// code-signing certificates for CI identity tokens (with Fulcio's
// extensions for GitHub, GitLab and Google and an embedded SCT), a
// Rekor-like transparency log of dsse entries (signed entry timestamps,
// inclusion proofs, signed checkpoints), and the trusted root
// (trusted_root.json) a verifier is pointed at.
//
// It is a library value: Handler serves Fulcio's and Rekor's REST paths
// (routes.go) for real clients, and Sign makes an attestation in-process.
// Named faults make it misbehave the ways a verifier must catch:
//
//	other-identity       the certificate names another repository/account
//	expired-certificate  the certificate expired before the entry was logged
//	missing-entry        the log promises an entry it never appends
//	bad-inclusion-proof  the inclusion proof does not lead to its root
//	bad-signature        the certificate is for another key than the signature's
package sigstore

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fakepypi/fakepypi/internal/attestation"
	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/controlplane"
)

// Public URLs of the emulated services (the trusted root names them).
const (
	FulcioURL = "https://fulcio.sigstore.dev"
	RekorURL  = "https://rekor.sigstore.dev"
	// Audience is the audience of identity tokens Fulcio accepts
	// (fulcio config client-id; sigstore-python oidc.py DEFAULT_AUDIENCE).
	Audience = "sigstore"
)

// Fault names.
const (
	FaultOtherIdentity     = "other-identity"
	FaultExpiredCert       = "expired-certificate"
	FaultMissingEntry      = "missing-entry"
	FaultBadInclusionProof = "bad-inclusion-proof"
	FaultBadSignature      = "bad-signature"
)

// Faults lists every fault name.
var Faults = []string{FaultOtherIdentity, FaultExpiredCert, FaultMissingEntry, FaultBadInclusionProof, FaultBadSignature}

// FaultHelp is one line per fault, for docs and errors.
var FaultHelp = map[string]string{
	FaultOtherIdentity:     "the certificate names another identity (GitHub owner another-owner, GitLab group another-group, Google account another-account@...)",
	FaultExpiredCert:       "the certificate's 10 minutes ended before the log entry's integrated time",
	FaultMissingEntry:      "the log answers with a signed promise but never appends the entry (its proof cannot hold)",
	FaultBadInclusionProof: "the inclusion proof's root hash has one bit flipped",
	FaultBadSignature:      "the certificate is issued for a different key than the one that signs",
}

// VerifyToken checks an OIDC identity token for Fulcio (signature,
// expiry, audience "sigstore") and returns its claims.
type VerifyToken func(raw string) (map[string]any, error)

// Config configures a Sigstore.
type Config struct {
	// Clock is the time of certificates and log entries; nil: real time.
	Clock clock.Clock
	// VerifyToken checks identity tokens; required to issue certificates.
	VerifyToken VerifyToken
	// FulcioURL and RekorURL are the public base URLs written into the
	// trusted root; default Sigstore's production ones, which the
	// harness's proxy answers.
	FulcioURL, RekorURL string
	// Faults are active from the start.
	Faults []string
	// Control guards /_fake/sigstore/ as the index's control plane is
	// guarded (internal/controlplane); the trusted root stays open, as
	// public as Sigstore's TUF repository.
	Control controlplane.Policy
}

// Sigstore is the fake instance.
type Sigstore struct {
	cfg   Config
	clock clock.Clock
	ca    *ca
	log   *rekorLog

	mu     sync.Mutex
	faults map[string]bool
}

// New creates a fresh CA, CT log and transparency log.
func New(cfg Config) (*Sigstore, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.FulcioURL == "" {
		cfg.FulcioURL = FulcioURL
	}
	if cfg.RekorURL == "" {
		cfg.RekorURL = RekorURL
	}
	s := &Sigstore{cfg: cfg, clock: cfg.Clock, faults: map[string]bool{}}
	var err error
	if s.ca, err = newCA(cfg.Clock.Now()); err != nil {
		return nil, err
	}
	host := cfg.RekorURL
	if u, err := url.Parse(cfg.RekorURL); err == nil && u.Host != "" {
		host = u.Host
	}
	if s.log, err = newRekorLog(host); err != nil {
		return nil, err
	}
	if err := s.SetFaults(cfg.Faults...); err != nil {
		return nil, err
	}
	return s, nil
}

// ValidFault reports whether name is a fault.
func ValidFault(name string) bool {
	_, ok := FaultHelp[name]
	return ok
}

// SetFaults replaces the active faults.
func (s *Sigstore) SetFaults(names ...string) error {
	m := map[string]bool{}
	for _, n := range names {
		if !ValidFault(n) {
			return fmt.Errorf("unknown sigstore fault %q (want one of %s)", n, strings.Join(Faults, ", "))
		}
		m[n] = true
	}
	s.mu.Lock()
	s.faults = m
	s.mu.Unlock()
	return nil
}

// ActiveFaults lists the active faults, sorted.
func (s *Sigstore) ActiveFaults() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{}
	for n := range s.faults {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (s *Sigstore) fault(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults[name]
}

// TrustedRoot is the trusted root a verifier needs for this instance.
func (s *Sigstore) TrustedRoot() *attestation.TrustedRoot {
	start := s.ca.root.NotBefore.UTC()
	return &attestation.TrustedRoot{
		MediaType: attestation.MediaTypeTrustedRoot,
		Tlogs: []attestation.TransparencyLogInstance{{
			BaseURL: s.cfg.RekorURL, HashAlgorithm: "SHA2_256",
			PublicKey: attestation.PublicKey{RawBytes: s.log.spki, KeyDetails: "PKIX_ECDSA_P256_SHA_256", ValidFor: &attestation.TimeRange{Start: start}},
			LogID:     attestation.LogID{KeyID: s.log.logID},
		}},
		CertificateAuthorities: []attestation.CertificateAuthority{{
			Subject:   attestation.DistinguishedName{Organization: "sigstore.dev", CommonName: "sigstore"},
			URI:       s.cfg.FulcioURL,
			CertChain: attestation.CertChain{Certificates: []attestation.RawCertificate{{RawBytes: s.ca.inter.Raw}, {RawBytes: s.ca.root.Raw}}},
			ValidFor:  attestation.TimeRange{Start: start},
		}},
		Ctlogs: []attestation.TransparencyLogInstance{{
			BaseURL: "https://ctfe.sigstore.dev/test", HashAlgorithm: "SHA2_256",
			PublicKey: attestation.PublicKey{RawBytes: s.ca.ctSPKI, KeyDetails: "PKIX_ECDSA_P256_SHA_256", ValidFor: &attestation.TimeRange{Start: start}},
			LogID:     attestation.LogID{KeyID: attestation.KeyID(s.ca.ctSPKI)},
		}},
		TimestampAuthorities: []attestation.CertificateAuthority{},
	}
}

// TrustedRootJSON is trusted_root.json.
func (s *Sigstore) TrustedRootJSON() []byte {
	b, _ := json.MarshalIndent(s.TrustedRoot(), "", "  ")
	return append(b, '\n')
}

// Error is a refusal by the fake Fulcio or Rekor, with the HTTP status
// the real service answers.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// SigningCert is Fulcio's CreateSigningCertificate: verify the token,
// check possession of the key, issue the certificate. It returns the
// chain, leaf first.
func (s *Sigstore) SigningCert(token string, pub crypto.PublicKey, proveKey func(subject string) error) ([]*x509.Certificate, error) {
	if s.cfg.VerifyToken == nil {
		return nil, &Error{401, "There was an error processing the identity token"}
	}
	claims, err := s.cfg.VerifyToken(token)
	if err != nil {
		return nil, &Error{401, "There was an error processing the identity token: " + err.Error()}
	}
	if s.fault(FaultOtherIdentity) {
		claims = otherIdentity(claims)
	}
	id, err := identityFromClaims(claims)
	if err != nil {
		return nil, &Error{400, "There was an error processing the identity token: " + err.Error()}
	}
	if proveKey != nil {
		subject, _ := claims["sub"].(string)
		if id.Email != "" {
			subject = id.Email
		}
		if err := proveKey(subject); err != nil {
			return nil, &Error{400, "The public key supplied in the request could not be parsed or proof of possession failed: " + err.Error()}
		}
	}
	now := s.clock.Now().Truncate(time.Second)
	notBefore := now
	if s.fault(FaultExpiredCert) {
		notBefore = now.Add(-2 * LeafLifetime)
	}
	if s.fault(FaultBadSignature) {
		other, err := newKey()
		if err != nil {
			return nil, err
		}
		pub = other.Public()
	}
	leaf, err := s.ca.issue(pub, id, notBefore)
	if err != nil {
		return nil, err
	}
	return []*x509.Certificate{leaf, s.ca.inter, s.ca.root}, nil
}

// AddDSSE is Rekor's createLogEntry for a dsse 0.0.1 proposed entry: the
// envelope JSON as the client sent it and the certificate that verifies
// its one signature.
func (s *Sigstore) AddDSSE(envelopeJSON []byte, certDER []byte) (attestation.TlogEntry, string, error) {
	var env attestation.Envelope
	if err := json.Unmarshal(envelopeJSON, &env); err != nil {
		return attestation.TlogEntry{}, "", &Error{400, "unmarshalling envelope: " + err.Error()}
	}
	if len(env.Signatures) != 1 {
		return attestation.TlogEntry{}, "", &Error{400, "envelope must have exactly one signature"}
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return attestation.TlogEntry{}, "", &Error{400, "verifier: " + err.Error()}
	}
	// Rekor verifies the envelope before logging it; under bad-signature
	// it lets the mismatch through, so a verifier has to catch it.
	if !s.fault(FaultBadSignature) && !verifyEnvelope(cert, &env) {
		return attestation.TlogEntry{}, "", &Error{400, "could not verify envelope signature"}
	}
	body := dsseBody(envelopeJSON, &env, certDER)
	return s.log.add(body, s.clock.Now(), entryFaults{missing: s.fault(FaultMissingEntry), badProof: s.fault(FaultBadInclusionProof)})
}

// Entry finds a logged entry by uuid ("" to use index).
func (s *Sigstore) Entry(uuid string, index int64) (attestation.TlogEntry, string, bool, error) {
	return s.log.lookup(uuid, index)
}

// LogSize is the number of entries in the log.
func (s *Sigstore) LogSize() int {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return len(s.log.leaves)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
