package attestation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Checkpoints are signed notes (transparency-dev/formats log/README.md):
//
//	<origin>\n<tree size>\n<base64 root hash>\n\n— <name> <base64(key hint || signature)>\n
//
// Rekor v1's key hint is the first four bytes of its log id.

// CheckpointBody is the note text a checkpoint signs.
func CheckpointBody(origin string, size int64, root []byte) string {
	return fmt.Sprintf("%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root))
}

// SignCheckpoint signs a checkpoint body with a log key, naming the
// signer as Rekor does (its host name).
func SignCheckpoint(body, name string, key crypto.Signer, logID []byte) (string, error) {
	sig, err := SignECDSA(key, []byte(body))
	if err != nil {
		return "", err
	}
	blob := append(append([]byte{}, logID[:4]...), sig...)
	return body + "\n\u2014 " + name + " " + base64.StdEncoding.EncodeToString(blob) + "\n", nil
}

// SignECDSA signs SHA-256(data) (ASN.1 DER signature).
func SignECDSA(key crypto.Signer, data []byte) ([]byte, error) {
	d := sha256.Sum256(data)
	return key.Sign(rand.Reader, d[:], crypto.SHA256)
}

var noteSigRe = regexp.MustCompile("\u2014 (\\S+) (\\S+)\n")

// verifyCheckpoint is sigstore-python's verify_checkpoint
// (sigstore/_internal/rekor/checkpoint.py) with its messages.
func verifyCheckpoint(keys *keyring, e *TlogEntry) error {
	p := e.InclusionProof
	if p.Checkpoint == nil {
		return verr("Inclusion proof does not contain a checkpoint")
	}
	text := p.Checkpoint.Envelope
	if strings.Count(text, "\n\n") != 1 {
		return verr("note must contain one blank line, delineating the text from the signature block")
	}
	split := strings.Index(text, "\n\n")
	header, data := text[:split+1], text[split+2:]
	if data == "" {
		return verr("malformed Note: must contain at least one signature")
	}
	if !strings.HasSuffix(data, "\n") {
		return verr("malformed Note: data section must end with newline")
	}
	type noteSig struct{ hint, sig []byte }
	var sigs []noteSig
	for _, m := range noteSigRe.FindAllStringSubmatch(data, -1) {
		raw, err := pyB64Decode(m[2])
		if err != nil {
			return unknownErr("%s", err)
		}
		if len(raw) < 5 {
			return verr("malformed Note: signature contains too few bytes")
		}
		sigs = append(sigs, noteSig{raw[:4], raw[4:]})
	}
	lines := strings.Split(strings.TrimSpace(header), "\n")
	if len(lines) < 3 {
		return verr("malformed LogCheckpoint: too few items in header")
	}
	if lines[0] == "" {
		return verr("malformed LogCheckpoint: empty origin")
	}
	if _, err := strconv.Atoi(strings.TrimSpace(lines[1])); err != nil {
		return verr("malformed LogCheckpoint: invalid log size")
	}
	root, err := pyB64Decode(lines[2])
	if err != nil {
		return verr("malformed LogCheckpoint: invalid root hash")
	}
	found := false
	for _, s := range sigs {
		if string(s.hint) == string(e.LogID.KeyID[:min(4, len(e.LogID.KeyID))]) {
			if err := keys.verify(e.LogID.KeyID, s.sig, []byte(header)); err != nil {
				return verr("checkpoint: invalid signature: %s", err.Error())
			}
			found = true
			break
		}
	}
	if !found {
		return verr("checkpoint: Signature not found for log ID %s", hex.EncodeToString(e.LogID.KeyID))
	}
	if hex.EncodeToString(root) != hex.EncodeToString(p.RootHash) {
		// sigstore-python raises VerificationError with two arguments,
		// so str() of it is the tuple's repr.
		return verr("('Inclusion proof contains invalid root hash signature: ', 'expected %s got %s')",
			hex.EncodeToString(root), hex.EncodeToString(p.RootHash))
	}
	return nil
}

// pyB64Decode is base64.b64decode without validate: characters outside
// the alphabet are discarded, padding must be right.
func pyB64Decode(s string) ([]byte, error) {
	var clean strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '=' {
			clean.WriteRune(r)
		}
	}
	b, err := base64.StdEncoding.DecodeString(clean.String())
	if err != nil {
		return nil, fmt.Errorf("Incorrect padding")
	}
	return b, nil
}

// keyring is sigstore-python's Keyring (sigstore/_internal/trust.py):
// keys by id; an unknown id tries every key.
type keyring struct {
	keys map[string]crypto.PublicKey
	ids  []string
}

func newKeyring(logs []TransparencyLogInstance) *keyring {
	k := &keyring{keys: map[string]crypto.PublicKey{}}
	for _, l := range logs {
		pub, err := x509.ParsePKIXPublicKey(l.PublicKey.RawBytes)
		if err != nil {
			continue // "Failed to load a trusted root key" is only logged
		}
		id := string(KeyID(l.PublicKey.RawBytes))
		if _, dup := k.keys[id]; !dup {
			k.ids = append(k.ids, id)
		}
		k.keys[id] = pub
	}
	return k
}

func (k *keyring) verify(keyID, sig, data []byte) error {
	cands := []crypto.PublicKey{}
	if pub, ok := k.keys[string(keyID)]; ok {
		cands = append(cands, pub)
	} else {
		for _, id := range k.ids {
			cands = append(cands, k.keys[id])
		}
	}
	for _, pub := range cands {
		if verifySig(pub, sig, data) {
			return nil
		}
	}
	return fmt.Errorf("keyring: invalid signature")
}

// verifySig checks a signature over data: ECDSA with the curve's hash,
// RSA PKCS#1 v1.5 SHA-256, or Ed25519, as the Key class does.
func verifySig(pub crypto.PublicKey, sig, data []byte) bool {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		var d []byte
		switch p.Curve.Params().BitSize {
		case 384:
			s := sha512.Sum384(data)
			d = s[:]
		case 521:
			s := sha512.Sum512(data)
			d = s[:]
		default:
			s := sha256.Sum256(data)
			d = s[:]
		}
		return ecdsa.VerifyASN1(p, d, sig)
	case *rsa.PublicKey:
		s := sha256.Sum256(data)
		return rsa.VerifyPKCS1v15(p, crypto.SHA256, s[:], sig) == nil
	case ed25519.PublicKey:
		return ed25519.Verify(p, data, sig)
	}
	return false
}
