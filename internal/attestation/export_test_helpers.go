package attestation

import (
	"crypto/x509"
	"encoding/asn1"
	"time"
)

// VerifyChainForTest exposes the chain check (sigstore-python's
// _verify_chain_at_time) to the oracle test in internal/sigstore, which
// compares it with OpenSSL's verdict.
func VerifyChainForTest(leaf *x509.Certificate, root *TrustedRoot, at time.Time) ([]*x509.Certificate, error) {
	return verifyChain(leaf, root, at)
}

// ExtensionStringForTest is str() of cryptography's Extension for the
// certificate's extension oid ("" when absent), for the same oracle test.
func ExtensionStringForTest(cert *x509.Certificate, oid asn1.ObjectIdentifier) string {
	v, ok := extValue(cert, oid)
	if !ok {
		return ""
	}
	return pyExtension(oid, v)
}
