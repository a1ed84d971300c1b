package upload

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/fakepypi/fakepypi/internal/blobstore"
	"github.com/fakepypi/fakepypi/internal/forklift"
)

// body is what streaming the request body produced: the small fields in
// memory and the distribution file spooled to the blobstore.
type body struct {
	fields forklift.Fields
	// order lists field names in first-arrival order (sanitize and the
	// event log walk them in that order).
	order []string
	// fileField is the first non-content field sent as a file part
	// (step 1, "Should not be a tuple."), or "".
	fileField string

	hasContent  bool
	filename    string
	contentType string
	size        int64 // every byte of the content part, stored or not
	spool       *blobstore.Writer
	spooled     bool // false when the bytes were only counted
}

// tooBig is a non-file field or form larger than the handler holds in
// memory; PyPI's front end would refuse such a request too.
type tooBig struct{ msg string }

func (e *tooBig) Error() string { return e.msg }

// spoolFunc decides, when the content part starts, where its bytes go:
// a blob writer with a size limit, or nil to count and discard them
// (when the upload is already certain to fail before any file check).
type spoolFunc func(b *body) (*blobstore.Writer, error)

// readBody streams the request body once. Fields are held in memory
// (bounded by maxField per value, maxForm in total and maxFields in
// number) and only checked after the body ended, because clients order
// parts differently: twine sends metadata first, uv sends the file before
// attestations.
func readBody(r *http.Request, maxField, maxForm int64, maxFields int, spool spoolFunc) (*body, error) {
	b := &body{fields: forklift.Fields{}}
	ctype, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(ctype, "multipart/") {
		// A urlencoded (or empty) body carries fields only; PyPI then
		// reports the first failing check, at the latest "Upload payload
		// does not have a file."
		data, err := io.ReadAll(io.LimitReader(r.Body, maxForm+1))
		if err != nil {
			return b, err
		}
		if int64(len(data)) > maxForm {
			return b, &tooBig{fmt.Sprintf("Form data larger than %d bytes.", maxForm)}
		}
		if ctype == "application/x-www-form-urlencoded" {
			vals, err := url.ParseQuery(string(data))
			if err != nil {
				return b, fmt.Errorf("malformed form body: %v", err)
			}
			for k, vs := range vals {
				for _, v := range vs {
					b.add(k, v)
				}
			}
		}
		return b, nil
	}
	if params["boundary"] == "" {
		return b, errors.New("multipart body without a boundary")
	}
	// mime/multipart reads through a 4 KiB buffer; under it, a 64 KiB
	// buffer turns a file's bytes into few large reads of the connection
	// instead of one per 4 KiB.
	br := bodyReaders.Get().(*bufio.Reader)
	br.Reset(r.Body)
	defer func() { br.Reset(nil); bodyReaders.Put(br) }()
	mr := multipart.NewReader(br, params["boundary"])
	var total int64
	parts := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, fmt.Errorf("malformed multipart body: %v", err)
		}
		// Every part counts, empty or not: a million empty fields cost
		// no bytes of value but a map entry each (and used to pass).
		if parts++; parts > maxFields {
			return b, &tooBig{fmt.Sprintf("Form has more than %d parts.", maxFields)}
		}
		// The raw Content-Disposition parameters: Part.FileName applies
		// filepath.Base, which would hide the "/" that step 17 rejects.
		_, disp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		name, filename := disp["name"], disp["filename"]
		// webob (MultiDict.from_fieldstorage) makes a part a file only when
		// its filename is non-empty; otherwise it is a plain string value.
		isFile := filename != ""
		switch {
		case name == "content" && isFile:
			if b.hasContent {
				// Only the first file is kept; later ones are drained.
				if _, err := io.Copy(io.Discard, p); err != nil {
					return b, fmt.Errorf("reading part %q: %v", name, err)
				}
				continue
			}
			b.hasContent, b.filename = true, filename
			// Python's cgi gives a part without a Content-Type header the
			// type text/plain (uv and flit send none, and PyPI accepts
			// them); an empty header stays empty and fails step 18.
			if vs, ok := p.Header["Content-Type"]; ok {
				b.contentType = strings.TrimSpace(vs[0])
			} else {
				b.contentType = "text/plain"
			}
			if err := b.readContent(p, spool); err != nil {
				return b, err
			}
		case isFile:
			if b.fileField == "" && name != "gpg_signature" {
				b.fileField = name
			}
			if _, err := io.Copy(io.Discard, p); err != nil {
				return b, fmt.Errorf("reading part %q: %v", name, err)
			}
		default:
			data, err := io.ReadAll(io.LimitReader(p, maxField+1))
			if err != nil {
				return b, fmt.Errorf("reading part %q: %v", name, err)
			}
			if int64(len(data)) > maxField {
				return b, &tooBig{fmt.Sprintf("Form field '%s' is larger than %d bytes.", name, maxField)}
			}
			// The name is held too.
			if total += int64(len(name) + len(data)); total > maxForm {
				return b, &tooBig{fmt.Sprintf("Form data larger than %d bytes.", maxForm)}
			}
			b.add(name, string(data))
		}
	}
}

func (b *body) add(k, v string) {
	if _, ok := b.fields[k]; !ok {
		b.order = append(b.order, k)
	}
	b.fields[k] = append(b.fields[k], v)
}

// bodyReaders are the large buffers request bodies are read through.
var bodyReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// counter counts what passes through it.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readContent streams the file part into the spool writer, hashing in the
// same pass (blobstore.Writer). Past the writer's limit the rest is only
// counted: step 19 needs the full size but not the bytes.
func (b *body) readContent(p io.Reader, spool spoolFunc) error {
	c := &counter{r: p}
	defer func() { b.size = c.n }()
	w, err := spool(b)
	if err != nil {
		return err
	}
	if w == nil {
		_, err := io.Copy(io.Discard, c)
		return err
	}
	b.spool, b.spooled = w, true
	if _, err := w.ReadFrom(c); err != nil {
		var se *blobstore.StorageError
		if errors.As(err, &se) {
			return se // the server's disk, not the request
		}
		if !errors.Is(err, blobstore.ErrTooLarge) {
			return fmt.Errorf("reading the file: %v", err)
		}
		if _, err := io.Copy(io.Discard, c); err != nil {
			return fmt.Errorf("reading the file: %v", err)
		}
	}
	return nil
}
