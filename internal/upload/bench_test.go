package upload_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/blobstore"
	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/index"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/pypitest"
)

// bigWheel writes a valid wheel of about size bytes to path, streaming
// (pypitest.WriteLargeWheel). It returns the sha256.
func bigWheel(tb testing.TB, path string, size int64) string {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sum, err := pypitest.WriteLargeWheel(f, "demo", "1.0", size)
	if err != nil {
		tb.Fatal(err)
	}
	return sum
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

const benchSetup = `
users: [{name: alice}]
projects: [{name: demo, owners: [alice], upload_limit: 4294967296, total_size_limit: 42949672960}]
tokens: [{name: alice-all, user: alice}]
`

// benchIndex starts an index on a fresh data directory, with the blob
// store's digests on or off (the benchmark-only switch).
func benchIndex(b *testing.B, dir, setup string, noDigests bool) *index.Server {
	b.Helper()
	f, err := indexconfig.Parse("bench.yaml", []byte(setup))
	if err != nil {
		b.Fatal(err)
	}
	clk := clock.NewFake(t0)
	cat, blobs, err := index.OpenData(dir, clk)
	if err != nil {
		b.Fatal(err)
	}
	blobs.(*blobstore.Disk).NoDigests = noDigests
	s, err := index.Start(index.Config{Setup: *f, Clock: clk, Catalog: cat, Blobs: blobs})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(); cat.Close() })
	return s
}

// processCPU is this process's user + system time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchUpload uploads a wheel of size bytes end to end (HTTP, multipart
// streaming, hashing, archive checks, durable commit on disk), in each
// iteration once to an index with digests and once to one without (the
// order alternating), so the ratio is taken seconds apart. While the
// upload with digests runs, /simple/ is requested every 10 ms. Metrics:
// MB/s with and without digests and their ratio; CPU per GiB of this
// process (the client's share included: reading the wheel and sending it
// over loopback); the /simple/ p99; the peak Go heap. bench/run measures
// the server process alone (docs/performance.md).
func benchUpload(b *testing.B, size int64) {
	dir := b.TempDir()
	wheelPath := filepath.Join(dir, "demo-1.0-py3-none-any.whl")
	digest := bigWheel(b, wheelPath, size)
	st, _ := os.Stat(wheelPath)
	var on, off, cpu, simple []float64
	var peak atomic.Uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, noDigests := range []bool{i%2 == 1, i%2 == 0} {
			b.StopTimer()
			// A fresh index per upload: a second upload of the same file
			// would be answered early as an identical re-upload.
			data := filepath.Join(dir, fmt.Sprintf("data%d-%v", i, noDigests))
			s := benchIndex(b, data, benchSetup, noDigests)
			req := streamedRequest(b, s.URL()+"/legacy/", basic(token(b, s, "alice-all")), wheelPath, digest)
			runtime.GC()
			stop := make(chan struct{})
			var probes sync.WaitGroup
			probes.Add(1)
			go func() {
				defer probes.Done()
				var ms runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-time.After(10 * time.Millisecond):
					}
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > peak.Load() {
						peak.Store(ms.HeapInuse)
					}
					if noDigests {
						continue
					}
					t := time.Now()
					resp, err := http.Get(s.URL() + "/simple/")
					if err != nil {
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					simple = append(simple, float64(time.Since(t))/float64(time.Millisecond))
				}
			}()
			b.StartTimer()
			cpu0, t0 := processCPU(), time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			took, used := time.Since(t0), processCPU()-cpu0
			b.StopTimer()
			close(stop)
			probes.Wait()
			if resp.Status != "200 OK" {
				b.Fatalf("upload: %s", resp.Status)
			}
			mbps := float64(st.Size()) / 1e6 / took.Seconds()
			if noDigests {
				off = append(off, mbps)
			} else {
				on = append(on, mbps)
				cpu = append(cpu, used.Seconds()/(float64(st.Size())/(1<<30)))
			}
			os.RemoveAll(data)
			b.StartTimer()
		}
	}
	b.ReportMetric(median(on), "MB/s")
	b.ReportMetric(median(off), "MB/s-no-digests")
	b.ReportMetric(median(on)/median(off), "digests-on/off")
	b.ReportMetric(median(cpu), "process-CPU-s/GiB")
	b.ReportMetric(percentile(simple, 99), "simple-p99-ms")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}

func median(xs []float64) float64 { return percentile(xs, 50) }

// percentile is the p-th percentile of xs (nearest rank), 0 for none.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// BenchmarkUpload100MiB uploads a 100 MiB wheel (see benchUpload).
func BenchmarkUpload100MiB(b *testing.B) { benchUpload(b, 100<<20-8<<10) }

// BenchmarkUpload1GiB runs only when -bench names it explicitly (it
// writes several GiB to the temp directory).
func BenchmarkUpload1GiB(b *testing.B) {
	if !strings.Contains(flag.Lookup("test.bench").Value.String(), "1GiB") {
		b.Skip("run with -bench Upload1GiB")
	}
	benchUpload(b, 1<<30)
}

// BenchmarkUploadCatalog10000 uploads 10,000 small wheels one after the
// other to one index on disk (100 projects, 100 versions each) and
// compares the median time of the last 100 uploads with the first 100's:
// an upload must cost the same whatever the catalog holds. It runs only
// when -bench names it explicitly (about a minute).
func BenchmarkUploadCatalog10000(b *testing.B) {
	if !strings.Contains(flag.Lookup("test.bench").Value.String(), "Catalog10000") {
		b.Skip("run with -bench UploadCatalog10000")
	}
	const files, projects = 10000, 100
	var setup strings.Builder
	setup.WriteString("users: [{name: alice}]\ntokens: [{name: alice-all, user: alice}]\nprojects:\n")
	for i := range projects {
		fmt.Fprintf(&setup, "  - {name: p%03d, owners: [alice]}\n", i)
	}
	var first, last []float64
	for i := 0; i < b.N; i++ {
		s := benchIndex(b, filepath.Join(b.TempDir(), "data"), setup.String(), false)
		auth := basic(token(b, s, "alice-all"))
		lat := make([]float64, 0, files)
		for j := range files {
			name, version := fmt.Sprintf("p%03d", j%projects), fmt.Sprintf("1.0.%d", j/projects)
			f := uploadForm(name, version, name+"-"+version+"-py3-none-any.whl", wheel(name, version))
			body, ctype := f.encode()
			req, _ := http.NewRequest(http.MethodPost, s.URL()+"/legacy/", bytes.NewReader(body))
			req.Header.Set("Content-Type", ctype)
			req.Header.Set("Authorization", auth)
			t := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lat = append(lat, float64(time.Since(t))/float64(time.Millisecond))
			if resp.StatusCode != 200 {
				b.Fatalf("upload %d: %s", j, resp.Status)
			}
		}
		first, last = append(first, median(lat[:100])), append(last, median(lat[files-100:]))
	}
	b.ReportMetric(median(first), "p50-first-100-ms")
	b.ReportMetric(median(last), "p50-last-100-ms")
	b.ReportMetric(median(last)/median(first), "last/first")
}
