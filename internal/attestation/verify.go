package attestation

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fakepypi/fakepypi/internal/forklift"
	"github.com/fakepypi/fakepypi/internal/forklift/pep440"
	"github.com/fakepypi/fakepypi/internal/forklift/pyname"
	"github.com/fakepypi/fakepypi/internal/pyfmt"
)

// Error is a refused attestation. Verification errors are what
// pypi-attestations raises as VerificationError ("Verification failed:
// ..."); the others are what Warehouse reports as an unexpected exception.
type Error struct {
	// Verification is true for a VerificationError.
	Verification bool
	// Msg is str() of the Python exception.
	Msg string
}

func (e *Error) Error() string { return e.Msg }

// verr is a sigstore-python VerificationError; Verify prefixes
// pypi-attestations' "Verification failed: ".
func verr(format string, args ...any) error {
	return &Error{Verification: true, Msg: fmt.Sprintf(format, args...)}
}

// unknownErr is any other exception (ConversionError, InvalidBundle...).
func unknownErr(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// Distribution is the uploaded file: its filename and hex sha256
// (pypi-attestations Distribution).
type Distribution struct {
	Name   string
	SHA256 string
}

// Fulcio's certificate extensions (sigstore/fulcio docs/oid-info.md).
var (
	OIDIssuer                     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	OIDGitHubWorkflowTrigger      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 2}
	OIDGitHubWorkflowSHA          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 3}
	OIDGitHubWorkflowName         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 4}
	OIDGitHubWorkflowRepository   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 5}
	OIDGitHubWorkflowRef          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 6}
	OIDIssuerV2                   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
	OIDBuildSignerURI             = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 9}
	OIDBuildSignerDigest          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 10}
	OIDRunnerEnvironment          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 11}
	OIDSourceRepositoryURI        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 12}
	OIDSourceRepositoryDigest     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 13}
	OIDSourceRepositoryRef        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 14}
	OIDSourceRepositoryID         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 15}
	OIDSourceRepositoryOwnerURI   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 16}
	OIDSourceRepositoryOwnerID    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 17}
	OIDBuildConfigURI             = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 18}
	OIDBuildConfigDigest          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 19}
	OIDBuildTrigger               = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 20}
	OIDRunInvocationURI           = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 21}
	OIDSourceRepositoryVisibility = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 22}
	OIDDeploymentEnvironment      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 23}
	// OIDSCTList is RFC 6962's embedded SCT list extension.
	OIDSCTList = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}
)

// Verify is Warehouse's check of one attestation: pypi-attestations
// Attestation.verify(publisher, dist) against root. It returns the
// statement's predicate type. An *Error tells a VerificationError from
// an unexpected one.
func Verify(a *Attestation, pub Publisher, dist Distribution, root *TrustedRoot) (string, error) {
	b, err := toBundle(a)
	if err != nil {
		return "", err
	}
	if err := verifyDSSE(b, pub, root); err != nil {
		var e *Error
		if errors.As(err, &e) && e.Verification {
			return "", verr("Verification failed: %s", e.Msg)
		}
		return "", err
	}
	return checkStatement(a.Envelope.Statement, dist)
}

// bundle is what Attestation.to_bundle builds and sigstore's Bundle
// checks on construction.
type bundle struct {
	cert    *x509.Certificate
	entry   *TlogEntry
	payload []byte
	sig     []byte
}

// toBundle is Attestation.to_bundle and Bundle._verify (v0.3 bundle).
func toBundle(a *Attestation) (*bundle, error) {
	if len(a.VerificationMaterial.TransparencyEntries) == 0 {
		return nil, unknownErr("list index out of range")
	}
	cert, err := x509.ParseCertificate(a.VerificationMaterial.Certificate)
	if err != nil {
		return nil, unknownErr("invalid X.509 certificate")
	}
	e := &a.VerificationMaterial.TransparencyEntries[0]
	// TransparencyLogEntry._validate, re-raised by to_bundle as
	// ConversionError.
	if e.InclusionProof == nil || e.InclusionProof.Checkpoint == nil {
		return nil, unknownErr("invalid transparency log entry")
	}
	if e.KindVersion.Version != "0.0.1" && e.KindVersion.Version != "0.0.2" {
		return nil, unknownErr("Expected log entry version 0.0.1 - 0.0.2, got %s", e.KindVersion.Version)
	}
	if e.InclusionPromise == nil {
		return nil, unknownErr("bundle must contain an inclusion promise or signed timestamp(s)")
	}
	return &bundle{cert: cert, entry: e, payload: a.Envelope.Statement, sig: a.Envelope.Signature}, nil
}

// verifyDSSE is sigstore-python's Verifier.verify_dsse, steps (0) to (8).
func verifyDSSE(b *bundle, pub Publisher, root *TrustedRoot) error {
	e := b.entry
	// (0) Time: the integrated time, bound by the inclusion promise.
	var signedAt time.Time
	haveTime := false
	if e.IntegratedTime != 0 && e.InclusionPromise != nil {
		kv := e.KindVersion
		if !((kv.Kind == "dsse" || kv.Kind == "hashedrekord") && kv.Version == "0.0.1") {
			return verr("Integrated time only supported for dsse/hashedrekord 0.0.1 types")
		}
		signedAt, haveTime = time.Unix(int64(e.IntegratedTime), 0).UTC(), true
	}
	if !haveTime {
		return verr("not enough sources of verified time")
	}
	// (1) The chain to a Fulcio root at that time.
	chain, err := verifyChain(b.cert, root, signedAt)
	if err != nil {
		return err
	}
	// (2) The embedded SCT.
	if err := verifySCT(b.cert, chain, root); err != nil {
		return verr("failed to verify SCT on signing certificate: %s", err.(*Error).Msg)
	}
	// (3) Sigstore's X.509 profile, then the publisher policy.
	if b.cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return verr("Key usage is not of type `digital signature`")
	}
	codeSigning := false
	for _, u := range b.cert.ExtKeyUsage {
		codeSigning = codeSigning || u == x509.ExtKeyUsageCodeSigning
	}
	if !codeSigning {
		return verr("Extended usage does not contain `code signing`")
	}
	if err := checkPolicy(b.cert, pub); err != nil {
		return err
	}
	// (4)-(5) The log entry: inclusion proof, checkpoint, promise.
	keys := newKeyring(root.Tlogs)
	if err := verifyEntry(keys, e); err != nil {
		return verr("invalid log entry: %s", err.(*Error).Msg)
	}
	// (6) The time within the certificate's validity.
	if signedAt.Before(b.cert.NotBefore) || signedAt.After(b.cert.NotAfter) {
		return verr("invalid signing cert: expired at time of signing, time via TimestampVerificationResult(source=<TimestampSource.TRANSPARENCY_SERVICE: 1>, time=%s)", pyDatetime(signedAt))
	}
	// (7) The signature over the DSSE envelope.
	pk, ok := b.cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return unknownErr("'%s' object has no attribute 'curve'", pyKeyType(b.cert))
	}
	d := sha256.Sum256(PAE(PayloadTypeInToto, b.payload))
	if !ecdsa.VerifyASN1(pk, d[:], b.sig) {
		return verr("DSSE: invalid signature")
	}
	// (8) The log entry's body against the envelope.
	switch kv := e.KindVersion; {
	case kv.Kind == "dsse" && kv.Version == "0.0.1":
		return checkDSSEBody(b)
	case kv.Kind == "hashedrekord" && kv.Version == "0.0.2":
		// Rekor v2 entries; the fake log writes only dsse 0.0.1.
		return verr("transparency log entry is inconsistent with other materials")
	default:
		return verr("Unsupported DSSE log entry type: %s/%s", kv.Kind, kv.Version)
	}
}

// verifyEntry is TransparencyLogEntry._verify.
func verifyEntry(keys *keyring, e *TlogEntry) error {
	if err := verifyInclusion(e.CanonicalizedBody, e.InclusionProof); err != nil {
		return err
	}
	if err := verifyCheckpoint(keys, e); err != nil {
		return err
	}
	if e.InclusionPromise != nil && e.IntegratedTime != 0 {
		set := SETPayload(e.CanonicalizedBody, int64(e.IntegratedTime), int64(e.LogIndex), e.LogID.KeyID)
		if err := keys.verify(e.LogID.KeyID, e.InclusionPromise.SignedEntryTimestamp, set); err != nil {
			return verr("SET: invalid inclusion promise: %s", err.Error())
		}
	}
	return nil
}

// verifyChain is _verify_chain_at_time: path validation to a self-signed
// root of the trusted root's CAs, at the signing time, with OpenSSL's
// error strings. It returns the chain above the leaf.
func verifyChain(leaf *x509.Certificate, root *TrustedRoot, at time.Time) ([]*x509.Certificate, error) {
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	var all []*x509.Certificate
	for _, ca := range root.CertificateAuthorities {
		for _, rc := range ca.CertChain.Certificates {
			c, err := x509.ParseCertificate(rc.RawBytes)
			if err != nil {
				continue
			}
			all = append(all, c)
			if bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil {
				roots.AddCert(c)
			} else {
				inters.AddCert(c)
			}
		}
	}
	fail := func(reason string) error {
		return &Error{Verification: true, Msg: "failed to build timestamp certificate chain: " + reason}
	}
	// OpenSSL reports the leaf's own validity once the chain is built;
	// without a chain it reports the missing issuer first.
	// OpenSSL's X509_check_issued: the issuer's name, and its subject key
	// id when both sides carry one.
	var parent *x509.Certificate
	for _, c := range all {
		if bytes.Equal(c.RawSubject, leaf.RawIssuer) &&
			(len(leaf.AuthorityKeyId) == 0 || len(c.SubjectKeyId) == 0 || bytes.Equal(leaf.AuthorityKeyId, c.SubjectKeyId)) {
			parent = c
			break
		}
	}
	if parent == nil {
		if bytes.Equal(leaf.RawIssuer, leaf.RawSubject) {
			return nil, fail("self-signed certificate")
		}
		return nil, fail("unable to get local issuer certificate")
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			if at.Before(inv.Cert.NotBefore) {
				return nil, fail("certificate is not yet valid")
			}
			return nil, fail("certificate has expired")
		}
		if leaf.CheckSignatureFrom(parent) != nil {
			return nil, fail("certificate signature failure")
		}
		return nil, fail("unable to get local issuer certificate")
	}
	return chains[0][1:], nil
}

// verifySCT is sigstore-python's verify_sct: the one embedded
// precertificate SCT, signed by a CT log of the trusted root over the
// TBS certificate without the SCT list.
func verifySCT(cert *x509.Certificate, chain []*x509.Certificate, root *TrustedRoot) error {
	var ext []byte
	for _, x := range cert.Extensions {
		if x.Id.Equal(OIDSCTList) {
			ext = x.Value
		}
	}
	if ext == nil {
		return verr("Certificate does not contain a signed certificate timestamp extension")
	}
	scts, err := ParseSCTList(ext)
	if err != nil {
		return unknownErr("%s", err)
	}
	if len(scts) != 1 {
		return verr("Expected one certificate timestamp, found %d", len(scts))
	}
	sct := scts[0]
	issuer := chain[0]
	if !issuer.IsCA {
		return verr("SCT verify: Invalid issuer pubkey basicConstraint (not a CA): %s", pyKeyObject(issuer))
	}
	tbs, err := TBSWithoutSCTs(cert)
	if err != nil {
		return unknownErr("%s", err)
	}
	if sct.HashAlg != 4 {
		return verr("Found unexpected hash algorithm in SCT: only SHA256 is supported (expected <class 'cryptography.hazmat.primitives.hashes.SHA256'>, got %d)", sct.HashAlg)
	}
	signed := SCTSignedData(sct.Timestamp, KeyID(issuer.RawSubjectPublicKeyInfo), tbs)
	keys := newKeyring(root.Ctlogs)
	if err := keys.verify(sct.LogID, sct.Signature, signed); err != nil {
		return verr("SCT verify failed: %s", err.Error())
	}
	return nil
}

// checkDSSEBody is _validate_dsse_v001_entry_body.
func checkDSSEBody(b *bundle) error {
	var body DSSEBody
	dec := json.NewDecoder(bytes.NewReader(b.entry.CanonicalizedBody))
	if err := dec.Decode(&body); err != nil || body.Spec.PayloadHash == nil {
		return verr("invalid DSSE log entry: %s", pydanticShort(err))
	}
	ph := sha256.Sum256(b.payload)
	if body.Spec.PayloadHash.Algorithm != "sha256" {
		return verr("expected SHA256 payload hash in DSSE log entry")
	}
	if hex.EncodeToString(ph[:]) != body.Spec.PayloadHash.Value {
		return verr("log entry payload hash does not match bundle")
	}
	want := []DSSESignature{{Signature: base64.StdEncoding.EncodeToString(b.sig), Verifier: PEMBase64(b.cert.Raw)}}
	if len(body.Spec.Signatures) != len(want) || body.Spec.Signatures[0] != want[0] {
		return verr("log entry signatures do not match bundle")
	}
	return nil
}

func pydanticShort(err error) string {
	if err == nil {
		return "1 validation error for Dsse"
	}
	return err.Error()
}

// PEMBase64 is base64(PEM(cert)), Rekor's verifier field
// (sigstore._utils.base64_encode_pem_cert).
func PEMBase64(der []byte) string {
	return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// checkStatement is the end of Attestation.verify: the statement, its one
// subject, the distribution's name and digest, the predicate type.
func checkStatement(payload []byte, dist Distribution) (string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(payload, &raw); err != nil {
		return "", verr("Verification failed: invalid statement: %s", pydanticJSONError(err))
	}
	var st Statement
	if err := json.Unmarshal(payload, &st); err != nil || st.Type != StatementTypeV1 || len(st.Subject) == 0 || st.PredicateType == "" {
		return "", verr("Verification failed: invalid statement: %s", statementProblem(raw, st))
	}
	if len(st.Subject) != 1 {
		return "", verr("Verification failed: too many subjects in statement (must be exactly one)")
	}
	sub := st.Subject[0]
	if sub.Name == "" {
		return "", verr("Verification failed: invalid subject: missing name")
	}
	subName, err := parseDistFilename(sub.Name)
	if err != nil {
		return "", verr("Verification failed: invalid subject: %s", err.Error())
	}
	distName, _ := parseDistFilename(dist.Name)
	if subName != distName {
		return "", verr("Verification failed: subject does not match distribution name: %s != %s", sub.Name, dist.Name)
	}
	if d, ok := sub.Digest["sha256"]; !ok || d != dist.SHA256 {
		return "", verr("Verification failed: subject does not match distribution digest")
	}
	if st.PredicateType != PredicatePublishV1 && st.PredicateType != PredicateSLSAV1 {
		return "", verr("Verification failed: unknown attestation type: %s", st.PredicateType)
	}
	return st.PredicateType, nil
}

// statementProblem names what makes a statement fail _Statement's model
// (a short form of pydantic's report).
func statementProblem(raw map[string]json.RawMessage, st Statement) string {
	var missing []string
	for _, k := range []string{"_type", "subject", "predicateType"} {
		if _, ok := raw[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("%d validation error%s for _Statement: missing %s", len(missing), plural(len(missing)), strings.Join(missing, ", "))
	}
	if st.Type != StatementTypeV1 {
		return "1 validation error for _Statement\n_type\n  Input should be 'https://in-toto.io/Statement/v1'"
	}
	if len(st.Subject) == 0 {
		return "1 validation error for _Statement\nsubject\n  List should have at least 1 item after validation, not 0"
	}
	return "1 validation error for _Statement"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pydanticJSONError(err error) string {
	return "1 validation error for _Statement\n  Invalid JSON: " + err.Error()
}

// distKey is what packaging's parse_wheel_filename/parse_sdist_filename
// return, reduced to comparable text.
type distKey string

// parseDistFilename is pypi-attestations' _check_dist_filename.
func parseDistFilename(name string) (distKey, error) {
	switch {
	case strings.HasSuffix(name, ".whl"):
		w, err := forklift.ParseWheelFilename(name)
		if err != nil {
			return "", err
		}
		tags := make([]string, len(w.Tags))
		for i, t := range w.Tags {
			tags[i] = t.Interpreter + "-" + t.ABI + "-" + t.Platform
		}
		sort.Strings(tags)
		tags = compactStrings(tags)
		return distKey("whl|" + w.Name + "|" + pep440.CanonicalizeVersion(w.Version.String()) + "|" + w.Version.String() + "|" + w.Build + "|" + strings.Join(tags, ",")), nil
	case strings.HasSuffix(name, ".tar.gz") || strings.HasSuffix(name, ".zip"):
		stem := strings.TrimSuffix(strings.TrimSuffix(name, ".tar.gz"), ".zip")
		i := strings.LastIndexByte(stem, '-')
		if i < 0 {
			return "", fmt.Errorf("Invalid sdist filename (invalid version): %s", pyfmt.Repr(name))
		}
		v, err := pep440.Parse(stem[i+1:])
		if err != nil {
			return "", fmt.Errorf("Invalid sdist filename (invalid version): %s", pyfmt.Repr(name))
		}
		return distKey("sdist|" + pyname.Normalize(stem[:i]) + "|" + v.String()), nil
	}
	return "", fmt.Errorf("unknown distribution format: %s", name)
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// SCT is one RFC 6962 signed certificate timestamp.
type SCT struct {
	LogID     []byte
	Timestamp uint64 // milliseconds
	HashAlg   byte
	SigAlg    byte
	Signature []byte
}

// ParseSCTList reads the SCT list extension's value (an OCTET STRING
// holding the TLS-encoded list).
func ParseSCTList(ext []byte) ([]SCT, error) {
	var inner []byte
	if _, err := asn1.Unmarshal(ext, &inner); err != nil {
		return nil, fmt.Errorf("invalid SCT list: %v", err)
	}
	if len(inner) < 2 || int(binary.BigEndian.Uint16(inner)) != len(inner)-2 {
		return nil, errors.New("invalid SCT list length")
	}
	rest := inner[2:]
	var out []SCT
	for len(rest) > 0 {
		if len(rest) < 2 {
			return nil, errors.New("truncated SCT")
		}
		n := int(binary.BigEndian.Uint16(rest))
		if len(rest) < 2+n {
			return nil, errors.New("truncated SCT")
		}
		s := rest[2 : 2+n]
		rest = rest[2+n:]
		// version(1) log_id(32) timestamp(8) extensions(2+n) hash(1) sig(1) signature(2+n)
		if len(s) < 1+32+8+2 {
			return nil, errors.New("truncated SCT")
		}
		sct := SCT{LogID: s[1:33], Timestamp: binary.BigEndian.Uint64(s[33:41])}
		el := int(binary.BigEndian.Uint16(s[41:43]))
		p := 43 + el
		if len(s) < p+4 {
			return nil, errors.New("truncated SCT")
		}
		sct.HashAlg, sct.SigAlg = s[p], s[p+1]
		sl := int(binary.BigEndian.Uint16(s[p+2 : p+4]))
		if len(s) != p+4+sl {
			return nil, errors.New("truncated SCT")
		}
		sct.Signature = s[p+4:]
		out = append(out, sct)
	}
	return out, nil
}

// MarshalSCTList is the SCT list extension's value for one SCT.
func MarshalSCTList(s SCT) ([]byte, error) {
	var one bytes.Buffer
	one.WriteByte(0) // v1
	one.Write(s.LogID)
	binary.Write(&one, binary.BigEndian, s.Timestamp)
	one.Write([]byte{0, 0}) // no extensions
	one.WriteByte(s.HashAlg)
	one.WriteByte(s.SigAlg)
	binary.Write(&one, binary.BigEndian, uint16(len(s.Signature)))
	one.Write(s.Signature)
	var list bytes.Buffer
	binary.Write(&list, binary.BigEndian, uint16(one.Len()+2))
	binary.Write(&list, binary.BigEndian, uint16(one.Len()))
	list.Write(one.Bytes())
	return asn1.Marshal(list.Bytes())
}

// SCTSignedData is the digitally-signed struct of a precertificate SCT
// (RFC 6962 section 3.2; sigstore-python _pack_digitally_signed).
func SCTSignedData(timestamp uint64, issuerKeyHash, tbs []byte) []byte {
	var b bytes.Buffer
	b.WriteByte(0) // sct_version v1
	b.WriteByte(0) // signature_type certificate_timestamp
	binary.Write(&b, binary.BigEndian, timestamp)
	binary.Write(&b, binary.BigEndian, uint16(1)) // precert_entry
	b.Write(issuerKeyHash)
	n := len(tbs)
	b.Write([]byte{byte(n >> 16), byte(n >> 8), byte(n)})
	b.Write(tbs)
	b.Write([]byte{0, 0}) // no extensions
	return b.Bytes()
}

// TBSWithoutSCTs is cryptography's tbs_precertificate_bytes: the TBS
// certificate with the SCT list (and any poison) extension removed.
func TBSWithoutSCTs(cert *x509.Certificate) ([]byte, error) {
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(cert.RawTBSCertificate, &seq); err != nil {
		return nil, err
	}
	var fields []asn1.RawValue
	rest := seq.Bytes
	for len(rest) > 0 {
		var f asn1.RawValue
		var err error
		rest, err = asn1.Unmarshal(rest, &f)
		if err != nil {
			return nil, err
		}
		fields = append(fields, f)
	}
	var out []byte
	for _, f := range fields {
		if f.Class == asn1.ClassContextSpecific && f.Tag == 3 {
			var exts []asn1.RawValue
			if _, err := asn1.Unmarshal(f.Bytes, &exts); err != nil {
				return nil, err
			}
			var kept []asn1.RawValue
			for _, x := range exts {
				var id asn1.ObjectIdentifier
				var inner asn1.RawValue
				if _, err := asn1.Unmarshal(x.FullBytes, &inner); err != nil {
					return nil, err
				}
				if _, err := asn1.Unmarshal(inner.Bytes, &id); err != nil {
					return nil, err
				}
				if id.Equal(OIDSCTList) || id.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}) {
					continue
				}
				kept = append(kept, x)
			}
			var inner []byte
			for _, k := range kept {
				inner = append(inner, k.FullBytes...)
			}
			seqBytes, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: inner})
			if err != nil {
				return nil, err
			}
			wrapped, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 3, IsCompound: true, Bytes: seqBytes})
			if err != nil {
				return nil, err
			}
			out = append(out, wrapped...)
			continue
		}
		out = append(out, f.FullBytes...)
	}
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: out})
}

func pyDatetime(t time.Time) string {
	return fmt.Sprintf("datetime.datetime(%d, %d, %d, %d, %d, %d, tzinfo=datetime.timezone.utc)",
		t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second())
}

func pyKeyType(c *x509.Certificate) string {
	switch c.PublicKeyAlgorithm {
	case x509.RSA:
		return "cryptography.hazmat.bindings._rust.openssl.rsa.RSAPublicKey"
	case x509.Ed25519:
		return "cryptography.hazmat.bindings._rust.openssl.ed25519.Ed25519PublicKey"
	}
	return "PublicKey"
}

func pyKeyObject(c *x509.Certificate) string {
	return "<" + pyKeyType(c) + " object>"
}
