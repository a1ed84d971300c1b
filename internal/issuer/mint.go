package issuer

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/fakepypi/fakepypi/internal/events"
)

// ErrTokenWithheld is returned for a fork-pr token: GitHub gives jobs of
// pull requests from forks no token at all, even with id-token: write
// (gh-action-pypi-publish, _TOKEN_RETRIEVAL_FAILED_FORK_PR_MESSAGE).
var ErrTokenWithheld = errors.New("pull_request from a fork: GitHub withholds the OIDC token from this job")

// ErrEndpointFault is returned when a token-endpoint failure fault is asked
// of a token minted in Go: the failure exists only on the wire.
var ErrEndpointFault = errors.New("token endpoint failure faults apply only to HTTP token requests")

// Issued records one minted token, for /_fake/tokens and Server.Issued.
type Issued struct {
	Kind     Kind           `json:"kind"`
	Audience string         `json:"audience"`
	Faults   []string       `json:"faults,omitempty"`
	IssuedAt time.Time      `json:"issued_at"`
	Header   map[string]any `json:"header"`
	Claims   map[string]any `json:"claims"`
	Token    string         `json:"token"`
}

// decode fills Header and Claims from the token's first two segments.
func (t *Issued) decode() {
	seg := strings.SplitN(t.Token, ".", 3)
	t.Header, t.Claims = map[string]any{}, nil
	if hb, err := base64.RawURLEncoding.DecodeString(seg[0]); err == nil {
		_ = json.Unmarshal(hb, &t.Header)
	}
	if len(seg) > 1 {
		if cb, err := base64.RawURLEncoding.DecodeString(seg[1]); err == nil {
			_ = json.Unmarshal(cb, &t.Claims)
		}
	}
}

// maxIssued bounds the token log of a long-running server.
const maxIssued = 1000

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// mint makes one token of kind k for audience aud ("" = the kind's default)
// with faults applied. base is this server's URL as the caller sees it.
func (s *Server) mint(k Kind, base, aud string, faults faultSet) (*Issued, error) {
	raw := s.rawContext()
	if k == GitHub {
		faults.shapeRun(&raw.GitHub)
		if raw.GitHub.Fork {
			return nil, ErrTokenWithheld
		}
	}
	rc := raw
	rc.fill()
	iss := s.issuer(k, base)
	if aud == "" {
		aud = defaultAudience(k, rc)
	}
	claims := claimsFor(k, rc, iss)

	lifetime := s.cfg.Lifetime
	nbfOffset := -300 * time.Second // GitHub's sample token: nbf = iat - 300
	switch k {
	case Google:
		lifetime = googleLifetime
	case GitLab:
		nbfOffset = -5 * time.Second
	case ActiveState, Buildkite, CircleCI:
		nbfOffset = 0
	}
	now := s.now().Truncate(time.Second)
	iat := now
	nbf := now.Add(nbfOffset)
	exp := iat.Add(lifetime)
	hasNBF := k != Google
	switch {
	case faults.has(FaultExpired):
		// Well past Warehouse's 30 s leeway (_JWT_LEEWAY, warehouse/oidc/services.py).
		iat = now.Add(-lifetime - time.Hour)
		nbf, exp = iat.Add(nbfOffset), iat.Add(lifetime)
	case faults.has(FaultNotYetValid):
		nbf, hasNBF = now.Add(time.Hour), true
		exp = nbf.Add(lifetime)
	case faults.has(FaultIssuedInFuture):
		iat = now.Add(time.Hour)
		exp = iat.Add(lifetime)
	}
	claims["iat"] = iat.Unix()
	claims["exp"] = exp.Unix()
	if hasNBF {
		claims["nbf"] = nbf.Unix()
	}
	if k != Google {
		claims["jti"] = uuid.NewString()
	}
	claims["iss"] = iss
	if faults.has(FaultWrongIssuer) {
		claims["iss"] = WrongIssuer
	}
	switch {
	case faults.has(FaultAudienceList):
		claims["aud"] = []string{aud}
	case faults.has(FaultWrongAudience):
		claims["aud"] = "not-" + aud
	default:
		claims["aud"] = aud
	}
	for _, f := range faults {
		switch f.Name {
		case FaultMissingClaim:
			delete(claims, f.Claim)
		case FaultSetClaim:
			claims[f.Claim] = f.Value
		}
	}

	token, err := s.sign(claims, faults)
	if err != nil {
		return nil, err
	}
	// Header and Claims are decoded from the token when the log is read
	// (Server.Issued) or recorded in a shared event log (record): they
	// show what was sent, and minting alone does not pay for them.
	rec := &Issued{Kind: k, Audience: aud, Faults: faults.strings(), IssuedAt: now, Token: token}
	s.mu.Lock()
	s.issued = append(s.issued, *rec)
	if len(s.issued) > maxIssued {
		s.issued = s.issued[len(s.issued)-maxIssued:]
	}
	s.mu.Unlock()
	s.cfg.Logger.Info("token issued", "kind", string(k), "aud", aud, "faults", strings.Join(rec.Faults, ","))
	s.record(rec)
	return rec, nil
}

// sign serialises claims as a compact JWS. Normal tokens are RS256 with
// kid and x5t headers, like GitHub's; the signing faults bend exactly one
// thing.
func (s *Server) sign(claims map[string]any, faults faultSet) (string, error) {
	key := s.keys.active()
	switch {
	case faults.has(FaultAlgNone):
		// go-jose refuses to produce alg none, so assemble it by hand.
		h, _ := json.Marshal(map[string]string{"alg": "none", "kid": key.kid, "typ": "JWT"})
		p, err := json.Marshal(claims)
		if err != nil {
			return "", err
		}
		return b64(h) + "." + b64(p) + ".", nil
	case faults.has(FaultHS256PublicKey):
		// The classic key-confusion token: HMAC keyed with the PEM of the
		// published public key, which a verifier trusting the header's alg
		// would accept.
		der, err := x509.MarshalPKIXPublicKey(&key.priv.PublicKey)
		if err != nil {
			return "", err
		}
		secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", key.kid)
		sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret}, opts)
		if err != nil {
			return "", fmt.Errorf("HS256 signer: %w", err)
		}
		return jwt.Signed(sig).Claims(claims).Serialize()
	}
	jwk := key.private()
	if faults.has(FaultUnknownKid) {
		jwk.KeyID = uuid.NewSHA1(kidNamespace, []byte("unknown "+uuid.NewString())).String()
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t", key.x5t)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jwk}, opts)
	if err != nil {
		return "", fmt.Errorf("RS256 signer: %w", err)
	}
	token, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	if faults.has(FaultBadSignature) {
		i := strings.LastIndexByte(token, '.')
		sigBytes, err := base64.RawURLEncoding.DecodeString(token[i+1:])
		if err != nil {
			return "", err
		}
		sigBytes[len(sigBytes)/2] ^= 0x01
		token = token[:i+1] + b64(sigBytes)
	}
	return token, nil
}

// takeFaults is what applies to the next token: the sticky faults, then one
// queued one-shot entry (consumed), then those of the request itself.
func (s *Server) takeFaults(extra []Fault) faultSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs := append(faultSet(nil), s.sticky...)
	if len(s.queue) > 0 {
		fs = append(fs, s.queue[0]...)
		s.queue = s.queue[1:]
	}
	return append(fs, extra...)
}

// Token mints a GitHub Actions token for audience ("" = the repository
// owner URL, as on GitHub), applying sticky and queued faults and faults.
func (s *Server) Token(ctx context.Context, audience string, faults ...Fault) (string, error) {
	return s.TokenFor(ctx, GitHub, audience, faults...)
}

// TokenFor mints a token of kind k. Token-endpoint failure faults give
// ErrEndpointFault, a fork-pr GitHub token ErrTokenWithheld.
func (s *Server) TokenFor(ctx context.Context, k Kind, audience string, faults ...Fault) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if _, err := ParseKind(string(k)); err != nil {
		return "", err
	}
	fs := s.takeFaults(faults)
	if f := fs.endpointFault(); f != "" {
		return "", fmt.Errorf("%s: %w", f, ErrEndpointFault)
	}
	rec, err := s.mint(k, s.URL(), audience, fs)
	if err != nil {
		return "", err
	}
	return rec.Token, nil
}

// TokenDetails is the Details of a "token" event: what a person needs to
// read a mint attempt beside it (not the token itself, which the log
// need not keep).
type TokenDetails struct {
	Kind     Kind           `json:"ci"`
	Audience string         `json:"audience"`
	Faults   []string       `json:"faults,omitempty"`
	Claims   map[string]any `json:"claims"`
}

// record adds the token to the shared event log, if there is one.
func (s *Server) record(rec *Issued) {
	if s.cfg.Events == nil {
		return
	}
	rec.decode() // the claims as sent
	e := events.Event{Kind: events.KindToken, Time: rec.IssuedAt.UTC(), Verdict: "ok",
		Message: fmt.Sprintf("%s token for audience %q", kindTitle(rec.Kind), rec.Audience),
		Details: TokenDetails{Kind: rec.Kind, Audience: rec.Audience, Faults: rec.Faults, Claims: rec.Claims}}
	if len(rec.Faults) > 0 {
		e.Verdict = "injected"
		e.Code = strings.Join(rec.Faults, ",")
		e.Why = "issuer faults: " + strings.Join(rec.Faults, ", ")
	}
	s.cfg.Events.Add(e)
}

func kindTitle(k Kind) string {
	switch k {
	case GitHub:
		return "GitHub Actions"
	case GitLab:
		return "GitLab"
	case Google:
		return "Google"
	case ActiveState:
		return "ActiveState"
	case Buildkite:
		return "Buildkite"
	case CircleCI:
		return "CircleCI"
	}
	return string(k)
}
