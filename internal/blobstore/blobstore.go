// Package blobstore keeps the bytes of uploaded distribution files and their
// PEP 658 metadata files, laid out the way PyPI lays them out.
//
// PyPI stores a file at blake2_256[0:2]/blake2_256[2:4]/blake2_256[4:]/<filename>
// (warehouse/forklift/legacy.py) and serves it as
// https://files.pythonhosted.org/packages/<path>; a wheel's METADATA is stored
// next to it as <path>.metadata (PEP 658). Clients only ever see those paths,
// so this package keeps exactly that layout and nothing else.
//
// Uploads are streamed: Store.NewWriter returns a Writer that spools to a
// temporary file in large blocks while md5, sha256 and blake2b-256 are
// computed on other goroutines (writer.go), so memory stays constant
// whatever the size. The upload handler can validate the spooled file
// (LocalPath, ReaderAt) before it decides to Commit it under its final path
// or Abort it. Nothing is visible under a final path until Commit, and
// Commit is atomic. Sync, the expensive part of making the bytes durable,
// is separate so that it can run before any lock is taken.
package blobstore

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
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

// StorageError is a failure of the disk under the store (full, read-only,
// an I/O error), as opposed to a bad request. Its message names the
// operation and the system's reason and never a path: it may reach a
// client (as a 5xx) and the event log.
type StorageError struct {
	Op  string // "spool", "write", "sync", "commit", ...
	Err error  // the system's error, without its path
}

func (e *StorageError) Error() string { return "blobstore: " + e.Op + ": " + e.Err.Error() }
func (e *StorageError) Unwrap() error { return e.Err }

// storageErr wraps err, dropping the path that *fs.PathError and
// *os.LinkError carry.
func storageErr(op string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return &StorageError{Op: op, Err: err}
}

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

// Options configure a store.
type Options struct {
	// NoDigests makes writers skip md5, sha256 and blake2b-256 and report
	// random digests instead. It is a benchmark-only switch, to measure
	// what the digests cost (FAKEINDEX_BENCH_NO_DIGESTS=1, see
	// docs/performance.md); such a store is no use for anything else.
	NoDigests bool
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

// ValidPath rejects anything that is not a clean relative path, so that a
// request for /packages/../catalog.json cannot leave the store, and temp
// names (leading dot) cannot be addressed. The catalog checks the paths it
// loads with it.
func ValidPath(p string) error {
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
