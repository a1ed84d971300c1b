// Package forklift is the pure validation layer of PyPI's legacy upload
// endpoint (POST /legacy/, warehouse/forklift/legacy.py), with no HTTP and
// no storage. The upload handler calls its functions in Warehouse's check
// order (warehouse/forklift/legacy.py file_upload) and renders any *Error it gets back as the
// status line "<Status> <Message>" and the body.
//
// Call order for one upload (the steps of docs/upload.md; the handler does the steps in
// between, such as authentication, project lookup and permissions):
//
//	step 1    Sanitize(fields)
//	step 5-6  ValidateForm(fields)              -> *Form
//	step 7    ParseMetadata(fields)             -> *Metadata
//	step 8    (handler) content part present
//	step 9d   CheckNewProjectName(...)          (new projects only)
//	step 16   Metadata.Version.Canonical()      (release lookup key)
//	step 17   ValidateFilename(filename, form.Filetype)
//	step 18   ValidateContentType(contentType)
//	step 19-24 (handler) size limits, digests, duplicates, release rules
//	step 25   ValidateDistFile(path, filename)
//	step 26   CheckSdistFilename(...)           (sdist)
//	step 27   CheckWheelFilename(...)           (wheel)
//	step 28-29 CheckDistContents(...)           -> wheel METADATA bytes
//
// NormalizeRelease turns a validated Metadata into the stored release
// fields of warehouse/forklift/legacy.py.
package forklift

import "github.com/fakepypi/fakepypi/internal/pypierr"

// Error is an upload failure: the HTTP status code and the exact message
// Warehouse puts in the status line (the reason phrase) and the body.
type Error = pypierr.Error

var badRequest = pypierr.BadRequest

const coreMetadataHelp = "https://packaging.python.org/specifications/core-metadata"
