package pypitest_test

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/fakepypi/fakepypi/internal/sigstore"
	"github.com/fakepypi/fakepypi/internal/testenv"
	"github.com/fakepypi/fakepypi/pypitest"
)

// TestAttestUploadProvenance: a publish with a PEP 740 attestation, made by
// the harness's fake Sigstore as gh-action-pypi-publish makes it, and the
// provenance PyPI then serves.
func TestAttestUploadProvenance(t *testing.T) {
	h := pypitest.New(t)
	name := pypitest.WheelFilename("demo", "1.0")
	wheel := pypitest.Wheel("demo", "1.0")
	att, err := h.Attest("github", name, wheel)
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Upload(h.PublishToken(), name, wheel, pypitest.UploadOptions{Fields: map[string]string{"attestations": pypitest.AttestationsField(att)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 200 {
		t.Fatalf("upload: %s", res.StatusLine())
	}
	prov := get(t, h, "/integrity/demo/1.0/"+name+"/provenance")
	if !strings.Contains(prov, `"publisher":{"claims":null,"environment":null,"kind":"GitHub","repository":"octo-org/octo-repo","workflow":"release.yml"}`) {
		t.Errorf("provenance: %s", prov)
	}
}

func get(t *testing.T, h *pypitest.Harness, path string) string {
	t.Helper()
	resp, err := h.Client().Get(h.IndexURL() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

var (
	verifierOnce sync.Once
	verifierPath string
	verifierErr  error
)

// sigstoreGoVerify builds interop/sigstorego, the sigstore-go verifier
// (its own module: sigstore-go stays out of fakepypi's binaries).
func sigstoreGoVerify(t *testing.T) string {
	t.Helper()
	testenv.Slow(t)          // the first build compiles sigstore-go: about a minute
	verifierOnce.Do(func() { // rebuilt once per test binary; the build cache makes it a link step
		_, file, _, _ := runtime.Caller(0)
		dir := filepath.Join(filepath.Dir(file), "..", "interop", "sigstorego")
		out := filepath.Join(os.TempDir(), "fakepypi-sigstore-go-verify")
		cmd := exec.Command("go", "build", "-o", out, ".")
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			verifierErr = err
			t.Logf("%s", b)
			return
		}
		verifierPath = out
	})
	if verifierErr != nil {
		t.Fatalf("building interop/sigstorego: %v", verifierErr)
	}
	return verifierPath
}

// TestSigstoreGoVerifiesProvenance: sigstore-go, pointed at the trusted
// root the harness serves, verifies the provenance the index serves and
// names the publisher; it refuses what each fault of the fake Sigstore
// produces and a forged attestation, as PyPI does.
func TestSigstoreGoVerifiesProvenance(t *testing.T) {
	bin := sigstoreGoVerify(t)
	h := pypitest.New(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rootFile := write("trusted_root.json", string(fetch(t, h, h.SigstoreURL()+sigstore.TrustedRootPath)))
	name := pypitest.WheelFilename("demo", "1.0")
	wheel := pypitest.Wheel("demo", "1.0")
	distFile := write(name, string(wheel))
	att, err := h.Attest("github", name, wheel)
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Upload(h.PublishToken(), name, wheel, pypitest.UploadOptions{Fields: map[string]string{"attestations": pypitest.AttestationsField(att)}})
	if err != nil || res.Status != 200 {
		t.Fatalf("upload: %v %v", res, err)
	}
	provFile := write("provenance.json", get(t, h, "/integrity/demo/1.0/"+name+"/provenance"))
	out, err := exec.Command(bin, "-root", rootFile, "-dist", distFile, "-provenance", provFile).CombinedOutput()
	if err != nil {
		t.Fatalf("sigstore-go refused the provenance: %v\n%s", err, out)
	}
	want := "OK " + name + " https://docs.pypi.org/attestations/publish/v1 GitHub https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"
	if strings.TrimSpace(string(out)) != want {
		t.Errorf("sigstore-go said %q, want %q", out, want)
	}

	// What PyPI refuses, sigstore-go refuses too.
	bad := map[string][]byte{}
	for _, f := range sigstore.Faults {
		if err := h.SetSigstoreFaults(f); err != nil {
			t.Fatal(err)
		}
		if bad[f], err = h.Attest("github", name, wheel); err != nil {
			t.Fatal(err)
		}
	}
	h.SetSigstoreFaults()
	if bad["forged"], err = h.ForgeAttestation("github", name, wheel); err != nil {
		t.Fatal(err)
	}
	for what, a := range bad {
		attFile := write(what+".attestation", string(a))
		out, err := exec.Command(bin, "-root", rootFile, "-dist", distFile, "-attestation", attFile, "-github", "octo-org/octo-repo:release.yml").CombinedOutput()
		if err == nil {
			t.Errorf("%s: sigstore-go accepted it: %s", what, out)
		} else {
			t.Logf("%s: sigstore-go: %s", what, strings.TrimSpace(string(out)))
		}
	}
	// And the good attestation passes the same command.
	attFile := write("good.attestation", string(att))
	if out, err := exec.Command(bin, "-root", rootFile, "-dist", distFile, "-attestation", attFile, "-github", "octo-org/octo-repo:release.yml").CombinedOutput(); err != nil {
		t.Errorf("good attestation: %v\n%s", err, out)
	}
}

func fetch(t *testing.T, h *pypitest.Harness, url string) []byte {
	t.Helper()
	resp, err := h.Client().Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}
