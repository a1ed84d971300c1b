package readapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"path"
	"sort"

	"github.com/fakepypi/fakepypi/internal/blobstore"
	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/pyfmt"
	"github.com/gorilla/mux"
)

// File serves GET /packages/{path}: a distribution file or its PEP 658
// .metadata, with Range, If-Modified-Since and HEAD handled by
// http.ServeContent. Files are immutable once stored (a path embeds the
// blake2 digest), hence the long cache lifetime.
func (h *Handler) File(w http.ResponseWriter, r *http.Request) {
	p := mux.Vars(r)["path"]
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
	v, err := decodeJSONBOrder(file.Provenance)
	if err != nil {
		http.Error(w, "stored provenance is not JSON: "+err.Error(), http.StatusInternalServerError)
		return
	}
	corsHeaders(hd)
	// Pyramid's plain "json" renderer: json.dumps with its default
	// separators (", ", ": ") and ensure_ascii, no trailing newline (the
	// functional test compares the body exactly,
	// tests/functional/api/test_integrity.py).
	hd.Set("Content-Type", offers[0])
	w.WriteHeader(http.StatusOK)
	w.Write(pyfmt.Defaults.Dumps(v))
}

// writeErrorJSON is an HTTPException with json={"message": msg}.
func writeErrorJSON(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", MIMEApplicationJSON)
	w.WriteHeader(status)
	w.Write(pyfmt.Style{Compact: true, ASCII: true}.Dumps(obj{"message": msg}))
}

// notFoundHTML stands in for Warehouse's 404 page, which is a full site
// page no client parses.
const notFoundHTML = "<!DOCTYPE html>\n<html lang=\"en\">\n<head><title>Page Not Found (404) · PyPI</title></head>\n<body><h1>404 Not Found</h1></body>\n</html>\n"

// decodeJSONBOrder parses stored provenance keeping every object in the key
// order PostgreSQL's jsonb gives it (Warehouse stores provenance in a JSONB
// column and json.dumps preserves dict order): shorter keys first, equal
// lengths by bytes. Numbers keep their literal text.
func decodeJSONBOrder(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return jsonbOrder(v), nil
}

func jsonbOrder(v any) any {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k, val := range x {
			x[k] = jsonbOrder(val)
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if len(keys[i]) != len(keys[j]) {
				return len(keys[i]) < len(keys[j])
			}
			return keys[i] < keys[j]
		})
		o := make(pyfmt.Object, len(keys))
		for i, k := range keys {
			o[i] = pyfmt.Field{Key: k, Value: x[k]}
		}
		return o
	case []any:
		for i := range x {
			x[i] = jsonbOrder(x[i])
		}
		return x
	}
	return v
}
