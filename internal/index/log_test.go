package index

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/oidc"
)

// TestLogRefusedMintOnOneLine: a refused mint is one WARN record carrying
// what the client got and the diagnosis, in text and in JSON.
func TestLogRefusedMintOnOneLine(t *testing.T) {
	ti := newTestIssuer(t)
	f, err := indexconfig.Parse("test.yaml", []byte(testSetup))
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range oidc.Services {
		f.Issuers = append(f.Issuers, oidc.Issuer{URL: oidc.CanonicalIssuer(svc), Service: svc, Discovery: ti.srv.URL})
	}
	claims := githubClaims("jti-log")
	claims["job_workflow_ref"] = "octo-org/sampleproject/.github/workflows/release.yaml@refs/tags/v1.0"
	tok := ti.sign(t, claims)

	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		var h slog.Handler = slog.NewTextHandler(&buf, nil)
		if format == "json" {
			h = slog.NewJSONHandler(&buf, nil)
		}
		s, err := New(Config{Setup: *f, Clock: clock.NewFake(t0), Logger: slog.New(h)})
		if err != nil {
			t.Fatal(err)
		}
		if code, body, _ := do(t, s, http.MethodPost, "/_/oidc/mint-token", mintBody(tok)); code != 422 {
			t.Fatalf("%s: mint %d %s", format, code, body)
		}
		out := buf.String()
		if strings.Count(out, "\n") != 1 {
			t.Fatalf("%s: want one record, got %q", format, out)
		}
		if format == "text" {
			for _, want := range []string{`level=WARN`, `msg="mint refused"`, `status=422`, `code=invalid-publisher`, `why="`, `release.yaml`} {
				if !strings.Contains(out, want) {
					t.Errorf("text record lacks %s: %s", want, out)
				}
			}
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(out), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["msg"] != "mint refused" || rec["code"] != "invalid-publisher" || !strings.Contains(rec["why"].(string), "release.yaml") {
			t.Errorf("json record %v", rec)
		}
	}
}
