// Package blobstore keeps the bytes of uploaded distribution files and their
// PEP 658 metadata files, laid out the way PyPI lays them out.
//
// PyPI stores a file at blake2_256[0:2]/blake2_256[2:4]/blake2_256[4:]/<filename>
// (warehouse/forklift/legacy.py) and serves it as
// https://files.pythonhosted.org/packages/<path>; a wheel's METADATA is stored
// next to it as <path>.metadata (PEP 658). Clients only ever see those paths,
// so this package keeps exactly that layout and nothing else.
//
// Uploads are streamed: Store.NewWriter returns a Writer that hashes (md5,
// sha256, blake2b-256) and counts in the same pass as it spools to a temporary
// file, so memory stays constant whatever the size. The upload handler can
// validate the spooled file (LocalPath, ReaderAt) before it decides to
// Commit it under its final path or Abort it. Nothing is visible under a
// final path until Commit, and Commit is atomic.
package blobstore

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/blake2b"
)

// Errors.
var (
	// ErrNotFound is returned by Open for a path that holds no blob.
	ErrNotFound = errors.New("blobstore: not found")
	// ErrTooLarge is returned by Writer.Write once more than the limit has
	// been written. Warehouse compares the streamed size with the limit
	// after each chunk and fails when size > limit (a file of exactly the
	// limit is accepted; warehouse/forklift/legacy.py).
	ErrTooLarge = errors.New("blobstore: file exceeds size limit")
	// ErrInvalidPath is returned for a path that could escape the store.
	ErrInvalidPath = errors.New("blobstore: invalid path")
	// ErrClosed is returned by a Writer used after Commit or Abort.
	ErrClosed = errors.New("blobstore: writer already committed or aborted")
)

// Store holds blobs by slash-separated relative path.
type Store interface {
	// NewWriter starts a streamed write. limit is the largest accepted
	// size in bytes; limit <= 0 means no limit.
	NewWriter(limit int64) (*Writer, error)
	// Put stores small data (a .metadata file) atomically at path.
	Put(path string, data []byte) error
	// Open returns the blob at path, or ErrNotFound.
	Open(path string) (Blob, error)
	// Delete removes the blob at path; a missing blob is not an error.
	Delete(path string) error
}

// Blob is an open stored file. It supports http.ServeContent (Range
// requests) through io.ReadSeeker.
type Blob interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
	Size() int64
	ModTime() time.Time
}

// Digests are the lowercase hex digests PyPI records for every file
// (md5_digest, sha256_digest, blake2_256_digest).
type Digests struct {
	MD5       string
	SHA256    string
	Blake2256 string
}

// Path returns PyPI's storage path for a file with the given blake2b-256
// hex digest: blake2_256[0:2]/blake2_256[2:4]/blake2_256[4:]/<filename>
// (warehouse/forklift/legacy.py).
func Path(blake2hex, filename string) string {
	return blake2hex[0:2] + "/" + blake2hex[2:4] + "/" + blake2hex[4:] + "/" + filename
}

// MetadataPath returns where the PEP 658 metadata of the file at path lives.
func MetadataPath(path string) string { return path + ".metadata" }

// Sum hashes data the way a Writer does; handy for seeding and tests.
func Sum(data []byte) Digests {
	m := md5.Sum(data)
	s := sha256.Sum256(data)
	b := blake2b.Sum256(data)
	return Digests{hex.EncodeToString(m[:]), hex.EncodeToString(s[:]), hex.EncodeToString(b[:])}
}

// validPath rejects anything that is not a clean relative path, so that a
// request for /packages/../catalog.json cannot leave the store, and temp
// names (leading dot) cannot be addressed.
func validPath(p string) error {
	if p == "" || !fs.ValidPath(p) || strings.Contains(p, "\\") {
		return ErrInvalidPath
	}
	for _, seg := range strings.Split(p, "/") {
		if strings.HasPrefix(seg, ".") {
			return ErrInvalidPath
		}
	}
	return nil
}

// copyBufSize is the chunk used when a Writer pulls from a reader. It bounds
// the memory of an upload independently of the file size.
const copyBufSize = 256 << 10

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// Writer spools one upload to a temporary file while hashing it. It is not
// safe for concurrent use. Write, ReadFrom, then either Commit or Abort;
// Abort after Commit is a no-op, so `defer w.Abort()` is the idiom.
type Writer struct {
	f        *os.File
	limit    int64
	n        int64
	exceeded bool
	done     bool
	md5      hash.Hash
	sha256   hash.Hash
	blake    hash.Hash
	// commit moves the finished temp file to its final path; the two
	// implementations differ only here.
	commit func(tmp *os.File, path string) error
}

func newWriter(f *os.File, limit int64, commit func(*os.File, string) error) *Writer {
	b, _ := blake2b.New256(nil) // cannot fail without a key
	return &Writer{f: f, limit: limit, md5: md5.New(), sha256: sha256.New(), blake: b, commit: commit}
}

// Write appends p, hashing it. Once the total would exceed the limit it
// writes nothing more and returns ErrTooLarge (and Exceeded reports true),
// so a caller copying a request body stops reading there.
func (w *Writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, ErrClosed
	}
	if w.exceeded {
		return 0, ErrTooLarge
	}
	if w.limit > 0 && w.n+int64(len(p)) > w.limit {
		w.exceeded = true
		w.n += int64(len(p))
		return 0, ErrTooLarge
	}
	n, err := w.f.Write(p)
	w.md5.Write(p[:n])
	w.sha256.Write(p[:n])
	w.blake.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// ReadFrom copies r into the writer with a pooled buffer (io.Copy uses it),
// so streaming a multipart part allocates nothing per chunk.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	var total int64
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

// Size is the number of bytes offered so far (beyond the limit too, up to
// the chunk that crossed it).
func (w *Writer) Size() int64 { return w.n }

// Exceeded reports whether the limit was crossed.
func (w *Writer) Exceeded() bool { return w.exceeded }

// Digests returns the hex digests of what was written.
func (w *Writer) Digests() Digests {
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

// Commit makes the bytes visible at path, atomically. It refuses a writer
// whose limit was exceeded.
func (w *Writer) Commit(path string) error {
	if w.done {
		return ErrClosed
	}
	if w.exceeded {
		return ErrTooLarge
	}
	if err := validPath(path); err != nil {
		return err
	}
	if err := w.commit(w.f, path); err != nil {
		return err
	}
	w.done = true
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
