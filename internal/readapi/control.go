package readapi

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/fakepypi/fakepypi/internal/blobstore"
	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/forklift/pyname"
	"github.com/gorilla/mux"
)

// SeedFile describes a file to put in the index directly from Go (or via
// POST /_fake/seed), bypassing the upload checks that belong to forklift.
type SeedFile struct {
	Project string `json:"project"` // display name; created if missing
	Version string `json:"version"` // normalized version
	// CanonicalVersion defaults to Options.Versions.Canonical(Version).
	CanonicalVersion string `json:"canonical_version,omitempty"`
	Filename         string `json:"filename"`
	// PackageType defaults from the extension: bdist_wheel for .whl,
	// sdist otherwise.
	PackageType string `json:"packagetype,omitempty"`
	// PythonVersion defaults to "source" for sdists and to the wheel's
	// python tag.
	PythonVersion string `json:"python_version,omitempty"`
	Content       []byte `json:"content"` // base64 in JSON
	// CoreMetadata is the PEP 658 file; for a wheel it defaults to the
	// archive's *.dist-info/METADATA. Sdists get none, as on PyPI.
	CoreMetadata []byte           `json:"core_metadata,omitempty"`
	Metadata     catalog.Metadata `json:"metadata"`
	Provenance   json.RawMessage  `json:"provenance,omitempty"`
	Roles        []catalog.Role   `json:"roles,omitempty"`
}

// Seed stores f's bytes (and metadata file) and adds it to the catalog,
// creating the project if needed. The 14-day rule is not applied; the
// duplicate, deleted-filename and one-sdist rules are.
func (h *Handler) Seed(f SeedFile) (catalog.File, error) {
	if f.Project == "" || f.Version == "" || f.Filename == "" {
		return catalog.File{}, errors.New("seed: project, version and filename are required")
	}
	norm := pyname.Normalize(f.Project)
	if _, ok := h.cat.Project(norm); !ok {
		if msg := pyname.NameProblem(f.Project); msg != "" {
			return catalog.File{}, errors.New("seed: " + msg)
		}
		_, err := h.cat.CreateProject(catalog.NewProject{Name: f.Project, NormalizedName: norm, Roles: f.Roles})
		if err != nil && !errors.Is(err, catalog.ErrProjectExists) {
			return catalog.File{}, err
		}
	}
	isWheel := strings.HasSuffix(f.Filename, ".whl")
	if f.PackageType == "" {
		f.PackageType = "sdist"
		if isWheel {
			f.PackageType = "bdist_wheel"
		}
	}
	if f.PythonVersion == "" {
		f.PythonVersion = "source"
		if isWheel {
			if parts := strings.Split(strings.TrimSuffix(f.Filename, ".whl"), "-"); len(parts) >= 5 {
				f.PythonVersion = parts[len(parts)-3]
			}
		}
	}
	if f.CoreMetadata == nil && isWheel {
		f.CoreMetadata = wheelMetadata(f.Content)
	}
	if f.CanonicalVersion == "" {
		f.CanonicalVersion = h.versions.Canonical(f.Version)
	}
	d := blobstore.Sum(f.Content)
	file := catalog.File{
		Filename: f.Filename, PackageType: f.PackageType, PythonVersion: f.PythonVersion,
		Size: int64(len(f.Content)), MD5: d.MD5, SHA256: d.SHA256, Blake2256: d.Blake2256,
		Path: blobstore.Path(d.Blake2256, f.Filename), Provenance: f.Provenance,
	}
	if f.CoreMetadata != nil {
		sum := sha256.Sum256(f.CoreMetadata)
		file.MetadataSHA256 = hex.EncodeToString(sum[:])
	}
	res, err := h.cat.AddFile(catalog.NewFile{
		Project: norm, DisplayName: f.Project, Version: f.Version, CanonicalVersion: f.CanonicalVersion,
		Metadata: f.Metadata, File: file, SkipAgeCheck: true,
		Commit: func() error {
			// Metadata first: once the file is visible its .metadata must be.
			if f.CoreMetadata != nil {
				if err := h.blobs.Put(blobstore.MetadataPath(file.Path), f.CoreMetadata); err != nil {
					return err
				}
			}
			return h.blobs.Put(file.Path, f.Content)
		},
	})
	if err != nil {
		return catalog.File{}, err
	}
	return res.File, nil
}

// wheelMetadata extracts <name>.dist-info/METADATA from a wheel, or nil.
func wheelMetadata(content []byte) []byte {
	zr, err := zip.NewReader(bytes.NewReader(content), int64(len(content)))
	if err != nil {
		return nil
	}
	for _, zf := range zr.File {
		dir, base, ok := strings.Cut(zf.Name, "/")
		if ok && base == "METADATA" && strings.HasSuffix(dir, ".dist-info") {
			rc, err := zf.Open()
			if err != nil {
				return nil
			}
			defer rc.Close()
			data, err := io.ReadAll(io.LimitReader(rc, 16<<20))
			if err != nil {
				return nil
			}
			return data
		}
	}
	return nil
}

// Yank, Unyank and the Delete* methods are the control plane as Go calls;
// deletions also drop the blobs, as PyPI removes files from storage.

// Yank marks a release yanked with reason (PEP 592).
func (h *Handler) Yank(project, version, reason string) error {
	return h.cat.Yank(pyname.Normalize(project), h.releaseKey(project, version), reason)
}

// Unyank clears a release's yank.
func (h *Handler) Unyank(project, version string) error {
	return h.cat.Unyank(pyname.Normalize(project), h.releaseKey(project, version))
}

// releaseKey finds the key for version: its canonical form if such a
// release exists, else the string as given (matched as an exact version).
func (h *Handler) releaseKey(project, version string) string {
	p, ok := h.cat.Project(pyname.Normalize(project))
	c := h.versions.Canonical(version)
	if ok {
		if _, found := p.Release(c); found {
			return c
		}
	}
	return version
}

// DeleteFile removes a file and its blobs; its filename stays blocked.
func (h *Handler) DeleteFile(project, filename string) error {
	f, err := h.cat.DeleteFile(pyname.Normalize(project), filename)
	if err != nil {
		return err
	}
	return h.dropBlobs([]catalog.File{f})
}

// DeleteRelease removes a release, its files and their blobs.
func (h *Handler) DeleteRelease(project, version string) error {
	files, err := h.cat.DeleteRelease(pyname.Normalize(project), h.releaseKey(project, version))
	if err != nil {
		return err
	}
	return h.dropBlobs(files)
}

// DeleteProject removes a project, everything in it, and the blobs.
func (h *Handler) DeleteProject(project string) error {
	files, err := h.cat.DeleteProject(pyname.Normalize(project))
	if err != nil {
		return err
	}
	return h.dropBlobs(files)
}

func (h *Handler) dropBlobs(files []catalog.File) error {
	var errs []error
	for _, f := range files {
		if f.HasMetadata() {
			errs = append(errs, h.blobs.Delete(blobstore.MetadataPath(f.Path)))
		}
		errs = append(errs, h.blobs.Delete(f.Path))
	}
	return errors.Join(errs...)
}

// The Control* handlers are the control plane over HTTP, which the index
// mounts under its /_fake/ prefix (internal/index/routes.go). Answers are
// JSON: {"ok": true} or {"error": "..."} with 400/404/409.

// ControlYank serves POST .../projects/{project}/releases/{version}/yank
// with an optional body {"reason": "..."}.
func (h *Handler) ControlYank(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			controlReply(w, fmt.Errorf("bad body: %w", err))
			return
		}
	}
	v := mux.Vars(r)
	controlReply(w, h.Yank(v["project"], v["version"], body.Reason))
}

// ControlUnyank serves POST .../projects/{project}/releases/{version}/unyank.
func (h *Handler) ControlUnyank(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	controlReply(w, h.Unyank(v["project"], v["version"]))
}

// ControlDeleteRelease serves DELETE .../projects/{project}/releases/{version}.
func (h *Handler) ControlDeleteRelease(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	controlReply(w, h.DeleteRelease(v["project"], v["version"]))
}

// ControlDeleteFile serves DELETE .../projects/{project}/files/{filename}.
func (h *Handler) ControlDeleteFile(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	controlReply(w, h.DeleteFile(v["project"], v["filename"]))
}

// ControlDeleteProject serves DELETE .../projects/{project}.
func (h *Handler) ControlDeleteProject(w http.ResponseWriter, r *http.Request) {
	controlReply(w, h.DeleteProject(mux.Vars(r)["project"]))
}

// ControlSeed serves POST .../seed: a SeedFile as JSON, content in base64.
func (h *Handler) ControlSeed(w http.ResponseWriter, r *http.Request) {
	var f SeedFile
	if err := json.NewDecoder(io.LimitReader(r.Body, 512<<20)).Decode(&f); err != nil {
		controlReply(w, fmt.Errorf("bad body: %w", err))
		return
	}
	file, err := h.Seed(f)
	if err != nil {
		controlReply(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"ok": true, "file": file})
}

// ControlShow serves GET .../projects/{project}: the catalog's record.
func (h *Handler) ControlShow(w http.ResponseWriter, r *http.Request) {
	p, ok := h.cat.Project(pyname.Normalize(mux.Vars(r)["project"]))
	if !ok {
		controlReply(w, catalog.ErrProjectNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	enc.Encode(p)
}

func controlReply(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err == nil {
		w.Write([]byte("{\"ok\": true}\n"))
		return
	}
	status := http.StatusBadRequest
	var dup *catalog.DuplicateError
	switch {
	case errors.Is(err, catalog.ErrProjectNotFound), errors.Is(err, catalog.ErrReleaseNotFound), errors.Is(err, catalog.ErrFileNotFound):
		status = http.StatusNotFound
	case errors.As(err, &dup), errors.Is(err, catalog.ErrFilenameReused), errors.Is(err, catalog.ErrSecondSdist), errors.Is(err, catalog.ErrProjectExists):
		status = http.StatusConflict
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
