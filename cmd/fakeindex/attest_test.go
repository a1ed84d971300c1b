package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/internal/attestation"
	"github.com/fakepypi/fakepypi/internal/testenv"
	"github.com/fakepypi/fakepypi/pypitest"
)

// TestUpAttestLoop is issue 16's loop in one command: in the job the
// harness starts, fakeindex attest signs the distributions with the fake
// Sigstore and the real twine (Debian's 4.0.2, with twine 6.1's
// --attestations and trusted publishing added by
// examples/twine_attestations.py) uploads them through the proxy to
// https://upload.pypi.org/legacy/. The provenance PyPI then serves
// verifies against the trusted root the harness serves and names the
// trusted publisher.
func TestUpAttestLoop(t *testing.T) {
	testenv.NeedCommand(t, "curl", "apt-get install curl")
	testenv.NeedPython(t, "apt-get install twine", "twine", "requests")
	_, file, _, _ := runtime.Caller(0)
	shim := filepath.Join(filepath.Dir(file), "..", "..", "examples", "twine_attestations.py")
	work := t.TempDir()
	dist := filepath.Join(work, "dist")
	os.Mkdir(dist, 0o755)
	for name, b := range map[string][]byte{
		pypitest.WheelFilename("demo", "1.0"): pypitest.Wheel("demo", "1.0"),
		pypitest.SdistFilename("demo", "1.0"): pypitest.Sdist("demo", "1.0"),
	} {
		if err := os.WriteFile(filepath.Join(dist, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `cd "$WORK" &&
fakeindex attest dist/* &&
` + testenv.Python + ` "$SHIM" upload --non-interactive --disable-progress-bar --attestations dist/* &&
curl -sSf -o provenance.json https://pypi.org/integrity/demo/1.0/demo-1.0.tar.gz/provenance &&
curl -sSf -o trusted_root.json "$FAKEPYPI_SIGSTORE_URL/_fake/sigstore/trusted_root.json"`
	code, stdout, stderr := upJob(t, "", []string{"WORK=" + work, "SHIM=" + shim}, "--", "sh", "-c", script)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"dist/demo-1.0.tar.gz.publish.attestation", "Uploading distributions to https://upload.pypi.org/legacy/", "Uploading demo-1.0.tar.gz"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	rb, err := os.ReadFile(filepath.Join(work, "trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := attestation.ParseTrustedRoot(rb)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := os.ReadFile(filepath.Join(work, "provenance.json"))
	if err != nil {
		t.Fatal(err)
	}
	var prov attestation.Provenance
	if err := json.Unmarshal(pb, &prov); err != nil {
		t.Fatal(err)
	}
	if len(prov.AttestationBundles) != 1 || len(prov.AttestationBundles[0].Attestations) != 1 {
		t.Fatalf("provenance: %s", pb)
	}
	b := prov.AttestationBundles[0]
	if want := (attestation.Publisher{Kind: "GitHub", Repository: "octo-org/octo-repo", Workflow: "release.yml"}); b.Publisher != want {
		t.Errorf("publisher %+v, want %+v", b.Publisher, want)
	}
	sum, _ := fileSHA256(filepath.Join(dist, "demo-1.0.tar.gz"))
	if _, err := attestation.Verify(&b.Attestations[0], b.Publisher, attestation.Distribution{Name: "demo-1.0.tar.gz", SHA256: sum}, root); err != nil {
		t.Errorf("the served provenance does not verify against the served trusted root: %v", err)
	}
}
