// Package catalog is the fake index's database: projects, releases, files,
// the registry of every filename ever used, and the journal serial.
//
// It implements the storage-side rules of Warehouse's upload path that must
// be decided atomically (warehouse/forklift/legacy.py file_upload):
// duplicate detection across all projects, the deleted-filename block, the
// 14-day rule, one sdist per release, and total-size accounting. Name
// rules, metadata validation and PEP 440 parsing belong to callers:
// versions arrive already normalized, with their canonical form as the key.
//
// Two implementations share this API: New keeps the catalog in memory, Open
// keeps it on disk as a snapshot plus an append-only journal (journal.go).
//
// Concurrency and cost. A change is computed from the current state (under
// a writers' mutex, without blocking readers) as a short list of ops, made
// durable (one journal append and fsync, still without blocking readers),
// and only then applied in memory under the readers' lock, which is
// therefore held for microseconds and never across disk I/O. A failed
// check, commit hook or disk write leaves the visible state untouched.
// Indexes by filename, blake2 digest and blob path make an upload's checks
// independent of the catalog's size; the journal makes its write
// proportional to the change. Readers get copies.
package catalog

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/google/uuid"
)

// Catalog is safe for concurrent use.
type Catalog struct {
	// wmu serializes changes: checks, commit hooks and the journal write.
	wmu sync.Mutex
	// mu guards st for readers; it is held exclusively only to apply an
	// already durable change in memory.
	mu    sync.RWMutex
	st    *state
	clock clock.Clock
	path  string   // "" for in-memory
	j     *journal // nil for in-memory
}

// New returns an empty in-memory catalog. A nil clock means the real one.
func New(clk clock.Clock) *Catalog {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Catalog{st: emptyState(), clock: clk}
}

// Open returns a catalog persisted at path (the snapshot, e.g.
// DIR/catalog.json) and the journal beside it (DIR/catalog.journal),
// loading and checking both if they exist. A snapshot of the earlier
// whole-file format (fakepypi-catalog/1) loads and is rewritten in the
// current one. A catalog whose contents break the catalog's rules is
// refused with the file and the problem. The directory must exist.
func Open(path string, clk clock.Clock) (*Catalog, error) {
	c := New(clk)
	j, st, err := openJournal(path)
	if err != nil {
		return nil, err
	}
	c.path, c.j, c.st = path, j, st
	return c, nil
}

// Path is the snapshot file ("" for an in-memory catalog).
func (c *Catalog) Path() string { return c.path }

// Close folds the journal into a fresh snapshot, so that after a clean
// stop catalog.json alone holds the whole state (and can be read or
// hand-edited), and closes the files. The catalog must not be used after.
func (c *Catalog) Close() error {
	if c.j == nil {
		return nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var err error
	if c.j.size > 0 && c.j.broken == nil {
		err = c.j.compact(c.st)
	}
	if cerr := c.j.close(); err == nil {
		err = cerr
	}
	return err
}

// change is one mutation in progress: the ops it will commit and the
// serial it reaches.
type change struct {
	st     *state
	serial int64
	ops    []op
	// undo runs if the journal write fails after a commit hook ran.
	undo func()
}

// journal takes one journal id for p, as Warehouse's JournalEntry does; a
// project's last_serial is its newest entry.
func (ch *change) journal(p *Project) int64 {
	ch.serial++
	if p != nil {
		p.LastSerial = ch.serial
	}
	return ch.serial
}

func (ch *change) add(o op) { ch.ops = append(ch.ops, o) }

// update runs fn, which computes a change from the current state without
// modifying it, then makes the change durable and applies it.
func (c *Catalog) update(fn func(ch *change) error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	// Only update changes st, and only under wmu: fn reads it unlocked.
	ch := &change{st: c.st, serial: c.st.Serial}
	if err := fn(ch); err != nil {
		return err
	}
	if len(ch.ops) == 0 && ch.serial == c.st.Serial {
		return nil
	}
	rec := &record{Seq: c.st.Seq + 1, Serial: ch.serial, Ops: ch.ops}
	if c.j != nil {
		if err := c.j.append(rec); err != nil {
			if ch.undo != nil {
				ch.undo()
			}
			return err
		}
	}
	c.mu.Lock()
	err := c.st.applyRecord(rec)
	c.mu.Unlock()
	if err != nil {
		// The change was computed from this very state: a bug.
		return fmt.Errorf("catalog: applying a change: %w", err)
	}
	if c.j != nil && c.j.wantsCompaction() {
		// Readers go on; writers wait for the snapshot (rare: the
		// journal must first outgrow the snapshot).
		c.mu.RLock()
		c.j.compact(c.st) // on failure the journal keeps everything
		c.mu.RUnlock()
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

// ProjectInfo is Project without the releases: what the upload path
// needs (id, names, roles, limits, status), at a cost that does not grow
// with the project.
func (c *Catalog) ProjectInfo(normalized string) (Project, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.st.Projects[normalized]
	if !ok {
		return Project{}, false
	}
	return *header(p), true
}

// Projects lists every project ordered by normalized name, as the simple
// index orders them.
func (c *Catalog) Projects() []ProjectSummary {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]ProjectSummary, 0, len(c.st.names))
	for _, n := range c.st.names {
		p := c.st.Projects[n]
		out = append(out, ProjectSummary{Name: p.Name, NormalizedName: p.NormalizedName, LastSerial: p.LastSerial, Status: p.Status})
	}
	return out
}

// FilenameUsed reports whether filename was ever uploaded (and possibly
// deleted since).
func (c *Catalog) FilenameUsed(filename string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.st.Filenames[filename]
}

// Listed reports whether path is a blob the catalog lists: a current
// file's path, or its PEP 658 "<path>.metadata" when it has one. Only
// listed blobs are served; a blob left by a crash or a failed commit is
// not, and Sweep-style cleanup may remove it.
func (c *Catalog) Listed(path string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.st.paths[path]
}

// MaxUploadLimit is the largest per-file limit of any project (at least
// DefaultUploadLimit): the bound to spool a file with before its project
// is known.
func (c *Catalog) MaxUploadLimit() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.st.maxLimit
}

// ---- projects ----

// Errors. Messages that PyPI shows to clients are exported as constants in
// addfile.go; these sentinels carry them where one exists.
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
	for _, r := range np.Roles {
		if (r.Role != "Owner" && r.Role != "Maintainer") || r.User == "" {
			return Project{}, fmt.Errorf("catalog: role %q for user %q: want Owner or Maintainer and a user", r.Role, r.User)
		}
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
	err := c.update(func(ch *change) error {
		if _, ok := ch.st.Projects[np.NormalizedName]; ok {
			return ErrProjectExists
		}
		if np.ID != uuid.Nil {
			// Only a given ID can collide; the scan is for configured
			// projects, not uploads.
			for _, q := range ch.st.Projects {
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
			Created:        c.now(),
		}
		if p.UploadLimit <= 0 {
			p.UploadLimit = DefaultUploadLimit
		}
		if p.TotalSizeLimit <= 0 {
			p.TotalSizeLimit = DefaultTotalSizeLimit
		}
		ch.journal(p) // "create"
		for range p.Roles {
			ch.journal(p) // "add Owner <user>"
		}
		ch.add(op{Op: opProject, P: p})
		out = *cloneProject(p)
		return nil
	})
	return out, err
}

// editProject changes a project's header with fn and commits it.
func (c *Catalog) editProject(project string, fn func(ch *change, h *Project) error) error {
	return c.update(func(ch *change) error {
		p, ok := ch.st.Projects[project]
		if !ok {
			return ErrProjectNotFound
		}
		h := header(p)
		if err := fn(ch, h); err != nil {
			return err
		}
		ch.add(op{Op: opProject, P: h})
		return nil
	})
}

// SetStatus sets a project's lifecycle status ("" or a Status constant).
// A quarantined project disappears from every read API.
func (c *Catalog) SetStatus(project, status string) error {
	if err := validStatus(status); err != nil {
		return err
	}
	if status == StatusActive {
		status = ""
	}
	return c.editProject(project, func(_ *change, h *Project) error {
		h.Status = status
		return nil
	})
}

// SetStatusJournaled is SetStatus with a journal entry, as Warehouse's
// quarantine_project and clear_project_quarantine add one
// (warehouse/utils/project.py): the project's last serial moves.
func (c *Catalog) SetStatusJournaled(project, status string) error {
	if err := validStatus(status); err != nil {
		return err
	}
	if status == StatusActive {
		status = ""
	}
	return c.editProject(project, func(ch *change, h *Project) error {
		h.Status = status
		ch.journal(h)
		return nil
	})
}

// SetLimits changes a project's per-file and total size limits; zero keeps
// the current value.
func (c *Catalog) SetLimits(project string, upload, total int64) error {
	return c.editProject(project, func(_ *change, h *Project) error {
		if upload > 0 {
			h.UploadLimit = upload
		}
		if total > 0 {
			h.TotalSizeLimit = total
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
	return c.editProject(project, func(ch *change, h *Project) error {
		p := ch.st.Projects[project]
		i := findRelease(p, version)
		if i < 0 {
			return ErrReleaseNotFound
		}
		r := releaseHeader(&p.Releases[i])
		r.Yanked = yanked
		r.YankedReason = reason
		ch.add(op{Op: opRelease, Project: project, R: r})
		ch.journal(h)
		return nil
	})
}

// DeleteFile removes one file. Its filename stays blocked forever. It
// returns the removed file so the caller can drop its blobs.
func (c *Catalog) DeleteFile(project, filename string) (File, error) {
	var out File
	err := c.editProject(project, func(ch *change, h *Project) error {
		k, ok := ch.st.byName[filename]
		if !ok || k.project != project {
			return ErrFileNotFound
		}
		out = *ch.st.file(k)
		ch.add(op{Op: opDeleteFile, Project: project, Filename: filename})
		h.TotalSize -= out.Size
		ch.journal(h) // "remove file <filename>"
		return nil
	})
	return out, err
}

// DeleteRelease removes a release and its files, returning the files.
func (c *Catalog) DeleteRelease(project, version string) ([]File, error) {
	var out []File
	err := c.editProject(project, func(ch *change, h *Project) error {
		p := ch.st.Projects[project]
		i := findRelease(p, version)
		if i < 0 {
			return ErrReleaseNotFound
		}
		out = slices.Clone(p.Releases[i].Files)
		for _, f := range out {
			h.TotalSize -= f.Size
		}
		ch.add(op{Op: opDeleteRelease, Project: project, Version: p.Releases[i].CanonicalVersion})
		ch.journal(h) // "remove release"
		return nil
	})
	return out, err
}

// DeleteProject removes a project and everything in it, returning its files.
// The name becomes free again; the filenames stay blocked.
func (c *Catalog) DeleteProject(project string) ([]File, error) {
	var out []File
	err := c.update(func(ch *change) error {
		p, ok := ch.st.Projects[project]
		if !ok {
			return ErrProjectNotFound
		}
		for _, r := range p.Releases {
			out = append(out, r.Files...)
		}
		ch.add(op{Op: opDeleteProject, Project: project})
		ch.journal(nil) // "remove project"
		return nil
	})
	return out, err
}

// DeleteProjectIfUnchanged removes the project created as created, but
// only if nothing changed it since: no file, no release, no other edit.
// It is the rollback of an upload that created its project and then
// failed: Warehouse creates the project inside the upload's transaction,
// so a failed upload leaves no project behind, but here other uploads may
// have used the project meanwhile, and what they stored (with a 200) must
// stay. The decision and the deletion are one step under the writers'
// lock. It reports whether it deleted.
func (c *Catalog) DeleteProjectIfUnchanged(created Project) (bool, error) {
	deleted := false
	err := c.update(func(ch *change) error {
		p, ok := ch.st.Projects[created.NormalizedName]
		if !ok || !reflect.DeepEqual(*cloneProject(p), created) {
			return nil
		}
		// No journal id: an aborted transaction leaves no journal entry.
		ch.add(op{Op: opDeleteProject, Project: created.NormalizedName})
		deleted = true
		return nil
	})
	return deleted, err
}
