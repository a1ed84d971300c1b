package conform

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/blake2b"
)

// Bounds on what the recorder keeps per request, so that a runaway
// uploader cannot exhaust memory: bodies above maxBody are passed through
// unparsed, each form value is cut at maxValue, and at most maxFields
// values and maxAnswer bytes of the answer are kept.
const (
	maxBody    = 64 << 20
	maxValue   = 64 << 10
	maxFields  = 1000
	maxAnswer  = 16 << 10
	maxRecords = 500
)

// Request is one HTTP request an index received, as the uploader sent it,
// with the index's answer. For multipart uploads Form holds every field
// in order (repeated names repeat) and Content the file part.
type Request struct {
	Time     time.Time   `json:"time"`
	Host     string      `json:"host"`
	Method   string      `json:"method"`
	Path     string      `json:"path"`
	RawQuery string      `json:"query,omitempty"`
	Header   http.Header `json:"header"`
	// Form is the multipart form in the order sent, without the file.
	Form      []Field  `json:"form,omitempty"`
	Content   *Content `json:"content,omitempty"`
	BodyError string   `json:"body_error,omitempty"` // why the body could not be parsed
	Body      []byte   `json:"-"`                    // a non-multipart body, up to maxAnswer bytes (mint-token's JSON)

	// The answer: Status 0 means none reached the client (a reset).
	Status int    `json:"status"`
	Reason string `json:"reason,omitempty"`
	Answer []byte `json:"-"` // the response body, up to maxAnswer bytes
}

// Field is one form field.
type Field struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Truncated bool   `json:"truncated,omitempty"`
}

// Content is the uploaded file part.
type Content struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	// NoContentType: the part had no Content-Type header at all (Python's
	// cgi, under WebOb, then gives it text/plain).
	NoContentType bool   `json:"no_content_type,omitempty"`
	Size          int64  `json:"size"`
	MD5           string `json:"md5"`
	SHA256        string `json:"sha256"`
	Blake2256     string `json:"blake2_256"`
}

// Values returns every value of the form field name, in order.
func (r *Request) Values(name string) []string {
	var out []string
	for _, f := range r.Form {
		if f.Name == name {
			out = append(out, f.Value)
		}
	}
	return out
}

// Value returns the first value of name and whether it was sent.
func (r *Request) Value(name string) (string, bool) {
	for _, f := range r.Form {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// IsUpload reports whether r is a POST to an upload URL (/legacy/ or
// /legacy) carrying a form.
func (r *Request) IsUpload() bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.Path, "/legacy")
}

// recorder keeps the requests of one case, oldest first.
type recorder struct {
	mu   sync.Mutex
	reqs []*Request
}

func (rc *recorder) list() []*Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*Request(nil), rc.reqs...)
}

// wrap records every request to next (the index's handler) and its
// answer. /_fake/ requests are the suite's own and are not recorded.
func (rc *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_fake/") {
			next.ServeHTTP(w, r)
			return
		}
		req := &Request{Time: time.Now(), Host: r.Host, Method: r.Method, Path: r.URL.Path,
			RawQuery: r.URL.RawQuery, Header: r.Header.Clone()}
		readBody(r, req)
		rc.mu.Lock()
		if len(rc.reqs) < maxRecords {
			rc.reqs = append(rc.reqs, req)
		}
		rc.mu.Unlock()
		aw := &answerWriter{ResponseWriter: w}
		next.ServeHTTP(aw, r)
		aw.finish(req)
	})
}

// readBody reads the request body (up to maxBody), records it, and puts
// it back for the index. A multipart body is parsed into Form and
// Content; another small body (mint-token's JSON) is kept in Body.
func readBody(r *http.Request, req *Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	head, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		req.BodyError = "reading the body: " + err.Error()
	}
	if len(head) > maxBody {
		req.BodyError = "body larger than 64 MiB: not recorded"
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(head))
	mt, params, perr := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if perr != nil || mt != "multipart/form-data" {
		req.Body = head[:min(len(head), maxAnswer)]
		return
	}
	if err := parseForm(head, params["boundary"], req); err != nil && req.BodyError == "" {
		req.BodyError = "multipart: " + err.Error()
	}
}

func parseForm(body []byte, boundary string, req *Request) error {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := p.FormName()
		if name == "content" || p.FileName() != "" {
			_, has := p.Header["Content-Type"]
			c := &Content{Filename: p.FileName(), ContentType: p.Header.Get("Content-Type"), NoContentType: !has}
			m, s, b := md5.New(), sha256.New(), mustBlake()
			n, err := io.Copy(io.MultiWriter(m, s, b), p)
			if err != nil {
				return err
			}
			c.Size, c.MD5, c.SHA256, c.Blake2256 = n, hex.EncodeToString(m.Sum(nil)), hex.EncodeToString(s.Sum(nil)), hex.EncodeToString(b.Sum(nil))
			if name == "content" && req.Content == nil {
				req.Content = c
				continue
			}
			// Another file part (gpg_signature): note its name only.
			req.Form = append(req.Form, Field{Name: name, Value: "(file " + c.Filename + ")"})
			continue
		}
		v, err := io.ReadAll(io.LimitReader(p, maxValue+1))
		if err != nil {
			return err
		}
		f := Field{Name: name, Value: string(v)}
		if len(v) > maxValue {
			f.Value, f.Truncated = string(v[:maxValue]), true
			io.Copy(io.Discard, p)
		}
		if len(req.Form) < maxFields {
			req.Form = append(req.Form, f)
		}
	}
}

func mustBlake() interface {
	io.Writer
	Sum([]byte) []byte
} {
	h, _ := blake2b.New256(nil) // only fails for a key longer than 64 bytes
	return h
}

// answerWriter sees the index's answer, whether written through the
// ResponseWriter or, as PyPI's custom reason phrases are, straight onto a
// hijacked connection.
type answerWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
	raw    *teeConn // set when the handler hijacked the connection
}

func (a *answerWriter) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *answerWriter) Write(p []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	if room := maxAnswer - a.body.Len(); room > 0 {
		a.body.Write(p[:min(len(p), room)])
	}
	return a.ResponseWriter.Write(p)
}

func (a *answerWriter) Flush() {
	if f, ok := a.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack hands out the connection wrapped so that what is written on it
// is seen too. The wrapper keeps NetConn, so the reset fault still finds
// the TCP connection beneath.
func (a *answerWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(a.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	a.raw = &teeConn{Conn: conn}
	return a.raw, bufio.NewReadWriter(brw.Reader, bufio.NewWriter(a.raw)), nil
}

// finish fills req's answer once the handler has returned.
func (a *answerWriter) finish(req *Request) {
	if a.raw != nil {
		req.Status, req.Reason, req.Answer = parseRawAnswer(a.raw.written())
		return
	}
	req.Status, req.Answer = a.status, a.body.Bytes()
	if req.Status != 0 {
		req.Reason = http.StatusText(req.Status)
	}
}

// parseRawAnswer reads the status line and body of a raw HTTP/1.1 answer;
// nothing written (a reset) gives status 0.
func parseRawAnswer(raw []byte) (int, string, []byte) {
	if len(raw) == 0 {
		return 0, "", nil
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		return 0, "", nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, reason, _ := strings.Cut(resp.Status, " ")
	return resp.StatusCode, reason, body
}

// teeConn keeps a copy of the first bytes written to a hijacked
// connection.
type teeConn struct {
	net.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (t *teeConn) Write(p []byte) (int, error) {
	t.mu.Lock()
	if room := maxAnswer + 4096 - t.buf.Len(); room > 0 {
		t.buf.Write(p[:min(len(p), room)])
	}
	t.mu.Unlock()
	return t.Conn.Write(p)
}

func (t *teeConn) written() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.buf.Bytes()...)
}

// NetConn is the connection beneath, for the reset fault.
func (t *teeConn) NetConn() net.Conn { return t.Conn }

// credentials returns the Authorization header's scheme, username and
// secret: Basic gives user and password; Bearer and token give only a
// secret (PyPI's macaroon policy accepts both, warehouse/macaroons/security_policy.py).
func credentials(h http.Header) (scheme, user, secret string) {
	a := h.Get("Authorization")
	if a == "" {
		return "", "", ""
	}
	scheme, rest, _ := strings.Cut(a, " ")
	rest = strings.TrimSpace(rest)
	if strings.EqualFold(scheme, "basic") {
		b, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return scheme, "", ""
		}
		user, pass, _ := strings.Cut(string(b), ":")
		return scheme, user, pass
	}
	return scheme, "", rest
}
