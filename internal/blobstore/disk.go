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
//
// Durability, and the fsyncs it costs (a file of any size takes the same
// number): the temp file is fsynced once (Writer.Sync, before any lock),
// then renamed to its final name, and each directory whose entries changed
// is fsynced once per Commit, however many files it got (a wheel and its
// .metadata): the parent of every directory created on the way (POSIX
// makes a new directory entry durable only by syncing its directory) and
// the final directory. A crash therefore leaves either no file or the
// whole file under a final name, never a partial one. Temp files left by a
// crash are removed by NewDisk; a committed file that no catalog row lists
// (a crash between the rename and the catalog's journal write) is not
// served and is removed by Sweep at start.
type Disk struct {
	Options
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
		return nil, storageErr("spool", err)
	}
	return newWriter(f, limit, d.Options, d.commitFile), nil
}

func (d *Disk) commitFile(w *Writer, path string) ([]string, error) {
	if err := w.Sync(); err != nil {
		return nil, err
	}
	tmp := w.f.Name()
	if err := w.f.Close(); err != nil {
		os.Remove(tmp)
		return nil, storageErr("close", err)
	}
	dirs, err := d.install(tmp, path)
	if err != nil {
		os.Remove(tmp)
	}
	return dirs, err
}

// install renames the synced temp file tmp to path, creating the missing
// directories, and returns every directory whose entries changed: the
// caller syncs each once (Commit) to make the rename durable.
func (d *Disk) install(tmp, path string) ([]string, error) {
	final := filepath.Join(d.root, filepath.FromSlash(path))
	var dirs []string
	if err := d.mkdirAll(filepath.Dir(final), &dirs); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, storageErr("commit", err)
	}
	return append(dirs, filepath.Dir(final)), nil
}

// mkdirAll creates dir and its missing parents below the root, noting in
// changed each parent that got a new entry (to be synced so the new
// directories survive a crash).
func (d *Disk) mkdirAll(dir string, changed *[]string) error {
	if dir == d.root {
		return nil
	}
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return &StorageError{Op: "commit", Err: errors.New("a file is in the way of a directory")}
		}
		return nil
	}
	if err := d.mkdirAll(filepath.Dir(dir), changed); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return storageErr("mkdir", err)
	}
	*changed = append(*changed, filepath.Dir(dir))
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return storageErr("sync dir", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return storageErr("sync dir", err)
	}
	return nil
}

// Put implements Store.
func (d *Disk) Put(path string, data []byte) error {
	if err := ValidPath(path); err != nil {
		return err
	}
	w, err := d.NewWriter(0)
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := w.Write(data); err != nil {
		return err
	}
	return w.Commit(path)
}

// Open implements Store.
func (d *Disk) Open(path string) (Blob, error) {
	if err := ValidPath(path); err != nil {
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
	if err := ValidPath(path); err != nil {
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

// Sweep removes every blob for which keep returns false, and the
// directories left empty; temp files are not its business (NewDisk drops
// them). The index calls it at start with the catalog's Listed, so that a
// blob committed just before a crash (or whose catalog write failed) does
// not stay on disk. It returns how many blobs it removed.
func (d *Disk) Sweep(keep func(path string) bool) (int, error) {
	removed := 0
	var sweep func(dir, rel string) (empty bool, err error)
	sweep = func(dir, rel string) (bool, error) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return false, fmt.Errorf("blobstore: sweep: %w", err)
		}
		left := len(entries)
		for _, e := range entries {
			name := e.Name()
			if rel == "" && name == tmpDirName {
				continue
			}
			p := name
			if rel != "" {
				p = rel + "/" + name
			}
			full := filepath.Join(dir, name)
			if e.IsDir() {
				empty, err := sweep(full, p)
				if err != nil {
					return false, err
				}
				if empty && os.Remove(full) == nil {
					left--
				}
				continue
			}
			if !keep(p) {
				if err := os.Remove(full); err != nil {
					return false, fmt.Errorf("blobstore: sweep: %w", err)
				}
				removed++
				left--
			}
		}
		return left == 0, nil
	}
	_, err := sweep(d.root, "")
	if removed > 0 && err == nil {
		// A removal that a crash undoes is swept again next time.
		syncDir(d.root)
	}
	return removed, err
}
