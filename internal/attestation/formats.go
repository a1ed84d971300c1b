package attestation

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The Sigstore formats below are the JSON (protobuf JSON mapping) forms of
// sigstore/protobuf-specs messages: TrustedRoot (trustroot/v1),
// TransparencyLogEntry (rekor/v1). They are written out here instead of
// taken from github.com/sigstore/protobuf-specs because that module needs
// google.golang.org/protobuf's protojson to read them, several megabytes
// in both binaries for a dozen fields; docs/attestations.md and the
// sigstore-go check in interop/sigstorego show that sigstore-go, which
// reads them with protobuf-specs, accepts what these produce.

// MediaTypeTrustedRoot is trusted_root.json's media type.
const MediaTypeTrustedRoot = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"

// TrustedRoot is protobuf-specs' dev.sigstore.trustroot.v1.TrustedRoot:
// the certificate authorities (Fulcio), transparency logs (Rekor) and CT
// logs a verifier trusts.
type TrustedRoot struct {
	MediaType              string                    `json:"mediaType"`
	Tlogs                  []TransparencyLogInstance `json:"tlogs"`
	CertificateAuthorities []CertificateAuthority    `json:"certificateAuthorities"`
	Ctlogs                 []TransparencyLogInstance `json:"ctlogs"`
	TimestampAuthorities   []CertificateAuthority    `json:"timestampAuthorities"`
}

// TransparencyLogInstance is one Rekor or CT log of a trusted root.
type TransparencyLogInstance struct {
	BaseURL       string    `json:"baseUrl"`
	HashAlgorithm string    `json:"hashAlgorithm"`
	PublicKey     PublicKey `json:"publicKey"`
	LogID         LogID     `json:"logId"`
}

// PublicKey is a DER SubjectPublicKeyInfo with its key details
// (e.g. "PKIX_ECDSA_P256_SHA_256") and validity.
type PublicKey struct {
	RawBytes   []byte     `json:"rawBytes"`
	KeyDetails string     `json:"keyDetails"`
	ValidFor   *TimeRange `json:"validFor,omitempty"`
}

// TimeRange is a validity period; End nil means still valid.
type TimeRange struct {
	Start time.Time  `json:"start"`
	End   *time.Time `json:"end,omitempty"`
}

// LogID is a log's key id: sha256 of its DER public key.
type LogID struct {
	KeyID []byte `json:"keyId"`
}

// CertificateAuthority is a Fulcio instance: its chain, intermediate
// first and root last.
type CertificateAuthority struct {
	Subject   DistinguishedName `json:"subject"`
	URI       string            `json:"uri"`
	CertChain CertChain         `json:"certChain"`
	ValidFor  TimeRange         `json:"validFor"`
}

// DistinguishedName names a CA.
type DistinguishedName struct {
	Organization string `json:"organization"`
	CommonName   string `json:"commonName"`
}

// CertChain is a list of DER certificates.
type CertChain struct {
	Certificates []RawCertificate `json:"certificates"`
}

// RawCertificate is one DER certificate.
type RawCertificate struct {
	RawBytes []byte `json:"rawBytes"`
}

// ParseTrustedRoot reads a trusted_root.json.
func ParseTrustedRoot(b []byte) (*TrustedRoot, error) {
	var tr TrustedRoot
	if err := json.Unmarshal(b, &tr); err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	if tr.MediaType != MediaTypeTrustedRoot {
		return nil, fmt.Errorf("trusted root: media type %q, want %q", tr.MediaType, MediaTypeTrustedRoot)
	}
	return &tr, nil
}

// KeyID is a log id as Sigstore computes it: sha256 of the DER public key.
func KeyID(spki []byte) []byte {
	s := sha256.Sum256(spki)
	return s[:]
}

// Int64 is a protobuf-JSON int64: written as a string, read from a string
// or a number (as protojson and sigstore-models' ProtoU64 accept both).
type Int64 int64

// MarshalJSON writes the quoted decimal.
func (n Int64) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatInt(int64(n), 10) + `"`), nil
}

// UnmarshalJSON reads "123" or 123.
func (n *Int64) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("invalid integer %s", b)
	}
	*n = Int64(v)
	return nil
}

// TlogEntry is protobuf-specs' dev.sigstore.rekor.v1.TransparencyLogEntry,
// the element of an attestation's transparency_entries.
type TlogEntry struct {
	LogIndex          Int64             `json:"logIndex"`
	LogID             LogID             `json:"logId"`
	KindVersion       KindVersion       `json:"kindVersion"`
	IntegratedTime    Int64             `json:"integratedTime"`
	InclusionPromise  *InclusionPromise `json:"inclusionPromise,omitempty"`
	InclusionProof    *InclusionProof   `json:"inclusionProof,omitempty"`
	CanonicalizedBody []byte            `json:"canonicalizedBody"`
}

// KindVersion is the Rekor entry type, e.g. dsse 0.0.1.
type KindVersion struct {
	Kind    string `json:"kind"`
	Version string `json:"version"`
}

// InclusionPromise carries the signed entry timestamp (SET).
type InclusionPromise struct {
	SignedEntryTimestamp []byte `json:"signedEntryTimestamp"`
}

// InclusionProof is a Merkle inclusion proof with the signed checkpoint
// of the tree it proves against.
type InclusionProof struct {
	LogIndex   Int64       `json:"logIndex"`
	RootHash   []byte      `json:"rootHash"`
	TreeSize   Int64       `json:"treeSize"`
	Hashes     [][]byte    `json:"hashes"`
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
}

// Checkpoint is a signed note (transparency-dev/formats log checkpoint).
type Checkpoint struct {
	Envelope string `json:"envelope"`
}

// DSSEBody is the canonicalized body of a Rekor dsse 0.0.1 entry
// (sigstore/rekor pkg/types/dsse/v0.0.1).
type DSSEBody struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Spec       DSSESpec `json:"spec"`
}

// DSSESpec is the spec of a dsse entry as Rekor stores it.
type DSSESpec struct {
	EnvelopeHash *Hash           `json:"envelopeHash,omitempty"`
	PayloadHash  *Hash           `json:"payloadHash,omitempty"`
	Signatures   []DSSESignature `json:"signatures"`
}

// Hash is an algorithm and a hex value.
type Hash struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
}

// DSSESignature is a signature with its verifier, a base64 PEM
// certificate.
type DSSESignature struct {
	Signature string `json:"signature"`
	Verifier  string `json:"verifier"`
}

// Envelope is a DSSE envelope as sigstore-python sends it to Rekor.
type Envelope struct {
	Payload     []byte        `json:"payload"`
	PayloadType string        `json:"payloadType"`
	Signatures  []EnvelopeSig `json:"signatures"`
}

// EnvelopeSig is one DSSE signature.
type EnvelopeSig struct {
	Sig []byte `json:"sig"`
}

// PayloadTypeInToto is the DSSE payload type of in-toto statements
// (sigstore-python dsse.Envelope._TYPE).
const PayloadTypeInToto = "application/vnd.in-toto+json"

// PAE is DSSE's pre-authentication encoding, the bytes that are signed.
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "DSSEv1 %d %s %d ", len(payloadType), payloadType, len(payload))
	b.Write(payload)
	return b.Bytes()
}

// SETPayload is what a Rekor v1 signed entry timestamp signs: the RFC 8785
// canonical JSON of body, integratedTime, logID (hex) and logIndex
// (sigstore-python models.py TransparencyLogEntry._encode_canonical). The
// keys are already in RFC 8785 order and the values need no escaping
// beyond what encoding/json does for base64 and hex text.
func SETPayload(body []byte, integratedTime, logIndex int64, logID []byte) []byte {
	b64, _ := json.Marshal(body) // a JSON string of standard base64
	return []byte(fmt.Sprintf(`{"body":%s,"integratedTime":%d,"logID":"%x","logIndex":%d}`, b64, integratedTime, logID, logIndex))
}
