package sigstore

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/fakepypi/fakepypi/internal/controlplane"
)

// Routes is the table of contents of the fake Sigstore's HTTP API. Fulcio
// and Rekor are separate hosts in production; their paths do not overlap,
// so one handler serves both (the harness's proxy sends fulcio.sigstore.dev
// and rekor.sigstore.dev here).
var Routes = []string{
	"POST   /api/v2/signingCert                 Fulcio: certificate for an identity token (CSR or public key)",
	"GET    /api/v2/trustBundle                 Fulcio: the CA chain",
	"GET    /api/v1/log                         Rekor: tree size, root hash, signed checkpoint",
	"GET    /api/v1/log/publicKey               Rekor: the log's public key (PEM)",
	"POST   /api/v1/log/entries                 Rekor: log a dsse 0.0.1 entry",
	"GET    /api/v1/log/entries?logIndex=N      Rekor: an entry by index",
	"GET    /api/v1/log/entries/{uuid}          Rekor: an entry by UUID",
	"GET    /_fake/sigstore/trusted_root.json   the trusted root to verify against",
	"GET    /_fake/sigstore/faults              active faults",
	"PUT    /_fake/sigstore/faults              set faults: {\"faults\": [\"expired-certificate\"]}",
	"DELETE /_fake/sigstore/faults              clear faults",
}

// Handler serves the fake's HTTP API (Routes).
func (s *Sigstore) Handler() http.Handler {
	r := mux.NewRouter()
	// Fulcio (fulcio pkg/server/grpc_server.go, REST through grpc-gateway).
	r.Path("/api/v2/signingCert").Methods(http.MethodPost).HandlerFunc(s.handleSigningCert)
	r.Path("/api/v2/trustBundle").Methods(http.MethodGet).HandlerFunc(s.handleTrustBundle)
	// Rekor v1 (rekor openapi.yaml).
	r.Path("/api/v1/log").Methods(http.MethodGet).HandlerFunc(s.handleLogInfo)
	r.Path("/api/v1/log/publicKey").Methods(http.MethodGet).HandlerFunc(s.handlePublicKey)
	r.Path("/api/v1/log/entries").Methods(http.MethodPost).HandlerFunc(s.handleCreateEntry)
	r.Path("/api/v1/log/entries").Methods(http.MethodGet).HandlerFunc(s.handleEntryByIndex)
	r.Path("/api/v1/log/entries/{uuid}").Methods(http.MethodGet).HandlerFunc(s.handleEntryByUUID)
	// Control.
	r.Path(TrustedRootPath).Methods(http.MethodGet).HandlerFunc(s.handleTrustedRoot)
	r.Path("/_fake/sigstore/faults").Methods(http.MethodGet, http.MethodPut, http.MethodDelete).HandlerFunc(s.handleFaults)
	p := s.cfg.Control
	p.Open = append(append([]string(nil), p.Open...), TrustedRootPath)
	return controlplane.Guard(r, p, func(w http.ResponseWriter, _ *http.Request, status int, msg string) {
		writeJSON(w, status, map[string]any{"code": status, "message": msg})
	})
}

// TrustedRootPath serves trusted_root.json.
const TrustedRootPath = "/_fake/sigstore/trusted_root.json"

const maxRequest = 1 << 20

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeErr answers in Fulcio's grpc-gateway envelope and Rekor's
// {"code","message"}; both carry code and message.
func writeErr(w http.ResponseWriter, err error) {
	var e *Error
	if errors.As(err, &e) {
		writeJSON(w, e.Status, map[string]any{"code": e.Status, "message": e.Msg})
		return
	}
	writeJSON(w, http.StatusInternalServerError, map[string]any{"code": 500, "message": err.Error()})
}

func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
	if err != nil {
		return &Error{400, err.Error()}
	}
	if len(b) > maxRequest {
		return &Error{413, "request too large"}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &Error{400, "invalid JSON: " + err.Error()}
	}
	return nil
}

func (s *Sigstore) handleSigningCert(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Credentials struct {
			OIDCIdentityToken string `json:"oidcIdentityToken"`
		} `json:"credentials"`
		PublicKeyRequest *struct {
			PublicKey struct {
				Algorithm string `json:"algorithm"`
				Content   string `json:"content"`
			} `json:"publicKey"`
			ProofOfPossession []byte `json:"proofOfPossession"`
		} `json:"publicKeyRequest"`
		CertificateSigningRequest []byte `json:"certificateSigningRequest"`
	}
	if err := readJSON(r, &req); err != nil {
		writeErr(w, err)
		return
	}
	var pub any
	var prove func(string) error
	switch {
	case len(req.CertificateSigningRequest) > 0:
		der := req.CertificateSigningRequest
		if b, _ := pem.Decode(der); b != nil {
			der = b.Bytes
		}
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil {
			writeErr(w, &Error{400, "The certificate signing request could not be parsed: " + err.Error()})
			return
		}
		pub = csr.PublicKey
		prove = func(string) error { return csr.CheckSignature() }
	case req.PublicKeyRequest != nil:
		b, _ := pem.Decode([]byte(req.PublicKeyRequest.PublicKey.Content))
		if b == nil {
			writeErr(w, &Error{400, "The public key supplied in the request could not be parsed"})
			return
		}
		p, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			writeErr(w, &Error{400, "The public key supplied in the request could not be parsed: " + err.Error()})
			return
		}
		pub = p
		proof := req.PublicKeyRequest.ProofOfPossession
		prove = func(subject string) error {
			d := sha256.Sum256([]byte(subject))
			if !verifyDigest(p, d[:], proof) {
				return errors.New("signature over the subject does not verify")
			}
			return nil
		}
	default:
		writeErr(w, &Error{400, "The public key supplied in the request could not be parsed"})
		return
	}
	chain, err := s.SigningCert(req.Credentials.OIDCIdentityToken, pub, prove)
	if err != nil {
		writeErr(w, err)
		return
	}
	pems := make([]string, len(chain))
	for i, c := range chain {
		pems[i] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	writeJSON(w, http.StatusCreated, map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": pems}}})
}

func (s *Sigstore) handleTrustBundle(w http.ResponseWriter, r *http.Request) {
	pems := []string{
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ca.inter.Raw})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ca.root.Raw})),
	}
	writeJSON(w, http.StatusOK, map[string]any{"chains": []any{map[string]any{"certificates": pems}}})
}

func (s *Sigstore) handleLogInfo(w http.ResponseWriter, r *http.Request) {
	info, err := s.log.info()
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Sigstore) handlePublicKey(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(s.log.publicKeyPEM())
}

func (s *Sigstore) handleCreateEntry(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
		Spec       struct {
			ProposedContent struct {
				Envelope  string   `json:"envelope"`
				Verifiers [][]byte `json:"verifiers"`
			} `json:"proposedContent"`
		} `json:"spec"`
	}
	if err := readJSON(r, &req); err != nil {
		writeErr(w, err)
		return
	}
	if req.Kind != "dsse" || req.APIVersion != "0.0.1" {
		writeErr(w, &Error{400, fmt.Sprintf("this log accepts dsse 0.0.1 entries, not %s %s", req.Kind, req.APIVersion)})
		return
	}
	if len(req.Spec.ProposedContent.Verifiers) != 1 {
		writeErr(w, &Error{400, "exactly one verifier is required"})
		return
	}
	b, _ := pem.Decode(req.Spec.ProposedContent.Verifiers[0])
	if b == nil {
		writeErr(w, &Error{400, "verifier is not a PEM certificate"})
		return
	}
	e, uuid, err := s.AddDSSE([]byte(req.Spec.ProposedContent.Envelope), b.Bytes)
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/log/entries/"+uuid)
	writeJSON(w, http.StatusCreated, v1Entry(e, uuid))
}

func (s *Sigstore) handleEntryByIndex(w http.ResponseWriter, r *http.Request) {
	idx, err := strconv.ParseInt(r.URL.Query().Get("logIndex"), 10, 64)
	if err != nil {
		writeErr(w, &Error{400, "logIndex must be an integer"})
		return
	}
	s.serveEntry(w, "", idx)
}

func (s *Sigstore) handleEntryByUUID(w http.ResponseWriter, r *http.Request) {
	s.serveEntry(w, mux.Vars(r)["uuid"], -1)
}

func (s *Sigstore) serveEntry(w http.ResponseWriter, uuid string, idx int64) {
	e, id, ok, err := s.Entry(uuid, idx)
	if err != nil {
		writeErr(w, err)
		return
	}
	if !ok {
		writeErr(w, &Error{404, "Entry not found"})
		return
	}
	writeJSON(w, http.StatusOK, v1Entry(e, id))
}

func (s *Sigstore) handleTrustedRoot(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.TrustedRootJSON())
}

func (s *Sigstore) handleFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPut:
		var req struct {
			Faults []string `json:"faults"`
		}
		if err := readJSON(r, &req); err != nil {
			writeErr(w, err)
			return
		}
		if err := s.SetFaults(req.Faults...); err != nil {
			writeErr(w, &Error{400, err.Error()})
			return
		}
	case http.MethodDelete:
		s.SetFaults()
	}
	writeJSON(w, http.StatusOK, map[string]any{"faults": s.ActiveFaults(), "known": FaultHelp})
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

func verifyDigest(pub any, digest, sig []byte) bool {
	k, ok := pub.(*ecdsa.PublicKey)
	return ok && ecdsa.VerifyASN1(k, digest, sig)
}
