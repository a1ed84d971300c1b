package issuer

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
)

// keyBits is the RSA modulus size GitHub uses: its signatures are 342
// base64url characters, i.e. 256 bytes (a real token in di/id test/unit/internal/oidc/gha_token.txt).
const keyBits = 2048

// kidNamespace turns a key's JWK thumbprint into a version-5 UUID, the form
// of GitHub's own kids (e.g. "38826b17-6a30-5f9b-b169-8beb8202f723").
var kidNamespace = uuid.MustParse("6f1c6c5e-2f0a-4d0e-9a57-66616b657079")

// signingKey is one RSA key with its published identity.
type signingKey struct {
	priv *rsa.PrivateKey
	kid  string
	x5t  string // base64url SHA-1 of the certificate, as GitHub publishes
	cert *x509.Certificate
}

func (k *signingKey) public() jose.JSONWebKey {
	return jose.JSONWebKey{
		Key:                       &k.priv.PublicKey,
		KeyID:                     k.kid,
		Algorithm:                 string(jose.RS256),
		Use:                       "sig",
		Certificates:              []*x509.Certificate{k.cert},
		CertificateThumbprintSHA1: sha1Sum(k.cert.Raw),
	}
}

func (k *signingKey) private() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv, KeyID: k.kid, Algorithm: string(jose.RS256), Use: "sig"}
}

func sha1Sum(b []byte) []byte { s := sha1.Sum(b); return s[:] }

// keyring holds the published keys; the last one signs. Retired keys leave
// the JWKS, so tokens they signed stop verifying, as after a real rotation.
type keyring struct {
	mu   sync.Mutex
	seed string // "" means random keys
	next int    // index of the next key generated from seed
	keys []*signingKey
}

// newKeyring starts with n keys: derived from seed when it is set;
// otherwise random, read from keyFile when it names one (the keys missing
// from it are generated and added to it).
func newKeyring(seed string, n int, keyFile string) (*keyring, error) {
	if n < 1 {
		n = 1
	}
	kr := &keyring{seed: seed}
	if seed == "" && keyFile != "" {
		keys, err := readKeyFile(keyFile)
		if err != nil {
			return nil, err
		}
		kr.keys = keys[:min(n, len(keys))]
	}
	missing := n - len(kr.keys)
	for range missing {
		if _, err := kr.rotate(); err != nil {
			return nil, err
		}
	}
	if seed == "" && keyFile != "" && missing > 0 {
		if err := writeKeyFile(keyFile, kr.keys); err != nil {
			return nil, err
		}
	}
	return kr, nil
}

// readKeyFile reads the keys of a key file: PEM blocks, each RSA PRIVATE
// KEY (PKCS #1) followed by its CERTIFICATE. A missing file holds no keys.
// Reading a key back costs about a millisecond; generating one costs tens
// of milliseconds (a median of 33 ms and up to 177 ms over 30 runs on a
// 2-core machine), which was most of the harness's start.
func readKeyFile(path string) ([]*signingKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("issuer key file: %w", err)
	}
	bad := func(why string) error {
		return fmt.Errorf("issuer key file %s: %s (remove it to start with new keys)", path, why)
	}
	var keys []*signingKey
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "RSA PRIVATE KEY" {
			return nil, bad("unexpected " + b.Type + " block")
		}
		priv, err := x509.ParsePKCS1PrivateKey(b.Bytes)
		if err != nil {
			return nil, bad(err.Error())
		}
		if priv.N.BitLen() != keyBits {
			return nil, bad(fmt.Sprintf("a %d-bit key, not %d", priv.N.BitLen(), keyBits))
		}
		var c *pem.Block
		if c, rest = pem.Decode(rest); c == nil || c.Type != "CERTIFICATE" {
			return nil, bad("a key without its certificate")
		}
		k, err := keyWithCert(priv, c.Bytes)
		if err != nil {
			return nil, bad(err.Error())
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, bad("no keys")
	}
	return keys, nil
}

// writeKeyFile replaces path with keys, atomically and readable only by
// its owner (the keys sign tokens every index of the harness trusts).
func writeKeyFile(path string, keys []*signingKey) error {
	var buf bytes.Buffer
	for _, k := range keys {
		pem.Encode(&buf, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.priv)})
		pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: k.cert.Raw})
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".issuer-keys-*")
	if err != nil {
		return fmt.Errorf("issuer key file: %w", err)
	}
	_, werr := f.Write(buf.Bytes())
	if err := errors.Join(werr, f.Chmod(0o600), f.Close()); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("issuer key file: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("issuer key file: %w", err)
	}
	return nil
}

// rotate adds a key and makes it the signing key; older keys stay published.
func (kr *keyring) rotate() (*signingKey, error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	var (
		k   *signingKey
		err error
	)
	if kr.seed == "" {
		k, err = randomKey()
	} else {
		k, err = seededKey(kr.seed, kr.next)
		kr.next++
	}
	if err != nil {
		return nil, err
	}
	kr.keys = append(kr.keys, k)
	return k, nil
}

// ErrLastKey is returned when retiring would leave no key to sign with.
var ErrLastKey = errors.New("cannot retire the only key")

// ErrUnknownKey is returned for a kid that is not published.
var ErrUnknownKey = errors.New("no such key")

// retire removes a key from the JWKS. Retiring the signing key makes the
// newest remaining key sign.
func (kr *keyring) retire(kid string) error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	for i, k := range kr.keys {
		if k.kid != kid {
			continue
		}
		if len(kr.keys) == 1 {
			return ErrLastKey
		}
		kr.keys = append(kr.keys[:i:i], kr.keys[i+1:]...)
		return nil
	}
	return fmt.Errorf("%w: %q", ErrUnknownKey, kid)
}

func (kr *keyring) active() *signingKey {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	return kr.keys[len(kr.keys)-1]
}

func (kr *keyring) list() []*signingKey {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	return append([]*signingKey(nil), kr.keys...)
}

func (kr *keyring) jwks() jose.JSONWebKeySet {
	var set jose.JSONWebKeySet
	for _, k := range kr.list() {
		set.Keys = append(set.Keys, k.public())
	}
	return set
}

func randomKey() (*signingKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("generate RSA key: %w", err)
	}
	return wrapKey(priv)
}

// seededKeys caches keys derived from a seed: deriving a 2048-bit key costs
// a noticeable fraction of a second, and tests start many servers with the
// same seed.
var seededKeys sync.Map // "seed\x00index" -> *signingKey

// seededKey derives key number index from seed. Since Go 1.26 crypto/rsa
// ignores the caller's randomness source, so the primes are searched here
// from a SHA-256 counter stream: the same seed always gives the same key.
func seededKey(seed string, index int) (*signingKey, error) {
	cacheKey := fmt.Sprintf("%s\x00%d", seed, index)
	if k, ok := seededKeys.Load(cacheKey); ok {
		return k.(*signingKey), nil
	}
	stream := &hashStream{seed: []byte(fmt.Sprintf("fakeissuer key %d\x00%s", index, seed))}
	e := big.NewInt(65537)
	p, err := seededPrime(stream, keyBits/2, e)
	if err != nil {
		return nil, err
	}
	q, err := seededPrime(stream, keyBits/2, e)
	if err != nil {
		return nil, err
	}
	if p.Cmp(q) == 0 {
		return nil, errors.New("seeded key: p == q")
	}
	one := big.NewInt(1)
	n := new(big.Int).Mul(p, q)
	phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
	d := new(big.Int).ModInverse(e, phi)
	if d == nil || n.BitLen() != keyBits {
		return nil, errors.New("seeded key: bad parameters")
	}
	priv := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: n, E: int(e.Int64())},
		D:         d,
		Primes:    []*big.Int{p, q},
	}
	priv.Precompute()
	if err := priv.Validate(); err != nil {
		return nil, fmt.Errorf("seeded key: %w", err)
	}
	k, err := wrapKey(priv)
	if err != nil {
		return nil, err
	}
	actual, _ := seededKeys.LoadOrStore(cacheKey, k)
	return actual.(*signingKey), nil
}

func seededPrime(r io.Reader, bits int, e *big.Int) (*big.Int, error) {
	buf := make([]byte, bits/8)
	one := big.NewInt(1)
	for range 100000 {
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		// Top two bits set so p*q has exactly 2*bits bits; odd.
		buf[0] |= 0xC0
		buf[len(buf)-1] |= 1
		p := new(big.Int).SetBytes(buf)
		if new(big.Int).GCD(nil, nil, new(big.Int).Sub(p, one), e).Cmp(one) != 0 {
			continue
		}
		if p.ProbablyPrime(20) {
			return p, nil
		}
	}
	return nil, errors.New("seeded key: no prime found")
}

// hashStream is a deterministic byte stream: SHA-256(seed || counter).
type hashStream struct {
	seed    []byte
	counter uint64
	buf     []byte
}

func (h *hashStream) Read(p []byte) (int, error) {
	for n := 0; n < len(p); {
		if len(h.buf) == 0 {
			var c [8]byte
			binary.BigEndian.PutUint64(c[:], h.counter)
			h.counter++
			sum := sha256.Sum256(append(append([]byte(nil), h.seed...), c[:]...))
			h.buf = sum[:]
		}
		m := copy(p[n:], h.buf)
		h.buf = h.buf[m:]
		n += m
	}
	return len(p), nil
}

// wrapKey names the key and gives it a self-signed certificate, so the JWKS
// carries x5c/x5t like GitHub's. The certificate is deterministic for a
// given key (fixed template, PKCS#1 v1.5 signatures are deterministic).
func wrapKey(priv *rsa.PrivateKey) (*signingKey, error) {
	pub := jose.JSONWebKey{Key: &priv.PublicKey}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("thumbprint: %w", err)
	}
	kid := uuid.NewSHA1(kidNamespace, tp).String()
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(tp[:16]),
		Subject:               pkix.Name{CommonName: "fakeissuer " + kid},
		NotBefore:             time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2044, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	return keyWithCert(priv, der)
}

// keyWithCert names priv and attaches its certificate (DER), which must
// be for priv's public key.
func keyWithCert(priv *rsa.PrivateKey, der []byte) (*signingKey, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&priv.PublicKey) {
		return nil, errors.New("the certificate is not for the key")
	}
	tp, err := (&jose.JSONWebKey{Key: &priv.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("thumbprint: %w", err)
	}
	kid := uuid.NewSHA1(kidNamespace, tp).String()
	return &signingKey{priv: priv, kid: kid, x5t: b64(sha1Sum(der)), cert: cert}, nil
}
