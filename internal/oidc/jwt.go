package oidc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/fakepypi/fakepypi/internal/clock"
)

// Leeway is PyPI's allowance on exp, iat and nbf
// (warehouse oidc/services.py `_JWT_LEEWAY = 30`).
const Leeway = 30

// Claims is a verified claim set as json.loads would produce it; numbers
// are json.Number so that "123" and 123 stay different, as in Python.
type Claims map[string]any

// String returns a claim that is a JSON string.
func (c Claims) String(name string) (string, bool) {
	s, ok := c[name].(string)
	return s, ok
}

// Present reports whether a claim exists and is not null (PyPI's
// `signed_claims.get(name) is None` test).
func (c Claims) Present(name string) bool {
	v, ok := c[name]
	return ok && v != nil
}

// Unverified is what PyPI reads from a JWT before checking it.
type Unverified struct {
	Header map[string]any
	Claims Claims

	payload []byte // the decoded payload segment Claims came from
}

// Peek decodes a JWT without verifying it, as PyJWT's
// jwt.decode(token, options={"verify_signature": False}) does: three
// base64url segments (padding optional, stray characters ignored as
// Python's base64 does), a JSON object header and a JSON object payload.
// Any failure is what PyPI reports as "malformed JWT".
func Peek(raw string) (Unverified, error) {
	dot := strings.LastIndexByte(raw, '.')
	if dot < 0 {
		return Unverified{}, errors.New("not enough segments")
	}
	signing, sig := raw[:dot], raw[dot+1:]
	h, p, ok := strings.Cut(signing, ".")
	if !ok {
		return Unverified{}, errors.New("not enough segments")
	}
	var u Unverified
	hb, err := pyB64URL(h)
	if err != nil {
		return u, fmt.Errorf("invalid header padding: %v", err)
	}
	if err := decodeObject(hb, &u.Header); err != nil {
		return u, fmt.Errorf("invalid header string: %v", err)
	}
	pb, err := pyB64URL(p)
	if err != nil {
		return u, fmt.Errorf("invalid payload padding: %v", err)
	}
	var claims map[string]any
	if err := decodeObject(pb, &claims); err != nil {
		return u, fmt.Errorf("invalid payload string: %v", err)
	}
	u.Claims, u.payload = claims, pb
	if _, err := pyB64URL(sig); err != nil {
		return u, fmt.Errorf("invalid crypto padding: %v", err)
	}
	return u, nil
}

func decodeObject(b []byte, dst *map[string]any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("extra data")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return errors.New("must be a json object")
	}
	*dst = m
	return nil
}

// pyB64URL decodes like PyJWT's base64url_decode: it pads the segment
// with "=" by its raw length, then Python's base64.urlsafe_b64decode
// (binascii.a2b_base64, non-strict) decodes it. Characters outside the
// alphabet (both "+/" and "-_" are in it) are discarded, but they count in
// the padding, so a stray character such as a trailing newline can leave
// the data incorrectly padded. Padding that completes a quantum ends the
// input; one that does not is ignored.
func pyB64URL(s string) ([]byte, error) {
	// The common case, a segment of the URL-safe alphabet only, decodes
	// the same with the standard library (Python also ignores the unused
	// low bits of the last character); anything else takes the long way.
	// Go's decoder skips CR and LF, which count in PyJWT's padding.
	if !strings.ContainsAny(s, "\r\n") {
		if out, err := base64.RawURLEncoding.DecodeString(s); err == nil {
			return out, nil
		}
	}
	return pyB64URLSlow(s)
}

// pyB64URLSlow is pyB64URL character by character, as binascii does.
func pyB64URLSlow(s string) ([]byte, error) {
	if rem := len(s) % 4; rem > 0 {
		s += strings.Repeat("=", 4-rem)
	}
	out := make([]byte, 0, len(s)/4*3)
	var acc uint32
	quad, pads := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			if quad >= 2 {
				pads++
				if quad+pads >= 4 {
					return out, nil
				}
			}
			continue
		}
		var v byte
		switch {
		case c >= 'A' && c <= 'Z':
			v = c - 'A'
		case c >= 'a' && c <= 'z':
			v = c - 'a' + 26
		case c >= '0' && c <= '9':
			v = c - '0' + 52
		case c == '-' || c == '+':
			v = 62
		case c == '_' || c == '/':
			v = 63
		default:
			continue
		}
		pads = 0
		acc = acc<<6 | uint32(v)
		quad++
		switch quad {
		case 2:
			out = append(out, byte(acc>>4))
			acc &= 0x0f
		case 3:
			out = append(out, byte(acc>>2))
			acc &= 0x03
		case 4:
			out = append(out, byte(acc))
			acc, quad = 0, 0
		}
	}
	if quad != 0 {
		return nil, errors.New("incorrect padding")
	}
	return out, nil
}

// Verifier checks JWT signatures and registered claims.
type Verifier struct {
	Clock clock.Clock
	Keys  *KeyCache
}

// Error is a verification failure. PyPI says only "malformed or invalid
// token"; Reason is the harness's explanation.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

func fail(format string, args ...any) error { return &Error{Reason: fmt.Sprintf(format, args...)} }

// Verify checks raw against the keys of iss, following
// OIDCPublisherService.verify_jwt_signature and PyJWT 2.13's decode.
// The audience is passed in because /_fake/ may change it at any time.
func (v *Verifier) Verify(raw string, iss Issuer, audience string) (Claims, error) {
	u, err := Peek(raw)
	if err != nil {
		return nil, fail("malformed JWT: %v", err)
	}
	return v.VerifyPeeked(raw, u, iss, audience)
}

// VerifyPeeked is Verify for a caller that has already decoded raw with
// Peek (as the exchange does, to find the issuer): the header is not
// decoded a second time.
func (v *Verifier) VerifyPeeked(raw string, u Unverified, iss Issuer, audience string) (Claims, error) {
	kid, ok := u.Header["kid"].(string)
	if !ok {
		if _, present := u.Header["kid"]; present {
			return nil, fail("header kid is not a string")
		}
		return nil, fail("header has no kid")
	}
	alg, _ := u.Header["alg"].(string)
	if alg != "RS256" {
		// PyJWT: algorithms=["RS256"] rejects none, HS256, ES256 and the rest.
		return nil, fail("header alg %s is not allowed (only RS256)", strconv.Quote(alg))
	}
	key, err := v.Keys.Key(iss, kid)
	if err != nil {
		return nil, err
	}
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fail("cannot parse JWS: %v", err)
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, fail("signature does not verify with key %s of %s", strconv.Quote(kid), iss.URL)
	}
	c := u.Claims
	if c == nil || !bytes.Equal(payload, u.payload) {
		// What was signed is not what Peek decoded (a segment only
		// Python's lenient base64 reads alike): decode what was signed.
		var m map[string]any
		if err := decodeObject(payload, &m); err != nil {
			return nil, fail("payload: %v", err)
		}
		c = Claims(m)
	}
	if err := v.checkClaims(c, iss.URL, audience); err != nil {
		return nil, err
	}
	return c, nil
}

// checkClaims applies PyJWT's registered-claim checks in its order:
// require, iat, nbf, exp, iss, aud, sub, jti.
func (v *Verifier) checkClaims(c Claims, issuer, audience string) error {
	for _, name := range []string{"iss", "iat", "exp", "aud"} {
		if !c.Present(name) {
			return fail("required claim %s is missing", name)
		}
	}
	now := float64(v.Clock.Now().UnixNano()) / 1e9
	iat, err := pyInt(c["iat"])
	if err != nil {
		return fail("iat is not an integer")
	}
	if float64(iat) > now+Leeway {
		return fail("iat %d is more than %d s in the future (now %d)", iat, Leeway, int64(now))
	}
	if _, ok := c["nbf"]; ok { // PyJWT: `if "nbf" in payload`, so null is checked (and fails)
		nbf, err := pyInt(c["nbf"])
		if err != nil {
			return fail("nbf is not an integer")
		}
		if float64(nbf) > now+Leeway {
			return fail("nbf %d is more than %d s in the future (now %d)", nbf, Leeway, int64(now))
		}
	}
	exp, err := pyInt(c["exp"])
	if err != nil {
		return fail("exp is not an integer")
	}
	if float64(exp) <= now-Leeway {
		return fail("expired: exp %d is more than %d s in the past (now %d)", exp, Leeway, int64(now))
	}
	if s, ok := c["iss"].(string); !ok || s != issuer {
		return fail("iss does not equal %s", strconv.Quote(issuer))
	}
	aud, ok := c["aud"].(string)
	if !ok {
		// strict_aud=True: even ["pypi"] fails.
		return fail("aud must be a single string (strict), got %s", jsonText(c["aud"]))
	}
	if aud != audience {
		return fail("aud %s does not equal the audience %s", strconv.Quote(aud), strconv.Quote(audience))
	}
	if _, ok := c["sub"]; ok {
		if _, isStr := c["sub"].(string); !isStr {
			return fail("sub is not a string")
		}
	}
	if _, ok := c["jti"]; ok {
		if _, isStr := c["jti"].(string); !isStr {
			return fail("jti is not a string")
		}
	}
	return nil
}

// pyInt is Python's int() on a decoded JSON value: floats truncate,
// numeric strings parse, booleans are 0/1, anything else fails.
func pyInt(v any) (int64, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, errors.New("not a number")
		}
		return int64(f), nil
	case string:
		return strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(x), "_", ""), 10, 64)
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	}
	return 0, errors.New("not a number")
}

// Int returns a claim as Python's int() would (for exp when storing a jti).
func (c Claims) Int(name string) (int64, bool) {
	i, err := pyInt(c[name])
	return i, err == nil
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Now returns the verifier's time, for callers that record it.
func (v *Verifier) Now() time.Time { return v.Clock.Now() }

// CheckClaims checks the registered claims (iat, nbf, exp, iss, aud, sub,
// jti) as Verify does once the signature holds: for a claim set whose
// signature is not at hand, such as the claims debugger's pasted claims.
func (v *Verifier) CheckClaims(c Claims, issuer, audience string) error {
	return v.checkClaims(c, issuer, audience)
}
