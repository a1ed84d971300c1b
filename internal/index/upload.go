package index

import (
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/fakepypi/fakepypi/internal/adminflag"
	"github.com/fakepypi/fakepypi/internal/attestation"
	"github.com/fakepypi/fakepypi/internal/blobstore"
	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/forklift/pep440"
	"github.com/fakepypi/fakepypi/internal/oidc"
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
		Catalog: s.Catalog, Blobs: s.Blobs, Versions: newVersionRules(), FilesURL: s.cfg.FilesURL,
		AttestationsDisabled: func() bool { return s.Flags.Enabled(adminflag.DisablePEP740) },
	})
	s.Upload = upload.New(upload.Options{
		Catalog: s.Catalog, Blobs: s.Blobs, Tokens: s.Tokens, Flags: s.Flags,
		Events: s.Events, Clock: s.clock, CreateProject: s.createForUpload,
		TrustedRoot: s.trustedRoot.Load, PublisherIdentity: s.attestationIdentity,
	})
	s.trustedRoot.Store(s.cfg.TrustedRoot)
}

// SetTrustedRoot replaces the Sigstore trusted root of upload
// verification (nil: none).
func (s *Server) SetTrustedRoot(r *attestation.TrustedRoot) { s.trustedRoot.Store(r) }

// attestationIdentity is the publisher's attestation_identity
// (warehouse/oidc/models/github.py, gitlab.py, google.py; ActiveState and
// the others have none) and its publisher_name.
func (s *Server) attestationIdentity(id string) (attestation.Publisher, string, bool) {
	p, ok := s.Publishers.Get(id)
	if !ok {
		return attestation.Publisher{}, "", false
	}
	switch p.Service {
	case oidc.GitHub:
		return attestation.Publisher{Kind: "GitHub", Repository: p.Owner + "/" + p.Repository, Workflow: p.WorkflowFilename, Environment: p.Environment}, p.Name(), true
	case oidc.GitLab:
		return attestation.Publisher{Kind: "GitLab", Repository: p.Namespace + "/" + p.Project, Workflow: p.WorkflowFilepath, Environment: p.Environment}, p.Name(), true
	case oidc.Google:
		return attestation.Publisher{Kind: "Google", Email: p.Email}, p.Name(), true
	}
	return attestation.Publisher{}, p.Name(), false
}

// createForUpload is create_project as the upload calls it (step 9d).
func (s *Server) createForUpload(name, creator string) (catalog.Project, error) {
	return s.CreateProject(name, creator, "")
}

// OpenData opens a data directory: the catalog in <dir>/catalog.json (a
// snapshot) and <dir>/catalog.journal (the changes since), and the files
// under <dir>/files, laid out as PyPI lays them out. A catalog that fails
// its checks is refused with the file and the problem; blobs the catalog
// does not list are removed. Close the catalog when done (it folds the
// journal into the snapshot). A nil clock means the real one.
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
	// Blobs no catalog row lists were committed just before a crash, or
	// their catalog write failed: they are never served (readapi checks
	// Listed), and they go now.
	if _, err := blobs.Sweep(cat.Listed); err != nil {
		return nil, nil, err
	}
	// A benchmark-only switch: measure what the three digests cost
	// (docs/performance.md). Never set it otherwise.
	blobs.NoDigests = os.Getenv("FAKEINDEX_BENCH_NO_DIGESTS") == "1"
	return cat, blobs, nil
}

// versionRules is packaging's PEP 440 for the read APIs. Ordering a
// project's releases compares each version many times; parsing on every
// comparison was most of the JSON API's time at 1,000 releases (issue
// 14), so each version string is parsed once and remembered. Only
// versions the catalog holds are compared (a request's version goes
// through Canonical, which is not cached), so the cache grows with the
// catalog; past maxParsedVersions it starts over.
type versionRules struct {
	mu     sync.RWMutex
	parsed map[string]parsedVersion
}

type parsedVersion struct {
	v  pep440.Version
	ok bool
}

const maxParsedVersions = 1 << 16

func newVersionRules() *versionRules {
	return &versionRules{parsed: map[string]parsedVersion{}}
}

func (vr *versionRules) parse(s string) parsedVersion {
	vr.mu.RLock()
	p, hit := vr.parsed[s]
	vr.mu.RUnlock()
	if hit {
		return p
	}
	v, err := pep440.Parse(s)
	p = parsedVersion{v: v, ok: err == nil}
	vr.mu.Lock()
	if len(vr.parsed) >= maxParsedVersions {
		vr.parsed = map[string]parsedVersion{}
	}
	vr.parsed[s] = p
	vr.mu.Unlock()
	return p
}

func (*versionRules) Canonical(v string) string { return pep440.CanonicalizeVersion(v) }

func (vr *versionRules) Compare(a, b string) int {
	va, vb := vr.parse(a), vr.parse(b)
	switch {
	case !va.ok && !vb.ok:
		return strings.Compare(a, b)
	case !va.ok:
		return 1 // unparsable versions sort last
	case !vb.ok:
		return -1
	}
	return pep440.Compare(va.v, vb.v)
}

func (vr *versionRules) IsPrerelease(v string) bool {
	p := vr.parse(v)
	return p.ok && p.v.IsPreRelease()
}
