// Package apitoken mints and checks PyPI API tokens: "pypi-" followed by a
// base64url macaroon in libmacaroons' v2 binary format (warehouse/macaroons/services.py).
//
// Two kinds exist, as on PyPI: short-lived tokens minted by the trusted
// publishing exchange (caveats OIDCPublisher, ProjectID, Expiration) and
// user API tokens, user-scoped or project-scoped, declared in the index
// configuration. The upload endpoint calls Authenticate to find who is
// calling and Authorize to check a token against a project; both return
// *Error values that carry PyPI's status and exact message.
package apitoken

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"gopkg.in/macaroon.v2"
)

// Prefix starts every PyPI token.
const Prefix = "pypi-"

// Caveat tags (warehouse macaroons/caveats/__init__.py).
const (
	TagExpiration    = 0
	TagProjectName   = 1
	TagProjectID     = 2
	TagRequestUser   = 3
	TagOIDCPublisher = 4
)

// serialize renders a caveat as warehouse does: json.dumps(...,
// sort_keys=True, separators=(",", ":")). Caveats are arrays of strings,
// integers, nulls and string lists, whose compact Go encoding is the same
// once HTML escaping is off.
func serialize(fields ...any) []byte {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(fields)
	s := strings.TrimSuffix(b.String(), "\n")
	return []byte(asciiJSON(s))
}

// asciiJSON applies json.dumps' default ensure_ascii to compact JSON.
func asciiJSON(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10)&0x3ff, 0xdc00+r&0x3ff)
		}
	}
	return b.String()
}

// mint builds "pypi-" + base64url(v2 macaroon). gopkg.in/macaroon.v2
// derives the key (HMAC-SHA256 keyed with "macaroons-key-generator") and
// chains the signature exactly like pymacaroons, and its V2 binary
// encoding is libmacaroons', so tokens verify on either side.
func mint(location string, id uuid.UUID, key []byte, caveats [][]byte) (string, error) {
	m, err := macaroon.New(key, []byte(id.String()), location, macaroon.V2)
	if err != nil {
		return "", err
	}
	for _, c := range caveats {
		if err := m.AddFirstPartyCaveat(c); err != nil {
			return "", err
		}
	}
	bin, err := m.MarshalBinary()
	if err != nil {
		return "", err
	}
	// urlsafe_b64encode(...).rstrip("=")
	return Prefix + base64.RawURLEncoding.EncodeToString(bin), nil
}

// Mint builds a token in the shape PyPI issues (warehouse/macaroons/
// services.py create_macaroon): a v2 macaroon located at location (the
// issuing index's domain), identified by id, keyed with key, carrying
// caveats. Tests use it to make tokens "issued by PyPI" with a key the
// index never sees.
func Mint(location string, id uuid.UUID, key []byte, caveats ...string) (string, error) {
	cavs := make([][]byte, len(caveats))
	for i, c := range caveats {
		cavs[i] = []byte(c)
	}
	return mint(location, id, key, cavs)
}

// parse splits a presented token as warehouse's _extract_raw_macaroon and
// pymacaroons' deserializer do. It returns the macaroon and its
// identifier as a UUID; any failure means "no identity".
func parse(token string) (*macaroon.Macaroon, uuid.UUID, error) {
	prefix, raw, _ := strings.Cut(token, "-")
	if prefix != "pypi" || raw == "" {
		return nil, uuid.Nil, errors.New("token does not start with pypi-")
	}
	bin, err := decodeB64(raw)
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("token is not base64: %v", err)
	}
	var m macaroon.Macaroon
	if err := m.UnmarshalBinary(bin); err != nil {
		return nil, uuid.Nil, fmt.Errorf("token is not a macaroon: %v", err)
	}
	id, err := uuid.Parse(string(m.Id()))
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("macaroon identifier %q is not a UUID", m.Id())
	}
	return &m, id, nil
}

// decodeB64 accepts url-safe or standard alphabet, padded or not, as
// pymacaroons does.
func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}
