package catalog

import (
	"errors"
	"fmt"
	"slices"
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
func (e *DuplicateError) Error() string { return e.Message("https://pypi.org/help/#file-name-reuse") }

// Message is the message with its help link at helpURL (TestPyPI's link
// to https://test.pypi.org/help/: legacy.py uses request.help_url).
func (e *DuplicateError) Message(helpURL string) string {
	return fmt.Sprintf("File already exists (%s, with blake2_256 hash %s). See %s for more information.",
		pyRepr(e.Filename), pyRepr(e.Blake2256), helpURL)
}

// FilenameReusedMessage is MsgFilenameReused with its help link at helpURL.
func FilenameReusedMessage(helpURL string) string {
	return "This filename was previously used by a file that has since been deleted. Use a different version. See " + helpURL + " for more information."
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
	// name (legacy.py: "project.name = meta.name").
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
	// file is written to the journal; if it fails nothing changes. The
	// upload handler passes the blob writer's Commit here, so a file is in
	// the catalog only if its bytes are stored. It runs under the
	// catalog's writers' lock, never under the lock readers take: slow
	// work (flushing a large file) belongs before AddFile.
	Commit func() error
	// Rollback, if set, is called when Commit succeeded but the change
	// could not be made durable (a full disk), under the same lock: it
	// removes what Commit stored, which no catalog row lists.
	Rollback func()
}

// Outcome says what AddFile did.
type Outcome int

const (
	// Added: the file is stored.
	Added Outcome = iota + 1
	// Identical: the same filename with the same sha256 and blake2 already
	// exists; PyPI answers 200 and changes nothing. Commit was not called.
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
// handler can answer them before it spends time validating the archive.
// AddFile checks again atomically.
func (c *Catalog) CheckFile(nf NewFile) (Outcome, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.check(c.st, &nf)
}

// check decides the catalog's upload rules from the indexes, in
// Warehouse's order; its cost does not depend on the catalog's size.
func (c *Catalog) check(st *state, nf *NewFile) (Outcome, error) {
	p, ok := st.Projects[nf.Project]
	if !ok {
		return 0, ErrProjectNotFound
	}
	f := &nf.File
	// Project size: size + project.total_size > project limit.
	if p.TotalSize+f.Size > p.TotalSizeLimit {
		return 0, ErrProjectTooLarge
	}
	// Duplicates: any file, any project, same filename OR same blake2. An
	// identical row wins over a conflicting one when both exist; otherwise
	// the first row in catalog order is the one reported.
	byName, nameOK := st.byName[f.Filename]
	if nameOK {
		g := st.file(byName)
		if g.SHA256 == f.SHA256 && g.Blake2256 == f.Blake2256 {
			return Identical, nil
		}
	}
	byBlake, blakeOK := st.byBlake[f.Blake2256]
	if nameOK || blakeOK {
		k := byName
		if !nameOK || (blakeOK && st.before(byBlake, byName)) {
			k = byBlake
		}
		return 0, &DuplicateError{Filename: f.Filename, Blake2256: f.Blake2256, Existing: *st.file(k)}
	}
	// A deleted file's name is never reused.
	if st.Filenames[f.Filename] {
		return 0, ErrFilenameReused
	}
	if r, ok := st.release(p, nf.CanonicalVersion); ok {
		// release.created < now - 14 days.
		if !nf.SkipAgeCheck && r.Created.Before(c.now().Add(-MaxAgeForNewUploads)) {
			return 0, ErrReleaseClosed
		}
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

// AddFile adds a file, creating its release if this is the release's first
// file, all in one atomic step. It returns Identical (and no error) for an
// identical re-upload, a *DuplicateError for a conflicting one, or one of
// the sentinel errors above.
func (c *Catalog) AddFile(nf NewFile) (AddResult, error) {
	if nf.Project == "" || nf.CanonicalVersion == "" || nf.Version == "" || nf.File.Filename == "" {
		return AddResult{}, errors.New("catalog: AddFile needs project, version, canonical version and filename")
	}
	var res AddResult
	err := c.update(func(ch *change) error {
		st := ch.st
		out, err := c.check(st, &nf)
		if err != nil {
			return err
		}
		if out == Identical {
			// Warehouse dooms the transaction: nothing changes, not even
			// the display name.
			res.Outcome = Identical
			return nil
		}
		if nf.Commit != nil {
			if err := nf.Commit(); err != nil {
				return err
			}
			ch.undo = nf.Rollback
		}
		p := st.Projects[nf.Project]
		h := header(p)
		if nf.DisplayName != "" {
			h.Name = nf.DisplayName
		}
		now := c.now()
		cur, exists := st.release(p, nf.CanonicalVersion)
		var r Release
		if exists {
			r = cloneRelease(*cur)
		} else {
			r = cloneRelease(Release{Version: nf.Version, CanonicalVersion: nf.CanonicalVersion, Metadata: nf.Metadata, Created: now})
			rh := r
			ch.add(op{Op: opRelease, Project: p.NormalizedName, R: &rh})
			res.NewRelease = true
			ch.journal(h) // "new release"
		}
		f := nf.File
		f.UploadTime = now
		f.RequiresPython = r.Metadata.RequiresPython
		ch.add(op{Op: opFile, Project: p.NormalizedName, Version: nf.CanonicalVersion, F: &f})
		h.TotalSize += f.Size
		res.Serial = ch.journal(h) // "add <pyversion> file <filename>"
		ch.add(op{Op: opProject, P: h})
		i, _ := fileIndex(r.Files, f.Filename)
		r.Files = slices.Insert(r.Files, i, f)
		res.Outcome = Added
		res.File = f
		res.Release = r
		return nil
	})
	return res, err
}

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
