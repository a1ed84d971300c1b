package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strings"

	"github.com/fakepypi/fakepypi/pypitest"
)

// wheelFile is a wheel written to disk once per run.
type wheelFile struct {
	path, name, version, sha256 string
	size                        int64
}

func (w wheelFile) filename() string { return pypitest.WheelFilename(w.name, w.version) }

func makeWheelFile(dir, name, version string, size int64) (wheelFile, error) {
	wf := wheelFile{name: name, version: version}
	wf.path = dir + "/" + wf.filename()
	f, err := os.Create(wf.path)
	if err != nil {
		return wf, err
	}
	defer f.Close()
	if wf.sha256, err = pypitest.WriteLargeWheel(f, name, version, size); err != nil {
		return wf, err
	}
	st, err := f.Stat()
	if err != nil {
		return wf, err
	}
	wf.size = st.Size()
	return wf, nil
}

// uploadRequest is what twine sends for a wheel, with the file part
// streamed from r (size bytes) and a Content-Length, as twine sends it.
func uploadRequest(url, token, name, version, filename, digest string, r io.Reader, size int64) *http.Request {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	for _, kv := range [][2]string{{"name", name}, {"version", version}, {"metadata_version", "2.1"},
		{"summary", name + ", built by pypitest"}, {"pyversion", "py3"}, {"filetype", "bdist_wheel"},
		{"sha256_digest", digest}, {":action", "file_upload"}, {"protocol_version", "1"}} {
		mw.WriteField(kv[0], kv[1])
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="content"; filename="`+filename+`"`)
	h.Set("Content-Type", "application/octet-stream")
	mw.CreatePart(h)
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	req, _ := http.NewRequest(http.MethodPost, url, io.MultiReader(bytes.NewReader(head.Bytes()), r, strings.NewReader(tail)))
	req.ContentLength = int64(head.Len()) + size + int64(len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.SetBasicAuth("__token__", token)
	return req
}

// upload sends one upload and checks for PyPI's 200.
func upload(c *http.Client, req *http.Request) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("upload: %s %s", resp.Status, body)
	}
	return nil
}

// smallWheel is a wheel of a few hundred bytes, in memory.
func smallWheel(name, version string) (data []byte, digest string) {
	data = pypitest.Wheel(name, version)
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:])
}
