package apitoken

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"gopkg.in/macaroon.v2"
)

// Literal is a real PyPI API token given verbatim in the configuration, so
// that a test suite embedding one (scoped to a project, for a user) runs
// offline unchanged. fakeindex cannot check its signature without PyPI's
// key: it trusts exactly this string (and attenuations of it), and honours
// its caveats as PyPI does.
type Literal struct {
	// Value is the token, "pypi-...".
	Value string
	// Location is the macaroon's location: the domain of the index that
	// issued it (pypi.org, test.pypi.org).
	Location string
	// ID is the macaroon identifier, PyPI's database id of the token.
	ID uuid.UUID
	// Caveats are the embedded caveats, in order.
	Caveats []string
	// UserID is the user a RequestUser caveat names ("" without one).
	UserID string
	// ProjectNames and ProjectIDs are the first ProjectName and ProjectID
	// caveats' lists (legacy v1 "permissions" and "project_ids" included).
	ProjectNames, ProjectIDs []string

	mac *macaroon.Macaroon
}

// ParseLiteral reads a token PyPI issued. It refuses what PyPI would never
// accept as a user API token: no "pypi-" prefix, not a macaroon, an
// identifier that is not a UUID, a trusted publisher's (OIDC) token, or a
// caveat PyPI cannot read.
func ParseLiteral(value string) (*Literal, error) {
	m, id, err := parse(value)
	if err != nil {
		return nil, fmt.Errorf("not a PyPI API token: %v", err)
	}
	lit := &Literal{Value: value, Location: m.Location(), ID: id, mac: m}
	for _, c := range m.Caveats() {
		if len(c.VerificationId) > 0 {
			return nil, errors.New("the token has a third-party caveat, which PyPI cannot discharge")
		}
		lit.Caveats = append(lit.Caveats, string(c.Id))
		if err := lit.scope(c.Id); err != nil {
			return nil, fmt.Errorf("caveat %s: %v", c.Id, err)
		}
	}
	return lit, nil
}

// scope reads what one caveat restricts the token to.
func (lit *Literal) scope(raw []byte) error {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		return errors.New("not JSON")
	}
	if m, ok := v.(map[string]any); ok {
		if pyEqualsOne(m["version"]) && m["permissions"] == "user" {
			return nil // the token's own user, whoever it is
		}
		if v = adaptLegacy(m, nil); v == nil {
			return errors.New("a legacy caveat PyPI cannot adapt")
		}
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return errors.New("not a caveat array")
	}
	strs := func(x any) ([]string, error) {
		l, ok := x.([]any)
		if !ok {
			return nil, errors.New("not a list of strings")
		}
		out := make([]string, len(l))
		for i, e := range l {
			if out[i], ok = e.(string); !ok {
				return nil, errors.New("not a list of strings")
			}
		}
		return out, nil
	}
	tag, _ := arr[0].(json.Number)
	switch tag.String() {
	case "0":
		if len(arr) < 3 {
			return errors.New("Not enough values")
		}
	case "1", "2":
		if len(arr) < 2 {
			return errors.New("Not enough values")
		}
		l, err := strs(arr[1])
		if err != nil {
			return err
		}
		if tag == "1" && lit.ProjectNames == nil {
			lit.ProjectNames = l
		}
		if tag == "2" && lit.ProjectIDs == nil {
			lit.ProjectIDs = l
		}
	case "3":
		if len(arr) < 2 {
			return errors.New("Not enough values")
		}
		uid, ok := arr[1].(string)
		if !ok {
			return errors.New("the user id is not a string")
		}
		if lit.UserID != "" && lit.UserID != uid {
			return errors.New("two RequestUser caveats name different users")
		}
		lit.UserID = uid
	case "4":
		return errors.New("this is a trusted publisher's token (OIDCPublisher caveat), minted for 15 minutes: configure the publisher instead")
	default:
		return fmt.Errorf("unknown caveat tag %s", arr[0])
	}
	return nil
}

// AddLiteral stores a literal token for user.
func (s *Service) AddLiteral(name, user string, lit *Literal) {
	rec := &record{ID: lit.ID, Kind: KindUser, Name: name, User: user, Caveats: lit.Caveats,
		Created: s.Clock.Now(), Token: lit.Value, literal: lit}
	s.mu.Lock()
	s.records[lit.ID] = rec
	s.mu.Unlock()
}

// verifyLiteral is verifyMacaroon for a literal token. The caveats of the
// presented macaroon are checked in order and the first failure is the
// reason, as pymacaroons' verifier stops there (before comparing
// signatures); then the signature: the configured string itself, or an
// attenuation of it (its caveats followed by more, each folded into the
// signature with HMAC-SHA256 as the macaroon chain does, starting from the
// configured token's signature), else "signatures do not match".
func (s *Service) verifyLiteral(id Identity, p Project) string {
	lit := id.rec.literal
	for _, c := range id.mac.Caveats() {
		if len(c.VerificationId) > 0 {
			return "unknown error" // a third-party caveat without its discharge
		}
		if r := s.checkCaveat(string(c.Id), id, p); r != "" {
			return r
		}
	}
	if id.raw == lit.Value || attenuates(id.mac, lit.mac) {
		return ""
	}
	return "signatures do not match"
}

// attenuates reports whether m is lit with first-party caveats appended by
// its holder.
func attenuates(m, lit *macaroon.Macaroon) bool {
	mc, lc := m.Caveats(), lit.Caveats()
	if m.Location() != lit.Location() || !bytes.Equal(m.Id(), lit.Id()) || len(mc) < len(lc) {
		return false
	}
	for i := range lc {
		if !bytes.Equal(mc[i].Id, lc[i].Id) || len(mc[i].VerificationId) > 0 {
			return false
		}
	}
	sig := lit.Signature()
	for _, c := range mc[len(lc):] {
		if len(c.VerificationId) > 0 {
			return false
		}
		h := hmac.New(sha256.New, sig)
		h.Write(c.Id)
		sig = h.Sum(nil)
	}
	return hmac.Equal(sig, m.Signature())
}

// literalName is the name a literal token gets when the configuration
// gives none.
func literalName(lit *Literal) string { return "literal-" + strings.SplitN(lit.ID.String(), "-", 2)[0] }
