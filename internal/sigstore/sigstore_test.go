package sigstore

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/internal/attestation"
)

// githubClaims are the claims of a release run of octo-org/demo.
func githubClaims() map[string]any {
	return map[string]any{
		"iss": "https://token.actions.githubusercontent.com", "aud": "sigstore",
		"sub":        "repo:octo-org/demo:ref:refs/tags/v1.0",
		"repository": "octo-org/demo", "repository_owner": "octo-org", "repository_id": "42", "repository_owner_id": "7",
		"workflow": "Release", "workflow_ref": "octo-org/demo/.github/workflows/release.yml@refs/tags/v1.0",
		"job_workflow_ref": "octo-org/demo/.github/workflows/release.yml@refs/tags/v1.0",
		"workflow_sha":     "abc", "job_workflow_sha": "abc", "sha": "abc", "ref": "refs/tags/v1.0",
		"event_name": "push", "run_id": "1", "run_attempt": "1", "runner_environment": "github-hosted",
		"repository_visibility": "public",
	}
}

var demoPublisher = attestation.Publisher{Kind: "GitHub", Repository: "octo-org/demo", Workflow: "release.yml"}

const (
	distName = "demo-1.0-py3-none-any.whl"
	distSHA  = "9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3"
)

func newFake(t *testing.T, claims map[string]any, faults ...string) *Sigstore {
	t.Helper()
	s, err := New(Config{VerifyToken: func(string) (map[string]any, error) { return claims, nil }, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func attest(t *testing.T, b Backend) *attestation.Attestation {
	t.Helper()
	a, err := NewAttester(b, "token")
	if err != nil {
		t.Fatal(err)
	}
	att, err := a.Attest(distName, distSHA)
	if err != nil {
		t.Fatal(err)
	}
	// Round-trip through JSON, as the .publish.attestation file does.
	raw, err := json.Marshal(att)
	if err != nil {
		t.Fatal(err)
	}
	list, err := attestation.ParseList("[" + string(raw) + "]")
	if err != nil {
		t.Fatal(err)
	}
	return &list[0]
}

func TestAttestVerifies(t *testing.T) {
	s := newFake(t, githubClaims())
	for name, b := range map[string]Backend{
		"local": Local{s},
		"http":  httpBackend(t, s),
	} {
		t.Run(name, func(t *testing.T) {
			att := attest(t, b)
			pt, err := attestation.Verify(att, demoPublisher, attestation.Distribution{Name: distName, SHA256: distSHA}, s.TrustedRoot())
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if pt != attestation.PredicatePublishV1 {
				t.Errorf("predicate type %q", pt)
			}
		})
	}
	if n := s.LogSize(); n != 2 {
		t.Errorf("log size %d, want 2", n)
	}
}

func httpBackend(t *testing.T, s *Sigstore) Backend {
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return Client{FulcioURL: srv.URL, RekorURL: srv.URL, HTTP: srv.Client()}
}

// TestFaults: each fault makes the attestation fail verification with
// sigstore-python's message, as PyPI would report it.
func TestFaults(t *testing.T) {
	cases := map[string]string{
		FaultOtherIdentity:     "Verification failed: Certificate's OIDCSourceRepositoryURI does not match (got https://github.com/another-owner/demo, expected https://github.com/octo-org/demo)",
		FaultExpiredCert:       "Verification failed: failed to build timestamp certificate chain: certificate has expired",
		FaultMissingEntry:      "Verification failed: invalid log entry: inclusion proof has wrong size: expected 1, got 0",
		FaultBadInclusionProof: "Verification failed: invalid log entry: inclusion proof contains invalid root hash: expected log_index=0 root_hash=b",
		FaultBadSignature:      "Verification failed: DSSE: invalid signature",
	}
	for fault, want := range cases {
		t.Run(fault, func(t *testing.T) {
			s := newFake(t, githubClaims(), fault)
			att := attest(t, Local{s})
			_, err := attestation.Verify(att, demoPublisher, attestation.Distribution{Name: distName, SHA256: distSHA}, s.TrustedRoot())
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("got %v\nwant %s", err, want)
			}
		})
	}
}

func TestWrongDistribution(t *testing.T) {
	s := newFake(t, githubClaims())
	att := attest(t, Local{s})
	root := s.TrustedRoot()
	for _, c := range []struct {
		dist attestation.Distribution
		pub  attestation.Publisher
		want string
	}{
		{attestation.Distribution{Name: "demo-1.0.tar.gz", SHA256: distSHA}, demoPublisher, "Verification failed: subject does not match distribution name: demo-1.0-py3-none-any.whl != demo-1.0.tar.gz"},
		{attestation.Distribution{Name: distName, SHA256: strings.Repeat("0", 64)}, demoPublisher, "Verification failed: subject does not match distribution digest"},
		{attestation.Distribution{Name: distName, SHA256: distSHA}, attestation.Publisher{Kind: "GitHub", Repository: "octo-org/demo", Workflow: "other.yml"},
			`Verification failed: Certificate's Build Config URI (<Extension(oid=<ObjectIdentifier(oid=1.3.6.1.4.1.57264.1.18, name=Unknown OID)>, critical=False, value=<UnrecognizedExtension(oid=<ObjectIdentifier(oid=1.3.6.1.4.1.57264.1.18, name=Unknown OID)>, value=b'\x0cMhttps://github.com/octo-org/demo/.github/workflows/release.yml@refs/tags/v1.0')>)>) does not match expected Trusted Publisher (other.yml @ octo-org/demo)`},
	} {
		_, err := attestation.Verify(att, c.pub, c.dist, root)
		if err == nil || err.Error() != c.want {
			t.Errorf("got  %v\nwant %s", err, c.want)
		}
	}
}
