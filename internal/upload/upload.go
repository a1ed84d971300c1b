// Package upload is PyPI's legacy upload endpoint, POST /legacy/
// (warehouse/forklift/legacy.py file_upload), over the catalog, the
// blobstore and the token service.
//
// The request body is streamed once: small fields are held in memory,
// the distribution file is spooled to the blobstore while md5, sha256 and
// blake2b-256 are computed in the same pass. Only when the body has ended
// are the checks run, in Warehouse's order (warehouse/forklift/legacy.py file_upload; the steps are
// numbered in docs/upload.md), and the
// first failing one is the answer. The answer carries the message in the
// HTTP reason phrase, as PyPI's does (see WriteStatus).
package upload

import (
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fakepypi/fakepypi/internal/adminflag"
	"github.com/fakepypi/fakepypi/internal/apitoken"
	"github.com/fakepypi/fakepypi/internal/attestation"
	"github.com/fakepypi/fakepypi/internal/blobstore"
	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/events"
	"github.com/fakepypi/fakepypi/internal/forklift"
	"github.com/fakepypi/fakepypi/internal/forklift/pyname"
	"github.com/fakepypi/fakepypi/internal/pypierr"
	"github.com/fakepypi/fakepypi/internal/pypihdr"
	"github.com/fakepypi/fakepypi/internal/readme"
)

// Messages of the routing layer (warehouse/forklift/__init__.py, warehouse/forklift/legacy.py).
const (
	MsgNoSlash        = "An upload was attempted to /legacy but the expected upload URL is /legacy/ (with a trailing slash)"
	MsgPreRegister    = "Project pre-registration is no longer required or supported, upload your files instead."
	MsgDocUpload      = "Uploading documentation is no longer supported, we recommend using https://readthedocs.org/."
	MsgReadOnly       = "Read-only mode: Uploads are temporarily disabled."
	MsgProtocol       = "Unknown protocol version."
	MsgNoFile         = "Upload payload does not have a file."
	MsgTooManyNew     = "Too many new projects created"
	MsgDigestMismatch = "The digest supplied does not match a digest calculated from the uploaded file."
)

// Default bounds on what the handler keeps in memory.
const (
	DefaultMaxField int64 = 16 << 20 // one non-file field
	DefaultMaxForm  int64 = 64 << 20 // all non-file fields together
	// DefaultMaxFields bounds the parts of one upload form, as Go's
	// url.ParseQuery bounds an urlencoded one (10,000); twine sends about
	// 30, plus one per classifier and requirement.
	DefaultMaxFields = 10000
)

// Project-creation rate limits on upload (warehouse config.py
// "warehouse.packaging.project_create_user_ratelimit_string" = "20 per
// hour", "..._ip_ratelimit_string" = "40 per hour").
const (
	userCreatesPerHour = 20
	ipCreatesPerHour   = 40
)

// Options configure a Handler.
type Options struct {
	Catalog *catalog.Catalog
	Blobs   blobstore.Store
	Tokens  *apitoken.Service
	Flags   *adminflag.Set // nil: every flag off
	Events  *events.Log    // nil: nothing recorded
	Clock   clock.Clock    // nil: the real clock
	// CreateProject is ProjectService.create_project after its rate limit
	// (the disallow-new-project-registration flag, then the name rules),
	// making creator the Owner. A refusal is a *forklift.Error with
	// PyPI's status and message. Nil: new projects are created with no
	// name rules.
	CreateProject func(name, creator string) (catalog.Project, error)
	// TrustedRoot is the Sigstore trusted root attestations are verified
	// against (step 30). Nil, or a nil result, is an empty root: every
	// attestation then fails its chain, as one from an unknown Sigstore
	// fails on PyPI.
	TrustedRoot func() *attestation.TrustedRoot
	// PublisherIdentity is the attestation identity of the trusted
	// publisher that minted the token (warehouse/oidc/models/*.py
	// attestation_identity) and its publisher_name; ok is false for a
	// publisher without one (ActiveState). Nil: no publisher has one.
	PublisherIdentity func(publisherID string) (pub attestation.Publisher, name string, ok bool)
	// MaxField and MaxForm bound the non-file fields held in memory;
	// zero means DefaultMaxField and DefaultMaxForm.
	MaxField, MaxForm int64
	// MaxFields bounds the number of parts; zero means DefaultMaxFields.
	MaxFields int
}

// Handler serves POST /legacy/.
type Handler struct {
	o Options

	mu      sync.Mutex
	creates map[string][]time.Time // rate-limit key -> creation times
}

// New returns a Handler; Catalog, Blobs and Tokens are required.
func New(o Options) *Handler {
	if o.Flags == nil {
		o.Flags = adminflag.New()
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.MaxField <= 0 {
		o.MaxField = DefaultMaxField
	}
	if o.MaxForm <= 0 {
		o.MaxForm = DefaultMaxForm
	}
	if o.MaxFields <= 0 {
		o.MaxFields = DefaultMaxFields
	}
	return &Handler{o: o, creates: map[string][]time.Time{}}
}

// outcome is the verdict of one request, for the answer and the event.
type outcome struct {
	status  int
	message string // "" for 200 OK
	why     string // the harness's explanation
	step    string // docs/upload.md check-order step that decided
	// statusOnly: message goes in the status line, not in the body
	// (pypierr.Error.StatusOnly).
	statusOnly bool
	// header is added to the answer (Allow on a 405).
	header http.Header
	// projectGone: the project disappeared before the file could be
	// added (the request may be tried again).
	projectGone bool
}

func fail(step string, status int, msg string) *outcome {
	return &outcome{status: status, message: msg, step: step}
}

func failErr(step string, e *forklift.Error) *outcome {
	return &outcome{status: e.Status, message: e.Message, step: step}
}

// fromErr turns the *apitoken.Error / *forklift.Error the collaborators
// return into an outcome; anything else is an internal error.
func fromErr(step string, err error) *outcome {
	var ae *apitoken.Error
	if errors.As(err, &ae) {
		return &outcome{status: ae.Status, message: ae.Message, why: ae.Why, step: step, statusOnly: ae.StatusOnly}
	}
	var fe *forklift.Error
	if errors.As(err, &fe) {
		return failErr(step, fe)
	}
	return internalError(step, err)
}

// internalError is PyPI's answer to a failure of the server itself (an
// unhandled exception in Warehouse): 500 with the standard reason. The
// explanation names what failed without a server path.
func internalError(step string, err error) *outcome {
	return &outcome{status: http.StatusInternalServerError, message: "Internal Server Error", why: withoutPaths(err), step: step}
}

// withoutPaths is err's message with the paths of *fs.PathError and
// *os.LinkError left out (storage errors already leave them out).
func withoutPaths(err error) string {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return strings.Replace(err.Error(), pe.Error(), pe.Op+": "+pe.Err.Error(), 1)
	case errors.As(err, &le):
		return strings.Replace(err.Error(), le.Error(), le.Op+": "+le.Err.Error(), 1)
	}
	return err.Error()
}

// NoSlash answers POST /legacy with PyPI's 308 to /legacy/ (warehouse
// forklift/legacy.py missing_trailing_slash_redirect). WebOb makes the
// Location absolute, which is what twine's RedirectDetected compares
// with the configured URL plus "/".
func (h *Handler) NoSlash(w http.ResponseWriter, r *http.Request) {
	drain(r)
	loc := pypihdr.Scheme(r) + "://" + r.Host + "/legacy/"
	pypierr.WriteStatus(w, r, http.StatusPermanentRedirect, MsgNoSlash, http.Header{"Location": {loc}})
}

// MsgNoNewUploads is ensure_uploads_allowed's refusal under the
// disallow-new-upload flag (warehouse/forklift/decorators.py).
func MsgNoNewUploads(help pypierr.Help) string {
	return "New uploads are temporarily disabled. See " + help.URL("admin-intervention") + " for more information."
}

// legacyActions are the :action values with a route of their own on
// /legacy/ (warehouse/forklift/__init__.py add_legacy_action_route); any
// other request falls through to the catch-all upload.html view.
var legacyActions = map[string]bool{"file_upload": true, "submit": true, "submit_pkg_info": true, "doc_upload": true}

// catchAllMethods is the Allow header of the catch-all view: a template
// view without require_methods gets warehouse/csrf.py's SAFE_METHODS,
// sorted and joined by require_method_view.
const catchAllMethods = "GET, HEAD, OPTIONS"

// ServeHTTP serves /legacy/. The route is chosen by :action in
// request.params (the query string, then a POST's form): the action views
// answer POST only (require_methods=["POST"], so other methods get 405
// with Allow: POST), and everything else reaches the catch-all
// forklift.legacy.invalid_request view, which renders the upload.html
// page for GET, HEAD and OPTIONS and answers other methods 405 (warehouse/
// forklift/__init__.py, warehouse/csrf.py require_method_view).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		drain(r)
		q := r.URL.Query()
		switch {
		case q.Has(":action") && legacyActions[q.Get(":action")]:
			pypierr.WriteStatus(w, r, http.StatusMethodNotAllowed, "", http.Header{"Allow": {http.MethodPost}})
		case r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions:
			h.uploadPage(w, r)
		default:
			pypierr.WriteStatus(w, r, http.StatusMethodNotAllowed, "", http.Header{"Allow": {catchAllMethods}})
		}
		return
	}
	id, authErr := h.o.Tokens.Authenticate(r)
	// Failures known from the headers alone (steps 0, 2, 3, 4) make every
	// file check unreachable, so the file is then counted, not stored.
	doomed := authErr != nil || h.o.Flags.Enabled(adminflag.ReadOnly) ||
		h.o.Flags.Enabled(adminflag.DisallowNewUpload) || id.IsNone()
	b, err := readBody(r, h.o.MaxField, h.o.MaxForm, h.o.MaxFields, func(b *body) (*blobstore.Writer, error) {
		if doomed {
			return nil, nil
		}
		return h.o.Blobs.NewWriter(h.spoolLimit(b))
	})
	if b.spool != nil {
		defer b.spool.Abort()
	}
	var out *outcome
	if err != nil {
		drain(r)
		var tb *tooBig
		var se *blobstore.StorageError
		switch {
		case errors.As(err, &tb):
			out = fail("body", http.StatusBadRequest, tb.msg)
		case errors.As(err, &se):
			// The server's disk failed, not the request: a 5xx, which
			// clients retry, and no server path in any message.
			out = internalError("body", se)
		default:
			out = fail("body", http.StatusBadRequest, "Invalid request body: "+err.Error())
		}
		h.finish(w, r, id, b, out)
		return
	}
	// :action is read from request.params, query string first (warehouse/forklift/__init__.py's predicate).
	action := r.URL.Query().Get(":action")
	if _, ok := r.URL.Query()[":action"]; !ok {
		if vs := b.fields[":action"]; len(vs) > 0 {
			action = vs[len(vs)-1]
		}
	}
	switch action {
	case "file_upload":
		out = h.upload(r, id, authErr, b)
	case "submit", "submit_pkg_info":
		out = fail("action", http.StatusGone, MsgPreRegister)
	case "doc_upload":
		out = fail("action", http.StatusGone, MsgDocUpload)
	default:
		// No action view matches: the catch-all view, which only
		// answers GET, HEAD and OPTIONS (see ServeHTTP).
		out = &outcome{status: http.StatusMethodNotAllowed, step: "route", header: http.Header{"Allow": {catchAllMethods}},
			why: "POST to /legacy/ without :action=file_upload (or submit, submit_pkg_info, doc_upload): no upload view matches, and the catch-all upload page answers GET, HEAD and OPTIONS only"}
	}
	h.finish(w, r, id, b, out)
}

// uploadPage stands in for upload.html, a full PyPI page (it extends
// base.html) that no client parses: its title and text are Warehouse's
// (warehouse/templates/upload.html, the title as base.html builds it).
func (h *Handler) uploadPage(w http.ResponseWriter, r *http.Request) {
	site := "PyPI"
	if strings.HasPrefix(r.Host, "test.") {
		site = "TestPyPI"
	}
	page := "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<title>" + html.EscapeString(r.Host) + " · " + site + "</title>\n</head>\n<body>\n" +
		"<h2 class=\"viewport-section__heading\">API endpoint</h2>\n<p>\n" +
		"This URL is an API endpoint for uploading files to PyPI.\n<br>\n" +
		"For more information on uploading projects to PyPI, visit the <a href=\"https://packaging.python.org/distributing/#uploading-your-project-to-pypi\" title=\"External link\" target=\"_blank\" rel=\"noopener\">Python Packaging User Guide</a>.\n</p>\n" +
		"<p>\nOtherwise, we suggest you <a href=\"https://pypi.org/\">go to the PyPI homepage</a>.\n</p>\n</body>\n</html>\n"
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(page)))
	if r.Method != http.MethodHead {
		io.WriteString(w, page)
	}
}

// upload runs the checks of docs/upload.md's check order; the first failure wins.
func (h *Handler) upload(r *http.Request, id apitoken.Identity, authErr error, b *body) *outcome {
	// Step 1: sanitize (decorators.py sanitize), the outermost of the
	// view's decorators (decorator=[sanitize, ensure_uploads_allowed],
	// which Pyramid applies first to last from the outside in).
	if b.fileField != "" {
		if e := forklift.FileFieldError(b.fileField); e != nil {
			return failErr("1 sanitize", e)
		}
	}
	forklift.Sanitize(b.fields)
	// Steps 2-3: admin flags.
	if h.o.Flags.Enabled(adminflag.ReadOnly) {
		return fail("2 read-only", http.StatusForbidden, MsgReadOnly)
	}
	if h.o.Flags.Enabled(adminflag.DisallowNewUpload) {
		return fail("3 disallow-new-upload", http.StatusForbidden, MsgNoNewUploads(h.o.Tokens.Help))
	}
	// Step 4: identity. ensure_uploads_allowed reads request.identity
	// only now, after the flags, and that is when the security policies
	// run: BasicAuthSecurityPolicy.identity raises the password refusal
	// (warehouse/forklift/decorators.py, warehouse/accounts/
	// security_policy.py).
	if authErr != nil {
		return fromErr("4 identity (password)", authErr)
	}
	if id.IsNone() {
		e := apitoken.ErrNoIdentity(h.o.Tokens.Help)
		out := fail("4 identity", e.Status, e.Message)
		out.why = id.Why
		return out
	}
	// Steps 5-6: protocol version and UploadForm.
	form, ferr := forklift.ValidateForm(b.fields)
	if ferr != nil {
		return failErr("5-6 form", ferr)
	}
	// Step 7: metadata.
	meta, ferr := forklift.ParseMetadata(b.fields)
	if ferr != nil {
		return failErr("7 metadata", ferr)
	}
	// Step 8.
	if !b.hasContent {
		return fail("8 content", http.StatusBadRequest, MsgNoFile)
	}
	// Step 9: the project, by normalized name.
	norm := pyname.Normalize(meta.Name)
	for attempt := 1; ; attempt++ {
		project, exists := h.o.Catalog.ProjectInfo(norm)
		created := false
		var rateLimit http.Header
		if !exists {
			var out *outcome
			project, out, rateLimit = h.createProject(r, id, meta.Name)
			if out != nil {
				return out.withHeader(rateLimit)
			}
			created = true
		}
		out := h.uploadTo(id, b, form, meta, project).withHeader(rateLimit)
		if created && (out.status != http.StatusOK || out.why == whyIdentical) {
			// Warehouse creates the project inside the request's
			// transaction, which a failed (or doomed identical) upload
			// rolls back. Here the project was visible meanwhile, and
			// other uploads may have stored files in it with a 200:
			// only a project nobody touched is removed, decided under
			// the catalog's lock (issue 11).
			h.o.Catalog.DeleteProjectIfUnchanged(project)
		}
		if out.projectGone && attempt < 3 {
			// The project vanished between the checks and the commit
			// (another upload's rollback, or a deletion): in PyPI this
			// request would not have seen it at all. Start again.
			continue
		}
		return out
	}
}

// createProject is steps 9a-9d for a project that does not exist yet. From
// 9c on it also returns the RateLimit and RateLimit-Policy headers that
// the answer carries, whatever it is (see rateLimitHeaders).
func (h *Handler) createProject(r *http.Request, id apitoken.Identity, name string) (catalog.Project, *outcome, http.Header) {
	// 9a: legacy.py "Non-user identities cannot create new projects".
	if id.Kind != apitoken.KindUser || id.User == nil {
		return catalog.Project{}, failErr("9a non-user create", &forklift.Error{Status: apitoken.ErrNonUserCreate.Status, Message: apitoken.ErrNonUserCreate.Message}), nil
	}
	// 9b: _ensure_user_can_upload runs before create_project.
	if err := apitoken.EnsureUserCanUpload(id, h.o.Tokens.Help); err != nil {
		return catalog.Project{}, fromErr("9b user can upload", err), nil
	}
	// 9c: create_project(..., ratelimited=True) records the limiters'
	// state for the headers, then tests them.
	rl := h.rateLimitHeaders(id.User.ID, clientIP(r))
	if !h.allowCreate(id.User.ID, clientIP(r)) {
		return catalog.Project{}, fail("9c rate limit", http.StatusTooManyRequests, MsgTooManyNew), rl
	}
	// 9d: flag and name rules, then creation with the user as Owner.
	var p catalog.Project
	var err error
	if h.o.CreateProject != nil {
		p, err = h.o.CreateProject(name, id.User.Name)
	} else {
		p, err = h.o.Catalog.CreateProject(catalog.NewProject{Name: name, NormalizedName: pyname.Normalize(name),
			Roles: []catalog.Role{{Role: "Owner", User: id.User.Name}}})
	}
	if err != nil {
		return catalog.Project{}, fromErr("9d create project", err), rl
	}
	h.hitCreate(id.User.ID, clientIP(r))
	return p, nil, rl
}

// withHeader adds hd to the outcome's answer.
func (o *outcome) withHeader(hd http.Header) *outcome {
	if len(hd) == 0 {
		return o
	}
	if o.header == nil {
		o.header = http.Header{}
	}
	for k, vs := range hd {
		o.header[k] = append(o.header[k], vs...)
	}
	return o
}

const whyIdentical = "identical re-upload: PyPI answers 200 and changes nothing"

// uploadTo is steps 10-31 on an existing (or just created) project.
func (h *Handler) uploadTo(id apitoken.Identity, b *body, form *forklift.Form, meta *forklift.Metadata, project catalog.Project) *outcome {
	// Step 10: permission "upload" (macaroon caveats, then the ACL).
	ap := apitoken.Project{ID: project.ID.String(), Name: project.Name, NormalizedName: project.NormalizedName, Status: project.Status}
	for _, role := range project.Roles {
		ap.Collaborators = append(ap.Collaborators, role.User)
	}
	if err := h.o.Tokens.Authorize(id, ap); err != nil {
		return fromErr("10 permission", err)
	}
	// Steps 11, 11b: verified email, 2FA (user identities).
	if err := apitoken.EnsureUserCanUpload(id, h.o.Tokens.Help); err != nil {
		return fromErr("11 user can upload", err)
	}
	// Step 14: project.name = meta.name; later messages use the new
	// spelling.
	name := meta.Name
	// Step 15: the description must render (legacy.py, readme.render
	// with use_fallback=False); internal/readme detects the common
	// reStructuredText failures.
	if e := readme.Check(meta.Description, meta.DescriptionContentType, h.o.Tokens.Help); e != nil {
		out := failErr("15 description", e)
		out.why = "the description fails to render: " + readme.Problem(*meta.Description)
		return out
	}
	// Step 16: the release key.
	rel := forklift.NormalizeRelease(meta)
	// Step 17: filename.
	if e := forklift.ValidateFilename(b.filename, form.Filetype); e != nil {
		return failErr("17 filename", e)
	}
	// Step 18: the content part's type.
	if e := forklift.ValidateContentType(b.contentType); e != nil {
		return failErr("18 content type", e)
	}
	// Step 19: size against the project's file limit (exactly the limit
	// is allowed).
	limit := orDefault(project.UploadLimit, catalog.DefaultUploadLimit)
	if b.size > limit || (b.spool != nil && b.spool.Exceeded()) {
		return fail("19 file size", http.StatusBadRequest, fmt.Sprintf(
			"File too large. Limit for project '%s' is %d MB. See https://docs.pypi.org/project-management/storage-limits#requesting-a-file-size-limit-increase for more information.",
			name, limit/(1<<20)))
	}
	if !b.spooled {
		return &outcome{status: http.StatusInternalServerError, message: "Internal Server Error", why: "file was not spooled", step: "19"}
	}
	dg := b.spool.Digests()
	nf := catalog.NewFile{
		Project: project.NormalizedName, DisplayName: name,
		Version: rel.Version, CanonicalVersion: rel.CanonicalVersion,
		Metadata: catalogMetadata(rel),
		File: catalog.File{Filename: b.filename, PackageType: form.Filetype, PythonVersion: form.Pyversion,
			Size: b.size, MD5: dg.MD5, SHA256: dg.SHA256, Blake2256: dg.Blake2256, Path: b.spool.Path(b.filename)},
	}
	// Steps 19b and 21-24 are decided by the catalog; step 20 (digests)
	// sits between 19b and 21.
	res, cerr := h.o.Catalog.CheckFile(nf)
	if errors.Is(cerr, catalog.ErrProjectNotFound) {
		return projectGone()
	}
	if errors.Is(cerr, catalog.ErrProjectTooLarge) {
		total := orDefault(project.TotalSizeLimit, catalog.DefaultTotalSizeLimit)
		return fail("19b project size", http.StatusBadRequest, fmt.Sprintf(
			"Project size too large. Limit for project '%s' total size is %d GB. See https://docs.pypi.org/project-management/storage-limits#requesting-a-project-size-limit-increase",
			name, total/(1<<30)))
	}
	// Step 20: every supplied digest must match (case-insensitively).
	// With the benchmark switch that turns digests off there is nothing
	// to compare with.
	for _, c := range [][2]string{{form.MD5Digest, dg.MD5}, {form.SHA256Digest, dg.SHA256}, {form.Blake2256Digest, dg.Blake2256}} {
		if c[0] != "" && b.spool.Hashed() && !strings.EqualFold(c[0], c[1]) {
			return fail("20 digest", http.StatusBadRequest, MsgDigestMismatch)
		}
	}
	// Step 21 (warehouse legacy.py: duplicates are checked before the
	// deleted-filename, 14-day and one-sdist rules) through 24.
	if cerr != nil {
		return catalogOutcome(cerr, h.o.Tokens.Help)
	}
	if res == catalog.Identical {
		return &outcome{status: http.StatusOK, why: whyIdentical, step: "21 duplicate"}
	}
	// Step 25: archive validity, on the spooled file.
	path := b.spool.LocalPath()
	// The content scan runs unless disable-upload-scanning is on
	// (legacy.py: scan=not request.flags.enabled(DISABLE_UPLOAD_SCANNING)).
	if e := forklift.ValidateDistFileScan(path, b.filename, !h.o.Flags.Enabled(adminflag.DisableUploadScanning)); e != nil {
		return failErr("25 archive", e)
	}
	// Steps 26-27: filename rules against the project.
	if form.Filetype == "sdist" {
		if e := forklift.CheckSdistFilename(b.filename, meta, name, project.NormalizedName); e != nil {
			return failErr("26 sdist filename", e)
		}
	} else {
		if _, e := forklift.CheckWheelFilename(b.filename, meta, name, project.NormalizedName); e != nil {
			return failErr("27 wheel filename", e)
		}
	}
	// Steps 28-29: License-File entries, RECORD, entry points, METADATA.
	dc, e := forklift.CheckDistContents(path, b.filename, form.Filetype, meta)
	if e != nil {
		return failErr("28-29 contents", e)
	}
	// Step 30: attestations, verified against the Sigstore trusted root
	// and the publisher that minted the token; their provenance is stored
	// with the file.
	prov, aout := h.checkAttestations(id, b, dg.SHA256)
	if aout != nil {
		return aout
	}
	nf.File.Provenance = prov
	// Step 31: store. The bytes are made durable first (the fsync of a
	// large file is the slow part), before any lock; the blobs become
	// visible only after every catalog check passed again atomically, and
	// the catalog row is written only if they did.
	var metaPath string
	var metaW *blobstore.Writer
	if dc.WheelMetadata != nil {
		metaPath = blobstore.MetadataPath(nf.File.Path)
		nf.File.MetadataSHA256 = blobstore.Sum(dc.WheelMetadata).SHA256
		var err error
		if metaW, err = h.spoolSmall(dc.WheelMetadata); err != nil {
			return internalError("31 store", err)
		}
		defer metaW.Abort()
	}
	if err := b.spool.Sync(); err != nil {
		return internalError("31 store", err)
	}
	nf.Commit = func() error {
		// The .metadata first, so that a listed file always has it; their
		// directory is synced once for both.
		var ps []blobstore.Placement
		if metaW != nil {
			ps = append(ps, blobstore.Placement{W: metaW, Path: metaPath})
		}
		ps = append(ps, blobstore.Placement{W: b.spool, Path: nf.File.Path})
		if err := blobstore.Commit(ps...); err != nil {
			nf.Rollback() // nothing lists what was placed
			return err
		}
		return nil
	}
	// The catalog could not record the file (a full disk): it is not
	// listed, so it is not served; remove it now rather than at the next
	// start.
	nf.Rollback = func() {
		h.o.Blobs.Delete(nf.File.Path)
		if metaPath != "" {
			h.o.Blobs.Delete(metaPath)
		}
	}
	added, err := h.o.Catalog.AddFile(nf)
	if errors.Is(err, catalog.ErrProjectNotFound) {
		return projectGone()
	}
	if err != nil {
		return catalogOutcome(err, h.o.Tokens.Help)
	}
	if added.Outcome == catalog.Identical {
		return &outcome{status: http.StatusOK, why: whyIdentical, step: "21 duplicate"}
	}
	why := "stored " + nf.File.Path
	if dc.RecordMismatch {
		why += "; RECORD does not match the archive (PyPI accepts this and emails the owners)"
	}
	return &outcome{status: http.StatusOK, why: why, step: "31 stored"}
}

// catalogOutcome maps the catalog's step 21-24 errors to PyPI's answers,
// their help links on help's domain.
func catalogOutcome(err error, help pypierr.Help) *outcome {
	var dup *catalog.DuplicateError
	switch {
	case errors.As(err, &dup):
		out := fail("21 duplicate", http.StatusBadRequest, dup.Message(help.URL("file-name-reuse")))
		out.why = "conflicts with " + dup.Existing.Filename + " (blake2 " + dup.Existing.Blake2256 + ")"
		return out
	case errors.Is(err, catalog.ErrFilenameReused):
		return fail("22 deleted filename", http.StatusBadRequest, catalog.FilenameReusedMessage(help.URL("file-name-reuse")))
	case errors.Is(err, catalog.ErrReleaseClosed):
		return fail("23 14-day rule", http.StatusBadRequest, catalog.MsgReleaseClosed)
	case errors.Is(err, catalog.ErrSecondSdist):
		return fail("24 one sdist", http.StatusBadRequest, catalog.MsgSecondSdist)
	}
	return internalError("31 store", err)
}

// projectGone is the outcome of an upload whose project disappeared after
// it was looked up; upload tries again (and answers this only if the
// project keeps disappearing).
func projectGone() *outcome {
	return &outcome{status: http.StatusInternalServerError, message: "Internal Server Error",
		why: "the project was deleted during the upload", step: "31 store", projectGone: true}
}

// spoolSmall writes data to a new blob writer and syncs it, ready to
// commit.
func (h *Handler) spoolSmall(data []byte) (*blobstore.Writer, error) {
	w, err := h.o.Blobs.NewWriter(0)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return nil, err
	}
	if err := w.Sync(); err != nil {
		w.Abort()
		return nil, err
	}
	return w, nil
}

func orDefault(v, d int64) int64 {
	if v <= 0 {
		return d
	}
	return v
}

// spoolLimit is the byte limit the file is spooled with. The project is
// often unknown when the file arrives (uv sends it before most fields),
// so without a name the largest limit any project has is used; step 19
// then compares the full streamed size with the project's own limit.
func (h *Handler) spoolLimit(b *body) int64 {
	if vs := b.fields["name"]; len(vs) > 0 {
		if p, ok := h.o.Catalog.ProjectInfo(pyname.Normalize(vs[0])); ok {
			return orDefault(p.UploadLimit, catalog.DefaultUploadLimit)
		}
		return catalog.DefaultUploadLimit
	}
	return h.o.Catalog.MaxUploadLimit()
}

// drain consumes what is left of the body (bounded) so the client can
// read the answer instead of a reset connection.
func drain(r *http.Request) {
	buf := make([]byte, 32<<10)
	var n int64
	for n < 1<<30 {
		m, err := r.Body.Read(buf)
		n += int64(m)
		if err != nil {
			return
		}
	}
}
