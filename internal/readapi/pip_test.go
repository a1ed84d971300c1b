package readapi

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/testenv"
)

// TestPipDownload runs Debian's real pip against the index: it must find
// demo==1.0 through the simple API (PEP 691 JSON, which pip asks for
// first), check the sha256 from the link, and fetch the wheel.
func TestPipDownload(t *testing.T) {
	python := testenv.NeedPython(t, "apt-get install python3-pip", "pip")
	f := newFixture(t, Options{})
	wheel, _ := buildWheel(t, "demo", "1.0")
	if _, err := f.h.Seed(SeedFile{Project: "demo", Version: "1.0", Filename: "demo-1.0-py3-none-any.whl", Content: wheel}); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-m", "pip", "download", "--no-deps", "--no-cache-dir",
		"--disable-pip-version-check", "--index-url", f.srv.URL+"/simple/", "-d", dest, "demo==1.0")
	cmd.Env = append(os.Environ(), "PIP_CONFIG_FILE=/dev/null", "PIP_NO_INPUT=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pip download: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dest, "demo-1.0-py3-none-any.whl"))
	if err != nil || !bytes.Equal(got, wheel) {
		t.Fatalf("downloaded wheel differs (%v)\n%s", err, out)
	}

	// With --require-hashes pip must verify the file against a pinned hash.
	req := filepath.Join(t.TempDir(), "req.txt")
	os.WriteFile(req, []byte("demo==1.0 --hash=sha256:"+sha(wheel)+"\n"), 0o644)
	dest2 := t.TempDir()
	cmd = exec.CommandContext(ctx, python, "-m", "pip", "download", "--no-deps", "--no-cache-dir",
		"--disable-pip-version-check", "--require-hashes", "--index-url", f.srv.URL+"/simple/", "-d", dest2, "-r", req)
	cmd.Env = append(os.Environ(), "PIP_CONFIG_FILE=/dev/null", "PIP_NO_INPUT=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pip download --require-hashes: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dest2, "demo-1.0-py3-none-any.whl")); err != nil {
		t.Fatal(err)
	}
}
