package index

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/fakepypi/fakepypi/internal/adminflag"
	"github.com/fakepypi/fakepypi/internal/blobstore"
	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/forklift/pep440"
	"github.com/fakepypi/fakepypi/internal/readapi"
	"github.com/fakepypi/fakepypi/internal/upload"
)

// initFiles builds what serves distribution files: the blob store, the
// upload endpoint and the read APIs, all over s.Catalog.
func (s *Server) initFiles() {
	s.Blobs = s.cfg.Blobs
	if s.Blobs == nil {
		s.Blobs = blobstore.NewMemory()
	}
	s.Read = readapi.New(readapi.Options{
		Catalog: s.Catalog, Blobs: s.Blobs, Versions: versionRules{},
		AttestationsDisabled: func() bool { return s.Flags.Enabled(adminflag.DisablePEP740) },
	})
	s.Upload = upload.New(upload.Options{
		Catalog: s.Catalog, Blobs: s.Blobs, Tokens: s.Tokens, Flags: s.Flags,
		Events: s.Events, Clock: s.clock, CreateProject: s.createForUpload,
	})
}

// createForUpload is create_project as the upload calls it (step 9d).
func (s *Server) createForUpload(name, creator string) (catalog.Project, error) {
	return s.CreateProject(name, creator, "")
}

// OpenData opens a data directory: the catalog's state in
// <dir>/catalog.json and the files under <dir>/files, laid out as PyPI
// lays them out. Both write atomically (temp file, fsync, rename).
// A nil clock means the real one.
func OpenData(dir string, clk clock.Clock) (*catalog.Catalog, blobstore.Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	cat, err := catalog.Open(filepath.Join(dir, "catalog.json"), clk)
	if err != nil {
		return nil, nil, err
	}
	blobs, err := blobstore.NewDisk(filepath.Join(dir, "files"))
	if err != nil {
		return nil, nil, err
	}
	return cat, blobs, nil
}

// versionRules is packaging's PEP 440 for the read APIs.
type versionRules struct{}

func (versionRules) Canonical(v string) string { return pep440.CanonicalizeVersion(v) }

func (versionRules) Compare(a, b string) int {
	va, erra := pep440.Parse(a)
	vb, errb := pep440.Parse(b)
	switch {
	case erra != nil && errb != nil:
		return strings.Compare(a, b)
	case erra != nil:
		return 1 // unparsable versions sort last
	case errb != nil:
		return -1
	}
	return pep440.Compare(va, vb)
}

func (versionRules) IsPrerelease(v string) bool {
	pv, err := pep440.Parse(v)
	return err == nil && pv.IsPreRelease()
}
