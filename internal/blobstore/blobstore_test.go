package blobstore

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

// BenchmarkStreamWrite streams 100 MiB (PyPI's default file limit) through a
// Disk writer: throughput and allocations must not depend on the size.
func BenchmarkStreamWrite(b *testing.B) {
	const size = 100 << 20
	d, err := NewDisk(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{0xa5}, 1<<20)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		w, err := d.NewWriter(size)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.ReadFrom(&repeatReader{chunk: chunk, left: size}); err != nil {
			b.Fatal(err)
		}
		_ = w.Digests()
		w.Abort()
	}
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
