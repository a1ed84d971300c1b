package blobstore

import (
	"bytes"
	"os"
	"sync"
	"time"
)

// Memory keeps blobs in memory, for tests. Uploads still spool to a
// temporary file on disk (in TempDir) so that the upload handler can hand a
// path to archive validators exactly as with Disk; the bytes move into
// memory on Commit.
type Memory struct {
	Options
	mu    sync.RWMutex
	blobs map[string]memBlob
	// TempDir is where uploads spool; empty means os.TempDir().
	TempDir string
}

type memBlob struct {
	data []byte
	mod  time.Time
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{blobs: map[string]memBlob{}} }

// NewWriter implements Store.
func (m *Memory) NewWriter(limit int64) (*Writer, error) {
	f, err := os.CreateTemp(m.TempDir, "fakepypi-upload-*")
	if err != nil {
		return nil, storageErr("spool", err)
	}
	return newWriter(f, limit, m.Options, func(w *Writer, path string) ([]string, error) {
		defer os.Remove(w.f.Name())
		defer w.f.Close()
		data, err := os.ReadFile(w.f.Name())
		if err != nil {
			return nil, storageErr("commit", err)
		}
		m.set(path, data)
		return nil, nil
	}), nil
}

func (m *Memory) set(path string, data []byte) {
	m.mu.Lock()
	m.blobs[path] = memBlob{data: data, mod: time.Now()}
	m.mu.Unlock()
}

// Put implements Store.
func (m *Memory) Put(path string, data []byte) error {
	if err := ValidPath(path); err != nil {
		return err
	}
	m.set(path, bytes.Clone(data))
	return nil
}

// Open implements Store.
func (m *Memory) Open(path string) (Blob, error) {
	m.mu.RLock()
	b, ok := m.blobs[path]
	m.mu.RUnlock()
	if !ok {
		return nil, ErrNotFound
	}
	// Stored slices are never modified after set, so readers can share them.
	return &memReader{Reader: bytes.NewReader(b.data), size: int64(len(b.data)), mod: b.mod}, nil
}

// Delete implements Store.
func (m *Memory) Delete(path string) error {
	m.mu.Lock()
	delete(m.blobs, path)
	m.mu.Unlock()
	return nil
}

// Sweep removes every blob for which keep returns false (see Disk.Sweep).
func (m *Memory) Sweep(keep func(path string) bool) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	removed := 0
	for p := range m.blobs {
		if !keep(p) {
			delete(m.blobs, p)
			removed++
		}
	}
	return removed, nil
}

// Len reports how many blobs are stored (for tests).
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.blobs)
}

type memReader struct {
	*bytes.Reader
	size int64
	mod  time.Time
}

func (r *memReader) Size() int64        { return r.size }
func (r *memReader) ModTime() time.Time { return r.mod }
func (r *memReader) Close() error       { return nil }
