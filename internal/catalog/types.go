package catalog

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Default limits (warehouse/forklift/legacy.py MAX_FILESIZE, MAX_PROJECT_SIZE).
const (
	DefaultUploadLimit    int64 = 100 << 20 // 100 MiB per file
	DefaultTotalSizeLimit int64 = 10 << 30  // 10 GiB per project
)

// MaxAgeForNewUploads is Warehouse's MAXIMUM_AGE_FOR_NEW_UPLOADS_DAYS: no
// new files for a release created more than 14 days ago
// (warehouse/forklift/legacy.py).
const MaxAgeForNewUploads = 14 * 24 * time.Hour

// Project lifecycle statuses as PEP 792 names them in the simple API's
// project-status. The zero value means active.
const (
	StatusActive      = "active"
	StatusArchived    = "archived"
	StatusQuarantined = "quarantined"
	StatusDeprecated  = "deprecated"
)

// Role is one collaborator of a project (the JSON API's ownership.roles).
type Role struct {
	Role string `json:"role"` // "Owner" or "Maintainer"
	User string `json:"user"`
}

// Project is a project with its releases. Values returned by the Catalog are
// copies; changing them changes nothing stored.
type Project struct {
	ID             uuid.UUID `json:"id"`
	Name           string    `json:"name"`            // display name, as last uploaded
	NormalizedName string    `json:"normalized_name"` // PEP 503
	Roles          []Role    `json:"roles,omitempty"`
	Organization   string    `json:"organization,omitempty"`
	// Status is "" (active) or one of the Status constants.
	Status         string    `json:"status,omitempty"`
	UploadLimit    int64     `json:"upload_limit"`     // per file, bytes
	TotalSizeLimit int64     `json:"total_size_limit"` // per project, bytes
	TotalSize      int64     `json:"total_size"`
	Created        time.Time `json:"created"`
	LastSerial     int64     `json:"last_serial"`
	// Releases in creation order.
	Releases []Release `json:"releases,omitempty"`
}

// Release returns the release whose canonical version is canonical.
func (p *Project) Release(canonical string) (Release, bool) {
	for _, r := range p.Releases {
		if r.CanonicalVersion == canonical {
			return r, true
		}
	}
	return Release{}, false
}

// StatusOrActive is Status with the empty value spelled out.
func (p *Project) StatusOrActive() string {
	if p.Status == "" {
		return StatusActive
	}
	return p.Status
}

// Release is one version of a project. Its Metadata comes from the first
// file uploaded for it and never changes afterwards (warehouse/forklift/
// legacy.py creates the Release row once).
type Release struct {
	// Version is the normalized PEP 440 string (str(Version(v))).
	Version string `json:"version"`
	// CanonicalVersion is packaging's canonicalize_version(Version), the
	// key releases are matched by ("1.0.0" and "1.0" are one release).
	CanonicalVersion string    `json:"canonical_version"`
	Metadata         Metadata  `json:"metadata"`
	Yanked           bool      `json:"yanked,omitempty"`
	YankedReason     string    `json:"yanked_reason,omitempty"`
	Created          time.Time `json:"created"`
	// Files sorted by filename.
	Files []File `json:"files,omitempty"`
}

// Metadata is the release metadata Warehouse keeps, already normalized by
// the upload path (requires_python as str(SpecifierSet), keywords joined
// with ", ", dynamic title-cased). Empty strings and nil slices mean
// "absent" (null in the JSON API).
type Metadata struct {
	MetadataVersion        string       `json:"metadata_version,omitempty"`
	Summary                string       `json:"summary,omitempty"`
	Description            string       `json:"description,omitempty"`
	DescriptionContentType string       `json:"description_content_type,omitempty"`
	Author                 string       `json:"author,omitempty"`
	AuthorEmail            string       `json:"author_email,omitempty"`
	Maintainer             string       `json:"maintainer,omitempty"`
	MaintainerEmail        string       `json:"maintainer_email,omitempty"`
	License                string       `json:"license,omitempty"`
	LicenseExpression      string       `json:"license_expression,omitempty"`
	LicenseFiles           []string     `json:"license_files,omitempty"`
	Keywords               string       `json:"keywords,omitempty"`
	Classifiers            []string     `json:"classifiers,omitempty"`
	Platform               string       `json:"platform,omitempty"`
	HomePage               string       `json:"home_page,omitempty"`
	DownloadURL            string       `json:"download_url,omitempty"`
	RequiresPython         string       `json:"requires_python,omitempty"`
	RequiresDist           []string     `json:"requires_dist,omitempty"`
	ProvidesExtra          []string     `json:"provides_extra,omitempty"`
	Dynamic                []string     `json:"dynamic,omitempty"`
	ProjectURLs            []ProjectURL `json:"project_urls,omitempty"`
}

// ProjectURL is one Project-URL entry ("Label, https://...").
type ProjectURL struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// File is one distribution file. Yanking is a property of the release.
type File struct {
	Filename      string `json:"filename"`
	PackageType   string `json:"packagetype"`    // "sdist" or "bdist_wheel"
	PythonVersion string `json:"python_version"` // form pyversion; "source" for sdists
	Size          int64  `json:"size"`
	MD5           string `json:"md5"`
	SHA256        string `json:"sha256"`
	Blake2256     string `json:"blake2_256"`
	// UploadTime is set by the catalog from its clock, in UTC.
	UploadTime time.Time `json:"upload_time"`
	// Path is the blob path (blake2 layout), relative to the files URL.
	Path string `json:"path"`
	// MetadataSHA256 is the sha256 of the PEP 658 <path>.metadata file, or
	// "" when the file has none (only wheels have one).
	MetadataSHA256 string `json:"metadata_sha256,omitempty"`
	// RequiresPython is copied from the release when the file is added,
	// as Warehouse does (File.requires_python).
	RequiresPython string `json:"requires_python,omitempty"`
	// Provenance is the PEP 740 provenance object served by the integrity
	// API, or nil.
	Provenance json.RawMessage `json:"provenance,omitempty"`
}

// HasMetadata reports whether the file has a PEP 658 metadata file.
func (f *File) HasMetadata() bool { return f.MetadataSHA256 != "" }

// ProjectSummary is one row of the project list (the simple index).
type ProjectSummary struct {
	Name           string
	NormalizedName string
	LastSerial     int64
	Status         string
}
