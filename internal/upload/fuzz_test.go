package upload

import (
	"bytes"
	"mime"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/blobstore"
	"github.com/fakepypi/fakepypi/internal/fuzzseed"
)

// FuzzReadBody: the streaming reader of the upload body (multipart or
// urlencoded, with any Content-Type) never panics and keeps what it holds
// in memory within its bounds, whatever the bytes; the file part is
// spooled to a blobstore writer with a small limit.
func FuzzReadBody(f *testing.F) {
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.SetBoundary("b0undary")
	for _, kv := range [][2]string{{":action", "file_upload"}, {"name", "demo"}, {"version", "1.0"}, {"metadata_version", "2.1"}, {"classifiers", "A"}, {"classifiers", "B"}, {"", ""}} {
		mw.WriteField(kv[0], kv[1])
	}
	w, _ := mw.CreateFormFile("content", "demo-1.0.tar.gz")
	w.Write([]byte("\x1f\x8bnot really"))
	w, _ = mw.CreateFormFile("gpg_signature", "demo-1.0.tar.gz.asc")
	w.Write([]byte("sig"))
	w, _ = mw.CreateFormFile("other", "x")
	w.Write([]byte("x"))
	mw.Close()
	f.Add("multipart/form-data; boundary=b0undary", form.Bytes())
	f.Add("multipart/form-data; boundary=b0undary", form.Bytes()[:form.Len()/2])
	f.Add("multipart/form-data", form.Bytes())
	f.Add("application/x-www-form-urlencoded", []byte(":action=file_upload&name=demo&version=1.0&x=%zz&&=&a=1;b"))
	f.Add("text/plain", []byte("anything"))
	f.Add("", []byte{})
	for _, s := range fuzzseed.Strings(f, "wire_test.go") {
		f.Add("multipart/form-data; boundary=xyz", []byte(s))
	}
	const maxField, maxForm, maxFields, fileLimit = 1 << 10, 4 << 10, 64, 2 << 10
	store := blobstore.NewMemory()
	store.TempDir = f.TempDir()
	f.Fuzz(func(t *testing.T, ctype string, data []byte) {
		r, err := http.NewRequest(http.MethodPost, "/legacy/", bytes.NewReader(data))
		if err != nil {
			return
		}
		r.Header.Set("Content-Type", ctype)
		var b *body
		fuzzseed.Within(t, 10*time.Second, ctype, func() {
			b, _ = readBody(r, maxField, maxForm, maxFields, func(b *body) (*blobstore.Writer, error) {
				return store.NewWriter(fileLimit)
			})
		})
		if b == nil {
			t.Fatal("readBody returned no body")
		}
		if b.spool != nil {
			defer b.spool.Abort()
		}
		var held, parts int
		for k, vs := range b.fields {
			for _, v := range vs {
				held += len(k) + len(v)
				parts++
			}
		}
		// An urlencoded body's fields are bounded by url.ParseQuery's own
		// limit (10,000), a multipart body's by maxFields.
		mt, _, _ := mime.ParseMediaType(ctype)
		if held > maxForm+maxField || parts > maxFields+1 && mt != "application/x-www-form-urlencoded" {
			t.Fatalf("held %d bytes in %d fields (limits %d bytes, %d fields)", held, parts, maxForm, maxFields)
		}
		if b.size < 0 || (b.spooled && b.spool == nil) {
			t.Fatalf("size %d spooled %v", b.size, b.spooled)
		}
	})
}
