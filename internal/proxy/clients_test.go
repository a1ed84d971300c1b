package proxy

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/testenv"
)

// These tests drive real, unmodified clients through the proxy with only
// environment variables (and curl's flags), the way the harness runs twine
// and pip. They are skipped where the client is missing, except in CI,
// which installs them (.ci/run).

// clientFixture emulates pypi.org and upload.pypi.org like the index would.
func clientFixture(t *testing.T) *fixture {
	f := start(t)
	f.p.Handle("pypi.org", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "simple index host=%s tls=%v", r.Host, r.TLS != nil)
	}))
	f.p.Handle("upload.pypi.org", http.HandlerFunc(writeFileExists))
	return f
}

func run(t *testing.T, f *fixture, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	// Later entries win, so these override whatever the test runner's
	// environment holds.
	cmd.Env = append(os.Environ(), f.srv.Env()...)
	cmd.Env = append(cmd.Env, f.ca.Env()...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

const pythonScript = `
import requests
r = requests.get("https://pypi.org/simple/", timeout=10)
print("GET", r.status_code, r.text)
r = requests.post("https://upload.pypi.org/legacy/", data=b"x" * 100000, timeout=10)
print("POST", r.status_code, "reason=" + r.reason)
try:
    requests.get("https://evil.example.com/", timeout=10)
    print("evil: reached")
except requests.exceptions.ProxyError as e:
    print("evil: ProxyError", e)
`

func TestPythonRequests(t *testing.T) {
	testenv.NeedPython(t, "apt-get install python3-requests", "requests")
	f := clientFixture(t)
	out, err := run(t, f, "/usr/bin/python3", "-c", pythonScript)
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	for _, want := range []string{
		"GET 200 simple index host=pypi.org tls=true\n",
		"POST 400 reason=" + strings.TrimPrefix(fileExists, "400 ") + "\n",
		"evil: ProxyError",
		"403 Forbidden",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("python output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("python output:\n%s", out)
	if len(f.p.Refused()) != 1 {
		t.Errorf("Refused() = %+v, want the one evil.example.com CONNECT", f.p.Refused())
	}
}

func TestCurl(t *testing.T) {
	testenv.NeedCommand(t, "curl", "apt-get install curl")
	f := clientFixture(t)
	base := []string{"-sS", "--proxy", f.srv.URL(), "--cacert", f.ca.BundlePath(), "--max-time", "10"}

	out, err := run(t, f, "curl", append(base, "https://pypi.org/simple/")...)
	if err != nil || out != "simple index host=pypi.org tls=true" {
		t.Errorf("curl GET: %v: %q", err, out)
	}
	// -i shows the status line byte for byte; the CONNECT response is
	// left out.
	out, err = run(t, f, "curl", append(base, "-i", "--suppress-connect-headers", "--data-binary", "x", "https://upload.pypi.org/legacy/")...)
	if err != nil || !strings.HasPrefix(out, "HTTP/1.1 "+fileExists+"\r\n") {
		t.Errorf("curl POST: %v: %q", err, out)
	}
	out, err = run(t, f, "curl", append(base, "https://evil.example.com/")...)
	if err == nil || !strings.Contains(out, "403") {
		t.Errorf("curl to a non-emulated host: %v: %q", err, out)
	}
	// Plain HTTP goes through the proxy too and is refused the same way.
	out, _ = run(t, f, "curl", append(base, "http://evil.example.com/")...)
	if !strings.Contains(out, "refusing to connect to evil.example.com:80") {
		t.Errorf("curl plain HTTP to a non-emulated host: %q", out)
	}
	if n := len(f.p.Refused()); n != 2 {
		t.Errorf("Refused() has %d entries, want 2", n)
	}
}

func TestTwine(t *testing.T) {
	testenv.NeedCommand(t, "twine", "apt-get install twine")
	f := clientFixture(t)
	whl := filepath.Join(t.TempDir(), "demo-1.0-py3-none-any.whl")
	writeWheel(t, whl)
	out, err := run(t, f, "twine", "upload", "--non-interactive", "--disable-progress-bar",
		"--repository-url", "https://upload.pypi.org/legacy/", "-u", "__token__", "-p", "pypi-x", whl)
	if err == nil {
		t.Fatalf("twine succeeded:\n%s", out)
	}
	// twine prints the reason phrase on its own line(s) after the
	// standard one; it wraps long lines, so look for both halves.
	for _, want := range []string{"HTTPError: 400 Bad Request from https://upload.pypi.org/legacy/",
		"File already exists ('demo-1.0.tar.gz', with blake2_256 hash 'abc').",
		"See https://pypi.org/help/#file-name-reuse for more information."} {
		if !strings.Contains(out, want) {
			t.Errorf("twine output lacks %q:\n%s", want, out)
		}
	}
}

// writeWheel writes the smallest wheel twine accepts for upload.
func writeWheel(t *testing.T, path string) {
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(fh)
	for _, e := range [][2]string{
		{"demo/__init__.py", ""},
		{"demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"},
		{"demo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: fakepypi-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{"demo-1.0.dist-info/RECORD", ""},
	} {
		w, err := zw.Create(e[0])
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, e[1])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
}
