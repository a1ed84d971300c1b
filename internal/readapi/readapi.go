// Package readapi serves the read side of the fake index over the catalog
// and the blobstore, as PyPI serves it (warehouse/api/simple.py, warehouse/legacy/api/json.py,
// warehouse/api/integrity.py):
//
//	GET /simple/                                   PEP 503 HTML / PEP 691 JSON index
//	GET /simple/{project}/                         project detail (PEPs 503, 592, 658, 691, 700, 714, 740, 792)
//	GET /pypi/{project}/json[/]                    JSON API, latest release plus all releases
//	GET /pypi/{project}/{version}/json[/]          JSON API, one release
//	GET /packages/{path}                           file bytes and PEP 658 <path>.metadata
//	GET /integrity/{project}/{version}/{filename}/provenance   PEP 740 provenance
//
// The index's route table (internal/index/routes.go) mounts Handler's
// methods, and its Control* methods (yank, unyank, delete, seed) under
// /_fake/.
//
// Byte-for-byte fidelity matters here because resolvers (pip, uv) and
// publishing tools (twine --skip-existing, hatch) parse these documents: the
// HTML follows Warehouse's Jinja templates with trim_blocks/lstrip_blocks
// and no trailing newline, JSON follows Python's json.dumps(sort_keys=True)
// rather than Go's encoder, and negotiation follows WebOb.
package readapi

import (
	"context"
	"github.com/fakepypi/fakepypi/internal/pypihdr"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fakepypi/fakepypi/internal/blobstore"
	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/forklift/pyname"
)

// APIVersion is the simple API version PyPI announces (API_VERSION in
// warehouse/packaging/utils.py; 1.4 includes PEP 700 and PEP 792).
const APIVersion = "1.4"

// Options configure a Handler.
type Options struct {
	Catalog *catalog.Catalog
	Blobs   blobstore.Store
	// BaseURL is the index's public URL without a trailing slash (e.g.
	// "https://pypi.org"), used for the absolute URLs PyPI emits
	// (redirects, provenance, package_url). Empty: taken from each request
	// (scheme from TLS, host from Host), as Pyramid's route_url does.
	BaseURL string
	// FilesURL is the prefix of file URLs, ending in "/" (e.g.
	// "https://files.pythonhosted.org/packages/"). Empty: BaseURL (or the
	// request's) + "/packages/", served by this handler.
	FilesURL string
	// Versions orders and canonicalizes versions. Nil: a built-in
	// approximation good for normalized PEP 440 without epochs or local
	// parts; the index should pass its real PEP 440 implementation.
	Versions VersionRules
	// AttestationsDisabled reports the "disable-pep740" admin flag, which
	// makes the integrity API answer 403 (warehouse/api/integrity.py). Nil: never disabled.
	AttestationsDisabled func() bool
}

// VersionRules is the PEP 440 knowledge the read API needs.
type VersionRules interface {
	// Canonical is packaging.utils.canonicalize_version.
	Canonical(v string) string
	// Compare orders versions as packaging's Version does (-1, 0, +1).
	Compare(a, b string) int
	// IsPrerelease is Version.is_prerelease.
	IsPrerelease(v string) bool
}

// Handler serves the read APIs. Create it with New.
type Handler struct {
	cat      *catalog.Catalog
	blobs    blobstore.Store
	base     string
	filesURL string
	versions VersionRules
	noAttest func() bool
}

// New returns a Handler; Catalog and Blobs are required.
func New(o Options) *Handler {
	h := &Handler{
		cat:      o.Catalog,
		blobs:    o.Blobs,
		base:     strings.TrimSuffix(o.BaseURL, "/"),
		filesURL: o.FilesURL,
		versions: o.Versions,
		noAttest: o.AttestationsDisabled,
	}
	if h.versions == nil {
		h.versions = basicVersions{}
	}
	if h.filesURL != "" && !strings.HasSuffix(h.filesURL, "/") {
		h.filesURL += "/"
	}
	if h.noAttest == nil {
		h.noAttest = func() bool { return false }
	}
	return h
}

// baseURL is the index's absolute URL for this request.
func (h *Handler) baseURL(r *http.Request) string {
	if h.base != "" {
		return h.base
	}
	return pypihdr.Scheme(r) + "://" + r.Host
}

func (h *Handler) fileURL(r *http.Request, path string) string {
	prefix := h.filesURL
	if p, ok := r.Context().Value(filesURLKey{}).(string); ok && p != "" {
		prefix = p
	}
	if prefix == "" {
		prefix = h.baseURL(r) + "/packages/"
	}
	return prefix + path
}

type filesURLKey struct{}

// WithFilesURL returns ctx under which file URLs start with prefix (ending
// in "/"), overriding Options.FilesURL for one request. A front end that
// answers several hostnames needs it: behind the harness's proxy, requests
// to pypi.org must link to https://files.pythonhosted.org/packages/ while
// the same index reached on 127.0.0.1 links to itself.
func WithFilesURL(ctx context.Context, prefix string) context.Context {
	return context.WithValue(ctx, filesURLKey{}, prefix)
}

// corsHeaders are Warehouse's _CORS_HEADERS (warehouse/utils/cors.py), sent
// by the simple, JSON and integrity APIs.
func corsHeaders(hd http.Header) {
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Access-Control-Allow-Headers", "Content-Type, If-Match, If-Modified-Since, If-None-Match, If-Unmodified-Since")
	hd.Set("Access-Control-Allow-Methods", "GET")
	hd.Set("Access-Control-Max-Age", "86400")
	hd.Set("Access-Control-Expose-Headers", "X-PyPI-Last-Serial")
}

// redirect answers 301 to path on this index. Pyramid builds the target with
// current_route_path, which keeps the query string, and WebOb makes a
// relative Location absolute against the request URL when it sends it.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, path string) {
	loc := h.baseURL(r) + path
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	corsHeaders(w.Header())
	w.Header().Set("Location", loc)
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(http.StatusMovedPermanently)
}

// AppendSlash is Pyramid's append-slash not-found behaviour, which
// Warehouse enables: /simple and /simple/Foo get a 301 to the same path
// with a slash (the query string kept).
func (h *Handler) AppendSlash(w http.ResponseWriter, r *http.Request) {
	loc := h.baseURL(r) + r.URL.EscapedPath() + "/"
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", loc)
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(http.StatusMovedPermanently)
}

// notFoundText is the simple API's 404 (warehouse/api/simple.py): text/plain "404 Not Found".
func notFoundText(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte("404 Not Found"))
}

// lastSerial sets X-PyPI-Last-Serial spelled as Warehouse spells it
// (warehouse/api/simple.py), not as Header.Set would (X-Pypi-Last-Serial).
func lastSerial(w http.ResponseWriter, serial int64) {
	pypihdr.Set(w.Header(), pypihdr.LastSerial, strconv.FormatInt(serial, 10))
}

// project looks a project up by the normalized form of a URL name; each
// caller decides how a quarantined project is hidden (warehouse/api/simple.py, warehouse/legacy/api/json.py).
func (h *Handler) project(name string) (catalog.Project, bool) {
	p, ok := h.cat.Project(pyname.Normalize(name))
	return p, ok
}

// pyISO is Python's datetime.isoformat() for a naive UTC datetime plus
// "Z": microseconds only when non-zero (upload-time in warehouse/packaging/utils.py).
func pyISO(t time.Time) string {
	t = t.UTC()
	s := t.Format("2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += "." + leftPad(strconv.Itoa(us), 6)
	}
	return s + "Z"
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// htmlEscape is MarkupSafe's escape, which Jinja's autoescape applies:
// & < > " ' become &amp; &lt; &gt; &#34; &#39;.
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")

func htmlEscape(s string) string { return htmlEscaper.Replace(s) }

// pathEscape quotes a URL path segment as Pyramid's route_url does.
func pathEscape(s string) string { return url.PathEscape(s) }

// FileURL is the download URL of the file stored at path, as this
// request sees it (the files host behind the proxy, the index itself on
// its own listener); the project pages link files with it.
func (h *Handler) FileURL(r *http.Request, path string) string { return h.fileURL(r, path) }
