package catalog

import (
	"errors"
	"fmt"
	"slices"
	"sort"
)

// Messages PyPI answers for the checks decided here (warehouse/forklift/
// legacy.py). The upload handler sends them
// as the 400 status line and body.
const (
	MsgFilenameReused = "This filename was previously used by a file that has since been deleted. Use a different version. See https://pypi.org/help/#file-name-reuse for more information."
	MsgReleaseClosed  = "Uploading new files to releases older than 14 days is not allowed."
	MsgSecondSdist    = "Only one sdist may be uploaded per release."
)

// Errors returned by CheckFile and AddFile, in the order Warehouse checks
// them. The size message needs the project name and limit, so the caller
// builds it.
var (
	// ErrProjectTooLarge: size + project total size > project limit (step 19b).
	ErrProjectTooLarge = errors.New("catalog: project total size limit exceeded")
	// ErrFilenameReused: the filename belonged to a since-deleted file (step 22).
	ErrFilenameReused = errors.New(MsgFilenameReused)
	// ErrReleaseClosed: the release is older than 14 days (step 23).
	ErrReleaseClosed = errors.New(MsgReleaseClosed)
	// ErrSecondSdist: the release already has an sdist (step 24).
	ErrSecondSdist = errors.New(MsgSecondSdist)
)

// DuplicateError is step 21's conflict: a file with the same filename or the
// same blake2 exists anywhere, and it is not this very file.
type DuplicateError struct {
	Filename  string // the new file's name
	Blake2256 string // the NEW file's digest, as PyPI quotes it
	Existing  File   // the row that matched, for diagnostics
}

// Error is PyPI's message, which twine's --skip-existing recognises by its
// "File already exists" prefix (twine/commands/upload.py skip_upload).
func (e *DuplicateError) Error() string {
	return fmt.Sprintf("File already exists (%s, with blake2_256 hash %s). See https://pypi.org/help/#file-name-reuse for more information.",
		pyRepr(e.Filename), pyRepr(e.Blake2256))
}

// pyRepr quotes s as Python's repr() does for the strings that reach these
// messages: single quotes, or double quotes when s contains a single quote
// and no double quote.
func pyRepr(s string) string {
	q := byte('\'')
	if containsByte(s, '\'') && !containsByte(s, '"') {
		q = '"'
	}
	b := []byte{q}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20 || c == 0x7f:
			b = append(b, fmt.Sprintf("\\x%02x", c)...)
		default:
			b = append(b, c)
		}
	}
	return string(append(b, q))
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// NewFile is a file to add, with the release it belongs to.
type NewFile struct {
	Project string // normalized project name; the project must exist
	// DisplayName, if set and different, becomes the project's display
	// name (warehouse/forklift/legacy.py: "project.name is set to meta.name").
	DisplayName string
	// Version is the normalized version string, CanonicalVersion its
	// canonicalize_version form (the release key).
	Version          string
	CanonicalVersion string
	// Metadata is used only if this file creates the release.
	Metadata Metadata
	// File: Filename, PackageType, PythonVersion, Size, digests, Path,
	// MetadataSHA256 and Provenance are taken as given; UploadTime and
	// RequiresPython are filled in.
	File File
	// SkipAgeCheck disables the 14-day rule (for seeding old releases).
	SkipAgeCheck bool
	// Commit, if set, is called after every check passed and before the
	// file becomes visible; if it fails nothing changes. The upload handler
	// passes the blob writer's Commit here, so a file is in the catalog
	// only if its bytes are stored.
	Commit func() error
}

// Outcome says what AddFile did.
type Outcome int

const (
	// Added: the file is stored.
	Added Outcome = iota + 1
	// Identical: the same filename with the same sha256 and blake2 already
	// exists; PyPI answers 200 and changes nothing (_is_duplicate_file). Commit was not
	// called.
	Identical
)

// AddResult reports a successful AddFile.
type AddResult struct {
	Outcome Outcome
	// NewRelease is true when this file created its release.
	NewRelease bool
	Release    Release // without other files' changes; Files included
	File       File
	Serial     int64 // the journal id of the "add file" entry (0 if Identical)
}

// CheckFile runs AddFile's checks without changing anything, so the upload
// handler can answer steps 19b-24 before it spends time validating the
// archive (steps 25+). AddFile checks again atomically.
func (c *Catalog) CheckFile(nf NewFile) (Outcome, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.check(c.st, &nf)
}

func (c *Catalog) check(st *state, nf *NewFile) (Outcome, error) {
	p, ok := st.Projects[nf.Project]
	if !ok {
		return 0, ErrProjectNotFound
	}
	f := &nf.File
	// Step 19b: size + project.total_size > project limit.
	if p.TotalSize+f.Size > p.TotalSizeLimit {
		return 0, ErrProjectTooLarge
	}
	// Step 21: any file, any project, same filename OR same blake2. An
	// identical row wins over a conflicting one when both exist.
	var conflict *File
	identical := false
	st.allFiles(func(_ *Project, g *File) bool {
		if g.Filename != f.Filename && g.Blake2256 != f.Blake2256 {
			return true
		}
		if g.Filename == f.Filename && g.SHA256 == f.SHA256 && g.Blake2256 == f.Blake2256 {
			identical = true
			return false
		}
		if conflict == nil {
			conflict = g
		}
		return true
	})
	if identical {
		return Identical, nil
	}
	if conflict != nil {
		return 0, &DuplicateError{Filename: f.Filename, Blake2256: f.Blake2256, Existing: *conflict}
	}
	// Step 22.
	if st.Filenames[f.Filename] {
		return 0, ErrFilenameReused
	}
	if i := releaseIndex(p, nf.CanonicalVersion); i >= 0 {
		r := &p.Releases[i]
		// Step 23: release.created < now - 14 days.
		if !nf.SkipAgeCheck && r.Created.Before(c.now().Add(-MaxAgeForNewUploads)) {
			return 0, ErrReleaseClosed
		}
		// Step 24.
		if f.PackageType == "sdist" {
			for _, g := range r.Files {
				if g.PackageType == "sdist" {
					return 0, ErrSecondSdist
				}
			}
		}
	}
	return Added, nil
}

func releaseIndex(p *Project, canonical string) int {
	for i, r := range p.Releases {
		if r.CanonicalVersion == canonical {
			return i
		}
	}
	return -1
}

// AddFile adds a file, creating its release if this is the release's first
// file, all in one atomic step. It returns Identical (and no error) for an
// identical re-upload, a *DuplicateError for a conflicting one, or one of
// the sentinel errors above.
func (c *Catalog) AddFile(nf NewFile) (AddResult, error) {
	if nf.Project == "" || nf.CanonicalVersion == "" || nf.Version == "" || nf.File.Filename == "" {
		return AddResult{}, errors.New("catalog: AddFile needs project, version, canonical version and filename")
	}
	var res AddResult
	err := c.update(func(t *tx) error {
		out, err := c.check(t.st, &nf)
		if err != nil {
			return err
		}
		if out == Identical {
			res.Outcome = Identical
			return errIdentical
		}
		if nf.Commit != nil {
			if err := nf.Commit(); err != nil {
				return err
			}
		}
		p, _ := t.project(nf.Project)
		if nf.DisplayName != "" && nf.DisplayName != p.Name {
			p.Name = nf.DisplayName
		}
		now := c.now()
		i := releaseIndex(p, nf.CanonicalVersion)
		if i < 0 {
			md := nf.Metadata
			p.Releases = append(p.Releases, cloneRelease(Release{
				Version:          nf.Version,
				CanonicalVersion: nf.CanonicalVersion,
				Metadata:         md,
				Created:          now,
			}))
			i = len(p.Releases) - 1
			res.NewRelease = true
			t.journal(p) // "new release"
		}
		r := &p.Releases[i]
		f := nf.File
		f.UploadTime = now
		f.RequiresPython = r.Metadata.RequiresPython
		r.Files = append(r.Files, f)
		sort.Slice(r.Files, func(a, b int) bool { return r.Files[a].Filename < r.Files[b].Filename })
		p.TotalSize += f.Size
		t.st.Filenames[f.Filename] = true
		res.Serial = t.journal(p) // "add <pyversion> file <filename>"
		res.Outcome = Added
		res.File = f
		res.Release = cloneRelease(*r)
		return nil
	})
	if errors.Is(err, errIdentical) {
		return res, nil
	}
	return res, err
}

// errIdentical aborts the update for an identical re-upload: Warehouse dooms
// the transaction, so nothing (not even the display name) changes.
var errIdentical = errors.New("identical")

// ReleaseFiles is a convenience for tests and the control plane: the files
// of a release matched by canonical or exact version.
func (c *Catalog) ReleaseFiles(project, version string) ([]File, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.st.Projects[project]
	if !ok {
		return nil, ErrProjectNotFound
	}
	i := findRelease(p, version)
	if i < 0 {
		return nil, ErrReleaseNotFound
	}
	return slices.Clone(p.Releases[i].Files), nil
}
