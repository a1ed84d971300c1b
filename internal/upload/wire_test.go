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

	"github.com/fakepypi/fakepypi/internal/upload"
)

// rawUpload writes an HTTP/1.1 upload by hand on a TCP connection and
// returns every byte of the answer.
func rawUpload(t *testing.T, base, auth, accept string, f form) string {
	t.Helper()
	body, ctype := f.encode()
	addr := strings.TrimPrefix(base, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var req bytes.Buffer
	fmt.Fprintf(&req, "POST /legacy/ HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n", addr, ctype, len(body))
	if auth != "" {
		fmt.Fprintf(&req, "Authorization: %s\r\n", auth)
	}
	if accept != "" {
		fmt.Fprintf(&req, "Accept: %s\r\n", accept)
	}
	req.WriteString("\r\n")
	req.Write(body)
	if _, err := conn.Write(req.Bytes()); err != nil {
		t.Fatal(err)
	}
	resp, err := io.ReadAll(conn) // the server closes after a custom status line
	if err != nil {
		t.Fatal(err)
	}
	return string(resp)
}

// TestRawStatusLine proves the reason phrase on the wire, byte for byte,
// and the body for each Accept (warehouse/forklift/legacy.py _exc_with_message).
func TestRawStatusLine(t *testing.T) {
	s, _ := newIndex(t, testSetup)
	alice := basic(token(t, s, "alice-all"))
	whl := wheel("demo", "1.0")
	good := uploadForm("demo", "1.0", "demo-1.0-py3-none-any.whl", whl)
	if resp := rawUpload(t, s.URL(), alice, "*/*", good); !strings.HasPrefix(resp, "HTTP/1.1 200 OK\r\n") {
		t.Fatalf("first upload: %q", resp)
	}
	other := wheel("demo", "1.00")
	clash := uploadForm("demo", "1.0", "demo-1.0-py3-none-any.whl", other)
	msg := "File already exists ('demo-1.0-py3-none-any.whl', with blake2_256 hash '" + blake(other) + "'). See https://pypi.org/help/#file-name-reuse for more information."

	resp := rawUpload(t, s.URL(), alice, "*/*", clash)
	line, rest, _ := strings.Cut(resp, "\r\n")
	if want := "HTTP/1.1 400 " + msg; line != want {
		t.Fatalf("status line\n got %q\nwant %q", line, want)
	}
	head, body, _ := strings.Cut(rest, "\r\n\r\n")
	for _, h := range []string{"Content-Type: text/html; charset=UTF-8", "Connection: close", fmt.Sprintf("Content-Length: %d", len(body))} {
		if !strings.Contains(head, h) {
			t.Errorf("headers lack %q:\n%s", h, head)
		}
	}
	wantHTML := "<html>\n <head>\n  <title>400 " + msg + "</title>\n </head>\n <body>\n  <h1>400 " + msg + "</h1>\n" +
		"  The server could not comply with the request since it is either malformed or otherwise incorrect.<br/><br/>\n" +
		strings.ReplaceAll(msg, "'", "&#x27;") + "\n\n\n </body>\n</html>"
	if body != wantHTML {
		t.Errorf("HTML body\n got %q\nwant %q", body, wantHTML)
	}

	resp = rawUpload(t, s.URL(), alice, "application/json", clash)
	_, body, _ = strings.Cut(resp, "\r\n\r\n")
	wantJSON := `{"message": "The server could not comply with the request since it is either malformed or otherwise incorrect.\n\n\n` +
		msg + `\n\n", "code": "400 ` + msg + `", "title": "Bad Request"}`
	if body != wantJSON {
		t.Errorf("JSON body\n got %q\nwant %q", body, wantJSON)
	}

	resp = rawUpload(t, s.URL(), alice, "", clash)
	_, body, _ = strings.Cut(resp, "\r\n\r\n")
	if want := "400 " + msg + "\n\nThe server could not comply with the request since it is either malformed or otherwise incorrect.\n\n\n" + msg + "\n\n"; body != want {
		t.Errorf("text body\n got %q\nwant %q", body, want)
	}
}

// TestBadBodies: malformed or oversized input gets a clear 400, never a
// crash, and stores nothing.
func TestBadBodies(t *testing.T) {
	s, _ := newIndex(t, testSetup)
	alice := basic(token(t, s, "alice-all"))
	for name, c := range map[string]struct{ ctype, body, want string }{
		"truncated multipart": {"multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\ndemo", "400 Invalid request body: reading part \"name\": unexpected EOF"},
		"no boundary":         {"multipart/form-data", "", "400 Invalid request body: multipart body without a boundary"},
		"urlencoded":          {"application/x-www-form-urlencoded", ":action=file_upload&name=demo&version=1.0&metadata_version=2.1&filetype=sdist&md5_digest=x", "400 Upload payload does not have a file."},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.URL()+"/legacy/", strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.ctype)
			req.Header.Set("Authorization", alice)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if !strings.HasPrefix(resp.Status, c.want) {
				t.Fatalf("got %q want prefix %q", resp.Status, c.want)
			}
		})
	}
	big := uploadForm("demo", "1.0", "demo-1.0-py3-none-any.whl", wheel("demo", "1.0")).set("description", strings.Repeat("x", int(upload.DefaultMaxField)+1))
	if st, _ := send(t, s.URL()+"/legacy/", alice, big); st != fmt.Sprintf("400 Form field 'description' is larger than %d bytes.", upload.DefaultMaxField) {
		t.Fatalf("oversized field: %q", st)
	}
	if n := len(s.Catalog.Projects()); n != 4 {
		t.Fatalf("projects changed: %d", n)
	}
	if p, _ := s.Catalog.Project("demo"); len(p.Releases) != 0 {
		t.Fatalf("something was stored: %+v", p.Releases)
	}
}

// TestEmptyFieldsCounted is issue 11 item 3's form half: a body of
// empty form fields with no Authorization used to be parsed whole (no
// value bytes, so under every byte limit; a million of them held 2.4
// GiB) and answered 403. Every part now counts: past DefaultMaxFields the
// body is refused, whatever the parts hold, and nothing is stored.
func TestEmptyFieldsCounted(t *testing.T) {
	s, _ := newIndex(t, testSetup)
	const parts = 200_000
	part := "--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n\r\n"
	body := strings.Repeat(part, parts) + "--b--\r\n"
	for _, auth := range []string{"", basic(token(t, s, "alice-all"))} {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/legacy/", strings.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := fmt.Sprintf("400 Form has more than %d parts.", upload.DefaultMaxFields); resp.Status != want {
			t.Errorf("auth %v: %d empty fields: %q, want %q", auth != "", parts, resp.Status, want)
		}
	}
	// A form at the limit is still read (and fails later, for what it is).
	action := "--b\r\nContent-Disposition: form-data; name=\":action\"\r\n\r\nfile_upload\r\n"
	atLimit := action + strings.Repeat(part, upload.DefaultMaxFields-1) + "--b--\r\n"
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/legacy/", strings.NewReader(atLimit))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(resp.Status, "403 ") {
		t.Errorf("%d empty fields, no Authorization: %q, want PyPI's 403", upload.DefaultMaxFields, resp.Status)
	}
	if p, _ := s.Catalog.Project("demo"); len(p.Releases) != 0 {
		t.Fatalf("something was stored: %+v", p.Releases)
	}
}
