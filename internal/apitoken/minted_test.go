package apitoken

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/clock"
)

type onePublisher struct{}

func (onePublisher) PublisherProjects(id string) ([]string, bool) {
	return []string{"demo"}, id == "pub-1"
}

// TestMintedTokens: a minted token authenticates and authorizes as
// before, is listed with its three caveats, can be revoked by id, and
// costs the service well under 200 bytes (was about 730).
func TestMintedTokens(t *testing.T) {
	clk := clock.NewFake(time.Unix(1724256000, 0))
	s := NewService("pypi.org", clk, nil, onePublisher{})
	claims := map[string]any{"ref": "refs/heads/main", "sha": "abc"}
	tok, _, err := s.MintOIDC("pub-1", []string{"p-id"}, claims)
	if err != nil {
		t.Fatal(err)
	}
	id := s.Identify(tok)
	if id.Kind != KindPublisher || id.PublisherID != "pub-1" || id.Claims["sha"] != "abc" {
		t.Fatalf("identity = %+v", id)
	}
	demo := Project{ID: "p-id", Name: "demo", NormalizedName: "demo"}
	if err := s.Authorize(id, demo); err != nil {
		t.Fatal(err)
	}
	// Another service (another secret) does not accept the token.
	other := NewService("pypi.org", clk, nil, onePublisher{})
	other.minted[mustParse(t, tok)] = s.minted[mustParse(t, tok)]
	if err := other.Authorize(other.Identify(tok), demo); err == nil || !strings.HasSuffix(err.Error(), "Invalid API Token: signatures do not match") {
		t.Fatalf("foreign service: %v", err)
	}
	list := s.List()
	if len(list) != 1 || len(list[0].Caveats) != 3 || list[0].Caveats[2] != "[0,1724256900,1724256000]" ||
		list[0].Expires != 1724256900 || !list[0].Created.Equal(clk.Now()) {
		t.Fatalf("List = %+v", list)
	}
	clk.Advance(OIDCLifetime * time.Second)
	if err := s.Authorize(s.Identify(tok), demo); err == nil || !strings.HasSuffix(err.Error(), "Invalid API Token: token is expired") {
		t.Fatalf("expired token: %v", err)
	}
	if !s.Revoke(list[0].ID) || s.Identify(tok).Kind != KindNone || s.Revoke(list[0].ID) {
		t.Fatal("revoke by id")
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 20000
	for range n {
		if _, _, err := s.MintOIDC("pub-1", []string{"p-id"}, map[string]any{"ref": "refs/heads/main", "sha": "abc"}); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n; per > 200 {
		t.Fatalf("%d bytes kept per minted token", per)
	}
}

func mustParse(t *testing.T, tok string) [16]byte {
	_, id, err := parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
