package blobstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// tmpDirName is where Disk spools uploads. It sits inside the root so that
// the final rename never crosses a filesystem (rename(2) is only atomic
// within one), and its leading dot keeps it out of the blob namespace
// (validPath refuses dot segments). The final directory cannot host the
// temp file because it is named after the blake2 digest, which is known
// only once the last byte is in.
const tmpDirName = ".tmp"

// Disk stores blobs as files under a root directory. It survives restarts.
// Every write is temp file + fsync + rename + fsync of the directory, so a
// crash leaves either the old state or the new one, never a partial file
// under a final name; leftover temp files are removed by NewDisk.
type Disk struct {
	root string
	tmp  string
}

// NewDisk opens (creating if needed) a store rooted at dir.
func NewDisk(dir string) (*Disk, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	tmp := filepath.Join(abs, tmpDirName)
	// Temp files left by a crash were never committed: nobody refers to
	// them, so they are safe to drop.
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("blobstore: clean %s: %w", tmp, err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("blobstore: %w", err)
	}
	return &Disk{root: abs, tmp: tmp}, nil
}

// Root is the directory the store lives in.
func (d *Disk) Root() string { return d.root }

// NewWriter implements Store.
func (d *Disk) NewWriter(limit int64) (*Writer, error) {
	f, err := os.CreateTemp(d.tmp, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("blobstore: %w", err)
	}
	return newWriter(f, limit, d.commitFile), nil
}

func (d *Disk) commitFile(f *os.File, path string) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blobstore: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("blobstore: close: %w", err)
	}
	if err := d.install(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

// install renames the synced temp file tmp to path and makes the rename
// durable by syncing every directory it touched.
func (d *Disk) install(tmp, path string) error {
	final := filepath.Join(d.root, filepath.FromSlash(path))
	if err := d.mkdirAll(filepath.Dir(final)); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	return syncDir(filepath.Dir(final))
}

// mkdirAll creates dir and its missing parents below the root, syncing each
// parent after a child appears so the new directory entries survive a crash.
func (d *Disk) mkdirAll(dir string) error {
	if dir == d.root {
		return nil
	}
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("blobstore: %s is not a directory", dir)
		}
		return nil
	}
	if err := d.mkdirAll(filepath.Dir(dir)); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("blobstore: %w", err)
	}
	return syncDir(filepath.Dir(dir))
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blobstore: sync dir: %w", err)
	}
	return nil
}

// Put implements Store.
func (d *Disk) Put(path string, data []byte) error {
	if err := validPath(path); err != nil {
		return err
	}
	f, err := os.CreateTemp(d.tmp, "put-*")
	if err != nil {
		return fmt.Errorf("blobstore: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("blobstore: %w", err)
	}
	return d.commitFile(f, path)
}

// Open implements Store.
func (d *Disk) Open(path string) (Blob, error) {
	if err := validPath(path); err != nil {
		return nil, ErrNotFound
	}
	f, err := os.Open(filepath.Join(d.root, filepath.FromSlash(path)))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("blobstore: %w", err)
	}
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		f.Close()
		return nil, ErrNotFound
	}
	return &diskBlob{File: f, size: fi.Size(), mod: fi.ModTime()}, nil
}

type diskBlob struct {
	*os.File
	size int64
	mod  time.Time
}

func (b *diskBlob) Size() int64        { return b.size }
func (b *diskBlob) ModTime() time.Time { return b.mod }

// Delete implements Store. Emptied digest directories are removed too, so
// a deleted project leaves no trace in the data directory.
func (d *Disk) Delete(path string) error {
	if err := validPath(path); err != nil {
		return err
	}
	final := filepath.Join(d.root, filepath.FromSlash(path))
	if err := os.Remove(final); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blobstore: %w", err)
	}
	dir := filepath.Dir(final)
	for dir != d.root && strings.HasPrefix(dir, d.root) {
		if os.Remove(dir) != nil { // not empty (or gone): stop
			break
		}
		dir = filepath.Dir(dir)
	}
	return syncDir(dir)
}
