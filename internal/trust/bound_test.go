package trust

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMintEventBounded: a valid token whose claims are huge (a 200 KiB
// repository name, a 10,000-element array) is refused as PyPI refuses it,
// and its event keeps a few KiB with the claims cut, not replaced.
func TestMintEventBounded(t *testing.T) {
	f := newFixture(t)
	c := ghClaims("big1")
	c["repository"] = "octo-org/" + strings.Repeat("r", 200<<10)
	list := make([]any, 10000)
	for i := range list {
		list[i] = i
	}
	c["environment"] = list
	rec := httptest.NewRecorder()
	f.x.HandleMint(rec, httptest.NewRequest("POST", "/_/oidc/mint-token", strings.NewReader(string(body(sign(t, c))))))
	if rec.Code != 422 || !strings.Contains(rec.Body.String(), CodeInvalidPublisher) {
		t.Fatalf("mint: %d %s", rec.Code, rec.Body.String())
	}
	ev, _ := f.x.Events.Last("mint")
	d, ok := ev.Details.(*MintDetails)
	if !ok {
		t.Fatalf("details = %T (replaced instead of cut)", ev.Details)
	}
	b, _ := json.Marshal(ev)
	if len(b) > 6<<10 {
		t.Fatalf("event is %d bytes: %.300s", len(b), b)
	}
	if r := d.Claims["repository"].(string); len(r) > maxClaimText+len("…") || !strings.HasPrefix(r, "octo-org/rrr") {
		t.Fatalf("repository claim kept %d bytes", len(r))
	}
	if e := d.Claims["environment"].([]any); len(e) != maxClaimItems+1 {
		t.Fatalf("environment claim kept %d elements", len(e))
	}
	if d.Diagnosis == nil || len(d.Diagnosis.Differences) == 0 || d.Diagnosis.Closest == nil {
		t.Fatalf("diagnosis = %+v", d.Diagnosis)
	}
	if !strings.Contains(ev.Why, "repository") {
		t.Fatalf("why = %q", ev.Why)
	}
}
