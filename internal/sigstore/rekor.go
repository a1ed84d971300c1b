package sigstore

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fakepypi/fakepypi/internal/attestation"
)

// The log is Rekor v1's shape for dsse 0.0.1 entries: an RFC 6962 tree of
// canonicalized bodies, each entry answered with its integrated time, a
// signed entry timestamp (SET), and an inclusion proof against a signed
// checkpoint of the tree that includes it.

type rekorLog struct {
	mu     sync.Mutex
	key    *ecdsa.PrivateKey
	spki   []byte
	logID  []byte
	treeID int64
	name   string // the checkpoint's signer name, Rekor's host
	leaves [][]byte
	items  []logItem
}

type logItem struct {
	body           []byte
	integratedTime int64
	uuid           string
}

func newRekorLog(name string) (*rekorLog, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	var b [8]byte
	rand.Read(b[:])
	return &rekorLog{key: key, spki: spki, logID: attestation.KeyID(spki), name: name,
		treeID: int64(binary.BigEndian.Uint64(b[:]) >> 2)}, nil
}

func (l *rekorLog) origin() string { return fmt.Sprintf("%s - %d", l.name, l.treeID) }

// dsseBody is Rekor's canonicalized dsse 0.0.1 body for an envelope and
// the certificate that verifies it (rekor pkg/types/dsse/v0.0.1; keys in
// the order Rekor's canonical JSON writes them).
func dsseBody(envelopeJSON []byte, env *attestation.Envelope, certDER []byte) []byte {
	eh := sha256.Sum256(envelopeJSON)
	ph := sha256.Sum256(env.Payload)
	body := attestation.DSSEBody{APIVersion: "0.0.1", Kind: "dsse", Spec: attestation.DSSESpec{
		EnvelopeHash: &attestation.Hash{Algorithm: "sha256", Value: hex.EncodeToString(eh[:])},
		PayloadHash:  &attestation.Hash{Algorithm: "sha256", Value: hex.EncodeToString(ph[:])},
	}}
	for _, s := range env.Signatures {
		body.Spec.Signatures = append(body.Spec.Signatures, attestation.DSSESignature{
			Signature: b64(s.Sig), Verifier: attestation.PEMBase64(certDER)})
	}
	out, _ := json.Marshal(body)
	return out
}

// entryFaults are the log's faults for one entry.
type entryFaults struct {
	missing, badProof bool
}

// add logs a dsse entry (unless missing) and returns it with its proof.
func (l *rekorLog) add(body []byte, now time.Time, f entryFaults) (attestation.TlogEntry, string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	leaf := attestation.LeafHash(body)
	index := int64(len(l.leaves))
	uuid := hex.EncodeToString(leaf)
	it := logItem{body: body, integratedTime: now.Unix(), uuid: uuid}
	if !f.missing {
		l.leaves = append(l.leaves, leaf)
		l.items = append(l.items, it)
	}
	e, err := l.entryLocked(index, it)
	if err != nil {
		return e, "", err
	}
	if f.badProof {
		// One bit of the proven root flipped: the path no longer leads to it.
		e.InclusionProof.RootHash[0] ^= 0x01
	}
	return e, uuid, nil
}

// entryLocked is the TransparencyLogEntry of item at index, proven
// against the current tree (which may not contain it: missing-entry).
func (l *rekorLog) entryLocked(index int64, it logItem) (attestation.TlogEntry, error) {
	size := int64(len(l.leaves))
	root := attestation.RootHash(l.leaves)
	var path [][]byte
	if index < size {
		path = attestation.InclusionPath(int(index), l.leaves)
	}
	cp, err := attestation.SignCheckpoint(attestation.CheckpointBody(l.origin(), size, root), l.name, l.key, l.logID)
	if err != nil {
		return attestation.TlogEntry{}, err
	}
	set, err := attestation.SignECDSA(l.key, attestation.SETPayload(it.body, it.integratedTime, index, l.logID))
	if err != nil {
		return attestation.TlogEntry{}, err
	}
	if path == nil {
		path = [][]byte{}
	}
	return attestation.TlogEntry{
		LogIndex: attestation.Int64(index), LogID: attestation.LogID{KeyID: l.logID},
		KindVersion:      attestation.KindVersion{Kind: "dsse", Version: "0.0.1"},
		IntegratedTime:   attestation.Int64(it.integratedTime),
		InclusionPromise: &attestation.InclusionPromise{SignedEntryTimestamp: set},
		InclusionProof: &attestation.InclusionProof{LogIndex: attestation.Int64(index), RootHash: root,
			TreeSize: attestation.Int64(size), Hashes: path, Checkpoint: &attestation.Checkpoint{Envelope: cp}},
		CanonicalizedBody: it.body,
	}, nil
}

// lookup finds a logged entry by uuid or index.
func (l *rekorLog) lookup(uuid string, index int64) (attestation.TlogEntry, string, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, it := range l.items {
		if (uuid != "" && it.uuid == uuid) || (uuid == "" && int64(i) == index) {
			e, err := l.entryLocked(int64(i), it)
			return e, it.uuid, true, err
		}
	}
	return attestation.TlogEntry{}, "", false, nil
}

// info is GET /api/v1/log.
func (l *rekorLog) info() (map[string]any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	size := int64(len(l.leaves))
	root := attestation.RootHash(l.leaves)
	cp, err := attestation.SignCheckpoint(attestation.CheckpointBody(l.origin(), size, root), l.name, l.key, l.logID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"rootHash": hex.EncodeToString(root), "treeSize": size,
		"signedTreeHead": cp, "treeID": fmt.Sprint(l.treeID)}, nil
}

func (l *rekorLog) publicKeyPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: l.spki})
}

// v1Entry is Rekor's LogEntry JSON for one entry (hex hashes, base64 body
// and SET), the answer of POST and GET /api/v1/log/entries.
func v1Entry(e attestation.TlogEntry, uuid string) map[string]any {
	hashes := make([]string, len(e.InclusionProof.Hashes))
	for i, h := range e.InclusionProof.Hashes {
		hashes[i] = hex.EncodeToString(h)
	}
	return map[string]any{uuid: map[string]any{
		"body":           b64(e.CanonicalizedBody),
		"integratedTime": int64(e.IntegratedTime),
		"logID":          hex.EncodeToString(e.LogID.KeyID),
		"logIndex":       int64(e.LogIndex),
		"verification": map[string]any{
			"inclusionProof": map[string]any{
				"checkpoint": e.InclusionProof.Checkpoint.Envelope,
				"hashes":     hashes,
				"logIndex":   int64(e.InclusionProof.LogIndex),
				"rootHash":   hex.EncodeToString(e.InclusionProof.RootHash),
				"treeSize":   int64(e.InclusionProof.TreeSize),
			},
			"signedEntryTimestamp": b64(e.InclusionPromise.SignedEntryTimestamp),
		},
	}}
}

// FromV1Entry converts Rekor's LogEntry answer to the protobuf
// TransparencyLogEntry (sigstore-python TransparencyLogEntry._from_v1_response).
func FromV1Entry(raw []byte) (attestation.TlogEntry, error) {
	var m map[string]struct {
		Body           []byte `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogID          string `json:"logID"`
		LogIndex       int64  `json:"logIndex"`
		Verification   struct {
			InclusionProof struct {
				Checkpoint string   `json:"checkpoint"`
				Hashes     []string `json:"hashes"`
				LogIndex   int64    `json:"logIndex"`
				RootHash   string   `json:"rootHash"`
				TreeSize   int64    `json:"treeSize"`
			} `json:"inclusionProof"`
			SignedEntryTimestamp []byte `json:"signedEntryTimestamp"`
		} `json:"verification"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return attestation.TlogEntry{}, err
	}
	if len(m) != 1 {
		return attestation.TlogEntry{}, errors.New("Received multiple entries in response")
	}
	for _, v := range m {
		var kv struct {
			Kind       string `json:"kind"`
			APIVersion string `json:"apiVersion"`
		}
		if err := json.Unmarshal(v.Body, &kv); err != nil {
			return attestation.TlogEntry{}, fmt.Errorf("log entry body: %w", err)
		}
		logID, err := hex.DecodeString(v.LogID)
		if err != nil {
			return attestation.TlogEntry{}, err
		}
		p := v.Verification.InclusionProof
		root, err := hex.DecodeString(p.RootHash)
		if err != nil {
			return attestation.TlogEntry{}, err
		}
		hashes := make([][]byte, len(p.Hashes))
		for i, h := range p.Hashes {
			if hashes[i], err = hex.DecodeString(h); err != nil {
				return attestation.TlogEntry{}, err
			}
		}
		return attestation.TlogEntry{
			LogIndex: attestation.Int64(v.LogIndex), LogID: attestation.LogID{KeyID: logID},
			KindVersion:      attestation.KindVersion{Kind: kv.Kind, Version: kv.APIVersion},
			IntegratedTime:   attestation.Int64(v.IntegratedTime),
			InclusionPromise: &attestation.InclusionPromise{SignedEntryTimestamp: v.Verification.SignedEntryTimestamp},
			InclusionProof: &attestation.InclusionProof{LogIndex: attestation.Int64(p.LogIndex), RootHash: root,
				TreeSize: attestation.Int64(p.TreeSize), Hashes: hashes, Checkpoint: &attestation.Checkpoint{Envelope: p.Checkpoint}},
			CanonicalizedBody: v.Body,
		}, nil
	}
	panic("unreachable")
}
