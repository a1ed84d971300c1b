package upload_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/index"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
)

// bigWheel writes a valid wheel of about size bytes to path, streaming:
// one large stored member (written raw with a precomputed CRC, so no data
// descriptor) plus METADATA, WHEEL and RECORD. It returns the sha256.
func bigWheel(tb testing.TB, path string, size int64) string {
	tb.Helper()
	block := make([]byte, 1<<20)
	rand.New(rand.NewSource(1)).Read(block)
	payload := func(w io.Writer) {
		for n := int64(0); n < size; n += int64(len(block)) {
			w.Write(block[:min(int64(len(block)), size-n)])
		}
	}
	crc, sum := crc32.NewIEEE(), sha256.New()
	payload(io.MultiWriter(crc, sum))
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	raw := func(name string, n int64, c uint32, fill func(io.Writer)) {
		fh := &zip.FileHeader{Name: name, Method: zip.Store, CRC32: c, CompressedSize64: uint64(n), UncompressedSize64: uint64(n), Modified: t0}
		w, err := zw.CreateRaw(fh)
		if err != nil {
			tb.Fatal(err)
		}
		fill(w)
	}
	di := "demo-1.0.dist-info/"
	raw("demo/blob.bin", size, crc.Sum32(), payload)
	record := "demo/blob.bin,sha256=" + base64.RawURLEncoding.EncodeToString(sum.Sum(nil)) + fmt.Sprintf(",%d\n", size)
	for _, m := range [][2]string{
		{di + "METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\n"},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{di + "RECORD", ""},
	} {
		data := m[1]
		if strings.HasSuffix(m[0], "RECORD") {
			data = record + di + "RECORD,,\n"
		} else {
			s := sha256.Sum256([]byte(data))
			record += m[0] + ",sha256=" + base64.RawURLEncoding.EncodeToString(s[:]) + fmt.Sprintf(",%d\n", len(data))
		}
		raw(m[0], int64(len(data)), crc32.ChecksumIEEE([]byte(data)), func(w io.Writer) { io.WriteString(w, data) })
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	f.Seek(0, 0)
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}

// streamedRequest builds an upload whose file part is read from disk, so
// the client side holds nothing in memory either.
func streamedRequest(tb testing.TB, url, auth, path, digest string) *http.Request {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	for _, kv := range [][2]string{{"name", "demo"}, {"version", "1.0"}, {"metadata_version", "2.1"}, {"pyversion", "py3"},
		{"filetype", "bdist_wheel"}, {"sha256_digest", digest}, {":action", "file_upload"}, {"protocol_version", "1"}} {
		mw.WriteField(kv[0], kv[1])
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="content"; filename="demo-1.0-py3-none-any.whl"`)
	h.Set("Content-Type", "application/octet-stream")
	mw.CreatePart(h)
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	st, _ := f.Stat()
	req, _ := http.NewRequest(http.MethodPost, url, io.MultiReader(bytes.NewReader(head.Bytes()), f, strings.NewReader(tail)))
	req.ContentLength = int64(head.Len()) + st.Size() + int64(len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", auth)
	return req
}

func benchUpload(b *testing.B, size int64) {
	dir := b.TempDir()
	wheelPath := filepath.Join(dir, "demo-1.0-py3-none-any.whl")
	digest := bigWheel(b, wheelPath, size)
	st, _ := os.Stat(wheelPath)
	setup, err := indexconfig.Parse("bench.yaml", []byte(`
users: [{name: alice}]
projects: [{name: demo, owners: [alice], upload_limit: 4294967296, total_size_limit: 42949672960}]
tokens: [{name: alice-all, user: alice}]
`))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	var peak atomic.Uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		// A fresh index on disk per round: a second upload of the same
		// file would be answered early as an identical re-upload.
		clk := clock.NewFake(t0)
		cat, blobs, err := index.OpenData(filepath.Join(dir, fmt.Sprintf("data%d", i)), clk)
		if err != nil {
			b.Fatal(err)
		}
		s, err := index.Start(index.Config{Setup: *setup, Clock: clk, Catalog: cat, Blobs: blobs})
		if err != nil {
			b.Fatal(err)
		}
		req := streamedRequest(b, s.URL()+"/legacy/", basic(token(b, s, "alice-all")), wheelPath, digest)
		runtime.GC()
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		b.StartTimer()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		b.StopTimer()
		close(stop)
		<-done
		if resp.Status != "200 OK" {
			b.Fatalf("upload: %s", resp.Status)
		}
		s.Close()
		os.RemoveAll(filepath.Join(dir, fmt.Sprintf("data%d", i)))
		b.StartTimer()
	}
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}

// BenchmarkUpload100MiB uploads a 100 MiB wheel end to end (HTTP,
// multipart streaming, hashing, archive checks, atomic commit on disk).
func BenchmarkUpload100MiB(b *testing.B) { benchUpload(b, 100<<20-8<<10) }

// BenchmarkUpload1GiB runs only when -bench names it explicitly (it
// writes several GiB to the temp directory).
func BenchmarkUpload1GiB(b *testing.B) {
	if !strings.Contains(flag.Lookup("test.bench").Value.String(), "1GiB") {
		b.Skip("run with -bench Upload1GiB")
	}
	benchUpload(b, 1<<30)
}
