// Package catalog is the fake index's database: projects, releases, files,
// the registry of every filename ever used, and the journal serial.
//
// It implements the storage-side rules of Warehouse's upload path that must
// be decided atomically: duplicate detection across all projects (_is_duplicate_file),
// the deleted-filename block, the 14-day rule, one sdist per release, and
// total-size accounting (warehouse/forklift/legacy.py; steps 19b and
// 21-24 of the check order in docs/upload.md).
// Name rules, metadata validation and PEP 440 parsing belong to callers:
// versions arrive already normalized, with their canonical form as the key.
//
// Persistence: the whole state is one JSON document, rewritten atomically
// (temp file, fsync, rename, fsync dir) after every change and loaded at
// start. A journal would make each write O(1), but the state of a test index
// is small (metadata only: file bytes live in the blobstore), a single file
// is trivially atomic and crash-safe, needs no replay or compaction code,
// and can be read and hand-edited by a user debugging a scenario.
//
// Concurrency: mutations take an exclusive lock and build the new state as a
// copy (copy-on-write per touched project), which is persisted and then
// swapped in; a failed check, commit hook or disk write therefore leaves
// the visible state untouched. Readers take a shared lock and get copies.
package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/google/uuid"
)

// stateFormat tags the JSON state file so a future layout change can be
// detected instead of silently misread.
const stateFormat = "fakepypi-catalog/1"

// state is everything the catalog knows. A state value is never modified
// once published in Catalog.st; mutations work on a copy.
type state struct {
	Format   string              `json:"format"`
	Serial   int64               `json:"last_serial"`
	Projects map[string]*Project `json:"projects"` // by normalized name
	// Filenames is every filename ever uploaded (Warehouse's file
	// registry); a filename stays here after its file is deleted, which is
	// what blocks its reuse forever (step 22 of docs/upload.md's check order).
	Filenames map[string]bool `json:"filenames"`
}

// Catalog is safe for concurrent use.
type Catalog struct {
	mu    sync.RWMutex
	st    *state
	clock clock.Clock
	path  string // "" for in-memory
}

// New returns an empty in-memory catalog. A nil clock means the real one.
func New(clk clock.Clock) *Catalog {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Catalog{st: emptyState(), clock: clk}
}

func emptyState() *state {
	return &state{Format: stateFormat, Projects: map[string]*Project{}, Filenames: map[string]bool{}}
}

// Open returns a catalog persisted in the JSON file at path, loading it if
// it exists. The directory must exist.
func Open(path string, clk clock.Clock) (*Catalog, error) {
	c := New(clk)
	c.path = path
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	st := emptyState()
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("catalog: %s: %w", path, err)
	}
	if st.Format != stateFormat {
		return nil, fmt.Errorf("catalog: %s: unknown format %q", path, st.Format)
	}
	if st.Projects == nil {
		st.Projects = map[string]*Project{}
	}
	if st.Filenames == nil {
		st.Filenames = map[string]bool{}
	}
	c.st = st
	return c, nil
}

// Path is the state file ("" for an in-memory catalog).
func (c *Catalog) Path() string { return c.path }

// tx is one mutation in progress.
type tx struct {
	c      *Catalog
	st     *state
	cloned map[string]bool
}

// project returns a private, writable copy of the named project.
func (t *tx) project(name string) (*Project, bool) {
	p, ok := t.st.Projects[name]
	if !ok {
		return nil, false
	}
	if !t.cloned[name] {
		p = cloneProject(p)
		t.st.Projects[name] = p
		t.cloned[name] = true
	}
	return p, true
}

// journal records one journal entry against p and returns its id, as
// Warehouse's JournalEntry does; a project's last_serial is its newest entry.
func (t *tx) journal(p *Project) int64 {
	t.st.Serial++
	if p != nil {
		p.LastSerial = t.st.Serial
	}
	return t.st.Serial
}

// update runs fn on a copy of the state and publishes the copy if fn
// succeeds and (for a persistent catalog) the copy reached the disk.
func (c *Catalog) update(fn func(t *tx) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.st
	st := &state{
		Format:    old.Format,
		Serial:    old.Serial,
		Projects:  make(map[string]*Project, len(old.Projects)),
		Filenames: make(map[string]bool, len(old.Filenames)),
	}
	for k, v := range old.Projects {
		st.Projects[k] = v
	}
	for k, v := range old.Filenames {
		st.Filenames[k] = v
	}
	t := &tx{c: c, st: st, cloned: map[string]bool{}}
	if err := fn(t); err != nil {
		return err
	}
	if c.path != "" {
		if err := writeState(c.path, st); err != nil {
			return err
		}
	}
	c.st = st
	return nil
}

// writeState replaces the state file atomically and durably.
func writeState(path string, st *state) error {
	data, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".catalog-*.tmp")
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(append(data, '\n'))
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("catalog: save: %w", werr)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("catalog: sync dir: %w", err)
	}
	return nil
}

func cloneProject(p *Project) *Project {
	q := *p
	q.Roles = slices.Clone(p.Roles)
	q.Releases = make([]Release, len(p.Releases))
	for i, r := range p.Releases {
		q.Releases[i] = cloneRelease(r)
	}
	return &q
}

func cloneRelease(r Release) Release {
	r.Files = slices.Clone(r.Files)
	m := &r.Metadata
	m.LicenseFiles = slices.Clone(m.LicenseFiles)
	m.Classifiers = slices.Clone(m.Classifiers)
	m.RequiresDist = slices.Clone(m.RequiresDist)
	m.ProvidesExtra = slices.Clone(m.ProvidesExtra)
	m.Dynamic = slices.Clone(m.Dynamic)
	m.ProjectURLs = slices.Clone(m.ProjectURLs)
	return r
}

func (c *Catalog) now() time.Time {
	// Warehouse keeps timestamps in PostgreSQL, at microsecond precision;
	// truncating here keeps upload-time strings identical after a reload.
	return c.clock.Now().UTC().Truncate(time.Microsecond)
}

// ---- reads ----

// LastSerial is the newest journal id (the simple index's X-PyPI-Last-Serial).
func (c *Catalog) LastSerial() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.st.Serial
}

// Project returns a copy of the project with the given normalized name.
func (c *Catalog) Project(normalized string) (Project, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.st.Projects[normalized]
	if !ok {
		return Project{}, false
	}
	return *cloneProject(p), true
}

// Projects lists every project ordered by normalized name, as the simple
// index orders them.
func (c *Catalog) Projects() []ProjectSummary {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]ProjectSummary, 0, len(c.st.Projects))
	for _, p := range c.st.Projects {
		out = append(out, ProjectSummary{Name: p.Name, NormalizedName: p.NormalizedName, LastSerial: p.LastSerial, Status: p.Status})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NormalizedName < out[j].NormalizedName })
	return out
}

// FilenameUsed reports whether filename was ever uploaded (and possibly
// deleted since).
func (c *Catalog) FilenameUsed(filename string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.st.Filenames[filename]
}

// ---- projects ----

// Errors. Messages that PyPI shows to clients are exported as constants in
// errors.go; these sentinels carry them where one exists.
var (
	ErrProjectExists   = errors.New("catalog: project already exists")
	ErrProjectNotFound = errors.New("catalog: no such project")
	ErrReleaseNotFound = errors.New("catalog: no such release")
	ErrFileNotFound    = errors.New("catalog: no such file")
)

// NewProject describes a project to create. Name rules are the caller's.
type NewProject struct {
	Name           string // display name
	NormalizedName string // PEP 503 normalized Name
	Roles          []Role
	Organization   string
	// Limits; zero means the PyPI defaults.
	UploadLimit    int64
	TotalSizeLimit int64
	// ID is the project's UUID; zero means a new random one. A configured
	// API token copied from PyPI names its project by this ID (its
	// ProjectID caveat), so the project must carry the same one.
	ID uuid.UUID
	// Status is the PEP 792 status it starts with ("" is active).
	Status string
}

// CreateProject creates a project; it fails with ErrProjectExists if the
// normalized name is taken. Like Warehouse, it journals a "create" entry and
// one entry per initial role.
func (c *Catalog) CreateProject(np NewProject) (Project, error) {
	if np.NormalizedName == "" || np.Name == "" {
		return Project{}, errors.New("catalog: project name and normalized name are required")
	}
	if err := validStatus(np.Status); err != nil {
		return Project{}, err
	}
	if np.Status == StatusActive {
		np.Status = ""
	}
	id := np.ID
	if id == uuid.Nil {
		id = uuid.New()
	}
	var out Project
	err := c.update(func(t *tx) error {
		if _, ok := t.st.Projects[np.NormalizedName]; ok {
			return ErrProjectExists
		}
		if np.ID != uuid.Nil {
			for _, q := range t.st.Projects {
				if q.ID == id {
					return fmt.Errorf("catalog: project %s already has id %s", q.Name, id)
				}
			}
		}
		p := &Project{
			ID:             id,
			Status:         np.Status,
			Name:           np.Name,
			NormalizedName: np.NormalizedName,
			Roles:          slices.Clone(np.Roles),
			Organization:   np.Organization,
			UploadLimit:    np.UploadLimit,
			TotalSizeLimit: np.TotalSizeLimit,
			Created:        t.c.now(),
		}
		if p.UploadLimit == 0 {
			p.UploadLimit = DefaultUploadLimit
		}
		if p.TotalSizeLimit == 0 {
			p.TotalSizeLimit = DefaultTotalSizeLimit
		}
		t.st.Projects[p.NormalizedName] = p
		t.cloned[p.NormalizedName] = true
		t.journal(p) // "create"
		for range p.Roles {
			t.journal(p) // "add Owner <user>"
		}
		out = *cloneProject(p)
		return nil
	})
	return out, err
}

// SetStatus sets a project's lifecycle status ("" or a Status constant).
// A quarantined project disappears from every read API (warehouse/legacy/api/json.py, warehouse/api/simple.py).
func (c *Catalog) SetStatus(project, status string) error {
	if err := validStatus(status); err != nil {
		return err
	}
	if status == StatusActive {
		status = ""
	}
	return c.update(func(t *tx) error {
		p, ok := t.project(project)
		if !ok {
			return ErrProjectNotFound
		}
		p.Status = status
		return nil
	})
}

func validStatus(status string) error {
	switch status {
	case "", StatusActive, StatusArchived, StatusQuarantined, StatusDeprecated:
		return nil
	}
	return fmt.Errorf("catalog: unknown project status %q", status)
}

// SetLimits changes a project's per-file and total size limits; zero keeps
// the current value.
func (c *Catalog) SetLimits(project string, upload, total int64) error {
	return c.update(func(t *tx) error {
		p, ok := t.project(project)
		if !ok {
			return ErrProjectNotFound
		}
		if upload > 0 {
			p.UploadLimit = upload
		}
		if total > 0 {
			p.TotalSizeLimit = total
		}
		return nil
	})
}

// findRelease matches a release the way the read APIs and the control
// plane want: by canonical version, else by the exact version string.
func findRelease(p *Project, version string) int {
	for i, r := range p.Releases {
		if r.CanonicalVersion == version {
			return i
		}
	}
	for i, r := range p.Releases {
		if r.Version == version {
			return i
		}
	}
	return -1
}

// Yank marks a release yanked (PEP 592) with an optional reason. version
// is matched as the canonical version, then as the exact version string.
func (c *Catalog) Yank(project, version, reason string) error {
	return c.setYank(project, version, true, reason)
}

// Unyank clears a release's yanked flag and reason.
func (c *Catalog) Unyank(project, version string) error {
	return c.setYank(project, version, false, "")
}

func (c *Catalog) setYank(project, version string, yanked bool, reason string) error {
	return c.update(func(t *tx) error {
		p, ok := t.project(project)
		if !ok {
			return ErrProjectNotFound
		}
		i := findRelease(p, version)
		if i < 0 {
			return ErrReleaseNotFound
		}
		p.Releases[i].Yanked = yanked
		p.Releases[i].YankedReason = reason
		t.journal(p)
		return nil
	})
}

// DeleteFile removes one file. Its filename stays blocked forever. It
// returns the removed file so the caller can drop its blobs.
func (c *Catalog) DeleteFile(project, filename string) (File, error) {
	var out File
	err := c.update(func(t *tx) error {
		p, ok := t.project(project)
		if !ok {
			return ErrProjectNotFound
		}
		for ri := range p.Releases {
			r := &p.Releases[ri]
			for fi, f := range r.Files {
				if f.Filename == filename {
					out = f
					r.Files = slices.Delete(r.Files, fi, fi+1)
					p.TotalSize -= f.Size
					t.journal(p) // "remove file <filename>"
					return nil
				}
			}
		}
		return ErrFileNotFound
	})
	return out, err
}

// DeleteRelease removes a release and its files, returning the files.
func (c *Catalog) DeleteRelease(project, version string) ([]File, error) {
	var out []File
	err := c.update(func(t *tx) error {
		p, ok := t.project(project)
		if !ok {
			return ErrProjectNotFound
		}
		i := findRelease(p, version)
		if i < 0 {
			return ErrReleaseNotFound
		}
		out = p.Releases[i].Files
		for _, f := range out {
			p.TotalSize -= f.Size
		}
		p.Releases = slices.Delete(p.Releases, i, i+1)
		t.journal(p) // "remove release"
		return nil
	})
	return out, err
}

// DeleteProject removes a project and everything in it, returning its files.
// The name becomes free again; the filenames stay blocked.
func (c *Catalog) DeleteProject(project string) ([]File, error) {
	var out []File
	err := c.update(func(t *tx) error {
		p, ok := t.st.Projects[project]
		if !ok {
			return ErrProjectNotFound
		}
		for _, r := range p.Releases {
			out = append(out, r.Files...)
		}
		delete(t.st.Projects, project)
		t.journal(nil) // "remove project"
		return nil
	})
	return out, err
}

// allFiles calls fn for every file of every project until fn returns false.
func (s *state) allFiles(fn func(p *Project, f *File) bool) {
	// Sorted so that "the first such row" (_is_duplicate_file, warehouse/forklift/legacy.py) is deterministic.
	names := make([]string, 0, len(s.Projects))
	for n := range s.Projects {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := s.Projects[n]
		for ri := range p.Releases {
			for fi := range p.Releases[ri].Files {
				if !fn(p, &p.Releases[ri].Files[fi]) {
					return
				}
			}
		}
	}
}
