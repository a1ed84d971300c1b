package catalog

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// state is everything the catalog knows, plus indexes derived from it.
// It is changed in place, only by apply (under Catalog.mu held
// exclusively), and only with ops that are already durable.
type state struct {
	Format string `json:"format"`
	// Seq is the last journal record folded into this snapshot; replay
	// skips records up to it.
	Seq      int64               `json:"seq,omitempty"`
	Serial   int64               `json:"last_serial"`
	Projects map[string]*Project `json:"projects"` // by normalized name
	// Filenames is every filename ever uploaded (Warehouse's file
	// registry); a filename stays here after its file is deleted, which is
	// what blocks its reuse forever (warehouse/forklift/legacy.py,
	// "previously used by a file that has since been deleted").
	Filenames map[string]bool `json:"filenames"`

	// Indexes, rebuilt by index() at load and kept by apply, so that an
	// upload's checks cost the same with ten files or ten thousand.
	names   []string                  // normalized project names, sorted
	byName  map[string]fileKey        // current files by filename
	byBlake map[string]fileKey        // current files by blake2_256
	paths   map[string]bool           // blob paths the catalog lists (files and .metadata)
	rels    map[string]map[string]int // project → canonical version → index in Releases
	// maxLimit is the largest per-file limit of any project, at least
	// the default.
	maxLimit int64
}

// fileKey locates a current file.
type fileKey struct{ project, version, filename string }

func emptyState() *state {
	st := &state{Format: stateFormat, Projects: map[string]*Project{}, Filenames: map[string]bool{}}
	st.index()
	return st
}

// index rebuilds every index from Projects. It assumes a validated state.
func (st *state) index() {
	st.names = st.names[:0]
	st.byName = map[string]fileKey{}
	st.byBlake = map[string]fileKey{}
	st.paths = map[string]bool{}
	st.rels = map[string]map[string]int{}
	st.maxLimit = DefaultUploadLimit
	for n, p := range st.Projects {
		st.maxLimit = max(st.maxLimit, p.UploadLimit)
		st.names = append(st.names, n)
		st.indexReleases(p)
		for _, r := range p.Releases {
			for i := range r.Files {
				st.indexFile(fileKey{n, r.CanonicalVersion, r.Files[i].Filename}, &r.Files[i])
			}
		}
	}
	sort.Strings(st.names)
}

func (st *state) indexReleases(p *Project) {
	m := make(map[string]int, len(p.Releases))
	for i, r := range p.Releases {
		m[r.CanonicalVersion] = i
	}
	st.rels[p.NormalizedName] = m
}

func (st *state) indexFile(k fileKey, f *File) {
	st.byName[f.Filename] = k
	st.byBlake[f.Blake2256] = k
	st.paths[f.Path] = true
	if f.HasMetadata() {
		st.paths[metadataPath(f.Path)] = true
	}
}

func (st *state) unindexFile(f *File) {
	delete(st.byName, f.Filename)
	delete(st.byBlake, f.Blake2256)
	delete(st.paths, f.Path)
	delete(st.paths, metadataPath(f.Path))
}

// metadataPath is where a file's PEP 658 metadata is served: the file's
// URL plus ".metadata".
func metadataPath(path string) string { return path + ".metadata" }

// release returns the release of project p with the canonical version.
func (st *state) release(p *Project, canonical string) (*Release, bool) {
	i, ok := st.rels[p.NormalizedName][canonical]
	if !ok {
		return nil, false
	}
	return &p.Releases[i], true
}

// file returns the current file at k.
func (st *state) file(k fileKey) *File {
	p := st.Projects[k.project]
	r, _ := st.release(p, k.version)
	i, _ := fileIndex(r.Files, k.filename)
	return &r.Files[i]
}

// fileIndex finds filename in files sorted by filename.
func fileIndex(files []File, filename string) (int, bool) {
	return slices.BinarySearchFunc(files, filename, func(f File, name string) int { return strings.Compare(f.Filename, name) })
}

// before reports whether the file at a comes before the one at b in the
// order Warehouse's query would meet them here: project name, release
// creation, filename.
func (st *state) before(a, b fileKey) bool {
	if a.project != b.project {
		return a.project < b.project
	}
	ra, rb := st.rels[a.project][a.version], st.rels[b.project][b.version]
	if ra != rb {
		return ra < rb
	}
	return a.filename < b.filename
}

// The ops a change is made of. A change is computed from the state
// without touching it, written to the journal as one record, and only
// then applied, so replaying the journal repeats exactly what was done
// and readers never see a change that a crash could take back.
const (
	opProject       = "project"        // upsert P's header (its releases stay)
	opRelease       = "release"        // upsert release R of Project (its files stay)
	opFile          = "file"           // upsert file F in release Version of Project; records the filename forever
	opDeleteFile    = "delete_file"    // remove Filename from Project
	opDeleteRelease = "delete_release" // remove release Version of Project with its files
	opDeleteProject = "delete_project" // remove Project with everything in it
)

// op is one step of a change. Only the fields its kind needs are set.
type op struct {
	Op       string   `json:"op"`
	Project  string   `json:"project,omitempty"`  // normalized name
	Version  string   `json:"version,omitempty"`  // canonical version
	Filename string   `json:"filename,omitempty"` // for delete_file
	P        *Project `json:"p,omitempty"`        // header only: Releases are never written
	R        *Release `json:"r,omitempty"`        // header only: Files are never written
	F        *File    `json:"f,omitempty"`
}

// record is one committed change: one line of the journal.
type record struct {
	Seq    int64 `json:"seq"`
	Serial int64 `json:"serial"` // the catalog's last_serial after it
	Ops    []op  `json:"ops"`
}

// header returns a copy of p without its releases, for an opProject.
func header(p *Project) *Project {
	h := *p
	h.Roles = slices.Clone(p.Roles)
	h.Releases = nil
	return &h
}

// releaseHeader returns a copy of r without its files, for an opRelease.
func releaseHeader(r *Release) *Release {
	h := cloneRelease(*r)
	h.Files = nil
	return &h
}

// applyRecord applies a durable record. An error means the record does not
// fit the state (a corrupt journal at load, or a bug); ops before the
// failing one stay applied.
func (st *state) applyRecord(rec *record) error {
	for i := range rec.Ops {
		if err := st.apply(&rec.Ops[i]); err != nil {
			return fmt.Errorf("op %d (%s): %w", i+1, rec.Ops[i].Op, err)
		}
	}
	if rec.Serial < st.Serial {
		return fmt.Errorf("serial %d goes back from %d", rec.Serial, st.Serial)
	}
	st.Serial = rec.Serial
	st.Seq = rec.Seq
	return nil
}

func (st *state) apply(o *op) error {
	switch o.Op {
	case opProject:
		if o.P == nil || o.P.NormalizedName == "" {
			return fmt.Errorf("no project header")
		}
		h := *o.P
		h.Roles = slices.Clone(o.P.Roles)
		lowered := false
		if cur, ok := st.Projects[h.NormalizedName]; ok {
			lowered = h.UploadLimit < cur.UploadLimit && cur.UploadLimit == st.maxLimit
			h.Releases = cur.Releases
			*cur = h
		} else {
			h.Releases = nil
			st.Projects[h.NormalizedName] = &h
			i, _ := slices.BinarySearch(st.names, h.NormalizedName)
			st.names = slices.Insert(st.names, i, h.NormalizedName)
			st.rels[h.NormalizedName] = map[string]int{}
		}
		if lowered {
			st.recomputeMaxLimit()
		} else {
			st.maxLimit = max(st.maxLimit, h.UploadLimit)
		}
		return nil
	case opRelease:
		p, ok := st.Projects[o.Project]
		if !ok || o.R == nil || o.R.CanonicalVersion == "" {
			return fmt.Errorf("no project %q or no release", o.Project)
		}
		r := cloneRelease(*o.R)
		if cur, ok := st.release(p, r.CanonicalVersion); ok {
			r.Files = cur.Files
			*cur = r
		} else {
			r.Files = nil
			p.Releases = append(p.Releases, r)
			st.rels[p.NormalizedName][r.CanonicalVersion] = len(p.Releases) - 1
		}
		return nil
	case opFile:
		p, ok := st.Projects[o.Project]
		if !ok || o.F == nil || o.F.Filename == "" {
			return fmt.Errorf("no project %q or no file", o.Project)
		}
		r, ok := st.release(p, o.Version)
		if !ok {
			return fmt.Errorf("project %q has no release %q", o.Project, o.Version)
		}
		f := *o.F
		k := fileKey{o.Project, o.Version, f.Filename}
		if other, ok := st.byName[f.Filename]; ok && other != k {
			return fmt.Errorf("file %q is already in %s %s", f.Filename, other.project, other.version)
		}
		if other, ok := st.byBlake[f.Blake2256]; ok && other.filename != f.Filename {
			return fmt.Errorf("file %q has the blake2_256 of %q", f.Filename, other.filename)
		}
		i, found := fileIndex(r.Files, f.Filename)
		if found {
			st.unindexFile(&r.Files[i])
			r.Files[i] = f
		} else {
			r.Files = slices.Insert(r.Files, i, f)
		}
		st.indexFile(k, &r.Files[i])
		st.Filenames[f.Filename] = true
		return nil
	case opDeleteFile:
		k, ok := st.byName[o.Filename]
		if !ok || k.project != o.Project {
			return fmt.Errorf("project %q has no file %q", o.Project, o.Filename)
		}
		r, _ := st.release(st.Projects[k.project], k.version)
		i, _ := fileIndex(r.Files, k.filename)
		st.unindexFile(&r.Files[i])
		r.Files = slices.Delete(r.Files, i, i+1)
		return nil
	case opDeleteRelease:
		p, ok := st.Projects[o.Project]
		if !ok {
			return fmt.Errorf("no project %q", o.Project)
		}
		i, ok := st.rels[o.Project][o.Version]
		if !ok {
			return fmt.Errorf("project %q has no release %q", o.Project, o.Version)
		}
		for fi := range p.Releases[i].Files {
			st.unindexFile(&p.Releases[i].Files[fi])
		}
		p.Releases = slices.Delete(p.Releases, i, i+1)
		st.indexReleases(p)
		return nil
	case opDeleteProject:
		p, ok := st.Projects[o.Project]
		if !ok {
			return fmt.Errorf("no project %q", o.Project)
		}
		for ri := range p.Releases {
			for fi := range p.Releases[ri].Files {
				st.unindexFile(&p.Releases[ri].Files[fi])
			}
		}
		delete(st.Projects, o.Project)
		delete(st.rels, o.Project)
		if i, ok := slices.BinarySearch(st.names, o.Project); ok {
			st.names = slices.Delete(st.names, i, i+1)
		}
		if p.UploadLimit == st.maxLimit {
			st.recomputeMaxLimit()
		}
		return nil
	}
	return fmt.Errorf("unknown op %q", o.Op)
}

// recomputeMaxLimit scans every project; only a lowered limit or a
// deleted project needs it.
func (st *state) recomputeMaxLimit() {
	st.maxLimit = DefaultUploadLimit
	for _, p := range st.Projects {
		st.maxLimit = max(st.maxLimit, p.UploadLimit)
	}
}
