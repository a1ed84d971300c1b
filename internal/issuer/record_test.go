package issuer

import (
	"testing"

	"github.com/fakepypi/fakepypi/internal/events"
)

// TestTokenEventHasClaims: a token recorded in a shared event log carries
// the claims it was sent with (they are decoded from the token, which
// the issuer's own log does only when read).
func TestTokenEventHasClaims(t *testing.T) {
	log := events.New(0)
	s, err := New(Config{Seed: "record", Events: log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Token(t.Context(), "pypi"); err != nil {
		t.Fatal(err)
	}
	ev, ok := log.Last(events.KindToken)
	if !ok {
		t.Fatal("no token event")
	}
	d := ev.Details.(TokenDetails)
	if jti, _ := d.Claims["jti"].(string); jti == "" || d.Claims["aud"] != "pypi" || d.Claims["repository"] != "octo-org/octo-repo" {
		t.Fatalf("claims = %v", d.Claims)
	}
	if got := s.Issued(); len(got) != 1 || got[0].Claims["jti"] != d.Claims["jti"] || got[0].Header["alg"] != "RS256" {
		t.Fatalf("Issued = %+v", got)
	}
}
