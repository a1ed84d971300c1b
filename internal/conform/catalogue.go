package conform

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/fakepypi/fakepypi/internal/adminflag"
	"github.com/fakepypi/fakepypi/internal/harness"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/indexfault"
	"github.com/fakepypi/fakepypi/internal/publisher"
	"github.com/fakepypi/fakepypi/internal/pytp"
)

// Every case's index holds one project, spelt as its owner registered it;
// the distributions use that spelling in their metadata.
const (
	projectName  = "Conform-Demo"
	otherProject = "conform-other"
	ownerName    = "conform-owner"
	distName     = "Conform-Demo"
	distVersion  = "1.0"
)

// Optional features. A run may skip them (--skip-optional).
const (
	FeatureTrustedPublishing = "trusted-publishing"
	FeatureSkipExisting      = "skip-existing"
	FeatureAttestations      = "attestations"
	FeaturePEP807            = "pep807"
	FeatureRetries           = "retries"
)

// Features lists the optional features.
var Features = []string{FeatureTrustedPublishing, FeatureSkipExisting, FeatureAttestations, FeaturePEP807, FeatureRetries}

// Case is one conformance case: what to set up, how to invoke the
// uploader, and how to judge the outcome.
type Case struct {
	ID    string // stable
	Title string // one line: what a conforming uploader does
	Rule  string // the PyPI rule or client behaviour it checks, with its upstream source
	// Feature is "" for a required case, else the optional feature.
	Feature string

	Dists    []Dist // built and passed as FILE..., in order
	Existing []Dist // already on the index before the uploader runs
	Flags    Flags
	// Repository is the --repository-url; default https://upload.pypi.org/legacy/.
	Repository string
	// Auth is the credential given for a non-trusted-publishing case.
	Auth string
	// IssuerFaults are the fake CI issuer's faults (fakeissuer's names).
	IssuerFaults []string
	// Setup edits the index's configuration before it starts.
	Setup func(*indexconfig.File)
	// Prepare runs on the started harness: index faults, admin flags.
	Prepare func(*harness.Harness) error
	Expect  int
	Checks  []Check
	// Long marks a case that may hold its slot until the deadline (an
	// uploader without a timeout hangs in it): such cases start first, so
	// that their waits overlap the rest of the run.
	Long bool
}

// Flags are the protocol's optional flags.
type Flags struct {
	SkipExisting, TrustedPublishing, Attestations bool
}

// Tag is "required" or "optional:<feature>".
func (c *Case) Tag() string {
	if c.Feature == "" {
		return "required"
	}
	return "optional:" + c.Feature
}

// Dist describes a distribution file to build (pypitest's builders).
type Dist struct {
	Sdist           bool
	Name, Version   string // default Conform-Demo 1.0
	MetadataVersion string // default 2.1
	Metadata        []string
	Description     string
	Files           map[string]string
	// FillerLines is how many lines of "conformance data" build writes as
	// conform_demo/data.txt: made when the case runs, not held in the
	// catalogue, which every fakeindex process (a server too) initializes.
	FillerLines int
	Tag         string // wheel tag; default py3-none-any
	Salt        string // an extra member, for other bytes under the same name
}

// Credential kinds for Case.Auth.
const (
	AuthProjectToken = ""              // __token__ + a token scoped to the project
	AuthGarbage      = "garbage"       // __token__ + a token PyPI never issued
	AuthOtherProject = "other-project" // __token__ + a token scoped to another project
	AuthPassword     = "password"      // a username and password
)

func (c *Case) credentials(h *harness.Harness) (user, secret string, err error) {
	switch c.Auth {
	case AuthProjectToken, AuthOtherProject:
		name := "conform"
		if c.Auth == AuthOtherProject {
			name = "conform-other"
		}
		t, ok := h.Index().Token(name)
		if !ok {
			return "", "", fmt.Errorf("token %s missing", name)
		}
		return "__token__", t, nil
	case AuthGarbage:
		b := make([]byte, 96)
		rand.Read(b)
		return "__token__", "pypi-" + base64.RawURLEncoding.EncodeToString(b), nil
	case AuthPassword:
		return ownerName, "correct-horse-battery-staple", nil
	}
	return "", "", fmt.Errorf("unknown auth %q", c.Auth)
}

var (
	wheel = Dist{}
	sdist = Dist{Sdist: true}
)

// with returns d with metadata lines added.
func (d Dist) with(lines ...string) Dist {
	d.Metadata = append(append([]string(nil), d.Metadata...), lines...)
	return d
}

const markdownDescription = `# Conform demo

A paragraph with *emphasis*, a [link](https://example.org/) and text that is
not ASCII: Grüße, naïve café, 日本語.

- one
- two

    an indented code block

The end.
`

// Citations, repeated by several cases.
const (
	ruleUploadAPI  = "docs/user/api/upload.md (Upload API: the fields a file upload sends); warehouse/forklift/legacy.py file_upload"
	ruleFormMeta   = "docs/user/api/upload.md (\"You can set any other field from the Core metadata specifications\", renamed as listed); warehouse/forklift/metadata.py parse_form_metadata: PyPI reads the release's metadata from the form, not the file"
	ruleReason     = "warehouse/forklift/utils.py _exc_with_message: PyPI's message travels in the HTTP reason phrase"
	ruleMint       = "warehouse/oidc/views.py mint_token_from_oidc, mint_token: 422 {\"message\": \"Token request failed\", \"errors\": [{\"code\", \"description\"}]}"
	ruleTPFlow     = "warehouse/oidc/views.py oidc_audience and mint_token_from_oidc; gh-action-pypi-publish oidc-exchange.py: audience from the upload URL's host, an OIDC token for it, mint-token, upload with the minted token"
	ruleNoResponse = "twine/commands/upload.py and utils.check_status_code: only a 200 is a successful upload"
)

// Catalogue returns the cases, in a stable order.
func Catalogue() []*Case {
	return catalogue
}

var catalogue = []*Case{
	// --- what the uploader sends ---
	{ID: "upload-wheel", Title: "uploads a wheel: the index stores it, the uploader exits 0",
		Rule:  ruleUploadAPI,
		Dists: []Dist{wheel}, Expect: ExpectSuccess, Checks: []Check{allStored}},
	{ID: "upload-sdist", Title: "uploads an sdist: the index stores it, the uploader exits 0",
		Rule:  ruleUploadAPI,
		Dists: []Dist{sdist}, Expect: ExpectSuccess, Checks: []Check{allStored}},
	{ID: "upload-sdist-and-wheel", Title: "uploads an sdist and a wheel of one release in one invocation, one file per request",
		Rule:  "docs/user/api/upload.md: \"Releases on PyPI are created by uploading one file at a time\"; warehouse/forklift/legacy.py file_upload reads one content part",
		Dists: []Dist{sdist, wheel}, Expect: ExpectSuccess, Checks: []Check{allStored, oneFilePerRequest}},
	{ID: "form-action", Title: ":action is file_upload",
		Rule:  "docs/user/api/upload.md; warehouse/forklift/action_routing.py add_legacy_action_route routes /legacy/ on request.params.get(\":action\") (warehouse/legacy/action_routing.py: form or query string)",
		Dists: []Dist{wheel}, Expect: ExpectSuccess, Checks: []Check{actionFileUpload}},
	{ID: "form-protocol-version", Title: "protocol_version is 1",
		Rule:  "docs/user/api/upload.md (\"protocol_version set to 1\"); warehouse/forklift/legacy.py file_upload: \"Unknown protocol version.\"",
		Dists: []Dist{wheel}, Expect: ExpectSuccess, Checks: []Check{formField("protocol_version", func(Built) string { return "1" })}},
	{ID: "form-name-version", Title: "name and version are the file's Name (same project) and Version",
		Rule:  "docs/user/api/upload.md (\"metadata_version, name and version must be set according to the Core metadata\"); warehouse/forklift/legacy.py finds the project by normalize_pep426_name(name)",
		Dists: []Dist{wheel}, Expect: ExpectSuccess, Checks: []Check{carried("Name", "Version")}},
	{ID: "form-metadata-version", Title: "metadata_version is the file's Metadata-Version",
		Rule:  "docs/user/api/upload.md; warehouse/forklift/metadata.py: fields are validated against the declared metadata version (\"introduced in metadata version\")",
		Dists: []Dist{wheel}, Expect: ExpectSuccess, Checks: []Check{carried("Metadata-Version")}},
	{ID: "form-filetype-wheel", Title: "a wheel is filetype bdist_wheel with pyversion its Python tag",
		Rule:  "docs/user/api/upload.md (filetype, pyversion \"set to a Python tag for bdist_wheel uploads\"); warehouse/forklift/forms.py UploadForm",
		Dists: []Dist{wheel}, Expect: ExpectSuccess,
		Checks: []Check{formField("filetype", func(Built) string { return "bdist_wheel" }), formField("pyversion", func(Built) string { return "py3" })}},
	{ID: "form-filetype-sdist", Title: "an sdist is filetype sdist with pyversion source (or none)",
		Rule:  "docs/user/api/upload.md; warehouse/forklift/forms.py UploadForm: \"Use 'source' as Python version for an sdist.\"",
		Dists: []Dist{sdist}, Expect: ExpectSuccess,
		Checks: []Check{formField("filetype", func(Built) string { return "sdist" }), sdistPyversion}},
	{ID: "form-digests", Title: "sends at least one digest (hex), and every digest sent is the file's",
		Rule:  "warehouse/forklift/forms.py UploadForm (\"Include at least one message digest.\"); warehouse/forklift/legacy.py file_upload compares each digest given, lowercased, with hexdigest(): md5_digest too is hex, although docs/user/api/upload.md calls it urlsafe base64",
		Dists: []Dist{sdist, wheel}, Expect: ExpectSuccess, Checks: []Check{digestSent}},
	{ID: "form-content-part", Title: "the content part carries the file's bytes, its filename and no image or empty Content-Type",
		Rule:  "warehouse/forklift/legacy.py file_upload: the filename is request.POST[\"content\"].filename; an empty or image/* type is \"Invalid distribution file.\" (a part without the header is text/plain to Python's cgi, as WebOb parses it)",
		Dists: []Dist{wheel}, Expect: ExpectSuccess, Checks: []Check{contentPart}},

	// --- core metadata carried into the form ---
	{ID: "meta-strings", Title: "Author, Author-email, Maintainer, Maintainer-email, License, Keywords, Home-page, Download-URL, Requires-Python are sent",
		Rule: ruleFormMeta,
		Dists: []Dist{wheel.with("Author: Ada Lovelace", "Author-email: Ada Lovelace <ada@example.org>", "Maintainer: Grace Hopper",
			"Maintainer-email: grace@example.org", "License: MIT", "Keywords: upload,conformance,pypi",
			"Home-page: https://example.org/conform-demo", "Download-URL: https://example.org/conform-demo/download",
			"Requires-Python: >=3.8")},
		Expect: ExpectSuccess,
		Checks: []Check{carried("Summary", "Author", "Author-email", "Maintainer", "Maintainer-email", "License", "Keywords",
			"Home-page", "Download-URL", "Requires-Python")}},
	{ID: "meta-description", Title: "the description (metadata body, non-ASCII) and Description-Content-Type are sent unchanged",
		Rule:   ruleFormMeta + "; warehouse/forklift/legacy.py renders description with description_content_type",
		Dists:  []Dist{{Metadata: []string{"Description-Content-Type: text/markdown; charset=UTF-8; variant=GFM"}, Description: markdownDescription}},
		Expect: ExpectSuccess, Checks: []Check{carried("Description-Content-Type"), description}},
	{ID: "meta-classifiers", Title: "every Classifier is sent as a repeated classifiers field",
		Rule: ruleFormMeta,
		Dists: []Dist{wheel.with("Classifier: Programming Language :: Python :: 3", "Classifier: License :: OSI Approved :: MIT License",
			"Classifier: Operating System :: OS Independent")},
		Expect: ExpectSuccess, Checks: []Check{carried("Classifier")}},
	{ID: "meta-requires-dist", Title: "every Requires-Dist (with markers) is sent as a repeated requires_dist field",
		Rule:   ruleFormMeta + "; the simple and JSON APIs serve requires_dist from it (warehouse/legacy/api/json.py)",
		Dists:  []Dist{wheel.with("Requires-Dist: requests>=2.28", `Requires-Dist: tomli>=1.1; python_version < "3.11"`, "Requires-Dist: packaging")},
		Expect: ExpectSuccess, Checks: []Check{carried("Requires-Dist")}},
	{ID: "meta-provides-extra", Title: "every Provides-Extra is sent as provides_extra (singular)",
		Rule:   ruleFormMeta + " (the form key is provides_extra; other spellings are silently ignored)",
		Dists:  []Dist{wheel.with("Provides-Extra: cli", `Requires-Dist: rich>=13; extra == "cli"`)},
		Expect: ExpectSuccess, Checks: []Check{carried("Provides-Extra")}},
	{ID: "meta-project-urls", Title: "every Project-URL is sent as a repeated project_urls field \"Label, URL\"",
		Rule: ruleFormMeta + " (project_urls values are \"Label, URL\")",
		Dists: []Dist{wheel.with("Project-URL: Homepage, https://example.org/conform-demo", "Project-URL: Source, https://github.com/octo-org/octo-repo",
			"Project-URL: Issue Tracker, https://github.com/octo-org/octo-repo/issues")},
		Expect: ExpectSuccess, Checks: []Check{carried("Project-URL")}},
	{ID: "meta-dynamic", Title: "every Dynamic field (metadata 2.2) is sent as dynamic",
		Rule:   ruleFormMeta + "; PEP 643",
		Dists:  []Dist{{MetadataVersion: "2.2", Metadata: []string{"Dynamic: Requires-Dist", "Dynamic: License", "Requires-Dist: packaging"}}},
		Expect: ExpectSuccess, Checks: []Check{carried("Metadata-Version", "Dynamic")}},
	{ID: "meta-license-expression", Title: "License-Expression (metadata 2.4) is sent as license_expression",
		Rule:   ruleFormMeta + "; PEP 639; warehouse/forklift/metadata.py accepts metadata 2.4",
		Dists:  []Dist{{MetadataVersion: "2.4", Metadata: []string{"License-Expression: MIT OR Apache-2.0"}}},
		Expect: ExpectSuccess, Checks: []Check{carried("Metadata-Version", "License-Expression")}},
	{ID: "meta-license-file", Title: "every License-File (metadata 2.4) is sent as license_file (singular)",
		Rule: ruleFormMeta + "; warehouse/forklift/legacy.py file_upload checks each license_file exists in the archive",
		Dists: []Dist{{MetadataVersion: "2.4", Metadata: []string{"License-Expression: MIT", "License-File: LICENSE", "License-File: NOTICE"},
			Files: map[string]string{"conform_demo-1.0.dist-info/licenses/LICENSE": "MIT License\n", "conform_demo-1.0.dist-info/licenses/NOTICE": "Notice\n"}}},
		Expect: ExpectSuccess, Checks: []Check{carried("License-File")}},
	{ID: "meta-rare-fields", Title: "Platform, Supported-Platform, Provides-Dist, Obsoletes-Dist and Requires-External are sent",
		Rule: ruleFormMeta + " (platform and supported_platform are singular)",
		Dists: []Dist{wheel.with("Platform: linux", "Platform: macos", "Supported-Platform: manylinux2014_x86_64",
			"Provides-Dist: conform-compat", "Obsoletes-Dist: conform-legacy (<1.0)", "Requires-External: libconform (>=1.2)")},
		Expect: ExpectSuccess, Checks: []Check{carried("Platform", "Supported-Platform", "Provides-Dist", "Obsoletes-Dist", "Requires-External")}},
	{ID: "meta-sdist", Title: "an sdist's PKG-INFO fields are sent like a wheel's METADATA",
		Rule: ruleFormMeta,
		Dists: []Dist{{Sdist: true, Metadata: []string{"Requires-Python: >=3.9", "Classifier: Programming Language :: Python :: 3",
			"Requires-Dist: packaging", "Description-Content-Type: text/markdown"}, Description: markdownDescription}},
		Expect: ExpectSuccess, Checks: []Check{carried("Requires-Python", "Classifier", "Requires-Dist", "Description-Content-Type"), description}},

	// --- credentials and request hygiene ---
	{ID: "auth-token", Title: "authenticates with __token__ and the API token (Basic, or Bearer)",
		Rule:   "warehouse/accounts/security_policy.py (Basic with username __token__); warehouse/macaroons/security_policy.py _extract_http_macaroon (Basic, Bearer or token scheme)",
		Dists:  []Dist{wheel},
		Expect: ExpectSuccess, Checks: []Check{authenticated}},
	{ID: "auth-token-not-in-url", Title: "never puts the token in a URL",
		Rule:   "warehouse/macaroons/security_policy.py _extract_http_macaroon reads the token only from the Authorization header; URLs end up in logs",
		Dists:  []Dist{wheel},
		Expect: ExpectSuccess, Checks: []Check{tokenNotInURL}},
	{ID: "auth-token-not-printed", Title: "does not print the API token",
		Rule:   "docs/user/api/secrets.md: a token that leaks publicly is revoked by PyPI's secret scanning; CI logs are often public",
		Dists:  []Dist{wheel},
		Expect: ExpectSuccess, Checks: []Check{notPrinted("the API token (FAKEPYPI_PASSWORD)", func(r *CaseRun) []string { return []string{r.Token} })}},
	{ID: "auth-token-not-printed-on-error", Title: "does not print the API token when the upload is refused",
		Rule:   "docs/user/api/secrets.md (leaked tokens are revoked); error paths that dump the request leak it",
		Dists:  []Dist{wheel.with("Classifier: Invalid :: Classifier :: Conform")},
		Expect: ExpectFailure, Checks: []Check{answered(400, "is not a valid classifier"), notPrinted("the API token (FAKEPYPI_PASSWORD)", func(r *CaseRun) []string { return []string{r.Token} })}},
	{ID: "user-agent", Title: "sends a User-Agent on every request",
		Rule:   "docs/user/api/index.md: \"Set your consumer's User-Agent header to uniquely identify your requests\"",
		Dists:  []Dist{wheel},
		Expect: ExpectSuccess, Checks: []Check{userAgent}},
	{ID: "url-trailing-slash", Title: "posts to the repository URL as given, /legacy/ with its trailing slash",
		Rule:   "warehouse/forklift/__init__.py: the upload route is /legacy/; /legacy is only a 308 (legacy.py missing_trailing_slash_redirect)",
		Dists:  []Dist{wheel},
		Expect: ExpectSuccess, Checks: []Check{postsTo("/legacy/")}},

	// --- how it handles PyPI's answers ---
	{ID: "answer-file-exists", Title: "400 File already exists: exits non-zero and shows PyPI's message",
		Rule:     "warehouse/forklift/legacy.py file_upload (_is_duplicate_file; \"File already exists (...)\"); " + ruleReason,
		Dists:    []Dist{wheel},
		Existing: []Dist{{Salt: "an earlier build"}},
		Expect:   ExpectFailure, Checks: []Check{answered(400, "File already exists"), showsReason(400)}},
	{ID: "answer-invalid-metadata", Title: "400 for invalid metadata (a classifier): exits non-zero and shows PyPI's message",
		Rule:   "warehouse/forklift/legacy.py file_upload (metadata errors + \" See https://packaging.python.org/specifications/core-metadata\"); warehouse/forklift/metadata.py; " + ruleReason,
		Dists:  []Dist{wheel.with("Classifier: Invalid :: Classifier :: Conform")},
		Expect: ExpectFailure, Checks: []Check{answered(400, "is not a valid classifier"), showsReason(400)}},
	{ID: "answer-platform-tag", Title: "400 for an unsupported platform tag: exits non-zero and shows PyPI's message",
		Rule:   "warehouse/forklift/legacy.py file_upload (_valid_platform_tag: \"Binary wheel ... has an unsupported platform tag\"); " + ruleReason,
		Dists:  []Dist{{Tag: "py3-none-linux_x86_64"}},
		Expect: ExpectFailure, Checks: []Check{answered(400, "unsupported platform tag"), showsReason(400)}},
	{ID: "answer-too-large", Title: "400 File too large: exits non-zero and shows PyPI's message",
		Rule:   "warehouse/forklift/legacy.py file_upload (\"File too large. Limit for project ...\"); " + ruleReason,
		Dists:  []Dist{{FillerLines: 70000}}, // 1.2 MB, over the 1 MiB limit
		Setup:  func(f *indexconfig.File) { f.Projects[0].UploadLimit = 1 << 20 },
		Expect: ExpectFailure, Checks: []Check{answered(400, "File too large"), showsReason(400)}},
	{ID: "answer-invalid-token", Title: "403 for a token PyPI never issued: exits non-zero and shows PyPI's message",
		Rule:   "warehouse/forklift/decorators.py ensure_uploads_allowed (\"Invalid or non-existent authentication information.\"); " + ruleReason,
		Dists:  []Dist{wheel},
		Auth:   AuthGarbage,
		Expect: ExpectFailure, Checks: []Check{answered(403, "Invalid or non-existent authentication information"), showsReason(403)}},
	{ID: "answer-wrong-project", Title: "403 for a token scoped to another project: exits non-zero and shows PyPI's message",
		Rule:   "warehouse/macaroons/caveats/__init__.py (\"project-scoped token is not valid for project: ...\"); warehouse/macaroons/security_policy.py (\"Invalid API Token: ...\"); " + ruleReason,
		Dists:  []Dist{wheel},
		Auth:   AuthOtherProject,
		Expect: ExpectFailure, Checks: []Check{answered(403, "not valid for project"), showsReason(403)}},
	{ID: "answer-password", Title: "403 for a username and password: exits non-zero and shows PyPI's message",
		Rule:   "warehouse/accounts/security_policy.py (\"Username/Password authentication is no longer supported. ...\"); " + ruleReason,
		Dists:  []Dist{wheel},
		Auth:   AuthPassword,
		Expect: ExpectFailure, Checks: []Check{answered(403, "Username/Password authentication is no longer supported"), showsReason(403)}},
	{ID: "answer-identical-reupload", Title: "an identical re-upload gets 200: exits 0",
		Rule:     "warehouse/forklift/legacy.py file_upload: _is_duplicate_file() true (same name, same digests) returns HTTPOk",
		Dists:    []Dist{wheel},
		Existing: []Dist{wheel},
		Expect:   ExpectSuccess, Checks: []Check{identicalOK}},
	{ID: "answer-redirect", Title: "308 for /legacy (no slash): follows it with the file, or fails saying so; never reports success without an upload",
		Rule:       "warehouse/forklift/legacy.py missing_trailing_slash_redirect: 308 to /legacy/, \"An upload was attempted to /legacy but the expected upload URL is /legacy/ (with a trailing slash)\"",
		Dists:      []Dist{wheel},
		Repository: "https://upload.pypi.org/legacy",
		Expect:     ExpectAny, Checks: []Check{redirectHandled}},
	{ID: "answer-5xx", Long: true, Title: "503 on every attempt: bounded retries, then a non-zero exit naming the status",
		Rule:    "twine/repository.py Repository.upload (retries a 5xx at most 5 times); " + ruleNoResponse,
		Dists:   []Dist{wheel},
		Prepare: indexFault(indexfault.Upload, indexfault.Status(503)),
		Expect:  ExpectFailure, Checks: []Check{attemptsAtMost(10), mentions("the 503 status", "503")}},
	{ID: "answer-reset", Long: true, Title: "connection reset: a non-zero exit in bounded time",
		Rule:    ruleNoResponse + "; requests raises ConnectionError for a reset connection",
		Dists:   []Dist{wheel},
		Prepare: indexFault(indexfault.Upload, indexfault.Fault{Name: indexfault.FaultReset}),
		Expect:  ExpectFailure, Checks: []Check{exitedWithin, attemptsAtMost(10)}},
	{ID: "answer-slow", Long: true, Title: "no answer within FAKEPYPI_TIMEOUT: gives up, a non-zero exit in bounded time",
		Rule:    "uv: UV_HTTP_TIMEOUT (default 30 s) bounds each request; requests without timeout= waits forever (requests docs, \"Timeouts\")",
		Dists:   []Dist{wheel},
		Prepare: indexFault(indexfault.Upload, indexfault.Delay(indexfault.MaxDelay)),
		Expect:  ExpectFailure, Checks: []Check{exitedWithin}},

	// --- optional: --skip-existing and retries ---
	{ID: "skip-existing-skips", Title: "--skip-existing: File already exists is skipped, the other file uploaded, exit 0",
		Feature:  FeatureSkipExisting,
		Rule:     "warehouse/forklift/legacy.py file_upload: the message must keep starting with \"File already exists\" for twine's --skip-existing (twine/commands/upload.py skip_upload)",
		Dists:    []Dist{wheel, sdist},
		Existing: []Dist{{Salt: "an earlier build"}},
		Flags:    Flags{SkipExisting: true},
		Expect:   ExpectSuccess, Checks: []Check{skippedExisting}},
	{ID: "skip-existing-other-errors", Title: "--skip-existing still fails on other 400s (invalid metadata)",
		Feature: FeatureSkipExisting,
		Rule:    "twine/commands/upload.py skip_upload: only 409, or 400 whose reason or body says \"already exist\", is skipped",
		Dists:   []Dist{wheel.with("Classifier: Invalid :: Classifier :: Conform")},
		Flags:   Flags{SkipExisting: true},
		Expect:  ExpectFailure, Checks: []Check{answered(400, "is not a valid classifier"), showsReason(400)}},
	{ID: "retry-5xx-transient", Long: true, Title: "one 503, then PyPI's answer: retries and succeeds",
		Feature: FeatureRetries,
		Rule:    "twine/repository.py Repository.upload: a 5xx is retried (\"Package upload appears to have failed. Retry 1 of 5.\")",
		Dists:   []Dist{wheel},
		Prepare: queueIndexFault(indexfault.Upload, 1, indexfault.Status(503)),
		Expect:  ExpectSuccess, Checks: []Check{allStored, attemptsAtMost(10)}},

	// --- optional: trusted publishing ---
	{ID: "tp-publish", Title: "trusted publishing: audience, OIDC token, mint-token, upload with the minted token",
		Feature: FeatureTrustedPublishing,
		Rule:    ruleTPFlow,
		Dists:   []Dist{sdist, wheel},
		Flags:   Flags{TrustedPublishing: true},
		Expect:  ExpectSuccess, Checks: []Check{exchanged("upload.pypi.org", "pypi"), allStored}},
	{ID: "tp-testpypi", Title: "trusted publishing to TestPyPI: its audience (testpypi) and its mint-token",
		Feature:    FeatureTrustedPublishing,
		Rule:       "warehouse/oidc/views.py oidc_audience returns the index's setting warehouse.oidc.audience (\"testpypi\" on test.pypi.org); " + ruleTPFlow,
		Dists:      []Dist{wheel},
		Repository: harness.TestUploadURL,
		Flags:      Flags{TrustedPublishing: true},
		Expect:     ExpectSuccess, Checks: []Check{exchanged("test.pypi.org", "testpypi"), allStored}},
	{ID: "tp-tokens-not-printed", Title: "trusted publishing: prints neither the OIDC token nor the minted token (::add-mask:: aside)",
		Feature: FeatureTrustedPublishing,
		Rule:    "gh-action-pypi-publish oidc-exchange.py masks the minted token (::add-mask::); docs/user/api/secrets.md: leaked tokens are revoked",
		Dists:   []Dist{wheel},
		Flags:   Flags{TrustedPublishing: true},
		Expect:  ExpectSuccess, Checks: []Check{notPrinted("an OIDC or minted token", func(r *CaseRun) []string { return append(r.Minted(), r.Issued...) })}},
	tpRefused("tp-invalid-publisher", "invalid-publisher", "no trusted publisher matches the job's claims",
		func(c *Case) {
			c.Setup = func(f *indexconfig.File) { f.Publishers[0].WorkflowFilename = "other.yml" }
		}),
	tpRefused("tp-invalid-token", "invalid-token", "the OIDC token's signature does not verify",
		func(c *Case) { c.IssuerFaults = []string{"bad-signature"} }),
	tpRefused("tp-invalid-reuse-token", "invalid-reuse-token", "the OIDC token's jti was already used",
		func(c *Case) {
			c.IssuerFaults = []string{"claim:jti=conform-reused-jti"}
			c.Prepare = func(h *harness.Harness) error {
				if !h.Index().JTI.Store("github", "conform-reused-jti", time.Now().Add(time.Hour).Unix()) {
					return fmt.Errorf("jti already stored")
				}
				return nil
			}
		}),
	tpRefused("tp-not-enabled", "not-enabled", "GitHub trusted publishing is disabled (admin flag)",
		func(c *Case) {
			c.Setup = func(f *indexconfig.File) { f.Flags = append(f.Flags, adminflag.DisallowGitHubOIDC) }
		}),
	tpRefused("tp-invalid-pending-publisher", "invalid-pending-publisher", "a pending publisher matches but its project exists",
		func(c *Case) {
			c.Setup = func(f *indexconfig.File) {
				p := f.Publishers[0]
				p.Projects, p.ProjectName = nil, projectName
				f.Publishers, f.PendingPublishers = nil, []publisher.Publisher{p}
			}
		}),
	tpRefused("tp-invalid-payload", "invalid-payload", "the OIDC token's issuer is unknown",
		func(c *Case) { c.IssuerFaults = []string{"wrong-issuer"} }),
	{ID: "tp-fork-pr", Title: "trusted publishing without ACTIONS_ID_TOKEN_REQUEST_* (a fork's pull request): a clear error, no upload",
		Feature:      FeatureTrustedPublishing,
		Rule:         "GitHub withholds the OIDC request variables from pull_request runs of forks (gh-action-pypi-publish oidc-exchange.py _TOKEN_RETRIEVAL_FAILED_FORK_PR_MESSAGE; the id package: \"missing or insufficient OIDC token permissions\")",
		Dists:        []Dist{wheel},
		Flags:        Flags{TrustedPublishing: true},
		IssuerFaults: []string{"fork-pr"},
		Expect:       ExpectFailure,
		Checks: []Check{noMint, noUpload("without a token"),
			mentions("that the OIDC token permission (id-token) is missing", "id-token", "ACTIONS_ID_TOKEN_REQUEST")}},
	{ID: "tp-audience-disabled", Title: "trusted publishing with the audience endpoint answering 403: a non-zero exit, no upload",
		Feature: FeatureTrustedPublishing,
		Rule:    "warehouse/oidc/views.py oidc_audience: 403 {\"message\": \"Trusted publishing functionality not enabled\"} under the disallow-oidc flag",
		Dists:   []Dist{wheel},
		Flags:   Flags{TrustedPublishing: true},
		Setup:   func(f *indexconfig.File) { f.Flags = append(f.Flags, adminflag.DisallowOIDC) },
		Expect:  ExpectFailure, Checks: []Check{noUpload("although trusted publishing is disabled")}},
	{ID: "tp-mint-5xx", Long: true, Title: "trusted publishing with mint-token answering 503: bounded retries, a non-zero exit, no upload",
		Feature: FeatureTrustedPublishing,
		Rule:    "gh-action-pypi-publish oidc-exchange.py (\"the index produced an unexpected 503 response\"); " + ruleMint,
		Dists:   []Dist{wheel},
		Flags:   Flags{TrustedPublishing: true},
		Prepare: indexFault(indexfault.MintToken, indexfault.Status(503)),
		Expect:  ExpectFailure, Checks: []Check{noUpload("without a minted token"), mintAttemptsAtMost(10), mentions("the 503 status", "503")}},
	{ID: "tp-mint-non-json", Title: "trusted publishing with mint-token answering HTML: a non-zero exit, no upload",
		Feature: FeatureTrustedPublishing,
		Rule:    "gh-action-pypi-publish oidc-exchange.py: a mint-token body that is not JSON is a failure (\"the index produced an unexpected ... response\"); " + ruleMint,
		Dists:   []Dist{wheel},
		Flags:   Flags{TrustedPublishing: true},
		Prepare: indexFault(indexfault.MintToken, indexfault.Fault{Name: indexfault.FaultNonJSON}),
		Expect:  ExpectFailure, Checks: []Check{noUpload("without a minted token")}},
	{ID: "tp-mint-no-token", Title: "trusted publishing with a mint-token answer lacking the token: a non-zero exit, no upload",
		Feature: FeatureTrustedPublishing,
		Rule:    "gh-action-pypi-publish oidc-exchange.py (\"Token response error: the index gave us an invalid response\"); warehouse/oidc/views.py answers {\"success\", \"token\", \"expires\"}",
		Dists:   []Dist{wheel},
		Flags:   Flags{TrustedPublishing: true},
		Prepare: indexFault(indexfault.MintToken, indexfault.Fault{Name: indexfault.FaultNoValue}),
		Expect:  ExpectFailure, Checks: []Check{noUpload("without a minted token")}},

	// --- optional: PEP 807 and attestations ---
	{ID: "pep807-discovery", Title: "trusted publishing discovers the exchange endpoints (PEP 807) before using them",
		Feature: FeaturePEP807,
		Rule:    "PEP 807 (draft): GET /.well-known/pytp/<sha256 hex of the upload URL's path> on the upload host names the audience and mint-token endpoints",
		Dists:   []Dist{wheel},
		Flags:   Flags{TrustedPublishing: true},
		Expect:  ExpectSuccess, Checks: []Check{discovered, allStored}},
	{ID: "attest-upload", Title: "--attestations: each FILE.publish.attestation is sent as the attestations JSON array, and PyPI keeps it as provenance",
		Feature: FeatureAttestations,
		Rule:    "docs/user/api/upload.md (\"attestations can be set to a JSON array of attestation objects\"); warehouse/forklift/legacy.py file_upload verifies request.POST[\"attestations\"] (PEP 740) and stores them as the file's provenance",
		Dists:   []Dist{sdist, wheel},
		Flags:   Flags{TrustedPublishing: true, Attestations: true},
		Expect:  ExpectSuccess, Checks: []Check{attestationsSent, allStored}},
}

// tpRefused is a case where mint-token refuses with code: the uploader
// must fail, show PyPI's code and description, and not upload.
func tpRefused(id, code, why string, edit func(*Case)) *Case {
	c := &Case{ID: id, Title: fmt.Sprintf("trusted publishing refused with %s (%s): shows PyPI's code and description, no upload", code, why),
		Feature: FeatureTrustedPublishing,
		Rule:    ruleMint + " (" + code + ")",
		Dists:   []Dist{wheel},
		Flags:   Flags{TrustedPublishing: true},
		Expect:  ExpectFailure,
		Checks:  []Check{mintRefused(code), noUpload("after mint-token refused")},
	}
	edit(c)
	return c
}

func indexFault(endpoint string, f indexfault.Fault) func(*harness.Harness) error {
	return func(h *harness.Harness) error { return h.Index().Faults.SetSticky(endpoint, f) }
}

func queueIndexFault(endpoint string, n int, f indexfault.Fault) func(*harness.Harness) error {
	return func(h *harness.Harness) error { return h.Index().Faults.Queue(endpoint, n, f) }
}

// --- case-specific checks ---

func oneFilePerRequest(r *CaseRun) string {
	for _, q := range r.Uploads() {
		if q.Content == nil {
			return fmt.Sprintf("an upload to %s carried no content part", q.Path)
		}
	}
	return ""
}

func actionFileUpload(r *CaseRun) string {
	return eachUpload(func(b Built, q *Request) string {
		vs := q.Values(":action")
		if v := queryParam(q.RawQuery, ":action"); v != "" {
			vs = append(vs, v)
		}
		if len(vs) == 0 {
			return b.Filename + ": no :action field, want file_upload"
		}
		for _, v := range vs {
			if v != "file_upload" {
				return fmt.Sprintf("%s: :action is %q, want file_upload", b.Filename, v)
			}
		}
		return ""
	})(r)
}

func queryParam(raw, key string) string {
	for _, kv := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k == key || k == "%3Aaction" && key == ":action" {
			return v
		}
	}
	return ""
}

func sdistPyversion(r *CaseRun) string {
	return eachUpload(func(b Built, q *Request) string {
		for _, v := range q.Values("pyversion") {
			if v != "" && v != "source" {
				return fmt.Sprintf("%s: pyversion is %q; an sdist's is source (or none)", b.Filename, v)
			}
		}
		return ""
	})(r)
}

func digestSent(r *CaseRun) string {
	return eachUpload(func(b Built, q *Request) string {
		n := 0
		for _, f := range []string{"md5_digest", "sha256_digest", "blake2_256_digest"} {
			for _, v := range q.Values(f) {
				if v != "" {
					n++
				}
			}
		}
		if n == 0 {
			return b.Filename + ": no digest sent (md5_digest, sha256_digest or blake2_256_digest)"
		}
		return digestsMatch(r)
	})(r)
}

func contentPart(r *CaseRun) string {
	return eachUpload(func(b Built, q *Request) string {
		c := q.Content
		switch {
		case c.Size != int64(len(b.Content)) || c.SHA256 != b.SHA256:
			return fmt.Sprintf("%s: the content part holds %d bytes that are not the file's (%d bytes)", b.Filename, c.Size, len(b.Content))
		case c.ContentType == "" && !c.NoContentType:
			return b.Filename + ": the content part's Content-Type is empty (PyPI: \"Invalid distribution file.\")"
		case strings.HasPrefix(c.ContentType, "image/"):
			return fmt.Sprintf("%s: the content part's Content-Type is %s (PyPI: \"Invalid distribution file.\")", b.Filename, c.ContentType)
		}
		return ""
	})(r)
}

func authenticated(r *CaseRun) string {
	return eachUpload(func(b Built, q *Request) string {
		scheme, user, secret := credentials(q.Header)
		switch {
		case scheme == "":
			return b.Filename + ": no Authorization header"
		case strings.EqualFold(scheme, "basic") && user != r.Username:
			return fmt.Sprintf("%s: Basic username %q, want %q (FAKEPYPI_USERNAME)", b.Filename, user, r.Username)
		case secret != r.Token:
			return fmt.Sprintf("%s: the %s credential is not the token given in FAKEPYPI_PASSWORD", b.Filename, scheme)
		}
		return ""
	})(r)
}

func userAgent(r *CaseRun) string {
	for _, q := range r.Requests {
		if strings.TrimSpace(q.Header.Get("User-Agent")) == "" {
			return fmt.Sprintf("%s %s%s had no User-Agent", q.Method, q.Host, q.Path)
		}
	}
	if len(r.Requests) == 0 {
		return "the index received no request"
	}
	return ""
}

func postsTo(path string) Check {
	return func(r *CaseRun) string {
		for _, q := range r.Uploads() {
			if q.Path != path {
				return fmt.Sprintf("posted to %s, want %s as given in --repository-url", q.Path, path)
			}
		}
		if len(r.Uploads()) == 0 {
			return "never uploaded"
		}
		return ""
	}
}

func identicalOK(r *CaseRun) string {
	b := r.Dists[0]
	if q := r.lastUploadOf(b); q != nil && q.Status != 200 {
		return fmt.Sprintf("%s: the index answered %s", b.Filename, q.answerText())
	}
	return "" // skipping the identical file without posting is fine too
}

func redirectHandled(r *CaseRun) string {
	b := r.Dists[0]
	var got308 bool
	for _, q := range r.Uploads() {
		got308 = got308 || q.Status == 308
	}
	if !got308 {
		return "never posted to /legacy, so never got PyPI's 308"
	}
	if r.ExitCode == 0 {
		if p := stored(r, b); p != "" {
			return "exit status 0 after PyPI's 308, but " + p + ": the redirect was taken for success"
		}
		return ""
	}
	if r.TimedOut {
		return ""
	}
	return mentions("why the upload failed (the redirect or the missing trailing slash)", "/legacy/", "redirect", "trailing slash")(r)
}

func skippedExisting(r *CaseRun) string {
	for _, b := range r.Dists {
		if b.Sdist {
			if p := stored(r, b); p != "" {
				return p + " (the file after the existing one must still be uploaded)"
			}
			continue
		}
		if sum := r.Stored[b.Filename]; sum == b.SHA256 {
			return b.Filename + " replaced the existing file: PyPI never does that"
		}
	}
	return ""
}

func mintAttemptsAtMost(n int) Check {
	return func(r *CaseRun) string {
		k := 0
		for _, q := range r.Requests {
			if isMintPath(q.Path) {
				k++
			}
		}
		if k > n {
			return fmt.Sprintf("posted to mint-token %d times: retries must be bounded (at most %d)", k, n)
		}
		return ""
	}
}

func noMint(r *CaseRun) string {
	for _, q := range r.Requests {
		if isMintPath(q.Path) {
			return "posted to mint-token although no OIDC token could be obtained"
		}
	}
	return ""
}

// hostOf strips a default port.
func hostOf(h string) string { return strings.TrimSuffix(h, ":443") }

// exchanged checks the trusted-publishing exchange: the audience from
// the upload URL's host, an OIDC token with that audience sent to
// mint-token on the same host, and every upload authenticated with the
// minted token.
func exchanged(host, audience string) Check {
	return func(r *CaseRun) string {
		var aud, mint *Request
		for _, q := range r.Requests {
			if aud == nil && q.Method == "GET" && q.Path == "/_/oidc/audience" {
				aud = q
			}
			if mint == nil && isMintPath(q.Path) {
				mint = q
			}
		}
		switch {
		case mint == nil:
			return "never posted to mint-token"
		case hostOf(mint.Host) != host:
			return fmt.Sprintf("posted to mint-token on %s, want %s (the upload URL's host)", mint.Host, host)
		case aud == nil && !discoveredFirst(r):
			return "never asked /_/oidc/audience which audience to request"
		case aud != nil && hostOf(aud.Host) != host:
			return fmt.Sprintf("asked the audience at %s, want %s (the upload URL's host)", aud.Host, host)
		}
		var body struct {
			Token any `json:"token"`
		}
		if err := json.Unmarshal(mint.Body, &body); err != nil {
			return fmt.Sprintf("the mint-token body is not JSON: %q", short(string(mint.Body)))
		}
		jwt, _ := body.Token.(string)
		if jwt == "" {
			return fmt.Sprintf("the mint-token body has no token string: %q", short(string(mint.Body)))
		}
		found := false
		for _, t := range r.Issued {
			found = found || t == jwt
		}
		if !found {
			return "the token sent to mint-token is not one the CI issuer handed out"
		}
		if got, _ := jwtClaims(jwt)["aud"].(string); got != audience {
			return fmt.Sprintf("requested an OIDC token for audience %q, want %q (what /_/oidc/audience answered)", got, audience)
		}
		minted := r.Minted()
		if len(minted) == 0 {
			return "mint-token answered " + mint.answerText()
		}
		return eachUpload(func(b Built, q *Request) string {
			scheme, user, secret := credentials(q.Header)
			if strings.EqualFold(scheme, "basic") && user != "__token__" {
				return fmt.Sprintf("%s: Basic username %q with the minted token, want __token__", b.Filename, user)
			}
			for _, m := range minted {
				if secret == m {
					if hostOf(q.Host) != host {
						return fmt.Sprintf("%s: uploaded to %s, want %s", b.Filename, q.Host, host)
					}
					return ""
				}
			}
			return b.Filename + ": not authenticated with the minted token"
		})(r)
	}
}

// mintRefused: mint-token answered 422 with code, and the uploader showed
// the code and its description.
func mintRefused(code string) Check {
	return func(r *CaseRun) string {
		for _, q := range r.Requests {
			if !isMintPath(q.Path) || q.Status != 422 {
				continue
			}
			var ans struct {
				Errors []struct{ Code, Description string } `json:"errors"`
			}
			if json.Unmarshal(q.Answer, &ans) != nil || len(ans.Errors) == 0 {
				continue
			}
			e := ans.Errors[0]
			if e.Code != code {
				return fmt.Sprintf("mint-token refused with %s (%s), not %s: the case did not set up as meant", e.Code, e.Description, code)
			}
			switch out := r.Output(); {
			case !strings.Contains(out, code):
				return fmt.Sprintf("did not show PyPI's error code %s", code)
			case !containsLoosely(out, e.Description):
				return fmt.Sprintf("did not show PyPI's description %q", e.Description)
			}
			return ""
		}
		if len(r.Requests) == 0 {
			return "the index received no request"
		}
		return "never got mint-token's 422 (" + code + "); last, " + r.lastAnswer()
	}
}

// discoveredFirst reports whether a PEP 807 discovery request preceded
// the exchange.
func discoveredFirst(r *CaseRun) bool {
	for _, q := range r.Requests {
		if q.Method == "GET" && strings.HasPrefix(q.Path, pytp.Prefix) {
			return true
		}
		if q.Path == "/_/oidc/audience" || isMintPath(q.Path) {
			return false
		}
	}
	return false
}

func discovered(r *CaseRun) string {
	want := pytp.Prefix + pytp.Key("/legacy/")
	for _, q := range r.Requests {
		if q.Method == "GET" && q.Path == want {
			if hostOf(q.Host) != "upload.pypi.org" {
				return fmt.Sprintf("asked for discovery at %s, want upload.pypi.org (the upload URL's host)", q.Host)
			}
			if q.Status != 200 {
				return "discovery answered " + q.answerText()
			}
			if !discoveredFirst(r) {
				return "used the exchange endpoints before discovering them"
			}
			return exchanged("upload.pypi.org", "pypi")(r)
		}
	}
	return "never asked " + want + " (PEP 807 discovery)"
}

// attestationsSent: each upload carries its file's attestation as the
// one element of the attestations JSON array, and PyPI, having verified
// it, keeps it as the file's provenance.
func attestationsSent(r *CaseRun) string {
	return eachUpload(func(b Built, q *Request) string {
		v, ok := q.Value("attestations")
		if !ok {
			return b.Filename + ": no attestations field although " + b.Filename + ".publish.attestation exists"
		}
		var got []json.RawMessage
		if err := json.Unmarshal([]byte(v), &got); err != nil {
			return fmt.Sprintf("%s: attestations is not a JSON array: %q", b.Filename, short(v))
		}
		if len(got) != 1 {
			return fmt.Sprintf("%s: attestations holds %d objects, want the 1 from the .publish.attestation file", b.Filename, len(got))
		}
		var g, w any
		json.Unmarshal(got[0], &g)
		json.Unmarshal(b.Attestation, &w)
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		if string(gb) != string(wb) {
			return b.Filename + ": the attestation sent is not the .publish.attestation file's"
		}
		if q.Status == 200 && !r.Provenance[b.Filename] {
			return b.Filename + ": stored without provenance"
		}
		return ""
	})(r)
}
