package readapi

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/blobstore"
	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/gorilla/mux"
)

var t0 = time.Date(2024, 1, 17, 16, 53, 12, 779164000, time.UTC)

type fixture struct {
	srv   *httptest.Server
	h     *Handler
	cat   *catalog.Catalog
	clk   *clock.Fake
	wheel []byte
	meta  []byte
}

// newFixture starts a real server on 127.0.0.1 with the routes mounted on
// a gorilla/mux router, as the index mounts them.
func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	clk := clock.NewFake(t0)
	cat := catalog.New(clk)
	blobs := blobstore.NewMemory()
	blobs.TempDir = t.TempDir()
	opts.Catalog, opts.Blobs = cat, blobs
	h := New(opts)
	r := mux.NewRouter()
	mount(h, r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, h: h, cat: cat, clk: clk}
}

// buildWheel makes a minimal valid wheel: METADATA, WHEEL and RECORD with
// correct hashes, plus one module.
func buildWheel(t testing.TB, name, version string) (wheel, metadata []byte) {
	t.Helper()
	dist := strings.ReplaceAll(name, "-", "_")
	di := dist + "-" + version + ".dist-info/"
	metadata = []byte("Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\nSummary: demo\nRequires-Python: >=3.8\n")
	files := []struct{ name, body string }{
		{dist + "/__init__.py", "VALUE = 1\n"},
		{di + "METADATA", string(metadata)},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: fakepypi-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var record strings.Builder
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, f.body)
		sum := sha256.Sum256([]byte(f.body))
		record.WriteString(f.name + ",sha256=" + base64.RawURLEncoding.EncodeToString(sum[:]) + "," + strconv.Itoa(len(f.body)) + "\n")
	}
	record.WriteString(di + "RECORD,,\n")
	w, _ := zw.Create(di + "RECORD")
	io.WriteString(w, record.String())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), metadata
}

// seedDemo puts Demo.Pkg 1.0 (wheel + sdist) in the index.
func (f *fixture) seedDemo(t *testing.T) {
	t.Helper()
	f.wheel, f.meta = buildWheel(t, "demo-pkg", "1.0")
	md := catalog.Metadata{Summary: "demo", RequiresPython: "<4,>=3.8"}
	if _, err := f.h.Seed(SeedFile{Project: "Demo.Pkg", Version: "1.0", Filename: "demo_pkg-1.0-py3-none-any.whl",
		Content: f.wheel, Metadata: md, Roles: []catalog.Role{{Role: "Owner", User: "alice"}}}); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Second - 779164*time.Microsecond) // a whole second: no fraction in upload-time
	if _, err := f.h.Seed(SeedFile{Project: "Demo.Pkg", Version: "1.0", Filename: "demo_pkg-1.0.tar.gz",
		Content: []byte("not really a tarball")}); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestSimpleDetailGolden(t *testing.T) {
	f := newFixture(t, Options{FilesURL: "https://files.pythonhosted.org/packages/"})
	f.seedDemo(t)
	p, _ := f.cat.Project("demo-pkg")
	wf, sf := p.Releases[0].Files[0], p.Releases[0].Files[1] // by filename: "-py3..." < ".tar.gz"
	resp, body := get(t, f.srv.URL+"/simple/demo-pkg/")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	want := "<!DOCTYPE html>\n<html lang=\"en\">\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.4\">\n" +
		"<meta name=\"pypi:project-status\" content=\"active\">    <title>Links for demo-pkg</title>\n  </head>\n  <body>\n" +
		"    <h1>Links for demo-pkg</h1>\n" +
		"<a href=\"https://files.pythonhosted.org/packages/" + wf.Path + "#sha256=" + wf.SHA256 + "\" data-requires-python=\"&lt;4,&gt;=3.8\" data-dist-info-metadata=\"sha256=" + sha(f.meta) + "\" data-core-metadata=\"sha256=" + sha(f.meta) + "\">demo_pkg-1.0-py3-none-any.whl</a><br />\n" +
		"<a href=\"https://files.pythonhosted.org/packages/" + sf.Path + "#sha256=" + sf.SHA256 + "\" data-requires-python=\"&lt;4,&gt;=3.8\" >demo_pkg-1.0.tar.gz</a><br />\n" +
		"</body>\n</html>\n<!--SERIAL 5-->"
	if body != want {
		t.Fatalf("HTML detail:\n got %q\nwant %q", body, want)
	}
	checkHeaders(t, resp, map[string]string{
		"Content-Type": "text/html; charset=UTF-8", "Vary": "Accept", "Cache-Control": "max-age=600, public",
		"X-PyPI-Last-Serial": "5", "Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "X-PyPI-Last-Serial",
	})

	resp, body = get(t, f.srv.URL+"/simple/demo-pkg/", "Accept", MIMESimpleV1JSON)
	// warehouse/packaging/utils.py _simple_detail: no alternate-locations
	// (removed in warehouse#19915).
	wantJSON := `{"files":[` +
		`{"core-metadata":{"sha256":"` + sha(f.meta) + `"},"data-dist-info-metadata":{"sha256":"` + sha(f.meta) + `"},"filename":"demo_pkg-1.0-py3-none-any.whl","hashes":{"sha256":"` + wf.SHA256 + `"},"provenance":null,"requires-python":"<4,>=3.8","size":` + strconv.Itoa(len(f.wheel)) + `,"upload-time":"2024-01-17T16:53:12.779164Z","url":"https://files.pythonhosted.org/packages/` + wf.Path + `","yanked":false},` +
		`{"core-metadata":false,"data-dist-info-metadata":false,"filename":"demo_pkg-1.0.tar.gz","hashes":{"sha256":"` + sf.SHA256 + `"},"provenance":null,"requires-python":"<4,>=3.8","size":20,"upload-time":"2024-01-17T16:53:13Z","url":"https://files.pythonhosted.org/packages/` + sf.Path + `","yanked":false}` +
		`],"meta":{"_last-serial":5,"api-version":"1.4"},"name":"demo-pkg","project-status":{"status":"active"},"versions":["1.0"]}` + "\n"
	if body != wantJSON {
		t.Fatalf("JSON detail:\n got %s\nwant %s", body, wantJSON)
	}
	if ct := resp.Header.Get("Content-Type"); ct != MIMESimpleV1JSON {
		t.Fatalf("content type %q", ct)
	}
}

func checkHeaders(t *testing.T, resp *http.Response, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestSimpleIndexGolden(t *testing.T) {
	f := newFixture(t, Options{})
	_, body := get(t, f.srv.URL+"/simple/")
	if want := "<!DOCTYPE html>\n<html lang=\"en\">\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.4\">\n    <title>Simple index</title>\n  </head>\n  <body>\n</body>\n</html>"; body != want {
		t.Fatalf("empty index %q", body)
	}
	f.seedDemo(t)
	f.h.Seed(SeedFile{Project: "a_b", Version: "2", Filename: "a_b-2.tar.gz", Content: []byte("x")})
	f.cat.CreateProject(catalog.NewProject{Name: "Hidden", NormalizedName: "hidden"})
	f.cat.SetStatus("hidden", catalog.StatusQuarantined)
	resp, body := get(t, f.srv.URL+"/simple/")
	want := "<!DOCTYPE html>\n<html lang=\"en\">\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.4\">\n    <title>Simple index</title>\n  </head>\n  <body>\n" +
		"<a href=\"/simple/a-b/\">a_b</a>\n<a href=\"/simple/demo-pkg/\">Demo.Pkg</a>\n</body>\n</html>"
	if body != want {
		t.Fatalf("index:\n got %q\nwant %q", body, want)
	}
	serial := resp.Header.Get("X-PyPI-Last-Serial")
	_, body = get(t, f.srv.URL+"/simple/", "Accept", MIMESimpleV1JSON)
	if want := `{"meta":{"_last-serial":` + serial + `,"api-version":"1.4"},"projects":[{"_last-serial":8,"name":"a_b"},{"_last-serial":5,"name":"Demo.Pkg"}]}` + "\n"; body != want {
		t.Fatalf("JSON index:\n got %s\nwant %s", body, want)
	}
}

func TestNegotiation(t *testing.T) {
	f := newFixture(t, Options{})
	f.seedDemo(t)
	cases := []struct {
		accept []string // nil: no header
		want   string
	}{
		{nil, "text/html; charset=UTF-8"},
		{[]string{"text/html"}, "text/html; charset=UTF-8"},
		{[]string{MIMESimpleV1HTML}, MIMESimpleV1HTML},
		{[]string{MIMESimpleV1JSON}, MIMESimpleV1JSON},
		{[]string{"text/html, application/vnd.pypi.simple.v1+html, application/vnd.pypi.simple.v1+json"}, "text/html; charset=UTF-8"},
		// pip's header.
		{[]string{"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"}, MIMESimpleV1JSON},
		{[]string{"text/html;q=0.01, application/vnd.pypi.simple.v1+html;q=0.2, application/vnd.pypi.simple.v1+json"}, MIMESimpleV1JSON},
		{[]string{"application/vnd.pypi.simple.latest+json"}, "text/html; charset=UTF-8"},
		{[]string{"application/json"}, "text/html; charset=UTF-8"},
		{[]string{"text/plain"}, "text/html; charset=UTF-8"},
		{[]string{"*/*"}, "text/html; charset=UTF-8"},
		{[]string{"application/*"}, MIMESimpleV1HTML},
		{[]string{"text/html;q=0, */*;q=0.5"}, MIMESimpleV1HTML},
		{[]string{"application/vnd.pypi.simple.v1+json;q=0.9, application/*;q=0.9"}, MIMESimpleV1HTML},
		{[]string{"application/vnd.pypi.simple.v1+json; charset=utf-8"}, "text/html; charset=UTF-8"}, // params never match
		{[]string{"application/vnd.pypi.simple.v1+json;q=2"}, "text/html; charset=UTF-8"},            // invalid header: all offers
		{[]string{"text/html;q=0.1", "application/vnd.pypi.simple.v1+json"}, MIMESimpleV1JSON},       // repeated headers
	}
	for _, path := range []string{"/simple/", "/simple/demo-pkg/"} {
		for _, c := range cases {
			req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
			for _, a := range c.accept {
				req.Header.Add("Accept", a)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Content-Type"); got != c.want || resp.StatusCode != 200 {
				t.Errorf("%s Accept %q: %d %q, want %q", path, c.accept, resp.StatusCode, got, c.want)
			}
		}
	}
	// ?format= is not a PyPI feature: ignored.
	resp, _ := get(t, f.srv.URL+"/simple/demo-pkg/?format="+MIMESimpleV1JSON)
	if resp.Header.Get("Content-Type") != "text/html; charset=UTF-8" {
		t.Error("?format= changed the answer")
	}
}

func TestRedirectsAndNotFound(t *testing.T) {
	f := newFixture(t, Options{})
	f.seedDemo(t)
	u := f.srv.URL
	for path, loc := range map[string]string{
		"/simple/Demo.Pkg/":       u + "/simple/demo-pkg/",
		"/simple/demo_pkg/?x=1":   u + "/simple/demo-pkg/?x=1",
		"/simple/demo-pkg":        u + "/simple/demo-pkg/",
		"/simple":                 u + "/simple/",
		"/pypi/Demo.Pkg/json":     u + "/pypi/demo-pkg/json",
		"/pypi/DEMO_pkg/1.0/json": u + "/pypi/demo-pkg/1.0/json",
	} {
		resp, _ := get(t, u+path)
		if resp.StatusCode != 301 || resp.Header.Get("Location") != loc {
			t.Errorf("%s: %d Location %q, want %q", path, resp.StatusCode, resp.Header.Get("Location"), loc)
		}
	}
	resp, body := get(t, u+"/simple/nope/")
	if resp.StatusCode != 404 || body != "404 Not Found" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("simple 404: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	for _, p := range []string{"/pypi/nope/json", "/pypi/demo-pkg/9.9/json"} {
		resp, body = get(t, u+p)
		if resp.StatusCode != 404 || body != `{"message": "Not Found"}` || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q", p, resp.StatusCode, body)
		}
	}
}

func TestJSONAPI(t *testing.T) {
	f := newFixture(t, Options{BaseURL: "https://pypi.org", FilesURL: "https://files.pythonhosted.org/packages/"})
	f.seedDemo(t)
	f.h.Seed(SeedFile{Project: "Demo.Pkg", Version: "2.0b1", Filename: "demo_pkg-2.0b1.tar.gz", Content: []byte("beta")})
	f.h.Seed(SeedFile{Project: "Demo.Pkg", Version: "0.9", Filename: "demo_pkg-0.9.tar.gz", Content: []byte("old"),
		Metadata: catalog.Metadata{Summary: "älter <old>", HomePage: "https://example.com", ProjectURLs: []catalog.ProjectURL{{Label: "Source", URL: "https://example.com/src"}}}})
	p, _ := f.cat.Project("demo-pkg")
	sd := p.Releases[0].Files[1] // 1.0 sdist; release 1.0 lists the wheel first
	resp, body := get(t, f.srv.URL+"/pypi/demo-pkg/json")
	checkHeaders(t, resp, map[string]string{"Content-Type": "application/json", "Cache-Control": "max-age=900, public", "X-PyPI-Last-Serial": "9", "Access-Control-Allow-Origin": "*"})
	// Latest is 1.0: 2.0b1 is a pre-release.
	for _, want := range []string{
		`{"info":{"author":null,"author_email":null,"bugtrack_url":null,"classifiers":[],"description":"","description_content_type":null,"docs_url":null,"download_url":null,"downloads":{"last_day":-1,"last_month":-1,"last_week":-1},"dynamic":null,"home_page":null,"keywords":null,"license":null,"license_expression":null,"license_files":null,"maintainer":null,"maintainer_email":null,"name":"Demo.Pkg","package_url":"https://pypi.org/project/Demo.Pkg/","platform":null,"project_url":"https://pypi.org/project/Demo.Pkg/","project_urls":null,"provides_extra":null,"release_url":"https://pypi.org/project/Demo.Pkg/1.0/","requires_dist":null,"requires_python":"<4,>=3.8","summary":"demo","version":"1.0","yanked":false,"yanked_reason":null},"last_serial":9,"ownership":{"organization":null,"roles":[{"role":"Owner","user":"alice"}]},"releases":{"0.9":[`,
		`"yanked_reason":null},{"comment_text":null,"core-metadata":false,"digests":{"blake2b_256":"` + sd.Blake2256 + `","md5":"` + sd.MD5 + `","sha256":"` + sd.SHA256 + `"},"downloads":-1,"filename":"demo_pkg-1.0.tar.gz","has_sig":false,"md5_digest":"` + sd.MD5 + `","packagetype":"sdist","python_version":"source","requires_python":"<4,>=3.8","size":20,"upload_time":"2024-01-17T16:53:13","upload_time_iso_8601":"2024-01-17T16:53:13Z","url":"https://files.pythonhosted.org/packages/` + sd.Path + `","yanked":false,"yanked_reason":null}],"2.0b1":[{`,
		`"1.0":[{"comment_text":null,"core-metadata":{"sha256":"` + sha(f.meta) + `"}`,
		`"2.0b1":[`,
		`"vulnerabilities":[]}` + "\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("project JSON lacks %s\nbody: %s", want, body)
		}
	}
	_, body = get(t, f.srv.URL+"/pypi/demo-pkg/0.9.0/json")
	for _, want := range []string{`"summary":"älter <old>"`, `"project_urls":{"Homepage":"https://example.com","Source":"https://example.com/src"}`, `"version":"0.9"`} {
		if !strings.Contains(body, want) {
			t.Errorf("release JSON lacks %s\nbody: %s", want, body)
		}
	}
	if strings.Contains(body, `"releases"`) {
		t.Error("release JSON has releases")
	}
	// Yanking 1.0 makes 0.9 the latest.
	resp, _ = doReq(t, http.MethodPost, f.srv.URL+"/_fake/projects/Demo.Pkg/releases/1.0.0/yank", `{"reason":"bad <build>"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("yank: %d", resp.StatusCode)
	}
	_, body = get(t, f.srv.URL+"/pypi/demo-pkg/json")
	if !strings.Contains(body, `"version":"0.9","yanked":false`) {
		t.Errorf("latest after yank: %s", body)
	}
	_, body = get(t, f.srv.URL+"/simple/demo-pkg/")
	if !strings.Contains(body, `data-requires-python="&lt;4,&gt;=3.8" data-yanked="bad &lt;build&gt;" data-dist-info-metadata=`) {
		t.Errorf("yanked HTML: %s", body)
	}
	_, body = get(t, f.srv.URL+"/simple/demo-pkg/", "Accept", MIMESimpleV1JSON)
	if !strings.Contains(body, `"yanked":"bad <build>"`) || !strings.Contains(body, `"versions":["0.9","1.0","2.0b1"]`) {
		t.Errorf("yanked JSON: %s", body)
	}
}

func doReq(t *testing.T, method, url, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestFilesAndMetadata(t *testing.T) {
	f := newFixture(t, Options{})
	f.seedDemo(t)
	p, _ := f.cat.Project("demo-pkg")
	wf := p.Releases[0].Files[0]
	resp, body := get(t, f.srv.URL+"/packages/"+wf.Path)
	if resp.StatusCode != 200 || body != string(f.wheel) {
		t.Fatalf("download: %d", resp.StatusCode)
	}
	resp, body = get(t, f.srv.URL+"/packages/"+wf.Path, "Range", "bytes=0-1")
	if resp.StatusCode != 206 || body != "PK" {
		t.Fatalf("range: %d %q", resp.StatusCode, body)
	}
	_, body = get(t, f.srv.URL+"/packages/"+wf.Path+".metadata")
	if body != string(f.meta) || sha([]byte(body)) != wf.MetadataSHA256 {
		t.Fatalf("metadata %q", body)
	}
	resp, _ = get(t, f.srv.URL+"/packages/"+p.Releases[0].Files[1].Path+".metadata")
	if resp.StatusCode != 404 {
		t.Fatalf("sdist metadata: %d", resp.StatusCode)
	}
	// Deleting the file removes the blobs and blocks the name.
	resp, _ = doReq(t, http.MethodDelete, f.srv.URL+"/_fake/projects/demo-pkg/files/"+wf.Filename, "")
	if resp.StatusCode != 200 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	for _, path := range []string{wf.Path, wf.Path + ".metadata"} {
		if resp, _ := get(t, f.srv.URL+"/packages/"+path); resp.StatusCode != 404 {
			t.Errorf("%s still served", path)
		}
	}
	if _, err := f.h.Seed(SeedFile{Project: "demo-pkg", Version: "1.0", Filename: wf.Filename, Content: []byte("new")}); err != catalog.ErrFilenameReused {
		t.Errorf("reuse after delete: %v", err)
	}
	resp, _ = get(t, f.srv.URL+"/packages/../catalog.json")
	if resp.StatusCode == 200 {
		t.Error("path traversal served")
	}
}

func TestIntegrity(t *testing.T) {
	disabled := false
	f := newFixture(t, Options{AttestationsDisabled: func() bool { return disabled }})
	f.seedDemo(t)
	prov := `{"version": 1, "attestation_bundles": [{"publisher": {"kind": "GitHub", "repository": "o/r", "workflow": "release.yml", "environment": null, "claims": null}, "attestations": [{"version": 1, "envelope": {"statement": "c3Q=", "signature": "c2k="}}]}]}`
	if _, err := f.h.Seed(SeedFile{Project: "demo-pkg", Version: "1.0", Filename: "demo_pkg-1.0-py2-none-any.whl", Content: []byte("w2"), Provenance: []byte(prov)}); err != nil {
		t.Fatal(err)
	}
	u := f.srv.URL + "/integrity/demo-pkg/1.0.0/demo_pkg-1.0-py2-none-any.whl/provenance"
	resp, body := get(t, u)
	// renderer="json" (warehouse/api/integrity.py provenance_for_file):
	// Warehouse's json renderer sorts keys and is compact
	// (warehouse/config.py); no trailing newline
	// (tests/functional/api/test_integrity.py).
	want := `{"attestation_bundles":[{"attestations":[{"envelope":{"signature":"c2k=","statement":"c3Q="},"version":1}],"publisher":{"claims":null,"environment":null,"kind":"GitHub","repository":"o/r","workflow":"release.yml"}}],"version":1}`
	if resp.StatusCode != 200 || body != want || resp.Header.Get("Content-Type") != MIMEIntegrityV1 {
		t.Fatalf("provenance: %d %q\n got %s\nwant %s", resp.StatusCode, resp.Header.Get("Content-Type"), body, want)
	}
	resp, _ = get(t, u, "Accept", "application/json")
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Accept json: %q", resp.Header.Get("Content-Type"))
	}
	resp, body = get(t, u, "Accept", "text/html")
	if resp.StatusCode != 406 || body != `{"message":"Request not acceptable"}` {
		t.Errorf("406: %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, f.srv.URL+"/integrity/demo-pkg/1.0/demo_pkg-1.0.tar.gz/provenance")
	if resp.StatusCode != 404 || body != `{"message":"No provenance available for demo_pkg-1.0.tar.gz"}` {
		t.Errorf("no provenance: %d %s", resp.StatusCode, body)
	}
	resp, _ = get(t, f.srv.URL+"/integrity/demo-pkg/3.0/demo_pkg-1.0.tar.gz/provenance")
	if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("unknown version: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	disabled = true
	resp, body = get(t, u)
	if resp.StatusCode != 403 || body != `{"message":"Attestations temporarily disabled"}` {
		t.Errorf("disabled: %d %s", resp.StatusCode, body)
	}
	// The simple API points at the provenance URL.
	_, body = get(t, f.srv.URL+"/simple/demo-pkg/")
	if !strings.Contains(body, `data-core-metadata="sha256=`) || !strings.Contains(body, ` data-provenance="`+f.srv.URL+`/integrity/demo-pkg/1.0/demo_pkg-1.0-py2-none-any.whl/provenance">demo_pkg-1.0-py2-none-any.whl</a>`) {
		t.Errorf("data-provenance missing: %s", body)
	}
}

// mount routes h as the index does (internal/index/routes.go), for tests
// that exercise the read APIs without the rest of the index.
func mount(h *Handler, r *mux.Router) {
	get := []string{http.MethodGet, http.MethodHead}
	r.Path("/simple/").Methods(get...).HandlerFunc(h.SimpleIndex)
	r.Path("/simple").Methods(get...).HandlerFunc(h.AppendSlash)
	r.Path("/simple/{name}/").Methods(get...).HandlerFunc(h.SimpleDetail)
	r.Path("/simple/{name}").Methods(get...).HandlerFunc(h.AppendSlash)
	r.Path("/pypi/{name}/json").Methods(get...).HandlerFunc(h.ProjectJSON)
	r.Path("/pypi/{name}/json/").Methods(get...).HandlerFunc(h.ProjectJSON)
	r.Path("/pypi/{name}/{version}/json").Methods(get...).HandlerFunc(h.ReleaseJSON)
	r.Path("/pypi/{name}/{version}/json/").Methods(get...).HandlerFunc(h.ReleaseJSON)
	r.Path("/packages/{path:.+}").Methods(get...).HandlerFunc(h.File)
	r.Path("/integrity/{name}/{version}/{filename}/provenance").Methods(get...).HandlerFunc(h.Provenance)
	f := r.PathPrefix("/_fake").Subrouter()
	f.Path("/seed").Methods(http.MethodPost).HandlerFunc(h.ControlSeed)
	f.Path("/projects/{project}").Methods(http.MethodGet).HandlerFunc(h.ControlShow)
	f.Path("/projects/{project}/releases/{version}/yank").Methods(http.MethodPost).HandlerFunc(h.ControlYank)
	f.Path("/projects/{project}/releases/{version}/unyank").Methods(http.MethodPost).HandlerFunc(h.ControlUnyank)
	f.Path("/projects/{project}/releases/{version}").Methods(http.MethodDelete).HandlerFunc(h.ControlDeleteRelease)
	f.Path("/projects/{project}/files/{filename}").Methods(http.MethodDelete).HandlerFunc(h.ControlDeleteFile)
	f.Path("/projects/{project}").Methods(http.MethodDelete).HandlerFunc(h.ControlDeleteProject)
}

// TestHeaderSpelling: Warehouse sets X-PyPI-Last-Serial with that
// spelling (warehouse/api/simple.py, warehouse/legacy/api/json.py); the
// bytes on the wire must not be Go's X-Pypi-Last-Serial.
func TestHeaderSpelling(t *testing.T) {
	f := newFixture(t, Options{})
	f.seedDemo(t)
	for _, path := range []string{"/simple/", "/simple/demo-pkg/", "/pypi/demo-pkg/json"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: pypi.org\r\nConnection: close\r\n\r\n", path)
		raw, _ := io.ReadAll(conn)
		conn.Close()
		head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
		if !strings.Contains(head, "\r\nX-PyPI-Last-Serial: ") || strings.Contains(head, "X-Pypi-Last-Serial") {
			t.Errorf("%s: headers\n%s", path, head)
		}
	}
}

// TestFilesServesOnlyListed: a blob the catalog does not list (left by a
// crash or a failed commit) is a 404, like any unknown path.
func TestFilesServesOnlyListed(t *testing.T) {
	f := newFixture(t, Options{})
	f.seedDemo(t)
	files, _ := f.cat.ReleaseFiles("demo-pkg", "1.0")
	listed := files[0].Path
	orphan := "ab/cd/" + strings.Repeat("e", 60) + "/demo_pkg-9.9-py3-none-any.whl"
	if err := f.h.blobs.Put(orphan, []byte("orphan")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want int
	}{{listed, 200}, {orphan, 404}, {orphan + ".metadata", 404}} {
		if resp, _ := get(t, f.srv.URL+"/packages/"+tc.path); resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.path, resp.StatusCode, tc.want)
		}
	}
}
