package pypitest

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path"
	"strings"

	"golang.org/x/crypto/blake2b"
)

// UploadOptions change what Upload sends.
type UploadOptions struct {
	// URL is the upload endpoint; default the harness's UploadURL.
	URL string
	// Username for Basic auth; default "__token__" (the password is the
	// token), as twine sends it.
	Username string
	// Fields override form fields: a value replaces the computed one, ""
	// removes the field, new names are added.
	Fields map[string]string
	// ContentType of the file part; default application/octet-stream.
	ContentType string
}

// UploadResponse is the upload endpoint's answer. PyPI puts its message in
// the HTTP reason phrase, so Reason is what twine prints after the status.
type UploadResponse struct {
	Status int
	Reason string // "File already exists ('demo-1.0.tar.gz', ...). See ..."
	Body   []byte
}

// StatusLine is "<code> <reason>", as PyPI writes it.
func (r *UploadResponse) StatusLine() string { return fmt.Sprintf("%d %s", r.Status, r.Reason) }

// UploadForm returns the form fields twine sends for a distribution file:
// :action and protocol_version, the core metadata (name, version,
// metadata_version, summary, description, requires_python, requires_dist,
// classifiers...), filetype and pyversion, and the md5, sha256 and
// blake2_256 digests. Fields appear in that order; repeated metadata
// fields repeat.
func UploadForm(filename string, content []byte) ([][2]string, error) {
	md, err := ReadMetadata(filename, content)
	if err != nil {
		return nil, err
	}
	form := [][2]string{{":action", "file_upload"}, {"protocol_version", "1"}}
	add := func(k, v string) {
		if v != "" {
			form = append(form, [2]string{k, v})
		}
	}
	for _, f := range []struct{ header, field string }{
		{"Name", "name"}, {"Version", "version"}, {"Metadata-Version", "metadata_version"},
		{"Summary", "summary"}, {"Description-Content-Type", "description_content_type"},
		{"Author", "author"}, {"Author-Email", "author_email"}, {"License", "license"},
		{"Keywords", "keywords"}, {"Home-Page", "home_page"}, {"Requires-Python", "requires_python"},
	} {
		add(f.field, md.Get(f.header))
	}
	for _, f := range []struct{ header, field string }{
		{"Classifier", "classifiers"}, {"Requires-Dist", "requires_dist"}, {"Provides-Extra", "provides_extra"},
		{"Project-Url", "project_urls"}, {"Dynamic", "dynamic"},
	} {
		for _, v := range md.Header[textproto.CanonicalMIMEHeaderKey(f.header)] {
			add(f.field, v)
		}
	}
	add("description", strings.TrimSpace(md.Body))
	if strings.HasSuffix(filename, ".whl") {
		parts := strings.Split(strings.TrimSuffix(path.Base(filename), ".whl"), "-")
		add("filetype", "bdist_wheel")
		add("pyversion", parts[len(parts)-3])
	} else {
		add("filetype", "sdist")
		add("pyversion", "source")
	}
	m, s, b := md5.Sum(content), sha256.Sum256(content), blake2b.Sum256(content)
	add("md5_digest", hex.EncodeToString(m[:]))
	add("sha256_digest", hex.EncodeToString(s[:]))
	add("blake2_256_digest", hex.EncodeToString(b[:]))
	return form, nil
}

// Upload sends one distribution file to the legacy upload API the way
// twine does, authenticated with token (an API token, or the password
// when opts sets another Username). An answer other than 200 is an
// UploadResponse, not an error.
func (h *Harness) Upload(token, filename string, content []byte, opts ...UploadOptions) (*UploadResponse, error) {
	var o UploadOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.URL == "" {
		o.URL = h.UploadURL()
	}
	return Upload(h.direct(), o, token, filename, content)
}

// Upload is Harness.Upload for any client and endpoint (o.URL is
// required): a Go stand-in for `twine upload`.
func Upload(client *http.Client, o UploadOptions, token, filename string, content []byte) (*UploadResponse, error) {
	form, err := UploadForm(filename, content)
	if err != nil {
		return nil, err
	}
	for k, v := range o.Fields {
		found := false
		for i := 0; i < len(form); i++ {
			if form[i][0] == k {
				if found || v == "" {
					form = append(form[:i], form[i+1:]...)
					i--
					continue
				}
				form[i][1], found = v, true
			}
		}
		if !found && v != "" {
			form = append(form, [2]string{k, v})
		}
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, kv := range form {
		mw.WriteField(kv[0], kv[1])
	}
	ct := o.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	hdr := textproto.MIMEHeader{}
	hdr.Set("Content-Disposition", fmt.Sprintf(`form-data; name="content"; filename=%q`, path.Base(filename)))
	hdr.Set("Content-Type", ct)
	pw, _ := mw.CreatePart(hdr)
	pw.Write(content)
	mw.Close()

	req, err := http.NewRequest("POST", o.URL, &buf)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	user := o.Username
	if user == "" {
		user = "__token__"
	}
	req.SetBasicAuth(user, token)
	// twine's User-Agent family and Accept, so the index answers as it
	// answers twine (pypiserver special-cases twine; PyPI picks the error
	// body from Accept).
	req.Header.Set("User-Agent", "pypitest (twine-compatible)")
	req.Header.Set("Accept", "*/*")
	// A redirect is an answer to report (twine refuses to follow it).
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	reason := strings.TrimSpace(strings.TrimPrefix(resp.Status, fmt.Sprint(resp.StatusCode)))
	return &UploadResponse{Status: resp.StatusCode, Reason: reason, Body: body}, nil
}
