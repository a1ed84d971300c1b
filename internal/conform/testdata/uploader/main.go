// Command uploader is the conformance suite's own uploader, for its
// tests: written from PyPI's documented upload API and trusted-publishing
// exchange, it should pass every case; each --defect=NAME makes it break
// one rule on purpose, so the tests can check that the suite fails
// exactly the cases that rule touches:
//
//	digest       sends a sha256_digest that is not the file's
//	drop-field   leaves Requires-Python out of the form
//	ignore-400   reports a 400 answer as success
//	print-token  prints the token it authenticates with
//
// Usage (the suite's protocol, after the defects):
//
//	uploader [--defect=NAME]... upload --repository-url URL [--skip-existing] [--trusted-publishing] [--attestations] FILE...
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/fakepypi/fakepypi/pypitest"
)

var defects = map[string]bool{}

type options struct {
	url                    string
	skipExisting, tp, atts bool
	files                  []string
}

func main() {
	o, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "uploader:", err)
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func parseArgs(args []string) (options, error) {
	var o options
	for len(args) > 0 && strings.HasPrefix(args[0], "--defect=") {
		defects[strings.TrimPrefix(args[0], "--defect=")] = true
		args = args[1:]
	}
	if len(args) < 3 || args[0] != "upload" || args[1] != "--repository-url" {
		return o, errors.New("usage: uploader [--defect=NAME]... upload --repository-url URL [flags] FILE...")
	}
	o.url, args = args[2], args[3:]
	for len(args) > 0 && strings.HasPrefix(args[0], "--") {
		switch args[0] {
		case "--skip-existing":
			o.skipExisting = true
		case "--trusted-publishing":
			o.tp = true
		case "--attestations":
			o.atts = true
		default:
			return o, fmt.Errorf("unknown flag %s", args[0])
		}
		args = args[1:]
	}
	if len(args) == 0 {
		return o, errors.New("no files")
	}
	o.files = args
	return o, nil
}

func client() *http.Client {
	timeout := 30 * time.Second
	if s, err := strconv.Atoi(os.Getenv("FAKEPYPI_TIMEOUT")); err == nil && s > 0 {
		timeout = time.Duration(s) * time.Second
	}
	return &http.Client{
		Timeout: timeout,
		// A redirect is reported, never followed: re-posting a body to a
		// place the user did not name is not an uploader's call.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func do(req *http.Request) (*http.Response, []byte, error) {
	req.Header.Set("User-Agent", "fakepypi-conform-uploader/1")
	resp, err := client().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, body, err
}

func run(o options) error {
	user, token := os.Getenv("FAKEPYPI_USERNAME"), os.Getenv("FAKEPYPI_PASSWORD")
	if o.tp {
		t, err := trustedPublishing(o.url)
		if err != nil {
			return fmt.Errorf("trusted publishing: %w", err)
		}
		user, token = "__token__", t
	}
	if defects["print-token"] {
		fmt.Println("authenticating with", token)
	}
	for _, f := range o.files {
		if err := uploadFile(o, f, user, token); err != nil {
			return err
		}
	}
	return nil
}

// retry runs send up to 3 times while the answer is a 5xx.
func retry(send func() (*http.Response, []byte, error)) (*http.Response, []byte, error) {
	var (
		resp *http.Response
		body []byte
		err  error
	)
	for attempt := 1; attempt <= 3; attempt++ {
		resp, body, err = send()
		if err != nil || resp.StatusCode < 500 {
			return resp, body, err
		}
		fmt.Fprintf(os.Stderr, "warning: %s; retrying (%d of 3)\n", resp.Status, attempt)
		time.Sleep(200 * time.Millisecond)
	}
	return resp, body, err
}

// formName is the upload form's name for a core-metadata field
// (docs/user/api/upload.md): lower case, '-' to '_', and the two
// pluralized ones.
func formName(header string) string {
	n := strings.ReplaceAll(strings.ToLower(header), "-", "_")
	switch n {
	case "classifier":
		return "classifiers"
	case "project_url":
		return "project_urls"
	}
	return n
}

func uploadFile(o options, path, user, token string) error {
	content, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	name := filepath.Base(path)
	md, err := pypitest.ReadMetadata(name, content)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField(":action", "file_upload")
	mw.WriteField("protocol_version", "1")
	for header, values := range md.Header {
		field := formName(header)
		if field == "requires_python" && defects["drop-field"] {
			continue
		}
		for _, v := range values {
			mw.WriteField(field, v)
		}
	}
	if body := strings.TrimSpace(md.Body); body != "" {
		mw.WriteField("description", body)
	}
	if strings.HasSuffix(name, ".whl") {
		parts := strings.Split(strings.TrimSuffix(name, ".whl"), "-")
		mw.WriteField("filetype", "bdist_wheel")
		mw.WriteField("pyversion", parts[len(parts)-3])
	} else {
		mw.WriteField("filetype", "sdist")
		mw.WriteField("pyversion", "source")
	}
	sum := sha256.Sum256(content)
	if defects["digest"] {
		sum = sha256.Sum256(append(content, '\n'))
	}
	b2 := blake2b.Sum256(content)
	mw.WriteField("sha256_digest", hex.EncodeToString(sum[:]))
	mw.WriteField("blake2_256_digest", hex.EncodeToString(b2[:]))
	if o.atts {
		att, err := os.ReadFile(path + ".publish.attestation")
		if err != nil {
			return fmt.Errorf("--attestations: %w", err)
		}
		mw.WriteField("attestations", "["+strings.TrimSpace(string(att))+"]")
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="content"; filename=%q`, name))
	h.Set("Content-Type", "application/octet-stream")
	pw, _ := mw.CreatePart(h)
	pw.Write(content)
	mw.Close()
	payload := buf.Bytes()

	fmt.Printf("Uploading %s\n", name)
	resp, _, err := retry(func() (*http.Response, []byte, error) {
		req, err := http.NewRequest("POST", o.url, bytes.NewReader(payload))
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.SetBasicAuth(user, token)
		return do(req)
	})
	if err != nil {
		return fmt.Errorf("uploading %s: %w", name, err)
	}
	// PyPI's message is the reason phrase (warehouse/forklift/utils.py).
	_, reason, _ := strings.Cut(resp.Status, " ")
	switch {
	case resp.StatusCode == 200:
		fmt.Printf("Uploaded %s\n", name)
		return nil
	case resp.StatusCode == 400 && defects["ignore-400"]:
		fmt.Printf("Uploaded %s\n", name)
		return nil
	case o.skipExisting && resp.StatusCode == 400 && strings.HasPrefix(reason, "File already exists"):
		fmt.Printf("Skipping %s: %s\n", name, reason)
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fmt.Errorf("%s: %s redirected to %s: is the repository URL missing its trailing slash?", name, o.url, resp.Header.Get("Location"))
	}
	return fmt.Errorf("%s: HTTP %d %s", name, resp.StatusCode, reason)
}

// trustedPublishing exchanges the CI's OIDC token for a PyPI token, on the
// upload URL's host: PEP 807 discovery when offered, else PyPI's paths.
func trustedPublishing(repo string) (string, error) {
	u, err := url.Parse(repo)
	if err != nil {
		return "", err
	}
	base := "https://" + u.Host
	audURL, mintURL := base+"/_/oidc/audience", base+"/_/oidc/mint-token"
	key := sha256.Sum256([]byte(u.Path))
	req, _ := http.NewRequest("GET", base+"/.well-known/pytp/"+hex.EncodeToString(key[:]), nil)
	req.Header.Set("Accept", "application/vnd.pypi.pytp.v1+json")
	if resp, body, err := do(req); err == nil && resp.StatusCode == 200 {
		var d struct {
			Audience string `json:"audience-endpoint"`
			Mint     string `json:"mint-token-endpoint"`
		}
		if json.Unmarshal(body, &d) == nil && d.Audience != "" && d.Mint != "" {
			audURL, mintURL = d.Audience, d.Mint
		}
	}

	req, _ = http.NewRequest("GET", audURL, nil)
	resp, body, err := retry(func() (*http.Response, []byte, error) { return do(req) })
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("audience: %s", resp.Status)
	}
	var aud struct{ Audience string }
	if err := json.Unmarshal(body, &aud); err != nil || aud.Audience == "" {
		return "", fmt.Errorf("audience: not the JSON PyPI sends: %q", body)
	}

	reqURL, reqToken := os.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL"), os.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	if reqURL == "" || reqToken == "" {
		return "", errors.New("ACTIONS_ID_TOKEN_REQUEST_URL or ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set: " +
			"the job needs `permissions: id-token: write` (GitHub withholds it from pull requests of forks)")
	}
	req, _ = http.NewRequest("GET", reqURL+"&audience="+url.QueryEscape(aud.Audience), nil)
	req.Header.Set("Authorization", "bearer "+reqToken)
	resp, body, err = do(req)
	if err != nil {
		return "", err
	}
	var id struct{ Value string }
	if resp.StatusCode != 200 || json.Unmarshal(body, &id) != nil || id.Value == "" {
		return "", fmt.Errorf("OIDC token request: %s", resp.Status)
	}

	payload, _ := json.Marshal(map[string]string{"token": id.Value})
	resp, body, err = retry(func() (*http.Response, []byte, error) {
		req, _ := http.NewRequest("POST", mintURL, bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
		return do(req)
	})
	if err != nil {
		return "", err
	}
	var mint struct {
		Token  string
		Errors []struct{ Code, Description string }
	}
	if err := json.Unmarshal(body, &mint); err != nil {
		return "", fmt.Errorf("mint-token answered %s, not JSON", resp.Status)
	}
	if resp.StatusCode != 200 {
		var lines []string
		for _, e := range mint.Errors {
			lines = append(lines, fmt.Sprintf("* `%s`: %s", e.Code, e.Description))
		}
		return "", fmt.Errorf("mint-token refused (%s):\n%s", resp.Status, strings.Join(lines, "\n"))
	}
	if mint.Token == "" {
		return "", errors.New("mint-token's answer holds no token")
	}
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		fmt.Println("::add-mask::" + mint.Token)
	}
	return mint.Token, nil
}
