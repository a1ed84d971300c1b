package readapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"path"

	"github.com/fakepypi/fakepypi/internal/blobstore"
	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/pyfmt"
	"github.com/gorilla/mux"
)

// File serves GET /packages/{path}: a distribution file or its PEP 658
// .metadata, with Range, If-Modified-Since and HEAD handled by
// http.ServeContent. Files are immutable once stored (a path embeds the
// blake2 digest), hence the long cache lifetime.
//
// Only blobs the catalog lists are served: a blob left on disk by a crash
// or a failed commit, or a file deleted through the control plane, is a
// 404 like any unknown path.
func (h *Handler) File(w http.ResponseWriter, r *http.Request) {
	p := mux.Vars(r)["path"]
	if !h.cat.Listed(p) {
		notFoundText(w)
		return
	}
	b, err := h.blobs.Open(p)
	if err != nil {
		if errors.Is(err, blobstore.ErrNotFound) {
			notFoundText(w)
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer b.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "max-age=365000000, immutable, public")
	http.ServeContent(w, r, path.Base(p), b.ModTime(), b)
}

// Provenance serves GET /integrity/{name}/{version}/{filename}/provenance
// (warehouse/api/integrity.py).
func (h *Handler) Provenance(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	hd := w.Header()
	hd.Set("Vary", "Accept")
	hd.Set("Cache-Control", "max-age=600, public")
	// Traversal: project by normalized name, release by canonical version,
	// file by exact name. A miss is the generic HTML 404, not JSON.
	p, ok := h.project(vars["name"])
	var file *catalog.File
	if ok && p.Status != catalog.StatusQuarantined {
		if rel, found := p.Release(h.versions.Canonical(vars["version"])); found {
			for i := range rel.Files {
				if rel.Files[i].Filename == vars["filename"] {
					file = &rel.Files[i]
				}
			}
		}
	}
	if file == nil {
		hd.Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(notFoundHTML))
		return
	}
	// The order of the checks is provenance_for_file's: 406, 403, 404.
	// Those errors are HTTPExceptions built with json=..., which WebOb
	// serializes compactly as application/json; they get the Vary and
	// Cache-Control decorators but not the CORS headers, which the view
	// adds only on success.
	offers := acceptableOffers(r, integrityOffers)
	switch {
	case len(offers) == 0:
		writeErrorJSON(w, http.StatusNotAcceptable, "Request not acceptable")
		return
	case h.noAttest():
		writeErrorJSON(w, http.StatusForbidden, "Attestations temporarily disabled")
		return
	case len(file.Provenance) == 0:
		writeErrorJSON(w, http.StatusNotFound, "No provenance available for "+file.Filename)
		return
	}
	v, err := decodeProvenance(file.Provenance)
	if err != nil {
		http.Error(w, "stored provenance is not JSON: "+err.Error(), http.StatusInternalServerError)
		return
	}
	corsHeaders(hd)
	// renderer="json" (warehouse/api/integrity.py provenance_for_file):
	// Warehouse's json renderer, sort_keys and compact separators with
	// ensure_ascii, and no trailing newline (tests/functional/api/
	// test_integrity.py asserts the body does not end with "\n").
	hd.Set("Content-Type", offers[0])
	w.WriteHeader(http.StatusOK)
	w.Write(pyfmt.Renderer.Dumps(v))
}

// writeErrorJSON is an HTTPException with json={"message": msg}.
func writeErrorJSON(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", MIMEApplicationJSON)
	w.WriteHeader(status)
	w.Write(pyfmt.WebOb.Dumps(obj{"message": msg}))
}

// notFoundHTML stands in for Warehouse's 404 page, which is a full site
// page no client parses.
const notFoundHTML = "<!DOCTYPE html>\n<html lang=\"en\">\n<head><title>Page Not Found (404) · PyPI</title></head>\n<body><h1>404 Not Found</h1></body>\n</html>\n"

// decodeProvenance parses stored provenance keeping number literals
// (json.Number); the renderer sorts every object's keys, so the order
// PostgreSQL's jsonb gives them does not reach the wire.
func decodeProvenance(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
