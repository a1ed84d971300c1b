package sigstore

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/fakepypi/fakepypi/internal/attestation"
)

// Backend is where a signer gets its certificate and logs its entries:
// the fake in-process (Local) or over HTTP (Client), which also talks to
// anything that speaks Fulcio v2 and Rekor v1.
type Backend interface {
	// SigningCert returns the chain for key's public half, leaf first.
	SigningCert(token string, key crypto.Signer) ([]*x509.Certificate, error)
	// AddDSSE logs a dsse entry and returns it with its proofs.
	AddDSSE(envelopeJSON, certDER []byte) (attestation.TlogEntry, error)
}

// Local is the in-process backend.
type Local struct{ S *Sigstore }

// SigningCert implements Backend.
func (l Local) SigningCert(token string, key crypto.Signer) ([]*x509.Certificate, error) {
	return l.S.SigningCert(token, key.Public(), nil)
}

// AddDSSE implements Backend.
func (l Local) AddDSSE(envelopeJSON, certDER []byte) (attestation.TlogEntry, error) {
	e, _, err := l.S.AddDSSE(envelopeJSON, certDER)
	return e, err
}

// Client talks to Fulcio's and Rekor's REST APIs.
type Client struct {
	FulcioURL, RekorURL string
	HTTP                *http.Client
}

// SigningCert posts a CSR to /api/v2/signingCert, as sigstore-python does.
func (c Client) SigningCert(token string, key crypto.Signer) ([]*x509.Certificate, error) {
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{}}, key)
	if err != nil {
		return nil, err
	}
	req := map[string]any{
		"credentials":               map[string]string{"oidcIdentityToken": token},
		"certificateSigningRequest": base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})),
	}
	var resp struct {
		SignedCertificateEmbeddedSct struct {
			Chain struct {
				Certificates []string `json:"certificates"`
			} `json:"chain"`
		} `json:"signedCertificateEmbeddedSct"`
	}
	if err := c.post(strings.TrimSuffix(c.FulcioURL, "/")+"/api/v2/signingCert", req, &resp); err != nil {
		return nil, fmt.Errorf("fulcio: %w", err)
	}
	var chain []*x509.Certificate
	for _, p := range resp.SignedCertificateEmbeddedSct.Chain.Certificates {
		b, _ := pem.Decode([]byte(p))
		if b == nil {
			return nil, errors.New("fulcio: chain holds a non-PEM certificate")
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("fulcio: %w", err)
		}
		chain = append(chain, cert)
	}
	if len(chain) == 0 {
		return nil, errors.New("fulcio: empty certificate chain")
	}
	return chain, nil
}

// AddDSSE posts a dsse proposed entry to /api/v1/log/entries.
func (c Client) AddDSSE(envelopeJSON, certDER []byte) (attestation.TlogEntry, error) {
	req := map[string]any{"kind": "dsse", "apiVersion": "0.0.1", "spec": map[string]any{
		"proposedContent": map[string]any{"envelope": string(envelopeJSON), "verifiers": []string{attestation.PEMBase64(certDER)}},
	}}
	var raw json.RawMessage
	if err := c.post(strings.TrimSuffix(c.RekorURL, "/")+"/api/v1/log/entries", req, &raw); err != nil {
		return attestation.TlogEntry{}, fmt.Errorf("rekor: %w", err)
	}
	return FromV1Entry(raw)
}

func (c Client) post(url string, body, out any) error {
	b, _ := json.Marshal(body)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &e) == nil && e.Message != "" {
			return fmt.Errorf("%s: %s", resp.Status, e.Message)
		}
		return fmt.Errorf("%s", resp.Status)
	}
	return json.Unmarshal(data, out)
}

func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

// Attester signs publish attestations with one ephemeral key and one
// certificate, as gh-action-pypi-publish's attestations.py does for all
// the distributions of a run.
type Attester struct {
	backend Backend
	key     *ecdsa.PrivateKey
	Chain   []*x509.Certificate
}

// NewAttester makes a key and gets its certificate for token.
func NewAttester(b Backend, token string) (*Attester, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	chain, err := b.SigningCert(token, key)
	if err != nil {
		return nil, err
	}
	return &Attester{backend: b, key: key, Chain: chain}, nil
}

// Attest signs the publish statement for one distribution, logs it and
// returns the PEP 740 attestation (pypi-attestations Attestation.sign).
func (a *Attester) Attest(filename, sha256hex string) (*attestation.Attestation, error) {
	stmt := attestation.PublishStatement(filename, sha256hex)
	sig, err := attestation.SignECDSA(a.key, attestation.PAE(attestation.PayloadTypeInToto, stmt))
	if err != nil {
		return nil, err
	}
	env, _ := json.Marshal(attestation.Envelope{Payload: stmt, PayloadType: attestation.PayloadTypeInToto,
		Signatures: []attestation.EnvelopeSig{{Sig: sig}}})
	entry, err := a.backend.AddDSSE(env, a.Chain[0].Raw)
	if err != nil {
		return nil, err
	}
	return &attestation.Attestation{Version: 1,
		VerificationMaterial: attestation.VerificationMaterial{Certificate: a.Chain[0].Raw, TransparencyEntries: []attestation.TlogEntry{entry}},
		Envelope:             attestation.AttestationEnvelope{Statement: stmt, Signature: sig}}, nil
}

// verifyEnvelope checks the envelope's one signature with cert's key.
func verifyEnvelope(cert *x509.Certificate, env *attestation.Envelope) bool {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || len(env.Signatures) != 1 {
		return false
	}
	d := sha256Sum(attestation.PAE(env.PayloadType, env.Payload))
	return ecdsa.VerifyASN1(pub, d, env.Signatures[0].Sig)
}
