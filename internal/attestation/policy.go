package attestation

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strings"

	"github.com/fakepypi/fakepypi/internal/pyfmt"
)

// Publisher policies of pypi-attestations (_GitHubTrustedPublisherPolicy,
// _GitLabTrustedPublisherPolicy, GooglePublisher._as_policy) over
// sigstore-python's single-extension policies (sigstore/verify/policy.py).

// Issuers the policies expect.
const (
	GitHubIssuer = "https://token.actions.githubusercontent.com"
	GitLabIssuer = "https://gitlab.com"
	GoogleIssuer = "https://accounts.google.com"
)

func checkPolicy(cert *x509.Certificate, p Publisher) error {
	switch p.Kind {
	case "GitHub":
		return ciPolicy(cert, GitHubIssuer, "https://github.com/"+p.Repository, p, func(suffix string) string {
			return "https://github.com/" + p.Repository + "/.github/workflows/" + p.Workflow + "@" + suffix
		}, true)
	case "GitLab":
		return ciPolicy(cert, GitLabIssuer, "https://gitlab.com/"+p.Repository, p, func(suffix string) string {
			return "https://gitlab.com/" + p.Repository + "//" + p.Workflow + "@" + suffix
		}, false)
	case "Google":
		if err := extPolicy(cert, "OIDCIssuer", OIDIssuer, GoogleIssuer, false); err != nil {
			return err
		}
		sans := append(append([]string{}, cert.EmailAddresses...), uriStrings(cert)...)
		for _, s := range sans {
			if s == p.Email {
				return nil
			}
		}
		reprs := make([]string, len(sans))
		for i, s := range sans {
			reprs[i] = pyfmt.Repr(s)
		}
		set := "{" + strings.Join(reprs, ", ") + "}"
		if len(sans) == 0 {
			set = "set()"
		}
		return verr("Certificate's SANs do not match %s; actual SANs: %s", p.Email, set)
	}
	return unknownErr("unknown publisher kind %q", p.Kind)
}

func uriStrings(c *x509.Certificate) []string {
	var out []string
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	return out
}

// ciPolicy is the GitHub/GitLab policy: issuer, source repository, then
// the Build Config URI against each of the digest and ref suffixes.
// GitHub needs at least one of the two; GitLab reads both and fails like
// cryptography's ExtensionNotFound when one is missing.
func ciPolicy(cert *x509.Certificate, issuer, repoURI string, p Publisher, expected func(string) string, github bool) error {
	if err := extPolicy(cert, "OIDCIssuerV2", OIDIssuerV2, issuer, true); err != nil {
		return err
	}
	if err := extPolicy(cert, "OIDCSourceRepositoryURI", OIDSourceRepositoryURI, repoURI, true); err != nil {
		return err
	}
	bcRaw, ok := extValue(cert, OIDBuildConfigURI)
	if !ok {
		return unknownErr("No %s extension was found", pyOID(OIDBuildConfigURI))
	}
	bc, err := derUTF8(bcRaw)
	if err != nil {
		return unknownErr("%s", err)
	}
	var suffixes []string
	for _, oid := range []asn1.ObjectIdentifier{OIDSourceRepositoryDigest, OIDSourceRepositoryRef} {
		raw, ok := extValue(cert, oid)
		if !ok {
			if !github {
				return unknownErr("No %s extension was found", pyOID(oid))
			}
			continue
		}
		s, err := derUTF8(raw)
		if err != nil {
			return unknownErr("%s", err)
		}
		suffixes = append(suffixes, s)
	}
	if len(suffixes) == 0 {
		return verr("Certificate must contain either Source Repository Digest or Source Repository Ref")
	}
	for _, s := range suffixes {
		if bc == expected(s) {
			return nil
		}
	}
	what := p.Workflow + " @ " + p.Repository
	return verr("Certificate's Build Config URI (%s) does not match expected Trusted Publisher (%s)", pyExtension(OIDBuildConfigURI, bcRaw), what)
}

// extPolicy is _SingleX509ExtPolicy (v2: DER UTF8String values, quoted
// differently in the mismatch message).
func extPolicy(cert *x509.Certificate, name string, oid asn1.ObjectIdentifier, want string, v2 bool) error {
	raw, ok := extValue(cert, oid)
	if !ok {
		return verr("Certificate does not contain %s (%s) extension", name, oid.String())
	}
	if !v2 {
		got := string(raw)
		if got != want {
			return verr("Certificate's %s does not match (got '%s', expected '%s')", name, got, want)
		}
		return nil
	}
	got, err := derUTF8(raw)
	if err != nil {
		return unknownErr("%s", err)
	}
	if got != want {
		return verr("Certificate's %s does not match (got %s, expected %s)", name, got, want)
	}
	return nil
}

func extValue(cert *x509.Certificate, oid asn1.ObjectIdentifier) ([]byte, bool) {
	for _, e := range cert.Extensions {
		if e.Id.Equal(oid) {
			return e.Value, true
		}
	}
	return nil, false
}

// derUTF8 decodes a DER UTF8String (pyasn1's der_decode(value, UTF8String)).
func derUTF8(b []byte) (string, error) {
	var s string
	rest, err := asn1.UnmarshalWithParams(b, &s, "utf8")
	if err != nil || len(rest) > 0 {
		return "", fmt.Errorf("invalid UTF8String extension value")
	}
	return s, nil
}

// ExtUTF8 returns a Fulcio v2 extension's string value.
func ExtUTF8(cert *x509.Certificate, oid asn1.ObjectIdentifier) (string, bool) {
	raw, ok := extValue(cert, oid)
	if !ok {
		return "", false
	}
	s, err := derUTF8(raw)
	return s, err == nil
}

func pyOID(oid asn1.ObjectIdentifier) string {
	return "<ObjectIdentifier(oid=" + oid.String() + ", name=Unknown OID)>"
}

// pyExtension is str() of cryptography's Extension for an unrecognized,
// non-critical extension (cryptography 48-50).
func pyExtension(oid asn1.ObjectIdentifier, value []byte) string {
	o := pyOID(oid)
	return "<Extension(oid=" + o + ", critical=False, value=<UnrecognizedExtension(oid=" + o + ", value=" + pyfmt.ReprBytes(value) + ")>)>"
}
