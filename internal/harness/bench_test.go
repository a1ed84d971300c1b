package harness

import (
	"archive/zip"
	"bytes"
	"io"
	"math/rand"
	"net/http"
	"testing"

	"github.com/fakepypi/fakepypi/internal/readapi"
)

// BenchmarkStart starts and stops the whole harness (CA, issuer, PyPI,
// TestPyPI, proxy) on a data directory that already exists, as a second
// `fakeindex up` does. The target (issue 14) is ready in < 50 ms median.
func BenchmarkStart(b *testing.B) {
	dir := b.TempDir()
	h, err := Start(Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	h.Close()
	for b.Loop() {
		h, err := Start(Options{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		h.Close()
	}
}

// BenchmarkDownload fetches a 100 MiB wheel over HTTPS from the index's
// direct listener and through the proxy (https://files.pythonhosted.org),
// as pip does; MB/s is reported. The target (issue 14) is the proxy at
// ≥ 0.9× the direct listener.
func BenchmarkDownload(b *testing.B) {
	h, err := Start(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "big/blob.bin", Method: zip.Store})
	io.CopyN(w, rand.New(rand.NewSource(1)), 100<<20)
	w, _ = zw.Create("big-1.0.dist-info/METADATA")
	io.WriteString(w, "Metadata-Version: 2.1\nName: big\nVersion: 1.0\n")
	zw.Close()
	f, err := h.Index().Read.Seed(readapi.SeedFile{Project: "big", Version: "1.0", Filename: "big-1.0-py3-none-any.whl", Content: buf.Bytes()})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		client *http.Client
		url    string
	}{
		{"direct", h.CA().Client(), h.IndexURL() + "/packages/" + f.Path},
		{"proxy", h.Client(), "https://files.pythonhosted.org/packages/" + f.Path},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(f.Size)
			for b.Loop() {
				resp, err := c.client.Get(c.url)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || n != f.Size {
					b.Fatalf("%s: %s, %d bytes", c.url, resp.Status, n)
				}
			}
		})
	}
}
