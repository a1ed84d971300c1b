package upload_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/index"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// wheel builds a minimal, valid wheel for name-version: a module, METADATA,
// WHEEL and a correct RECORD, written without data descriptors (PyPI's
// strict ZIP framing rejects them; archive/zip's Create sets them, so
// entries are written raw with precomputed sizes).
func wheel(name, version string) []byte { return wheelWith(name, version) }

// wheelWith is wheel with more files in it.
func wheelWith(name, version string, extra ...[2]string) []byte {
	norm := strings.ReplaceAll(strings.ToLower(name), "-", "_")
	di := norm + "-" + version + ".dist-info/"
	files := append(extra, [][2]string{
		{norm + "/__init__.py", "VALUE = " + fmt.Sprintf("%q", name+" "+version) + "\n"},
		{di + "METADATA", "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\nSummary: test package\n\n"},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: fakepypi-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}...)
	var record strings.Builder
	for _, f := range files {
		sum := sha256.Sum256([]byte(f[1]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f[0], base64.RawURLEncoding.EncodeToString(sum[:]), len(f[1]))
	}
	record.WriteString(di + "RECORD,,\n")
	files = append(files, [2]string{di + "RECORD", record.String()})
	return zipOf(files)
}

func zipOf(files [][2]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		data := []byte(f[1])
		fh := &zip.FileHeader{Name: f[0], Method: zip.Store, CRC32: crc32.ChecksumIEEE(data),
			CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data))}
		fh.Modified = t0
		w, err := zw.CreateRaw(fh)
		if err != nil {
			panic(err)
		}
		w.Write(data)
	}
	zw.Close()
	return buf.Bytes()
}

// sdist builds a PEP 625 sdist: one top-level directory with PKG-INFO.
func sdist(name, version string) []byte {
	norm := strings.ReplaceAll(strings.ToLower(name), "-", "_")
	top := norm + "-" + version + "/"
	files := [][2]string{
		{top + "PKG-INFO", "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n\n"},
		{top + "pyproject.toml", "[project]\nname = \"" + name + "\"\nversion = \"" + version + "\"\n"},
		{top + norm + "/__init__.py", "VALUE = 1\n"},
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		tw.WriteHeader(&tar.Header{Name: f[0], Mode: 0o644, Size: int64(len(f[1])), ModTime: t0, Typeflag: tar.TypeReg})
		tw.Write([]byte(f[1]))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// part is one multipart part of an upload request.
type part struct {
	name, filename string
	ctype          string // for files; "-" means no Content-Type header
	value          string
	data           []byte
}

// form is an upload's parts, in order.
type form []part

// uploadForm is what twine sends for a file: metadata fields, pyversion,
// filetype, digests, :action, protocol_version, then the file.
func uploadForm(name, version, filename string, data []byte) form {
	ft, pyv := "bdist_wheel", "py3"
	if strings.HasSuffix(filename, ".tar.gz") {
		ft, pyv = "sdist", "source"
	}
	return form{
		{name: "name", value: name}, {name: "version", value: version}, {name: "metadata_version", value: "2.1"},
		{name: "summary", value: "test package"},
		{name: "pyversion", value: pyv}, {name: "filetype", value: ft},
		{name: "sha256_digest", value: sha256hex(data)},
		{name: ":action", value: "file_upload"}, {name: "protocol_version", value: "1"},
		{name: "content", filename: filename, ctype: "application/octet-stream", data: data},
	}
}

// set replaces (or appends) a field's value; value "" with del removes it.
func (f form) set(name, value string) form {
	out := append(form{}, f...)
	for i := range out {
		if out[i].name == name && out[i].filename == "" {
			out[i].value = value
			return out
		}
	}
	return append(out, part{name: name, value: value})
}

func (f form) without(name string) form {
	var out form
	for _, p := range f {
		if p.name != name {
			out = append(out, p)
		}
	}
	return out
}

func (f form) mapContent(fn func(p part) part) form {
	out := append(form{}, f...)
	for i := range out {
		if out[i].name == "content" {
			out[i] = fn(out[i])
		}
	}
	return out
}

func (f form) encode() (body []byte, contentType string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range f {
		h := textproto.MIMEHeader{}
		if p.filename != "" {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, p.name, p.filename))
			if p.ctype != "-" {
				h.Set("Content-Type", p.ctype)
			}
			w, _ := mw.CreatePart(h)
			w.Write(p.data)
			continue
		}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"`, p.name))
		w, _ := mw.CreatePart(h)
		io.WriteString(w, p.value)
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

const testSetup = `
users:
  - name: alice
  - name: carol
    email_verified: false
  - name: bob
    two_factor: false
projects:
  - name: demo
    owners: [alice, bob, carol]
  - name: small
    owners: [alice]
    upload_limit: 1000
  - name: tiny-total
    owners: [alice]
    total_size_limit: 1000
  - name: bobs
    owners: [bob]
publishers:
  - service: github
    owner: octo-org
    owner_id: "1001"
    repository: demo
    workflow_filename: release.yml
    projects: [demo]
tokens:
  - name: alice-all
    user: alice
  - name: alice-demo
    user: alice
    projects: [demo]
  - name: carol-all
    user: carol
  - name: bob-all
    user: bob
`

// newIndex starts an in-memory index with testSetup on a fake clock.
func newIndex(t testing.TB, setup string) (*index.Server, *clock.Fake) {
	t.Helper()
	f, err := indexconfig.Parse("test.yaml", []byte(setup))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(t0)
	s, err := index.Start(index.Config{Setup: *f, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk
}

func token(t testing.TB, s *index.Server, name string) string {
	t.Helper()
	tok, ok := s.Token(name)
	if !ok {
		t.Fatalf("no token %q", name)
	}
	return tok
}

// oidcToken mints a trusted-publishing token for the demo publisher, as
// the exchange does.
func oidcToken(t testing.TB, s *index.Server) string {
	t.Helper()
	pubs := s.Publishers.List(false)
	if len(pubs) == 0 {
		t.Fatal("no publisher")
	}
	p, _ := s.Catalog.Project("demo")
	tok, _, err := s.Tokens.MintOIDC(pubs[0].ID, []string{p.ID.String()}, map[string]any{"ref": "refs/tags/v1", "sha": "abc"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// send posts the form to url with Basic __token__ auth (tok "" for none)
// and returns the full status ("400 File already exists ...") and body.
func send(t testing.TB, url, auth string, f form, hdr ...string) (string, string) {
	t.Helper()
	body, ctype := f.encode()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status, string(b)
}

func basic(tok string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte("__token__:"+tok))
}

// noRedirect shows 3xx answers instead of following them, as twine does
// (allow_redirects=False).
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
