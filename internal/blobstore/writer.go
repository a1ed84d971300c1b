package blobstore

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"

	"golang.org/x/crypto/blake2b"
)

// An upload moves in blocks of blockSize: read from the request in one
// piece, written to the file with one write(2), hashed as one slice. The
// request body used to move in the 4 KiB pieces of mime/multipart's
// buffer, one write(2) each; 128 KiB blocks cut the system calls 32-fold
// while keeping an upload's buffers at 512 KiB (pipelineBlocks of them), so
// the server's memory does not grow with the file. (256 KiB blocks cost
// 1 MiB more peak RSS and were no faster, measured in docs/performance.md.)
const (
	blockSize      = 128 << 10
	pipelineBlocks = 4
	// writebackEvery is how much the file grows between two requests to
	// the kernel to start writing it out (writeback_linux.go), so that
	// the final fsync of a large upload waits for the last few megabytes
	// instead of the whole file.
	writebackEvery = 8 << 20
)

var blockPool = sync.Pool{New: func() any { b := make([]byte, blockSize); return &b }}

// Writer spools one upload to a temporary file while hashing it. It is not
// safe for concurrent use. Write or ReadFrom, then Sync (optional: Commit
// syncs if needed), then either Commit or Abort; Abort after Commit is a
// no-op, so `defer w.Abort()` is the idiom.
type Writer struct {
	f         *os.File
	limit     int64
	n         int64
	exceeded  bool
	done      bool
	synced    bool
	noDigests bool
	md5       hash.Hash
	sha256    hash.Hash
	blake     hash.Hash
	random    Digests // reported instead when noDigests
	flushed   int64   // bytes already handed to the kernel's writeback
	// place moves the finished temp file to its final path and returns
	// the directories whose new entries must be synced (none in memory);
	// the two implementations differ only here.
	place func(w *Writer, path string) (dirs []string, err error)
}

func newWriter(f *os.File, limit int64, opts Options, place func(*Writer, string) ([]string, error)) *Writer {
	w := &Writer{f: f, limit: limit, place: place, noDigests: opts.NoDigests}
	if w.noDigests {
		w.random = randomDigests()
	} else {
		w.md5, w.sha256 = md5.New(), sha256.New()
		w.blake, _ = blake2b.New256(nil) // cannot fail without a key
	}
	return w
}

// randomDigests stand in for real ones when digests are off: unique, so
// that each upload still gets its own path.
func randomDigests() Digests {
	var b [32]byte
	rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	rand.Read(b[:])
	return Digests{MD5: s[:32], SHA256: s, Blake2256: hex.EncodeToString(b[:])}
}

// Write appends p, hashing it on the calling goroutine (for small data;
// a request body goes through ReadFrom). Once the total would exceed the
// limit it writes nothing more and returns ErrTooLarge (and Exceeded
// reports true), so a caller copying a request body stops reading there.
// A failure of the disk is a *StorageError.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.accept(len(p)); err != nil {
		return 0, err
	}
	n, err := w.f.Write(p)
	if !w.noDigests {
		w.md5.Write(p[:n])
		w.sha256.Write(p[:n])
		w.blake.Write(p[:n])
	}
	w.n += int64(n)
	if err != nil {
		return n, storageErr("write", err)
	}
	w.writeback()
	return n, nil
}

// accept checks that n more bytes may be written.
func (w *Writer) accept(n int) error {
	switch {
	case w.done:
		return ErrClosed
	case w.exceeded:
		return ErrTooLarge
	case w.limit > 0 && w.n+int64(n) > w.limit:
		w.exceeded = true
		w.n += int64(n)
		return ErrTooLarge
	}
	return nil
}

// ReadFrom copies r into the file in blocks of blockSize. The calling
// goroutine reads, writes and computes md5; one other goroutine computes
// sha256 and blake2b-256 of the same blocks, a block behind. The two loads
// are about equal, so on a machine with a core to spare the digests cost
// the upload little time. One hand-off per block keeps the Go scheduler's
// share small: with two helper goroutines (one per load) parking and
// waking cost about a second of CPU per GiB. An error reading r is
// returned as is; a failure of the disk is a *StorageError; crossing the
// limit is ErrTooLarge.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	if w.noDigests {
		return w.copyBlocks(r, nil)
	}
	h := w.startHasher()
	n, err := w.copyBlocks(r, h)
	h.stop()
	return n, err
}

// copyBlocks reads r a block at a time, writes each block and hands it to
// h (nil: nobody).
func (w *Writer) copyBlocks(r io.Reader, h *hasher) (int64, error) {
	var total int64
	for {
		var buf *[]byte
		if h != nil {
			buf = <-h.free
		} else {
			buf = blockPool.Get().(*[]byte)
		}
		n, rerr := io.ReadFull(r, *buf)
		var werr error
		if n > 0 {
			werr = w.accept(n)
			if werr == nil {
				var m int
				m, werr = w.f.Write((*buf)[:n])
				if werr != nil {
					werr = storageErr("write", werr)
				}
				n = m
			}
		}
		if n > 0 && (werr == nil || !errors.Is(werr, ErrTooLarge)) {
			w.n += int64(n)
			total += int64(n)
			if h != nil {
				w.md5.Write((*buf)[:n])
				h.in <- block{buf, n}
				buf = nil
			}
			w.writeback()
		}
		if buf != nil {
			if h != nil {
				h.free <- buf
			} else {
				blockPool.Put(buf)
			}
		}
		switch {
		case werr != nil:
			return total, werr
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			return total, nil
		case rerr != nil:
			return total, rerr
		}
	}
}

// block is a buffer and how much of it holds data.
type block struct {
	buf *[]byte
	n   int
}

// hasher is the goroutine of one ReadFrom that computes sha256 and
// blake2b-256, and the buffers it shares with the reader.
type hasher struct {
	free chan *[]byte
	in   chan block
	done chan struct{}
}

func (w *Writer) startHasher() *hasher {
	h := &hasher{free: make(chan *[]byte, pipelineBlocks), in: make(chan block, pipelineBlocks), done: make(chan struct{})}
	for range pipelineBlocks {
		h.free <- blockPool.Get().(*[]byte)
	}
	go func() {
		defer close(h.done)
		for b := range h.in {
			p := (*b.buf)[:b.n]
			w.sha256.Write(p)
			w.blake.Write(p)
			h.free <- b.buf
		}
	}()
	return h
}

// stop waits until every block is hashed and returns the buffers.
func (h *hasher) stop() {
	close(h.in)
	<-h.done
	for range pipelineBlocks {
		blockPool.Put(<-h.free)
	}
}

// writeback asks the kernel to start writing out what accumulated since
// the last request, once it is writebackEvery bytes.
func (w *Writer) writeback() {
	if w.n-w.flushed >= writebackEvery {
		startWriteback(w.f, w.flushed, w.n-w.flushed)
		w.flushed = w.n
	}
}

// Size is the number of bytes offered so far (beyond the limit too, up to
// the chunk that crossed it).
func (w *Writer) Size() int64 { return w.n }

// Exceeded reports whether the limit was crossed.
func (w *Writer) Exceeded() bool { return w.exceeded }

// Hashed reports whether Digests are the bytes' real digests (false only
// with the benchmark switch Options.NoDigests).
func (w *Writer) Hashed() bool { return !w.noDigests }

// Digests returns the hex digests of what was written.
func (w *Writer) Digests() Digests {
	if w.noDigests {
		return w.random
	}
	return Digests{
		MD5:       hex.EncodeToString(w.md5.Sum(nil)),
		SHA256:    hex.EncodeToString(w.sha256.Sum(nil)),
		Blake2256: hex.EncodeToString(w.blake.Sum(nil)),
	}
}

// Path returns PyPI's storage path for the written bytes under filename.
func (w *Writer) Path(filename string) string { return Path(w.Digests().Blake2256, filename) }

// LocalPath is the temporary file holding the bytes, for validators that
// want a file name (zip.OpenReader). Valid until Commit or Abort.
func (w *Writer) LocalPath() string { return w.f.Name() }

// ReaderAt gives random access to the bytes written so far and their size,
// for archive/zip.NewReader. Valid until Commit or Abort.
func (w *Writer) ReaderAt() (io.ReaderAt, int64) { return w.f, w.n }

// Sync makes the written bytes durable (fsync). It is the slow part of
// storing a large file, so the upload handler calls it before it enters
// the catalog's lock; Commit then only renames.
func (w *Writer) Sync() error {
	if w.done {
		return ErrClosed
	}
	if w.synced {
		return nil
	}
	if err := w.f.Sync(); err != nil {
		return storageErr("sync", err)
	}
	w.synced = true
	return nil
}

// Commit makes the bytes visible at path, atomically and durably (it
// syncs first if Sync was not called). It refuses a writer whose limit was
// exceeded. A failure of the disk is a *StorageError.
func (w *Writer) Commit(path string) error { return Commit(Placement{w, path}) }

// Placement is a writer and the path to commit it at.
type Placement struct {
	W    *Writer
	Path string
}

// Commit commits each writer at its path, in order, and then syncs every
// directory that got a new entry once, however many of the files went
// there (a wheel and its .metadata share one). On failure the files
// already placed stay where they are, unlisted, for the caller to delete.
func Commit(ps ...Placement) error {
	for _, p := range ps {
		switch {
		case p.W.done:
			return ErrClosed
		case p.W.exceeded:
			return ErrTooLarge
		}
		if err := ValidPath(p.Path); err != nil {
			return err
		}
	}
	var dirs []string
	for _, p := range ps {
		d, err := p.W.place(p.W, p.Path)
		if err != nil {
			return err
		}
		p.W.done = true
		for _, dir := range d {
			if !slices.Contains(dirs, dir) {
				dirs = append(dirs, dir)
			}
		}
	}
	for _, dir := range dirs {
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	return nil
}

// Abort discards the bytes. It is safe to call more than once and after
// Commit.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	name := w.f.Name()
	w.f.Close()
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blobstore: abort: %w", err)
	}
	return nil
}
