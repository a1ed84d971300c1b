package issuer

import (
	"os"
	"strings"
	"testing"
)

// docs/fakeissuer.md stays true: its config example parses and it names
// every fault and control endpoint.
func TestDocs(t *testing.T) {
	b, err := os.ReadFile("../../docs/fakeissuer.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	_, after, ok := strings.Cut(doc, "## Configuration file")
	_, block, ok2 := strings.Cut(after, "```yaml\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("no YAML example under ## Configuration file")
	}
	cfg, err := ParseConfig("docs/fakeissuer.md", []byte(block))
	if err != nil {
		t.Fatalf("documented config: %v", err)
	}
	if _, err := New(cfg); err != nil {
		t.Fatalf("documented config: %v", err)
	}
	for name := range FaultNames() {
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("fault %s undocumented", name)
		}
	}
	for _, ep := range []string{"/_fake/issuers", "/_fake/context", "/_fake/faults", "/_fake/keys", "/_fake/keys/rotate",
		"/_fake/keys/{kid}", "/_fake/tokens", "/_fake/token", "/_fake/env", "/github/idtoken", "/.well-known/jwks",
		"/computeMetadata/v1/instance/service-accounts/{account}/identity"} {
		if !strings.Contains(doc, ep) {
			t.Errorf("endpoint %s undocumented", ep)
		}
	}
	if !strings.Contains(doc, `curl -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=pypi"`) {
		t.Error("the GitHub docs' curl example is missing")
	}
}
