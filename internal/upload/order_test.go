package upload_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/adminflag"
	"github.com/fakepypi/fakepypi/internal/blobstore"
	"github.com/fakepypi/fakepypi/internal/events"
)

const (
	msgNoAuth   = "403 Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information."
	okStatus    = "200 OK"
	seeMetadata = " See https://packaging.python.org/specifications/core-metadata for more information."
)

// TestCheckOrder is one row per step of the check order (docs/upload.md,
// from warehouse/forklift/legacy.py file_upload) and the token answers of
// warehouse/macaroons/security_policy.py: the exact status line, reason phrase included.
// Rows that fail several checks assert that the earliest one wins.
func TestCheckOrder(t *testing.T) {
	s, clk := newIndex(t, testSetup)
	url := s.URL() + "/legacy/"
	alice := basic(token(t, s, "alice-all"))
	whl := wheel("demo", "1.0")
	good := uploadForm("demo", "1.0", "demo-1.0-py3-none-any.whl", whl)

	// Seed state the later rows need.
	if st, _ := send(t, url, alice, good); st != okStatus {
		t.Fatalf("seed upload: %s", st)
	}
	sd := sdist("demo", "1.0")
	if st, _ := send(t, url, alice, uploadForm("demo", "1.0", "demo-1.0.tar.gz", sd)); st != okStatus {
		t.Fatalf("seed sdist: %s", st)
	}
	gone := wheel("demo", "0.9")
	if st, _ := send(t, url, alice, uploadForm("demo", "0.9", "demo-0.9-py3-none-any.whl", gone)); st != okStatus {
		t.Fatalf("seed 0.9: %s", st)
	}
	if err := s.Read.DeleteFile("demo", "demo-0.9-py3-none-any.whl"); err != nil {
		t.Fatal(err)
	}
	old := wheel("demo", "0.5")
	if st, _ := send(t, url, alice, uploadForm("demo", "0.5", "demo-0.5-py3-none-any.whl", old)); st != okStatus {
		t.Fatalf("seed 0.5: %s", st)
	}
	clk.Advance(15 * 24 * time.Hour) // release 0.5 (and 1.0) are now closed

	w2 := wheel("demo", "2.0")
	f2 := uploadForm("demo", "2.0", "demo-2.0-py3-none-any.whl", w2)
	pw := "Basic " + "YWxpY2U6c2VjcmV0" // alice:secret
	oidc := basic(oidcToken(t, s))

	rows := []struct {
		name string
		auth string
		form form
		flag string
		want string
	}{
		// The identity is resolved lazily, in ensure_uploads_allowed after
		// the flags, inside sanitize (warehouse/forklift/decorators.py):
		// a password gets the field-as-file 400 and the read-only 403
		// first, and beats every form error.
		{name: "1 field sent as a file (before the password refusal)", auth: pw, form: append(f2, part{name: "version", filename: "x.txt", ctype: "text/plain", data: []byte("x")}),
			want: "400 version: Should not be a tuple."},
		{name: "2 read-only (before the password refusal)", auth: pw, form: f2, flag: adminflag.ReadOnly,
			want: "403 Read-only mode: Uploads are temporarily disabled."},
		{name: "4 password auth (before form errors)", auth: pw, form: f2.set("filetype", "bdist_egg"),
			want: "403 Username/Password authentication is no longer supported. Migrate to API Tokens or Trusted Publishers instead. See https://pypi.org/help/#apitoken and https://pypi.org/help/#trusted-publishers"},
		{name: "1 field sent as a file", auth: "", form: append(f2, part{name: "summary", filename: "x.txt", ctype: "text/plain", data: []byte("x")}),
			want: "400 summary: Should not be a tuple."},
		{name: "2 read-only", auth: alice, form: f2, flag: adminflag.ReadOnly,
			want: "403 Read-only mode: Uploads are temporarily disabled."},
		{name: "3 disallow-new-upload", auth: alice, form: f2, flag: adminflag.DisallowNewUpload,
			want: "403 New uploads are temporarily disabled. See https://pypi.org/help/#admin-intervention for more information."},
		{name: "4 no identity before form errors", auth: "", form: f2.without("filetype"), want: msgNoAuth},
		{name: "4 garbage token", auth: basic("pypi-garbage"), form: f2, want: msgNoAuth},
		{name: "4 bearer garbage", auth: "Bearer nonsense", form: f2, want: msgNoAuth},
		{name: "5 protocol version", auth: alice, form: f2.set("protocol_version", "2"), want: "400 Unknown protocol version."},
		{name: "6 form: filetype missing", auth: alice, form: f2.without("filetype"),
			want: "400 Invalid value for filetype. Error: This field is required."},
		{name: "6 form: no digest", auth: alice, form: f2.without("sha256_digest"),
			want: "400 Error: Include at least one message digest."},
		{name: "6 form: sdist pyversion", auth: alice, form: uploadForm("demo", "2.0", "demo-2.0.tar.gz", sdist("demo", "2.0")).set("pyversion", "py3"),
			want: "400 Invalid value for pyversion. Error: Use 'source' as Python version for an sdist."},
		{name: "7 metadata version", auth: alice, form: f2.set("metadata_version", "2.0"),
			want: "400 '2.0' is not a valid metadata version." + seeMetadata},
		{name: "8 no file", auth: alice, form: f2.without("content"), want: "400 Upload payload does not have a file."},
		{name: "9a OIDC cannot create", auth: oidc, form: uploadForm("brand-new", "1.0", "brand_new-1.0-py3-none-any.whl", wheel("brand_new", "1.0")),
			want: "400 Non-user identities cannot create new projects. This was probably caused by successfully using a pending publisher but specifying the project name incorrectly (either in the publisher or in your project's metadata). Please ensure that both match. See: https://docs.pypi.org/trusted-publishers/troubleshooting/"},
		{name: "9b unverified email on create", auth: basic(token(t, s, "carol-all")), form: uploadForm("carols", "1.0", "carols-1.0-py3-none-any.whl", wheel("carols", "1.0")),
			want: "403 User 'carol', associated with the API token used, does not have a verified primary email address. Please add a verified primary email before attempting to upload to PyPI. See https://pypi.org/help/#verified-email for more information."},
		{name: "9d stdlib name", auth: alice, form: uploadForm("xml", "1.0", "xml-1.0-py3-none-any.whl", wheel("xml", "1.0")),
			want: "400 The name 'xml' isn't allowed (conflict with Python Standard Library module name). See https://pypi.org/help/#project-name for more information."},
		{name: "10 project-scoped token on another project", auth: basic(token(t, s, "alice-demo")), form: uploadForm("small", "1.0", "small-1.0-py3-none-any.whl", wheel("small", "1.0")),
			want: "403 Invalid API Token: project-scoped token is not valid for project: 'small'"},
		{name: "10 OIDC token on another project", auth: oidc, form: uploadForm("bobs", "1.0", "bobs-1.0-py3-none-any.whl", wheel("bobs", "1.0")),
			want: "403 Invalid API Token: OIDC scoped token is not valid for project 'bobs'"},
		{name: "10 no role", auth: alice, form: uploadForm("bobs", "1.0", "bobs-1.0-py3-none-any.whl", wheel("bobs", "1.0")),
			want: "403 The user 'alice' isn't allowed to upload to project 'bobs'. See https://pypi.org/help/#project-name for more information."},
		{name: "11b no 2FA", auth: basic(token(t, s, "bob-all")), form: f2,
			want: "403 User 'bob', associated with the API token used, does not have two-factor authentication enabled. Please enable two-factor authentication before attempting to upload to PyPI. See https://pypi.org/help/#two-factor-authentication for more information."},
		{name: "17b slash in filename", auth: alice, form: f2.mapContent(func(p part) part { p.filename = "a/demo-2.0-py3-none-any.whl"; return p }),
			want: "400 Cannot upload a file with '/' or '\\' in the name."},
		{name: "17d unknown extension", auth: alice, form: f2.mapContent(func(p part) part { p.filename = "demo-2.0.egg"; return p }),
			want: "400 Invalid file extension: Use .tar.gz, .whl or .zip extension. See https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ for more information"},
		{name: "18 image content type", auth: alice, form: f2.mapContent(func(p part) part { p.ctype = "image/png"; return p }),
			want: "400 Invalid distribution file."},
		{name: "19 file too large (before digest)", auth: alice,
			form: uploadForm("small", "1.0", "small-1.0-py3-none-any.whl", append(wheel("small", "1.0"), make([]byte, 1000)...)).set("sha256_digest", strings.Repeat("0", 64)),
			want: "400 File too large. Limit for project 'small' is 0 MB. See https://docs.pypi.org/project-management/storage-limits#requesting-a-file-size-limit-increase for more information."},
		{name: "19b project too large", auth: alice, form: uploadForm("tiny-total", "1.0", "tiny_total-1.0-py3-none-any.whl", wheel("tiny-total", "1.0")),
			want: "400 Project size too large. Limit for project 'tiny-total' total size is 0 GB. See https://docs.pypi.org/project-management/storage-limits#requesting-a-project-size-limit-increase"},
		{name: "20 digest mismatch", auth: alice, form: f2.set("sha256_digest", strings.Repeat("ab", 32)),
			want: "400 The digest supplied does not match a digest calculated from the uploaded file."},
		{name: "21 identical re-upload", auth: alice, form: good, want: okStatus},
		{name: "21 same name, other bytes (before the 14-day rule)", auth: alice,
			form: uploadForm("demo", "1.0", "demo-1.0-py3-none-any.whl", wheel("demo", "1.00")),
			want: "400 File already exists ('demo-1.0-py3-none-any.whl', with blake2_256 hash '" + blake(wheel("demo", "1.00")) + "'). See https://pypi.org/help/#file-name-reuse for more information."},
		{name: "22 deleted filename", auth: alice, form: uploadForm("demo", "0.9", "demo-0.9-py3-none-any.whl", wheel("demo", "0.90")),
			want: "400 This filename was previously used by a file that has since been deleted. Use a different version. See https://pypi.org/help/#file-name-reuse for more information."},
		{name: "23 14-day rule", auth: alice, form: uploadForm("demo", "0.5", "demo-0.5.tar.gz", sdist("demo", "0.5")),
			want: "400 Uploading new files to releases older than 14 days is not allowed."},
		{name: "25 archive (before filename rules)", auth: alice, form: uploadForm("demo", "2.0", "Demo-2.0-py3-none-any.whl", []byte("not a zip")),
			want: "400 Invalid distribution file. File is not a zipfile"},
		{name: "26 sdist filename", auth: alice, form: uploadForm("demo", "2.0", "Demo-2.0.tar.gz", sdist("Demo", "2.0")),
			want: "400 Filename 'Demo-2.0.tar.gz' is invalid, should be 'demo-2.0.tar.gz'."},
		{name: "27 wheel version", auth: alice, form: uploadForm("demo", "2.0", "demo-3.0-py3-none-any.whl", wheel("demo", "3.0")),
			want: "400 Version in filename should be '2.0' not '3.0'."},
		{name: "27 platform tag", auth: alice, form: uploadForm("demo", "2.0", "demo-2.0-py3-none-linux_x86_64.whl", wheel("demo", "2.0")),
			want: "400 Binary wheel 'demo-2.0-py3-none-linux_x86_64.whl' has an unsupported platform tag 'linux_x86_64'."},
		{name: "29 no METADATA", auth: alice, form: uploadForm("demo", "2.0", "demo-2.0-py3-none-any.whl", zipOf([][2]string{
			{"demo/__init__.py", ""}, {"demo-2.0.dist-info/WHEEL", "Wheel-Version: 1.0\n"}, {"demo-2.0.dist-info/RECORD", ""}})),
			want: "400 Wheel 'demo-2.0-py3-none-any.whl' does not contain the required METADATA file: demo-2.0.dist-info/METADATA"},
		{name: "30 attestations need trusted publishing", auth: alice, form: append(f2, part{name: "attestations", value: "[]"}),
			want: "400 Invalid attestations supplied during upload: Attestations are only supported when using Trusted Publishing"},
		{name: "30 empty attestation set", auth: oidc, form: append(f2, part{name: "attestations", value: "[]"}),
			want: "400 Invalid attestations supplied during upload: Malformed attestations: an empty attestation set is not permitted"},
		{name: "24 second sdist", auth: alice, form: uploadForm("demo", "2.0", "demo-2.0.tar.gz", sdist("demo", "2.0")), want: okStatus},
		{name: "24 second sdist (now refused)", auth: alice, form: uploadForm("demo", "2.0.0", "demo-2.0.0.tar.gz", sdist("demo", "2.0.0")),
			want: "400 Only one sdist may be uploaded per release."},
		{name: "31 OIDC upload", auth: oidc, form: f2, want: okStatus},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			if row.flag != "" {
				s.Flags.Set(row.flag, true)
				defer s.Flags.Set(row.flag, false)
			}
			st, body := send(t, url, row.auth, row.form, "Accept", "*/*")
			if st != row.want {
				t.Fatalf("status line\n got %q\nwant %q\nbody %s", st, row.want, body)
			}
			if row.want != okStatus && !strings.Contains(body, "<h1>"+row.want+"</h1>") {
				t.Errorf("HTML body lacks the status: %s", body)
			}
		})
	}

	// warehouse/macaroons/caveats: a minted token used after its 900 s.
	t.Run("token expired", func(t *testing.T) {
		tok := basic(oidcToken(t, s))
		clk.Advance(900 * time.Second)
		st, _ := send(t, url, tok, uploadForm("demo", "2.1", "demo-2.1-py3-none-any.whl", wheel("demo", "2.1")))
		if want := "403 Invalid API Token: token is expired"; st != want {
			t.Fatalf("got %q want %q", st, want)
		}
	})

	// Every answer above is in the event log with its verdict and step.
	evs := s.Events.List(events.Filter{Kind: events.KindUpload})
	if len(evs) < len(rows) {
		t.Fatalf("only %d upload events", len(evs))
	}
}

// TestRoutingAnswers covers the routing of warehouse/forklift/__init__.py: :action in the query string, the 410
// actions and the 308 on /legacy (TestCatchAll: the other methods).
func TestRoutingAnswers(t *testing.T) {
	s, _ := newIndex(t, testSetup)
	alice := basic(token(t, s, "alice-all"))
	whl := wheel("demo", "1.0")
	f := uploadForm("demo", "1.0", "demo-1.0-py3-none-any.whl", whl).without(":action").without("protocol_version")
	if st, body := send(t, s.URL()+"/legacy/?:action=file_upload", alice, f); st != okStatus {
		t.Fatalf("query :action: %s %s", st, body)
	}
	st, _ := send(t, s.URL()+"/legacy/", alice, form{{name: ":action", value: "submit"}})
	if want := "410 Project pre-registration is no longer required or supported, upload your files instead."; st != want {
		t.Errorf("submit: %q", st)
	}
	st, _ = send(t, s.URL()+"/legacy/", alice, form{{name: ":action", value: "doc_upload"}})
	if want := "410 Uploading documentation is no longer supported, we recommend using https://readthedocs.org/."; st != want {
		t.Errorf("doc_upload: %q", st)
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/legacy", strings.NewReader(""))
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "308 An upload was attempted to /legacy but the expected upload URL is /legacy/ (with a trailing slash)"; resp.Status != want ||
		resp.Header.Get("Location") != s.URL()+"/legacy/" {
		t.Errorf("308: %q Location %q", resp.Status, resp.Header.Get("Location"))
	}
	// uv's order: the file before the metadata, no part Content-Type, and
	// a Bearer token; plus a body sent chunked.
	uvForm := form{{name: ":action", value: "file_upload"}, {name: "sha256_digest", value: sha256hex(whl)},
		{name: "protocol_version", value: "1"}, {name: "metadata_version", value: "2.1"},
		{name: "content", filename: "demo-1.1-py3-none-any.whl", ctype: "-", data: wheel("demo", "1.1")},
		{name: "name", value: "demo"}, {name: "version", value: "1.1"}, {name: "filetype", value: "bdist_wheel"}, {name: "pyversion", value: "py3"}}
	uvForm[1].value = sha256hex(uvForm[4].data)
	body, ctype := uvForm.encode()
	req, _ = http.NewRequest(http.MethodPost, s.URL()+"/legacy/", struct{ *strings.Reader }{strings.NewReader(string(body))})
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+token(t, s, "alice-all"))
	req.Header.Set("Accept", "application/json;q=0.9, text/plain;q=0.8, text/html;q=0.7")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Status != okStatus || len(resp.TransferEncoding) != 0 && resp.TransferEncoding[0] != "chunked" {
		t.Errorf("uv-style chunked upload: %s", resp.Status)
	}
	if req.ContentLength != 0 {
		t.Errorf("request was not chunked")
	}
}

func blake(b []byte) string { return blobstore.Sum(b).Blake2256 }

// TestCatchAll: /legacy/ without an action view. The action routes
// (add_legacy_action_route) match on :action; their views answer POST only.
// Everything else falls through to forklift.legacy.invalid_request, a
// template view of upload.html whose require_methods default is
// SAFE_METHODS (warehouse/forklift/__init__.py, warehouse/csrf.py
// require_method_view): GET, HEAD and OPTIONS get the page, POST gets 405.
func TestCatchAll(t *testing.T) {
	s, _ := newIndex(t, testSetup)
	u := s.URL() + "/legacy/"
	do := func(method, url string, accept string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodOptions} {
		for _, url := range []string{u, u + "?:action=nonsense"} {
			resp, body := do(m, url, "*/*")
			if resp.Status != "200 OK" || resp.Header.Get("Content-Type") != "text/html; charset=UTF-8" ||
				(m != http.MethodHead && !strings.Contains(body, "This URL is an API endpoint for uploading files to PyPI.")) {
				t.Errorf("%s %s: %s %q %.80q", m, url, resp.Status, resp.Header.Get("Content-Type"), body)
			}
		}
	}
	// An action view for another method: 405, Allow: POST.
	resp, body := do(http.MethodGet, u+"?:action=file_upload", "")
	if resp.Status != "405 Method Not Allowed" || resp.Header.Get("Allow") != "POST" ||
		body != "405 Method Not Allowed\n\nThe method GET is not allowed for this resource. \n\n\n" {
		t.Errorf("GET ?:action=file_upload: %s Allow %q %q", resp.Status, resp.Header.Get("Allow"), body)
	}
	// POST without a known action reaches the catch-all: 405 with its
	// Allow, in Pyramid's page for requests' Accept: */*.
	for _, f := range []form{{}, {{name: ":action", value: "nonsense"}}} {
		st, body := send(t, u, "", f, "Accept", "*/*")
		want := "<html>\n <head>\n  <title>405 Method Not Allowed</title>\n </head>\n <body>\n  <h1>405 Method Not Allowed</h1>\n" +
			"  The method POST is not allowed for this resource. <br/><br/>\n\n </body>\n</html>"
		if st != "405 Method Not Allowed" || body != want {
			t.Errorf("POST %v: %s %q", f, st, body)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, u, nil)
	if resp, err := noRedirect.Do(req); err != nil || resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("POST Allow: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	resp, _ = do(http.MethodPut, u, "")
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("PUT: %s Allow %q", resp.Status, resp.Header.Get("Allow"))
	}
}

// TestPasswordRefusalBody: _format_exc_status sets the status of a bare
// HTTPForbidden() (warehouse/accounts/security_policy.py
// BasicAuthSecurityPolicy.identity), so the message is in the status line
// and the page has no detail.
func TestPasswordRefusalBody(t *testing.T) {
	s, _ := newIndex(t, testSetup)
	msg := "Username/Password authentication is no longer supported. Migrate to API Tokens or Trusted Publishers instead. See https://pypi.org/help/#apitoken and https://pypi.org/help/#trusted-publishers"
	f := uploadForm("demo", "1.0", "demo-1.0-py3-none-any.whl", wheel("demo", "1.0"))
	st, body := send(t, s.URL()+"/legacy/", "Basic YWxpY2U6c2VjcmV0", f, "Accept", "*/*")
	want := "<html>\n <head>\n  <title>403 " + msg + "</title>\n </head>\n <body>\n  <h1>403 " + msg + "</h1>\n" +
		"  Access was denied to this resource.<br/><br/>\n\n\n\n </body>\n</html>"
	if st != "403 "+msg || body != want {
		t.Fatalf("got %s\n%q\nwant\n%q", st, body, want)
	}
}

// TestTestPyPIHelpLinks: Warehouse builds help links from warehouse.domain
// (warehouse/forklift/__init__.py _help_url), so TestPyPI's messages link
// https://test.pypi.org/help/ (twine#912 and #916 quote "See
// https://test.pypi.org/help/#file-name-reuse"). Every message with a help
// link, on an index whose domain is test.pypi.org.
func TestTestPyPIHelpLinks(t *testing.T) {
	s, _ := newIndex(t, "domain: test.pypi.org\n"+testSetup)
	url := s.URL() + "/legacy/"
	alice := basic(token(t, s, "alice-all"))
	whl := wheel("demo", "1.0")
	if st, _ := send(t, url, alice, uploadForm("demo", "1.0", "demo-1.0-py3-none-any.whl", whl)); st != okStatus {
		t.Fatalf("seed: %s", st)
	}
	gone := wheel("demo", "0.9")
	if st, _ := send(t, url, alice, uploadForm("demo", "0.9", "demo-0.9-py3-none-any.whl", gone)); st != okStatus {
		t.Fatalf("seed 0.9: %s", st)
	}
	if err := s.Read.DeleteFile("demo", "demo-0.9-py3-none-any.whl"); err != nil {
		t.Fatal(err)
	}
	f2 := uploadForm("demo", "2.0", "demo-2.0-py3-none-any.whl", wheel("demo", "2.0"))
	rows := []struct {
		name, auth, flag string
		form             form
		want             string
	}{
		{"password", "Basic YWxpY2U6c2VjcmV0", "", f2,
			"403 Username/Password authentication is no longer supported. Migrate to API Tokens or Trusted Publishers instead. See https://test.pypi.org/help/#apitoken and https://test.pypi.org/help/#trusted-publishers"},
		{"no identity", "", "", f2, "403 Invalid or non-existent authentication information. See https://test.pypi.org/help/#invalid-auth for more information."},
		{"disallow-new-upload", alice, adminflag.DisallowNewUpload, f2,
			"403 New uploads are temporarily disabled. See https://test.pypi.org/help/#admin-intervention for more information."},
		{"registration disabled", alice, adminflag.DisallowNewProjectRegistration, uploadForm("fresh", "1.0", "fresh-1.0-py3-none-any.whl", wheel("fresh", "1.0")),
			"403 New project registration temporarily disabled. See https://test.pypi.org/help/#admin-intervention for more information."},
		{"stdlib name", alice, "", uploadForm("xml", "1.0", "xml-1.0-py3-none-any.whl", wheel("xml", "1.0")),
			"400 The name 'xml' isn't allowed (conflict with Python Standard Library module name). See https://test.pypi.org/help/#project-name for more information."},
		{"no role", alice, "", uploadForm("bobs", "1.0", "bobs-1.0-py3-none-any.whl", wheel("bobs", "1.0")),
			"403 The user 'alice' isn't allowed to upload to project 'bobs'. See https://test.pypi.org/help/#project-name for more information."},
		{"unverified email", basic(token(t, s, "carol-all")), "", uploadForm("carols", "1.0", "carols-1.0-py3-none-any.whl", wheel("carols", "1.0")),
			"403 User 'carol', associated with the API token used, does not have a verified primary email address. Please add a verified primary email before attempting to upload to PyPI. See https://test.pypi.org/help/#verified-email for more information."},
		{"no 2FA", basic(token(t, s, "bob-all")), "", f2,
			"403 User 'bob', associated with the API token used, does not have two-factor authentication enabled. Please enable two-factor authentication before attempting to upload to PyPI. See https://test.pypi.org/help/#two-factor-authentication for more information."},
		{"description", alice, "", f2.set("description", ".. nonsense-directive::\n"),
			"400 The description failed to render in the default format of reStructuredText. See https://test.pypi.org/help/#description-content-type for more information."},
		{"file exists", alice, "", uploadForm("demo", "1.0", "demo-1.0-py3-none-any.whl", wheel("demo", "1.00")),
			"400 File already exists ('demo-1.0-py3-none-any.whl', with blake2_256 hash '" + blake(wheel("demo", "1.00")) + "'). See https://test.pypi.org/help/#file-name-reuse for more information."},
		{"deleted filename", alice, "", uploadForm("demo", "0.9", "demo-0.9-py3-none-any.whl", wheel("demo", "0.90")),
			"400 This filename was previously used by a file that has since been deleted. Use a different version. See https://test.pypi.org/help/#file-name-reuse for more information."},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			if row.flag != "" {
				s.Flags.Set(row.flag, true)
				defer s.Flags.Set(row.flag, false)
			}
			if st, body := send(t, url, row.auth, row.form); st != row.want {
				t.Fatalf("got  %q\nwant %q\n%s", st, row.want, body)
			}
		})
	}
}

// TestProjectStatus: PEP 792 statuses as Warehouse applies them
// (warehouse/packaging/models.py Project.__acl__ and project_status;
// warehouse/packaging/utils.py _simple_detail). Archived: nobody may
// upload, and the refusal is the ordinary permission message of
// warehouse/forklift/legacy.py. Quarantined (quarantine_project,
// warehouse/utils/project.py): the project leaves the index, the change
// is journaled, its users are frozen (their tokens give no identity), its
// trusted publishers may not upload, and a collaborator who is not frozen
// still may.
func TestProjectStatus(t *testing.T) {
	s, _ := newIndex(t, testSetup)
	url := s.URL() + "/legacy/"
	alice := basic(token(t, s, "alice-all"))
	setStatus := func(status string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, s.URL()+"/_fake/projects/Demo/status", strings.NewReader(`{"status": "`+status+`"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"status": "`+status+`"`) {
			t.Fatalf("PUT status %s: %d %s", status, resp.StatusCode, b)
		}
	}
	simple := func() string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.URL()+"/simple/demo/", nil)
		req.Header.Set("Accept", "application/vnd.pypi.simple.v1+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	up := func(auth, version string) string {
		st, _ := send(t, url, auth, uploadForm("demo", version, "demo-"+version+"-py3-none-any.whl", wheel("demo", version)))
		return st
	}
	if st := up(alice, "1.0"); st != okStatus {
		t.Fatalf("active: %s", st)
	}

	setStatus("archived")
	if b := simple(); !strings.Contains(b, `"project-status":{"status":"archived"}`) || !strings.Contains(b, `"demo-1.0-py3-none-any.whl"`) {
		t.Errorf("archived simple JSON: %s", b)
	}
	if st, want := up(alice, "2.0"), "403 The user 'alice' isn't allowed to upload to project 'demo'. See https://pypi.org/help/#project-name for more information."; st != want {
		t.Errorf("archived, owner: %q", st)
	}
	if st, want := up(basic(oidcToken(t, s)), "2.0"), "403 The given token isn't allowed to upload to project 'demo'. See https://pypi.org/help/#project-name for more information."; st != want {
		t.Errorf("archived, trusted publisher: %q", st)
	}

	serial := s.Catalog.LastSerial()
	setStatus("quarantined")
	if s.Catalog.LastSerial() != serial+1 {
		t.Errorf("quarantine not journaled: serial %d → %d", serial, s.Catalog.LastSerial())
	}
	if b := simple(); !strings.Contains(b, `"project-status":{"status":"quarantined"}`) || strings.Contains(b, `"demo-1.0-py3-none-any.whl"`) {
		t.Errorf("quarantined simple JSON: %s", b)
	}
	if st, want := up(basic(oidcToken(t, s)), "2.0"), "403 The given token isn't allowed to upload to project 'demo'. See https://pypi.org/help/#project-name for more information."; st != want {
		t.Errorf("quarantined, trusted publisher: %q", st)
	}
	if st := up(alice, "2.0"); st != msgNoAuth {
		t.Errorf("quarantined, frozen owner: %q", st)
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/_fake/users", strings.NewReader(`{"name": "alice"}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("unfreeze: %v %v", resp, err)
	}
	if st := up(alice, "2.0"); st != okStatus {
		t.Errorf("quarantined, unfrozen owner: %q", st)
	}
	// archive_project refuses a quarantined project.
	req, _ = http.NewRequest(http.MethodPut, s.URL()+"/_fake/projects/demo/status", strings.NewReader(`{"status": "archived"}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusConflict {
		t.Errorf("archive while quarantined: %v %v", resp, err)
	}

	setStatus("active")
	if st := up(basic(oidcToken(t, s)), "3.0"); st != okStatus {
		t.Errorf("active again, trusted publisher: %q", st)
	}
	req, _ = http.NewRequest(http.MethodPut, s.URL()+"/_fake/projects/demo/status", strings.NewReader(`{"status": "deprecated"}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 400 {
		t.Errorf("deprecated accepted: %v %v", resp, err)
	}
}

// TestRateLimitHeaders: an upload that creates a project goes through
// ProjectService.create_project(ratelimited=True), whose _check_ratelimits
// records the two limiters (warehouse/packaging/services.py); the egress
// tween writes RateLimit-Policy and RateLimit on the answer, whatever it
// is (warehouse/rate_limiting/headers.py, warehouse#20163). Moving
// windows of an hour (limits 5.8.0): r counts the hits of the last hour
// before this request, t the seconds until the oldest one is an hour old.
func TestRateLimitHeaders(t *testing.T) {
	s, clk := newIndex(t, testSetup)
	url := s.URL() + "/legacy/"
	alice := basic(token(t, s, "alice-all"))
	raw := func(f form) (status string, hd http.Header) {
		t.Helper()
		body, ctype := f.encode()
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Authorization", alice)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Status, resp.Header
	}
	const policy = `"project.create.ip";q=40;w=3600;pk=:ip:, "project.create.user";q=20;w=3600;pk=:user:`
	st, hd := raw(uploadForm("first", "1.0", "first-1.0-py3-none-any.whl", wheel("first", "1.0")))
	if st != okStatus || hd.Get("RateLimit-Policy") != policy ||
		hd.Get("RateLimit") != `"project.create.ip";r=40;t=3600, "project.create.user";r=20;t=3600` {
		t.Fatalf("first creation: %s %q", st, hd)
	}
	clk.Advance(10 * time.Minute)
	// A creation whose upload then fails still carries them (and spends a
	// hit: the limiter's counter lives outside the rolled-back
	// transaction).
	st, hd = raw(uploadForm("second", "1.0", "second-1.0-py3-none-any.whl", []byte("not a zip")))
	if st != "400 Invalid distribution file. File is not a zipfile" ||
		hd.Get("RateLimit") != `"project.create.ip";r=39;t=3000, "project.create.user";r=19;t=3000` {
		t.Fatalf("second creation: %s %q", st, hd)
	}
	st, hd = raw(uploadForm("third", "1.0", "third-1.0-py3-none-any.whl", wheel("third", "1.0")))
	if st != okStatus || hd.Get("RateLimit") != `"project.create.ip";r=38;t=3000, "project.create.user";r=18;t=3000` {
		t.Fatalf("third creation: %s %q", st, hd)
	}
	// An upload to an existing project creates nothing: no headers.
	if st, hd = raw(uploadForm("first", "2.0", "first-2.0-py3-none-any.whl", wheel("first", "2.0"))); st != okStatus || hd.Get("RateLimit") != "" {
		t.Fatalf("existing project: %s %q", st, hd)
	}
	// The names on the wire are PyPI's (not Go's Ratelimit-Policy).
	body, ctype := uploadForm("fourth", "1.0", "fourth-1.0-py3-none-any.whl", wheel("fourth", "1.0")).encode()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /legacy/ HTTP/1.1\r\nHost: upload.pypi.org\r\nContent-Type: %s\r\nAuthorization: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", ctype, alice, len(body))
	conn.Write(body)
	answer, _ := io.ReadAll(conn)
	if !strings.Contains(string(answer), "\r\nRateLimit-Policy: "+policy+"\r\n") || !strings.Contains(string(answer), "\r\nRateLimit: ") {
		t.Fatalf("wire:\n%s", answer)
	}
}

// TestObfuscatedUpload: step 25's content scan (warehouse/utils/scanner.py,
// warehouse#19584) as the client sees it, and PyPI's admin flag
// disable-upload-scanning (legacy.py _is_valid_dist_file(scan=...)).
func TestObfuscatedUpload(t *testing.T) {
	s, _ := newIndex(t, testSetup)
	url := s.URL() + "/legacy/"
	alice := basic(token(t, s, "alice-all"))
	armored := zipOf([][2]string{
		{"demo/__init__.py", "from pyarmor_runtime_000000 import __pyarmor__\n__pyarmor__(__name__, __file__, b'PY000000')\n"},
		{"demo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n"},
		{"demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"},
		{"demo-1.0.dist-info/RECORD", ""},
	})
	f := uploadForm("demo", "1.0", "demo-1.0-py3-none-any.whl", armored)
	if st, _ := send(t, url, alice, f); st != "400 Invalid distribution file. PyArmor-encrypted content is not allowed. See https://pypi.org/policy/acceptable-use-policy/ for more information." {
		t.Fatalf("scanned: %q", st)
	}
	s.Flags.Set(adminflag.DisableUploadScanning, true)
	if st, _ := send(t, url, alice, f); st != okStatus {
		t.Fatalf("disable-upload-scanning: %q", st)
	}
}
