package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/testenv"
	"github.com/fakepypi/fakepypi/pypitest"
)

// The bad-input drill (issue 11): a real fakeindex process with an
// on-disk data directory gets well over a hundred malformed requests
// across /legacy/, the mint-token exchange, the read APIs and /_fake/.
// Each must be answered with a clear error (a 3xx or 4xx, never a 5xx or a
// dropped connection, with words saying what is wrong), and afterwards
// the process must be healthy (it still serves and uploads), its memory
// bounded (peak RSS), its log free of panics, and its storage unchanged
// byte for byte.

// drillCase is one malformed request and what must come back.
type drillCase struct {
	name string
	// build makes the request against base; raw, when set instead, is
	// written on a TCP connection as is.
	build func(base string) *http.Request
	raw   string
	// status is the expected status; text must appear in the status line
	// or the body.
	status int
	text   string
}

// drillEnv is what the cases need to know about the running index.
type drillEnv struct {
	control, upload string // the control token; alice's upload token
}

func drillReq(method, path string, body io.Reader, hdr ...string) func(string) *http.Request {
	return func(base string) *http.Request {
		r, err := http.NewRequest(method, base+path, body)
		if err != nil {
			panic(err)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			if hdr[i] == "Host" {
				r.Host = hdr[i+1]
				continue
			}
			r.Header.Set(hdr[i], hdr[i+1])
		}
		return r
	}
}

// uploadBody is a multipart upload of demo 1.0 as twine sends it, with
// fields replaced (value "\x00drop" removes one) and the file's name and
// bytes given.
func uploadBody(filename string, data []byte, fields map[string]string) (string, *bytes.Buffer) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	sum := sha256.Sum256(data)
	base := [][2]string{{"name", "demo"}, {"version", "1.0"}, {"metadata_version", "2.1"}, {"summary", "drill"},
		{"pyversion", "py3"}, {"filetype", "bdist_wheel"}, {"sha256_digest", hex.EncodeToString(sum[:])},
		{":action", "file_upload"}, {"protocol_version", "1"}}
	seen := map[string]bool{}
	for _, kv := range base {
		v := kv[1]
		if nv, ok := fields[kv[0]]; ok {
			v = nv
			seen[kv[0]] = true
		}
		if v != "\x00drop" {
			mw.WriteField(kv[0], v)
		}
	}
	var extra []string
	for k := range fields {
		if !seen[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		mw.WriteField(k, fields[k])
	}
	w, _ := mw.CreateFormFile("content", filename)
	w.Write(data)
	mw.Close()
	return mw.FormDataContentType(), &buf
}

func uploadCase(name string, env *drillEnv, filename string, data []byte, fields map[string]string, status int, text string) drillCase {
	return drillCase{name: "upload: " + name, status: status, text: text, build: func(base string) *http.Request {
		ct, body := uploadBody(filename, data, fields)
		r, _ := http.NewRequest("POST", base+"/legacy/", body)
		r.Header.Set("Content-Type", ct)
		r.SetBasicAuth("__token__", env.upload)
		return r
	}}
}

// bombWheel is a small wheel whose METADATA inflates to 70 MB.
func bombWheel() []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range [][2]string{{"demo/__init__.py", ""}, {"demo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n"}} {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: f[0], Method: zip.Store})
		io.WriteString(w, f[1])
	}
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "demo-1.0.dist-info/METADATA", Method: zip.Deflate})
	io.WriteString(w, "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\n")
	zero := make([]byte, 1<<20)
	for range 70 {
		w.Write(zero)
	}
	zw.Close()
	return buf.Bytes()
}

func drillCases(env *drillEnv) []drillCase {
	ctl := func(method, path, body string, hdr ...string) func(string) *http.Request {
		h := append([]string{"Authorization", "Bearer " + env.control}, hdr...)
		if method != "GET" {
			h = append(h, "Content-Type", "application/json")
		}
		return drillReq(method, path, strings.NewReader(body), h...)
	}
	whl := pypitest.Wheel("demo", "1.0")
	notZip := []byte("this is not a zip file")
	var cs []drillCase
	add := func(c ...drillCase) { cs = append(cs, c...) }

	// --- /legacy/: the wire, the form, the token, the file.
	add(
		drillCase{"legacy: PUT", drillReq("PUT", "/legacy/", nil), "", 405, "405 Method Not Allowed"},
		drillCase{"legacy: no body, no auth", drillReq("POST", "/legacy/", nil), "", 405, "The method POST is not allowed"},
		drillCase{"legacy: no slash", drillReq("POST", "/legacy", nil), "", 308, "expected upload URL is /legacy/"},
		drillCase{"legacy: multipart without boundary", drillReq("POST", "/legacy/", strings.NewReader("x"), "Content-Type", "multipart/form-data"), "", 400, "multipart body without a boundary"},
		drillCase{"legacy: truncated multipart", drillReq("POST", "/legacy/", strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\ndemo"), "Content-Type", "multipart/form-data; boundary=b"), "", 400, "unexpected EOF"},
		drillCase{"legacy: wrong boundary", drillReq("POST", "/legacy/", strings.NewReader("--x\r\n\r\n--x--"), "Content-Type", "multipart/form-data; boundary=b"), "", 400, "Invalid request body"},
		drillCase{"legacy: a million empty fields", drillReq("POST", "/legacy/", strings.NewReader(strings.Repeat("--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n\r\n", 1_000_000)+"--b--\r\n"), "Content-Type", "multipart/form-data; boundary=b"), "", 400, "Form has more than 10000 parts."},
		drillCase{"legacy: a 17 MiB field", drillReq("POST", "/legacy/", strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n"+strings.Repeat("x", 17<<20)+"\r\n--b--\r\n"), "Content-Type", "multipart/form-data; boundary=b"), "", 400, "Form field 'description' is larger than"},
		drillCase{"legacy: 20,000 urlencoded fields", drillReq("POST", "/legacy/", strings.NewReader(strings.Repeat("a=&", 20_000)), "Content-Type", "application/x-www-form-urlencoded"), "", 400, "Invalid request body"},
		drillCase{"legacy: urlencoded, no file", drillReq("POST", "/legacy/", strings.NewReader(":action=file_upload&name=demo&version=1.0&metadata_version=2.1&filetype=sdist&md5_digest=x"), "Content-Type", "application/x-www-form-urlencoded", "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("__token__:"+env.upload))), "", 400, "Upload payload does not have a file."},
		drillCase{"legacy: undecodable Basic", drillReq("POST", "/legacy/", strings.NewReader(":action=file_upload"), "Content-Type", "application/x-www-form-urlencoded", "Authorization", "Basic !!!"), "", 403, "Invalid"},
		drillCase{"legacy: password, not __token__", drillReq("POST", "/legacy/", strings.NewReader(":action=file_upload"), "Content-Type", "application/x-www-form-urlencoded", "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:hunter2"))), "", 403, "Username/Password authentication is no longer supported"},
		drillCase{"legacy: garbage token", drillReq("POST", "/legacy/", strings.NewReader(":action=file_upload"), "Content-Type", "application/x-www-form-urlencoded", "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("__token__:pypi-garbage"))), "", 403, "Invalid or non-existent authentication information."},
		drillCase{"legacy: token without prefix", drillReq("POST", "/legacy/", strings.NewReader(":action=file_upload"), "Content-Type", "application/x-www-form-urlencoded", "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("__token__:"+strings.TrimPrefix(env.upload, "pypi-")))), "", 403, "Invalid or non-existent authentication information."},
		drillCase{"legacy: truncated token", drillReq("POST", "/legacy/", strings.NewReader(":action=file_upload"), "Content-Type", "application/x-www-form-urlencoded", "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("__token__:"+env.upload[:len(env.upload)-10]))), "", 403, "Invalid or non-existent authentication information."},
		drillCase{"legacy: Bearer", drillReq("POST", "/legacy/", strings.NewReader(":action=file_upload"), "Content-Type", "application/x-www-form-urlencoded", "Authorization", "Bearer "+env.upload), "", 400, "is an invalid value for Name"},
		drillCase{"legacy: submit action", drillReq("POST", "/legacy/", strings.NewReader(":action=submit"), "Content-Type", "application/x-www-form-urlencoded"), "", 410, "pre-registration is no longer required"},
		drillCase{"legacy: doc_upload action", drillReq("POST", "/legacy/?:action=doc_upload", nil), "", 410, "Uploading documentation is no longer supported"},
		drillCase{"pypi: old upload URL", drillReq("POST", "/pypi?:action=file_upload", nil), "", 410, "/legacy/"},
	)
	for _, c := range []struct {
		name, filename string
		data           []byte
		fields         map[string]string
		status         int
		text           string
	}{
		{"no name", "demo-1.0-py3-none-any.whl", whl, map[string]string{"name": "\x00drop"}, 400, "'' is an invalid value for Name"},
		{"bad name", "demo-1.0-py3-none-any.whl", whl, map[string]string{"name": "../../x"}, 400, "is an invalid value for Name"},
		{"bad version", "demo-1.0-py3-none-any.whl", whl, map[string]string{"version": "one"}, 400, "'one' is invalid for 'version'"},
		{"local version", "demo-1.0-py3-none-any.whl", whl, map[string]string{"version": "1.0+x"}, 400, "local versions"},
		{"metadata 3.0", "demo-1.0-py3-none-any.whl", whl, map[string]string{"metadata_version": "3.0"}, 400, "'3.0' is not a valid metadata version"},
		{"filetype egg", "demo-1.0-py3-none-any.whl", whl, map[string]string{"filetype": "bdist_egg"}, 400, "Invalid value for filetype"},
		{"protocol 2", "demo-1.0-py3-none-any.whl", whl, map[string]string{"protocol_version": "2"}, 400, "Unknown protocol version."},
		{"no digest", "demo-1.0-py3-none-any.whl", whl, map[string]string{"sha256_digest": "\x00drop"}, 400, "Include at least one message digest."},
		{"bad sha256", "demo-1.0-py3-none-any.whl", whl, map[string]string{"sha256_digest": "zz"}, 400, "Invalid value for sha256_digest"},
		{"wrong sha256", "demo-1.0-py3-none-any.whl", whl, map[string]string{"sha256_digest": strings.Repeat("0", 64)}, 400, "The digest supplied does not match"},
		{"wrong md5", "demo-1.0-py3-none-any.whl", whl, map[string]string{"md5_digest": "00000000000000000000000000000000"}, 400, "The digest supplied does not match"},
		{"invalid classifier", "demo-1.0-py3-none-any.whl", whl, map[string]string{"classifiers": "Nope :: Nothing"}, 400, "is not a valid classifier"},
		{"private classifier", "demo-1.0-py3-none-any.whl", whl, map[string]string{"classifiers": "Private :: Do Not Upload"}, 400, "is not a valid classifier"},
		{"bad email", "demo-1.0-py3-none-any.whl", whl, map[string]string{"author_email": "not-an-email"}, 400, "is not a valid email address"},
		{"bad url", "demo-1.0-py3-none-any.whl", whl, map[string]string{"home_page": "javascript:alert(1)"}, 400, "is not a valid url"},
		{"bad requires_dist", "demo-1.0-py3-none-any.whl", whl, map[string]string{"requires_dist": "foo >=="}, 400, "is invalid for 'requires-dist'"},
		{"direct requires_dist", "demo-1.0-py3-none-any.whl", whl, map[string]string{"requires_dist": "foo @ https://x/foo.whl"}, 400, "Can't have direct dependency"},
		{"bad requires_python", "demo-1.0-py3-none-any.whl", whl, map[string]string{"requires_python": ">=3.*"}, 400, "is invalid for 'requires-python'"},
		{"summary with newline", "demo-1.0-py3-none-any.whl", whl, map[string]string{"summary": "a\nb"}, 400, "must be a single line"},
		{"summary of 600 chars", "demo-1.0-py3-none-any.whl", whl, map[string]string{"summary": strings.Repeat("s", 600)}, 400, "512 characters or less"},
		{"license expression gated", "demo-1.0-py3-none-any.whl", whl, map[string]string{"license_expression": "MIT"}, 400, "introduced in metadata version 2.4"},
		{"bad license expression", "demo-1.0-py3-none-any.whl", whl, map[string]string{"metadata_version": "2.4", "license_expression": "MIT AND ("}, 400, "is invalid for 'license-expression'"},
		{"NUL in version", "demo-1.0-py3-none-any.whl", whl, map[string]string{"version": "1\x000"}, 400, "is invalid for 'version'"},
		{"rst that fails", "demo-1.0-py3-none-any.whl", whl, map[string]string{"description": ".. foo::\n\n   x\n", "description_content_type": "text/x-rst"}, 400, "description"},
		{"slash in filename", "../demo-1.0-py3-none-any.whl", whl, nil, 400, "Cannot upload a file with '/' or '\\' in the name."},
		{"control char in filename", "demo\x01-1.0-py3-none-any.whl", whl, nil, 400, "malformed MIME header line"},
		{"bz2 sdist", "demo-1.0.tar.bz2", whl, map[string]string{"filetype": "sdist", "pyversion": "source"}, 400, "Invalid file extension: Use .tar.gz, .whl or .zip extension."},
		{"egg", "demo-1.0-py3.egg", whl, nil, 400, "Invalid file extension"},
		{"wheel name mismatch", "other-1.0-py3-none-any.whl", whl, nil, 400, "Invalid distribution file. WHEEL not found at other-1.0.dist-info/WHEEL"},
		{"wheel version mismatch", "demo-2.0-py3-none-any.whl", whl, nil, 400, "Invalid distribution file. WHEEL not found at demo-2.0.dist-info/WHEEL"},
		{"bad platform tag", "demo-1.0-py3-none-linux_x86_64.whl", whl, nil, 400, "Binary wheel 'demo-1.0-py3-none-linux_x86_64.whl' has an unsupported platform tag 'linux_x86_64'."},
		{"not a zip", "demo-1.0-py3-none-any.whl", notZip, nil, 400, "Invalid distribution file. File is not a zipfile"},
		{"not a tar", "demo-1.0.tar.gz", notZip, map[string]string{"filetype": "sdist", "pyversion": "source"}, 400, "Invalid distribution file. File is not a tarfile"},
		{"zip as sdist, no PKG-INFO", "demo-1.0.zip", whl, map[string]string{"filetype": "sdist", "pyversion": "source"}, 400, "Invalid distribution file."},
		{"zip bomb", "demo-1.0-py3-none-any.whl", bombWheel(), nil, 400, "File exceeds compression ratio of 50"},
		{"empty file", "demo-1.0-py3-none-any.whl", []byte{}, nil, 400, "Invalid distribution file."},
		{"attestations from a user token", "demo-1.0-py3-none-any.whl", whl, map[string]string{"attestations": "{not json"}, 400, "Invalid attestations supplied during upload"},
	} {
		add(uploadCase(c.name, env, c.filename, c.data, c.fields, c.status, c.text))
	}
	add(drillCase{"upload: image/png content", func(base string) *http.Request {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		sum := sha256.Sum256(whl)
		for _, kv := range [][2]string{{"name", "demo"}, {"version", "1.0"}, {"metadata_version", "2.1"}, {"pyversion", "py3"}, {"filetype", "bdist_wheel"},
			{"sha256_digest", hex.EncodeToString(sum[:])}, {":action", "file_upload"}, {"protocol_version", "1"}} {
			mw.WriteField(kv[0], kv[1])
		}
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{`form-data; name="content"; filename="demo-1.0-py3-none-any.whl"`}
		h["Content-Type"] = []string{"image/png"}
		w, _ := mw.CreatePart(h)
		w.Write(whl)
		mw.Close()
		r, _ := http.NewRequest("POST", base+"/legacy/", &buf)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		r.SetBasicAuth("__token__", env.upload)
		return r
	}, "", 400, "Invalid distribution file."})

	// --- the trusted-publishing exchange.
	mint := func(body string) func(string) *http.Request {
		return drillReq("POST", "/_/oidc/mint-token", strings.NewReader(body), "Content-Type", "application/json")
	}
	enc := base64.RawURLEncoding.EncodeToString
	jwt := func(h, p string) string { return enc([]byte(h)) + "." + enc([]byte(p)) + "." + enc([]byte("sig")) }
	for _, c := range []struct{ name, body, text string }{
		{"empty body", "", "EOF while parsing a value"},
		{"null", "null", "Input should be an object"},
		{"a list", "[]", "Input should be an object"},
		{"no token", "{}", "Field required"},
		{"token a number", `{"token": 1}`, "Input should be a valid string"},
		{"token null", `{"token": null}`, "Input should be a valid string"},
		{"not JSON", "token=abc", "Invalid JSON"},
		{"trailing data", `{"token": "x"} {}`, "trailing characters"},
		{"invalid UTF-8", "{\"token\": \"\xff\xfe\"}", "malformed JWT"},
		{"deep nesting", strings.Repeat("[", 100_000), "Invalid JSON"},
		{"not a JWT", `{"token": "x"}`, "malformed JWT"},
		{"two segments", `{"token": "a.b"}`, "malformed JWT"},
		{"bad base64", `{"token": "!!!.???.***"}`, "malformed JWT"},
		{"10,000 segments", `{"token": "` + strings.Repeat("a.", 10_000) + `a"}`, "malformed JWT"},
		{"header not JSON", `{"token": "` + jwt("nope", "{}") + `"}`, "malformed JWT"},
		{"alg none", `{"token": "` + jwt(`{"alg":"none"}`, `{"iss":"https://token.actions.githubusercontent.com"}`) + `"}`, "malformed or invalid token"},
		{"unknown issuer", `{"token": "` + jwt(`{"alg":"RS256","kid":"k"}`, `{"iss":"https://evil.example"}`) + `"}`, "unknown trusted publishing issuer"},
		{"a 900 KB token", `{"token": "` + strings.Repeat("A", 900<<10) + `"}`, "malformed JWT"},
		{"a 2 MiB body", `{"token": "` + strings.Repeat("A", 2<<20) + `"}`, "Request body larger than 1048576 bytes"},
	} {
		add(drillCase{name: "mint-token: " + c.name, build: mint(c.body), status: 422, text: c.text})
	}
	add(
		// PyPI raises TypeError (unhashable list) and answers 500: the
		// one 5xx the drill expects, as fidelity demands.
		drillCase{"mint-token: issuer a list (PyPI's own 500)", mint(`{"token": "` + jwt(`{"alg":"RS256","kid":"k"}`, `{"iss":["a"]}`) + `"}`), "", 500, "Internal Server Error"},
		drillCase{"mint-token: GET", drillReq("GET", "/_/oidc/mint-token", nil), "", 405, "405"},
		drillCase{"mint-token: PUT", drillReq("PUT", "/_/oidc/github/mint-token", strings.NewReader("{}")), "", 405, "405"},
		drillCase{"audience: POST", drillReq("POST", "/_/oidc/audience", nil), "", 405, "405"},
	)

	// --- the read APIs.
	long := strings.Repeat("a", 5000)
	for _, c := range []struct {
		name, path string
		status     int
		text       string
		hdr        []string
	}{
		{"simple: unknown project", "/simple/nope/", 404, "Not Found", nil},
		{"simple: 5000-char name", "/simple/" + long + "/", 404, "Not Found", nil},
		{"simple: dot-dot", "/simple/../../etc/passwd/", 404, "404", nil},
		{"simple: encoded NUL", "/simple/%00/", 404, "404 Not Found", nil},
		{"simple: no slash", "/simple/demo", 301, "/simple/demo/", nil},
		{"simple: not normalized", "/simple/DEMO/", 301, "/simple/demo/", nil},
		{"simple: Accept nothing offered", "/simple/", 200, "demo", []string{"Accept", "image/png"}},
		{"simple: Accept garbage", "/simple/demo/", 200, "demo", []string{"Accept", ";;;q=2,,,/"}},
		{"simple: 10,000 Accept ranges", "/simple/", 200, "demo", []string{"Accept", strings.Repeat("a/b;q=0.5, ", 10_000)}},
		{"json: unknown project", "/pypi/nope/json", 404, "Not Found", nil},
		{"json: unknown version", "/pypi/demo/9.9/json", 404, "Not Found", nil},
		{"json: invalid version", "/pypi/demo/!!!/json", 404, "Not Found", nil},
		{"json: huge version", "/pypi/demo/" + strings.Repeat("9", 4000) + "/json", 404, "Not Found", nil},
		{"json: POST", "/pypi/demo/json", 405, "405 Method Not Allowed", []string{"method", "POST"}},
		{"files: unknown path", "/packages/aa/bb/" + strings.Repeat("c", 60) + "/demo-1.0-py3-none-any.whl", 404, "404 Not Found", nil},
		{"files: dot-dot to the catalog", "/packages/../catalog.json", 404, "404 Not Found", nil},
		{"files: encoded dot-dot", "/packages/%2e%2e/catalog.json", 404, "404 Not Found", nil},
		{"files: temp file name", "/packages/.tmp/upload-1", 404, "404 Not Found", nil},
		{"files: 8 KB path", "/packages/" + strings.Repeat("x/", 4000), 404, "404 Not Found", nil},
		{"files: metadata of nothing", "/packages/aa/bb/cc/x.whl.metadata", 404, "404 Not Found", nil},
		{"integrity: unknown", "/integrity/demo/1.0/nope.whl/provenance", 404, "Page Not Found (404)", nil},
		{"integrity: bad version", "/integrity/demo/!!/x.whl/provenance", 404, "Page Not Found (404)", nil},
		{"pytp: unknown key", "/.well-known/pytp/nope", 404, "404 Not Found", nil},
		{"no route", "/nowhere", 404, "404 page not found", nil},
	} {
		method := "GET"
		hdr := c.hdr
		if len(hdr) == 2 && hdr[0] == "method" {
			method, hdr = hdr[1], nil
		}
		add(drillCase{name: "read: " + c.name, build: drillReq(method, c.path, nil, hdr...), status: c.status, text: c.text})
	}

	// --- the wire itself.
	add(
		drillCase{name: "wire: 2 MB header", raw: "GET /simple/ HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 2<<20) + "\r\n\r\n", status: 431, text: "Request Header Fields Too Large"},
		drillCase{name: "wire: bad request line", raw: "GARBAGE\r\n\r\n", status: 400, text: "Bad Request"},
		drillCase{name: "wire: bad Content-Length", raw: "POST /legacy/ HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", status: 400, text: "Bad Request"},
		drillCase{name: "wire: two Content-Lengths", raw: "POST /legacy/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", status: 400, text: "Bad Request"},
		drillCase{name: "wire: bad chunked body", raw: "POST /_/oidc/mint-token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", status: 400, text: "cannot read body"},
		drillCase{name: "wire: HTTP/0.9", raw: "GET /simple/\r\n\r\n", status: 400, text: "400 Bad Request"},
		drillCase{name: "wire: bad escape in the path", raw: "GET /simple/%zz/ HTTP/1.1\r\nHost: x\r\n\r\n", status: 400, text: "Bad Request"},
	)

	// --- the control plane.
	for _, c := range []struct {
		name   string
		build  func(string) *http.Request
		status int
		text   string
	}{
		{"no token", drillReq("GET", "/_fake/tokens", nil), 401, "the control plane needs its token"},
		{"wrong token", drillReq("GET", "/_fake/tokens", nil, "Authorization", "Bearer nope"), 401, "the control plane needs its token"},
		{"foreign Host", ctl("GET", "/_fake/tokens", "", "Host", "attacker.example"), 403, "may not reach the control plane"},
		{"text/plain write", drillReq("POST", "/_fake/projects", strings.NewReader(`{"name":"x"}`), "Authorization", "Bearer "+env.control, "Content-Type", "text/plain"), 415, "application/json"},
		{"form write", drillReq("POST", "/_fake/flags", strings.NewReader(`read-only=1`), "Authorization", "Bearer "+env.control, "Content-Type", "application/x-www-form-urlencoded"), 415, "application/json"},
		{"DELETE without type", drillReq("DELETE", "/_fake/events", nil, "Authorization", "Bearer "+env.control), 415, "application/json"},
		{"wrong ?token=", drillReq("GET", "/_fake/config?token=nope", nil), 401, "not the control token"},
		{"empty JSON", ctl("POST", "/_fake/projects", ""), 400, "the body is empty"},
		{"not JSON", ctl("POST", "/_fake/projects", "{name: x}"), 400, "invalid JSON body"},
		{"two values", ctl("POST", "/_fake/projects", `{"name":"a"} {"name":"b"}`), 400, "unexpected data after the JSON value"},
		{"unknown field", ctl("POST", "/_fake/projects", `{"name":"a","owner":"x"}`), 400, "unknown field"},
		{"project ../../x", ctl("POST", "/_fake/projects", `{"name":"../../x"}`), 400, "is not a valid project name"},
		{"project with a NUL", ctl("POST", "/_fake/projects", `{"name":"a\u0000b"}`), 400, "is not a valid project name"},
		{"project with no name", ctl("POST", "/_fake/projects", `{}`), 400, "project needs a name"},
		{"owner nobody", ctl("POST", "/_fake/projects", `{"name":"ok","owners":["nobody"]}`), 400, "does not exist"},
		{"delete unknown project", ctl("DELETE", "/_fake/projects/..%2F..%2Fx", ""), 404, "no control-plane endpoint"},
		{"a 2 MiB JSON body", ctl("POST", "/_fake/users", `{"name":"`+strings.Repeat("u", 2<<20)+`"}`), 400, "invalid JSON body"},
		{"deep JSON", ctl("POST", "/_fake/issuers", strings.Repeat("[", 100_000)), 400, "invalid JSON body"},
		{"clock: bad duration", ctl("POST", "/_fake/clock", `{"advance":"soon"}`), 400, "invalid duration"},
		{"clock: bad time", ctl("POST", "/_fake/clock", `{"set":"tomorrow"}`), 400, "invalid JSON body"},
		{"events: bad since", ctl("GET", "/_fake/events?since=yesterday", ""), 400, "since must be an event sequence number"},
		{"flags: unknown", ctl("PUT", "/_fake/flags", `{"disallow-everything":true}`), 400, "unknown admin flag"},
		{"flags: not a bool", ctl("PUT", "/_fake/flags", `{"read-only":"yes"}`), 400, "invalid JSON body"},
		{"audience: empty", ctl("PUT", "/_fake/audience", `{"audience":""}`), 400, "audience must not be empty"},
		{"issuers: unknown service", ctl("POST", "/_fake/issuers", `{"url":"https://x","service":"svn"}`), 400, "unknown service"},
		{"issuers: remove unknown", ctl("DELETE", "/_fake/issuers?url=https://nope", ""), 404, "no issuer"},
		{"publishers: no fields", ctl("POST", "/_fake/publishers", `{"service":"github"}`), 400, "needs owner"},
		{"publishers: unknown project", ctl("POST", "/_fake/publishers", `{"service":"google","email":"a@b.c","projects":["nope"]}`), 400, "does not exist"},
		{"publishers: bad id", ctl("DELETE", "/_fake/publishers/nope", ""), 404, "no such publisher"},
		{"pending: bad project name", ctl("POST", "/_fake/pending-publishers", `{"service":"google","email":"a@b.c","project_name":"../x"}`), 400, "is not a valid project name"},
		{"tokens: unknown user", ctl("POST", "/_fake/tokens", `{"name":"t","user":"nobody"}`), 400, "does not exist"},
		{"tokens: unknown project", ctl("POST", "/_fake/tokens", `{"name":"t","user":"alice","projects":["nope"]}`), 400, "does not exist"},
		{"tokens: revoke unknown", ctl("DELETE", "/_fake/tokens/nope", ""), 404, "no token"},
		{"faults: unknown fault", ctl("POST", "/_fake/faults", `{"faults":["explode"]}`), 400, "unknown index fault"},
		{"faults: unknown endpoint", ctl("PUT", "/_fake/faults", `{"endpoint":"nowhere","faults":["status:503"]}`), 400, `unknown endpoint \"nowhere\"`},
		{"faults: status 200", ctl("POST", "/_fake/faults", `{"faults":["status:200"]}`), 400, "want status:CODE with CODE from 400 to 599"},
		{"seed: no fields", ctl("POST", "/_fake/seed", `{}`), 400, "required"},
		{"seed: bad base64", ctl("POST", "/_fake/seed", `{"project":"demo","version":"1.0","filename":"x.tar.gz","content":"!!!"}`), 400, "illegal base64 data"},
		{"seed: bad project", ctl("POST", "/_fake/seed", `{"project":"../x","version":"1.0","filename":"x.tar.gz","content":"eA=="}`), 400, "is not a valid project name"},
		{"seed: filename with a path", ctl("POST", "/_fake/seed", `{"project":"demo","version":"1.0","filename":"../../catalog.json","content":"eA=="}`), 400, "invalid path"},
		{"yank unknown", ctl("POST", "/_fake/projects/nope/releases/1.0/yank", `{}`), 404, "no such project"},
		{"delete unknown file", ctl("DELETE", "/_fake/projects/demo/files/nope.whl", ""), 404, "no such file"},
		{"unknown control path", ctl("GET", "/_fake/nowhere", ""), 404, "no control-plane endpoint /_fake/nowhere"},
	} {
		add(drillCase{name: "control: " + c.name, build: c.build, status: c.status, text: c.text})
	}
	return cs
}

// procStatus reads a field of /proc/PID/status, in KiB.
func procStatus(pid int, field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	m := regexp.MustCompile(`(?m)^` + field + `:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// treeDigest hashes every file under dir (path, mode, bytes).
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s %v\n", rel, d.Type())
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// send does one case and returns the status and what it said.
func (c drillCase) send(t *testing.T, base string) (int, string) {
	t.Helper()
	if c.raw != "" {
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		go io.WriteString(conn, c.raw) // the server may answer before reading it all
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return 0, "no answer: " + err.Error()
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		return resp.StatusCode, resp.Status + "\n" + string(b)
	}
	req := c.build(base)
	client := &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "no answer: " + err.Error()
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, resp.Status + "\n" + resp.Header.Get("Location") + "\n" + string(b)
}

// TestBadInputDrill runs the drill against the fakeindex binary.
func TestBadInputDrill(t *testing.T) {
	testenv.Slow(t)
	bin := fakeindexBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "pypi.yaml")
	os.WriteFile(cfg, []byte("users: [{name: alice}]\nprojects: [{name: demo, owners: [alice]}]\ntokens: [{name: alice-all, user: alice}]\n"+
		"publishers:\n  - {service: github, owner: octo-org, repository: octo-repo, workflow_filename: release.yml, projects: [demo]}\n"), 0o644)
	const control = "drill-control-token"
	var stderr testenv.LogBuffer
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--data", data, "--config", cfg, "--control-token", control)
	cmd.Stderr = &stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no URL: %v\n%s", err, stderr.String())
	}
	base := strings.TrimSpace(line)

	// A first upload, so the store holds a file the drill must not touch.
	env := &drillEnv{control: control}
	req, _ := http.NewRequest("GET", base+"/_fake/tokens", nil)
	req.Header.Set("Authorization", "Bearer "+control)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var toks []struct{ Name, Token string }
	json.NewDecoder(resp.Body).Decode(&toks)
	resp.Body.Close()
	if len(toks) != 1 {
		t.Fatalf("tokens: %+v", toks)
	}
	env.upload = toks[0].Token
	if st, out := uploadCase("seed upload", env, "demo-0.1-py3-none-any.whl", pypitest.Wheel("demo", "0.1"), map[string]string{"version": "0.1"}, 200, "").send(t, base); st != 200 {
		t.Fatalf("first upload: %d %s", st, out)
	}
	before := treeDigest(t, data)
	rssBefore := procStatus(cmd.Process.Pid, "VmRSS")

	cases := drillCases(env)
	if len(cases) < 100 {
		t.Fatalf("only %d cases in the drill", len(cases))
	}
	byKind := map[string]int{}
	for _, c := range cases {
		kind, _, _ := strings.Cut(c.name, ":")
		byKind[kind]++
	}
	t.Logf("cases by kind: %v", byKind)
	start := time.Now()
	for _, c := range cases {
		st, out := c.send(t, base)
		first, _, _ := strings.Cut(out, "\n")
		switch {
		case st == 0:
			t.Errorf("%s: %s", c.name, out)
		case st >= 500 && c.status != st:
			t.Errorf("%s: a server error: %.300s", c.name, out)
		case st != c.status:
			t.Errorf("%s: %d, want %d: %.300s", c.name, st, c.status, out)
		case !strings.Contains(out, c.text):
			t.Errorf("%s: the answer does not say %q: %.300s", c.name, c.text, out)
		case (st == 400 || st == 403 || st == 422) && len(strings.TrimSpace(out)) <= len(first) && len(first) <= len("400 Bad Request"):
			// Refusals of what was sent say what was wrong with it.
			t.Errorf("%s: nothing but a bare status: %q", c.name, out)
		}
	}
	el := time.Since(start)
	hwm, rss := procStatus(cmd.Process.Pid, "VmHWM"), procStatus(cmd.Process.Pid, "VmRSS")
	t.Logf("%d malformed requests in %s; RSS %d KiB before, %d KiB after, peak %d KiB", len(cases), el.Round(time.Millisecond), rssBefore, rss, hwm)

	// Healthy: it still serves, and uploads.
	if st, out := (drillCase{build: drillReq("GET", "/_fake/health", nil)}).send(t, base); st != 200 {
		t.Errorf("health after the drill: %d %s", st, out)
	}
	if st, out := (drillCase{build: drillReq("GET", "/simple/demo/", nil)}).send(t, base); st != 200 || !strings.Contains(out, "demo-0.1-py3-none-any.whl") {
		t.Errorf("/simple/demo/ after the drill: %d %.300s", st, out)
	}
	// Storage unchanged, byte for byte.
	if after := treeDigest(t, data); after != before {
		t.Errorf("the data directory changed during the drill")
	}
	// Memory bounded: the largest requests (a 17 MiB field, 9 MB of empty
	// parts, a 70 MB zip bomb, 2 MiB bodies) held at most their limits.
	if hwm > 400<<10 {
		t.Errorf("peak RSS %d MiB", hwm>>10)
	}
	if strings.Contains(stderr.String(), "panic") {
		t.Errorf("the log holds a panic:\n%s", stderr.String())
	}
	// And a real upload still works.
	if st, out := uploadCase("after", env, "demo-1.1-py3-none-any.whl", pypitest.Wheel("demo", "1.1"), map[string]string{"version": "1.1"}, 200, "").send(t, base); st != 200 {
		t.Errorf("an upload after the drill: %d %.300s", st, out)
	}
}
