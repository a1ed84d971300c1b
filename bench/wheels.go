package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"time"
)

var zipTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// writeWheel writes a valid wheel of name-version of about size bytes:
// one large stored member of pseudo-random bytes (written raw with a
// precomputed CRC, so no data descriptor, which PyPI refuses) plus
// METADATA, WHEEL and a RECORD that lists every member's sha256. It
// returns the wheel's sha256.
func writeWheel(w io.Writer, name, version string, size int64) (string, error) {
	block := make([]byte, min(1<<20, max(size, 1)))
	rand.New(rand.NewSource(int64(len(version)) + size)).Read(block)
	copy(block, name+"-"+version) // distinct content per version
	payload := func(w io.Writer) error {
		for n := int64(0); n < size; n += int64(len(block)) {
			if _, err := w.Write(block[:min(int64(len(block)), size-n)]); err != nil {
				return err
			}
		}
		return nil
	}
	crc, sum := crc32.NewIEEE(), sha256.New()
	payload(io.MultiWriter(crc, sum))
	whl := sha256.New()
	zw := zip.NewWriter(io.MultiWriter(w, whl))
	raw := func(member string, n int64, c uint32, fill func(io.Writer) error) error {
		fh := &zip.FileHeader{Name: member, Method: zip.Store, CRC32: c, CompressedSize64: uint64(n), UncompressedSize64: uint64(n), Modified: zipTime}
		fw, err := zw.CreateRaw(fh)
		if err != nil {
			return err
		}
		return fill(fw)
	}
	norm := strings.ReplaceAll(name, "-", "_")
	di := norm + "-" + version + ".dist-info/"
	blob := norm + "/blob.bin"
	if err := raw(blob, size, crc.Sum32(), payload); err != nil {
		return "", err
	}
	record := blob + ",sha256=" + base64.RawURLEncoding.EncodeToString(sum.Sum(nil)) + fmt.Sprintf(",%d\n", size)
	for _, m := range [][2]string{
		{di + "METADATA", "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\nSummary: a benchmark package\n\n"},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: fakepypi-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	} {
		s := sha256.Sum256([]byte(m[1]))
		record += m[0] + ",sha256=" + base64.RawURLEncoding.EncodeToString(s[:]) + fmt.Sprintf(",%d\n", len(m[1]))
		if err := raw(m[0], int64(len(m[1])), crc32.ChecksumIEEE([]byte(m[1])), func(w io.Writer) error {
			_, err := io.WriteString(w, m[1])
			return err
		}); err != nil {
			return "", err
		}
	}
	record += di + "RECORD,,\n"
	if err := raw(di+"RECORD", int64(len(record)), crc32.ChecksumIEEE([]byte(record)), func(w io.Writer) error {
		_, err := io.WriteString(w, record)
		return err
	}); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(whl.Sum(nil)), nil
}

// wheelFile is a wheel written to disk once per run.
type wheelFile struct {
	path, name, version, sha256 string
	size                        int64
}

func (w wheelFile) filename() string {
	return strings.ReplaceAll(w.name, "-", "_") + "-" + w.version + "-py3-none-any.whl"
}

func makeWheelFile(dir, name, version string, size int64) (wheelFile, error) {
	wf := wheelFile{name: name, version: version}
	wf.path = dir + "/" + wf.filename()
	f, err := os.Create(wf.path)
	if err != nil {
		return wf, err
	}
	defer f.Close()
	if wf.sha256, err = writeWheel(f, name, version, size); err != nil {
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
		{"summary", "a benchmark package"}, {"pyversion", "py3"}, {"filetype", "bdist_wheel"},
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
	var b bytes.Buffer
	d, err := writeWheel(&b, name, version, 64)
	if err != nil {
		panic(err)
	}
	return b.Bytes(), d
}
