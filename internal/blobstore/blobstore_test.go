package blobstore

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

func stores(t *testing.T) map[string]Store {
	d, err := NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := NewMemory()
	m.TempDir = t.TempDir()
	return map[string]Store{"disk": d, "memory": m}
}

func TestPathLayout(t *testing.T) {
	// The layout PyPI documents: ab/cd/<rest>/<filename>.
	d := Sum([]byte("hello"))
	got := Path(d.Blake2256, "demo-1.0.tar.gz")
	want := d.Blake2256[:2] + "/" + d.Blake2256[2:4] + "/" + d.Blake2256[4:] + "/demo-1.0.tar.gz"
	if got != want {
		t.Fatalf("Path = %q, want %q", got, want)
	}
	if MetadataPath(got) != got+".metadata" {
		t.Fatal("MetadataPath")
	}
	// Known blake2b-256 of "hello" (b2sum -l 256).
	if d.Blake2256 != "324dcf027dd4a30a932c441f365a25e86b173defa4b8e58948253471b81b72cf" {
		t.Fatalf("blake2b-256(hello) = %s", d.Blake2256)
	}
}

func TestStreamCommitOpen(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			data := bytes.Repeat([]byte("0123456789"), 100000)
			w, err := s.NewWriter(int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			if w.Exceeded() || w.Size() != int64(len(data)) {
				t.Fatalf("size %d exceeded %v", w.Size(), w.Exceeded())
			}
			if w.Digests() != Sum(data) {
				t.Fatalf("digests %+v != %+v", w.Digests(), Sum(data))
			}
			// The temp file is readable before commit, by path and ReaderAt.
			local, err := os.ReadFile(w.LocalPath())
			if err != nil || !bytes.Equal(local, data) {
				t.Fatalf("LocalPath content mismatch (%v)", err)
			}
			ra, n := w.ReaderAt()
			buf := make([]byte, 10)
			if _, err := ra.ReadAt(buf, n-10); err != nil || string(buf) != "0123456789" {
				t.Fatalf("ReaderAt: %q %v", buf, err)
			}
			path := w.Path("demo-1.0.tar.gz")
			if _, err := s.Open(path); !errors.Is(err, ErrNotFound) {
				t.Fatalf("visible before commit: %v", err)
			}
			if err := w.Commit(path); err != nil {
				t.Fatal(err)
			}
			if err := w.Abort(); err != nil {
				t.Fatalf("Abort after Commit: %v", err)
			}
			b, err := s.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			got, _ := io.ReadAll(b)
			if !bytes.Equal(got, data) || b.Size() != int64(len(data)) {
				t.Fatal("content mismatch after commit")
			}
			if _, err := os.Stat(w.LocalPath()); !os.IsNotExist(err) {
				t.Fatalf("temp file left behind: %v", err)
			}
		})
	}
}

func TestLimit(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			// Exactly the limit is accepted (PyPI: size > limit fails).
			w, _ := s.NewWriter(10)
			if _, err := io.Copy(w, strings.NewReader("0123456789")); err != nil || w.Exceeded() {
				t.Fatalf("exact limit: %v", err)
			}
			w.Abort()
			w, _ = s.NewWriter(10)
			_, err := io.Copy(w, strings.NewReader("0123456789x"))
			if !errors.Is(err, ErrTooLarge) || !w.Exceeded() {
				t.Fatalf("limit+1: err=%v exceeded=%v", err, w.Exceeded())
			}
			if err := w.Commit("ab/cd/ef/x.whl"); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("commit of an oversize file: %v", err)
			}
			tmp := w.LocalPath()
			if err := w.Abort(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(tmp); !os.IsNotExist(err) {
				t.Fatal("abort left the temp file")
			}
			if _, err := s.Open("ab/cd/ef/x.whl"); !errors.Is(err, ErrNotFound) {
				t.Fatal("aborted blob visible")
			}
		})
	}
}

func TestInvalidPaths(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			for _, p := range []string{"", "../x", "/abs", "a/../b", ".tmp/x", "a\\b", "a//b"} {
				if err := s.Put(p, []byte("x")); !errors.Is(err, ErrInvalidPath) {
					t.Errorf("Put(%q) = %v", p, err)
				}
				if _, err := s.Open(p); err == nil {
					t.Errorf("Open(%q) succeeded", p)
				}
			}
		})
	}
}

func TestDiskSurvivesReopenAndAbortKeepsOldData(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Put("ab/cd/ef/demo-1.0.tar.gz.metadata", []byte("Metadata-Version: 2.1\n")); err != nil {
		t.Fatal(err)
	}
	// A write that is aborted, and one left half-way as by a crash.
	w, _ := d.NewWriter(0)
	w.Write([]byte("partial"))
	w.Abort()
	crashed, _ := d.NewWriter(0)
	crashed.Write([]byte("crash"))

	d2, err := NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d2.Open("ab/cd/ef/demo-1.0.tar.gz.metadata")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(b)
	b.Close()
	if string(got) != "Metadata-Version: 2.1\n" {
		t.Fatalf("got %q", got)
	}
	left, _ := os.ReadDir(filepath.Join(dir, tmpDirName))
	if len(left) != 0 {
		t.Fatalf("reopen kept %d temp files", len(left))
	}
	// Delete removes the file and its now-empty digest directories.
	if err := d2.Delete("ab/cd/ef/demo-1.0.tar.gz.metadata"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ab")); !os.IsNotExist(err) {
		t.Fatal("empty digest directories left behind")
	}
}

// BenchmarkStreamWrite streams 100 MiB (PyPI's default file limit) through
// a Disk writer, as a request body arrives (4 KiB reads), and syncs it:
// the store's own cost, with no HTTP and no client in the process. Each
// iteration writes once with the three digests and once without (the
// benchmark-only switch), so the ratio is taken seconds apart; CPU is
// this process's, per GiB. Allocations must not depend on the size.
func BenchmarkStreamWrite(b *testing.B) {
	const size = 100 << 20
	d, err := NewDisk(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{0xa5}, 4<<10)
	var mbps, cpu [2][]float64
	b.SetBytes(2 * size)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for _, off := range []int{i % 2, 1 - i%2} {
			d.NoDigests = off == 1
			w, err := d.NewWriter(size)
			if err != nil {
				b.Fatal(err)
			}
			c0, t0 := cpuTime(), time.Now()
			if _, err := w.ReadFrom(&repeatReader{chunk: chunk, left: size}); err != nil {
				b.Fatal(err)
			}
			_ = w.Digests()
			if err := w.Sync(); err != nil {
				b.Fatal(err)
			}
			mbps[off] = append(mbps[off], size/1e6/time.Since(t0).Seconds())
			cpu[off] = append(cpu[off], (cpuTime()-c0).Seconds()*(1<<30)/size)
			w.Abort()
		}
	}
	b.ReportMetric(medianOf(mbps[0]), "MB/s-digests")
	b.ReportMetric(medianOf(mbps[1]), "MB/s-no-digests")
	b.ReportMetric(medianOf(mbps[0])/medianOf(mbps[1]), "digests-on/off")
	b.ReportMetric(medianOf(cpu[0]), "CPU-s/GiB-digests")
	b.ReportMetric(medianOf(cpu[1]), "CPU-s/GiB-no-digests")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// repeatReader yields left bytes of chunk without allocating.
type repeatReader struct {
	chunk []byte
	left  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunk)
	if n > r.left {
		n = r.left
	}
	r.left -= n
	return n, nil
}

// onlyReader hides a reader's WriteTo, so io.Copy goes through ReadFrom
// as a request body does.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// TestReadFromPipeline streams sizes around the block size and past the
// writeback step through ReadFrom (hashing on other goroutines) and
// compares with the digests computed in one go.
func TestReadFromPipeline(t *testing.T) {
	d, _ := NewDisk(t.TempDir())
	rng := rand.New(rand.NewSource(1))
	for _, size := range []int{0, 1, blockSize - 1, blockSize, blockSize + 1, 3*blockSize + 17, writebackEvery + 5*blockSize + 3} {
		data := make([]byte, size)
		rng.Read(data)
		w, err := d.NewWriter(0)
		if err != nil {
			t.Fatal(err)
		}
		// Odd-sized reads, as a multipart part gives them.
		n, err := io.Copy(w, onlyReader{iotest.HalfReader(bytes.NewReader(data))})
		if err != nil || n != int64(size) || w.Size() != int64(size) {
			t.Fatalf("size %d: copied %d, %v", size, n, err)
		}
		if w.Digests() != Sum(data) {
			t.Fatalf("size %d: digests differ", size)
		}
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(w.Path("x.whl")); err != nil {
			t.Fatal(err)
		}
		b, _ := d.Open(w.Path("x.whl"))
		got, _ := io.ReadAll(b)
		b.Close()
		if !bytes.Equal(got, data) {
			t.Fatalf("size %d: stored bytes differ", size)
		}
	}
}

func TestReadFromLimitAndErrors(t *testing.T) {
	d, _ := NewDisk(t.TempDir())
	data := bytes.Repeat([]byte("x"), 3*blockSize)
	for _, limit := range []int64{1, blockSize - 1, blockSize, 2*blockSize + 5} {
		w, _ := d.NewWriter(limit)
		_, err := io.Copy(w, onlyReader{bytes.NewReader(data)})
		if !errors.Is(err, ErrTooLarge) || !w.Exceeded() || w.Size() <= limit {
			t.Fatalf("limit %d: %v exceeded=%v size=%d", limit, err, w.Exceeded(), w.Size())
		}
		w.Abort()
	}
	// Exactly the limit fits.
	w, _ := d.NewWriter(int64(len(data)))
	if _, err := io.Copy(w, onlyReader{bytes.NewReader(data)}); err != nil || w.Exceeded() {
		t.Fatalf("exact limit: %v", err)
	}
	w.Abort()
	// A reader's error comes back as is, not as a storage error.
	boom := errors.New("connection reset")
	w, _ = d.NewWriter(0)
	_, err := w.ReadFrom(io.MultiReader(bytes.NewReader(data[:blockSize+3]), iotest.ErrReader(boom)))
	var se *StorageError
	if !errors.Is(err, boom) || errors.As(err, &se) {
		t.Fatalf("reader error: %v", err)
	}
	w.Abort()
}

func TestNoDigests(t *testing.T) {
	d, _ := NewDisk(t.TempDir())
	d.NoDigests = true
	w1, _ := d.NewWriter(0)
	w2, _ := d.NewWriter(0)
	io.Copy(w1, onlyReader{strings.NewReader("same")})
	io.Copy(w2, onlyReader{strings.NewReader("same")})
	if w1.Hashed() || w1.Digests() == w2.Digests() || w1.Digests() == Sum([]byte("same")) || len(w1.Digests().Blake2256) != 64 {
		t.Fatalf("digests off: %+v %+v", w1.Digests(), w2.Digests())
	}
	if err := w1.Commit(w1.Path("a.whl")); err != nil {
		t.Fatal(err)
	}
	w2.Abort()
}

// TestStorageErrorsNameNoPath: what a full disk reports may reach a
// client, so it never carries a server path.
func TestStorageErrorsNameNoPath(t *testing.T) {
	dir := t.TempDir()
	d, _ := NewDisk(dir)
	w, _ := d.NewWriter(0)
	w.f.Close() // every write now fails, as on a dead disk
	_, err := w.Write([]byte("x"))
	var se *StorageError
	if !errors.As(err, &se) || strings.Contains(err.Error(), dir) || se.Op != "write" {
		t.Fatalf("write: %v", err)
	}
	_, err = w.ReadFrom(onlyReader{strings.NewReader(strings.Repeat("y", blockSize+1))})
	if !errors.As(err, &se) || strings.Contains(err.Error(), dir) {
		t.Fatalf("ReadFrom: %v", err)
	}
	w.Abort()
	// A file where a digest directory must go.
	os.WriteFile(filepath.Join(dir, "ab"), nil, 0o644)
	w, _ = d.NewWriter(0)
	w.Write([]byte("z"))
	if err := w.Commit("ab/cd/ef/z.whl"); !errors.As(err, &se) || strings.Contains(err.Error(), dir) {
		t.Fatalf("commit: %v", err)
	}
	w.Abort()
}

func TestSweep(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			for _, p := range []string{"aa/bb/cc/keep.whl", "aa/bb/cc/keep.whl.metadata", "aa/bb/dd/orphan.whl", "ee/ff/gg/orphan.tar.gz"} {
				if err := s.Put(p, []byte(p)); err != nil {
					t.Fatal(err)
				}
			}
			keep := func(p string) bool { return strings.Contains(p, "keep") }
			n, err := s.(interface {
				Sweep(func(string) bool) (int, error)
			}).Sweep(keep)
			if err != nil || n != 2 {
				t.Fatalf("swept %d, %v", n, err)
			}
			for _, p := range []string{"aa/bb/cc/keep.whl", "aa/bb/cc/keep.whl.metadata"} {
				if _, err := s.Open(p); err != nil {
					t.Errorf("%s: %v", p, err)
				}
			}
			for _, p := range []string{"aa/bb/dd/orphan.whl", "ee/ff/gg/orphan.tar.gz"} {
				if _, err := s.Open(p); !errors.Is(err, ErrNotFound) {
					t.Errorf("%s survived: %v", p, err)
				}
			}
			if d, ok := s.(*Disk); ok {
				// Emptied digest directories go too; the spool stays.
				for _, p := range []string{"ee", "aa/bb/dd"} {
					if _, err := os.Stat(filepath.Join(d.Root(), p)); !os.IsNotExist(err) {
						t.Errorf("%s left: %v", p, err)
					}
				}
				if _, err := os.Stat(filepath.Join(d.Root(), tmpDirName)); err != nil {
					t.Error("the spool directory was swept")
				}
			}
		})
	}
}
