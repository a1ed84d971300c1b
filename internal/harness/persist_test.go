package harness

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPersist: with Persist, projects and files uploaded to PyPI and
// TestPyPI are still served after a restart on the same Dir; without it,
// a start on that Dir begins from the configuration again.
func TestPersist(t *testing.T) {
	dir := t.TempDir()
	const file, testFile = "demo-1.0-py3-none-any.whl", "demo-3.0-py3-none-any.whl"
	wheel, testWheel := buildWheel(t, "demo", "1.0"), buildWheel(t, "demo", "3.0")

	h1 := start(t, Options{Dir: dir, Persist: true})
	c := h1.Client()
	for _, u := range []struct {
		base, uploadURL, aud, version, file string
		wheel                               []byte
	}{
		{"https://pypi.org", UploadURL, "pypi", "1.0", file, wheel},
		{"https://test.pypi.org", TestUploadURL, "testpypi", "3.0", testFile, testWheel},
	} {
		jwt, err := h1.Issuer().Token(t.Context(), u.aud)
		if err != nil {
			t.Fatal(err)
		}
		token := mint(t, c, u.base, jwt)
		if st, body := upload(t, c, u.uploadURL, token, "demo", u.version, u.file, u.wheel); st != 200 {
			t.Fatalf("upload %s: %d %s", u.file, st, body)
		}
	}
	if err := h1.Close(); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"index/catalog.json", "testpypi/catalog.json"} {
		if _, err := os.Stat(filepath.Join(dir, sub)); err != nil {
			t.Errorf("persisted state: %v", err)
		}
	}

	h2 := start(t, Options{Dir: dir, Persist: true})
	c = h2.Client()
	st, body := get(t, c, SimpleURL+"demo/")
	if st != 200 || !strings.Contains(string(body), file) {
		t.Fatalf("after restart, /simple/demo/: %d %s", st, body)
	}
	if st, got := get(t, c, fileURL(t, body, file)); st != 200 || !bytes.Equal(got, wheel) {
		t.Errorf("after restart, download: %d, %d bytes (want %d)", st, len(got), len(wheel))
	}
	// Each index keeps its own directory: TestPyPI's upload is back on
	// test.pypi.org and still absent from pypi.org.
	if bytes.Contains(body, []byte(testFile)) {
		t.Errorf("TestPyPI's file on pypi.org after restart:\n%s", body)
	}
	if st, body := get(t, c, TestSimpleURL+"demo/"); st != 200 || !bytes.Contains(body, []byte(testFile)) {
		t.Errorf("after restart, TestPyPI /simple/demo/: %d %s", st, body)
	}
	if err := h2.Close(); err != nil {
		t.Fatal(err)
	}

	// Without Persist the same Dir gives the CA only: uploads are gone.
	h3 := start(t, Options{Dir: dir, NoIssuer: true, NoTestPyPI: true})
	if st, body := get(t, h3.Client(), SimpleURL+"demo/"); st != 200 || bytes.Contains(body, []byte(file)) {
		t.Errorf("without Persist, /simple/demo/: %d %s", st, body)
	}
}

// Persist with a temporary Dir would keep nothing: Start refuses it.
func TestPersistNeedsDir(t *testing.T) {
	h, err := Start(Options{Persist: true})
	if err == nil {
		h.Close()
		t.Fatal("Start(Persist, no Dir) succeeded")
	}
	if !strings.Contains(err.Error(), "Persist needs a Dir") {
		t.Errorf("error %q", err)
	}
}
