package harness

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash/crc32"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"

	"github.com/fakepypi/fakepypi/internal/pytp"
)

// tlog forwards component logs to the test log.
type tlog struct{ t *testing.T }

func (w tlog) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func start(t *testing.T, opts Options) *Harness {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(tlog{t}, nil))
	}
	h, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// call does one request and returns status and body.
func call(t *testing.T, c *http.Client, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func get(t *testing.T, c *http.Client, url string, hdr ...string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return call(t, c, req)
}

func TestDemoConfigMatchesExample(t *testing.T) {
	ex, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ex, DemoConfig) {
		t.Fatal("examples/demo.yaml and internal/harness/demo.yaml differ; keep them equal")
	}
}

func TestEnv(t *testing.T) {
	h := start(t, Options{})
	env := envMap(h.Env())
	want := map[string]string{
		"GITHUB_ACTIONS":               "true",
		"ACTIONS_ID_TOKEN_REQUEST_URL": h.IssuerURL() + "/github/idtoken?api-version=2.0",
		"HTTPS_PROXY":                  h.ProxyURL(),
		"https_proxy":                  h.ProxyURL(),
		"NO_PROXY":                     "",
		"REQUESTS_CA_BUNDLE":           h.CABundle(),
		"SSL_CERT_FILE":                h.CABundle(),
		"PIP_CERT":                     h.CABundle(),
		"FAKEPYPI_INDEX_URL":           h.IndexURL(),
		"GITHUB_REPOSITORY":            "octo-org/octo-repo",
	}
	for k, v := range want {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("%s = %q (set %v), want %q", k, got, ok, v)
		}
	}
	if env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] == "" {
		t.Error("no ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	}
	// Through the proxy no index variable: a runner sets none, and
	// TWINE_REPOSITORY_URL would outrank `twine upload -r testpypi`.
	for _, k := range []string{"TWINE_REPOSITORY_URL", "UV_PUBLISH_URL", "PIP_INDEX_URL", "UV_DEFAULT_INDEX"} {
		if v, ok := env[k]; ok {
			t.Errorf("%s=%q set with the proxy on", k, v)
		}
	}
	if _, err := os.Stat(env["GITHUB_EVENT_PATH"]); err != nil {
		t.Errorf("GITHUB_EVENT_PATH: %v", err)
	}
	// Environ drops other CIs' triggers and replaces inherited values.
	out := envMap(h.Environ([]string{"GITLAB_CI=true", "NO_PROXY=localhost", "HOME=/h"}))
	if _, ok := out["GITLAB_CI"]; ok || out["NO_PROXY"] != "" || out["HOME"] != "/h" {
		t.Errorf("Environ: GITLAB_CI kept or NO_PROXY=%q HOME=%q", out["NO_PROXY"], out["HOME"])
	}
	// The env file is the Shell text, written whole.
	f := filepath.Join(t.TempDir(), "env")
	if err := h.WriteEnvFile(f); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f); string(b) != h.Shell() || !strings.Contains(string(b), "export HTTPS_PROXY='"+h.ProxyURL()+"'\n") {
		t.Errorf("env file:\n%s", b)
	}
}

// TestPublishThroughProxy is gh-action-pypi-publish's sequence, in Go,
// using only the environment the harness hands out: GitHub token, audience
// and mint on PyPI's real hostnames, then upload, simple index, download.
func TestPublishThroughProxy(t *testing.T) {
	h := start(t, Options{})
	env := envMap(h.Env())
	c := h.Client()

	st, body := get(t, c, "https://upload.pypi.org/_/oidc/audience")
	var aud struct{ Audience string }
	if st != 200 || json.Unmarshal(body, &aud) != nil || aud.Audience != "pypi" {
		t.Fatalf("audience: %d %s", st, body)
	}
	st, body = get(t, c, env["ACTIONS_ID_TOKEN_REQUEST_URL"]+"&audience="+aud.Audience,
		"Authorization", "bearer "+env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
	var idtok struct{ Value string }
	if st != 200 || json.Unmarshal(body, &idtok) != nil || idtok.Value == "" {
		t.Fatalf("GitHub token: %d %s", st, body)
	}
	token := mint(t, c, "https://pypi.org", idtok.Value)

	wheel := buildWheel(t, "demo", "1.0")
	st, body = upload(t, c, UploadURL, token, "demo", "1.0", "demo-1.0-py3-none-any.whl", wheel)
	skipIfUnrouted(t, st, "POST /legacy/")
	if st != 200 {
		t.Fatalf("upload: %d %s", st, body)
	}
	st, body = get(t, c, "https://pypi.org/simple/demo/")
	skipIfUnrouted(t, st, "GET /simple/demo/")
	if st != 200 || !bytes.Contains(body, []byte("demo-1.0-py3-none-any.whl")) {
		t.Fatalf("simple: %d %s", st, body)
	}
	href := fileURL(t, body, "demo-1.0-py3-none-any.whl")
	if !strings.HasPrefix(href, "https://files.pythonhosted.org/packages/") {
		t.Errorf("file URL %s is not on files.pythonhosted.org", href)
	}
	st, got := get(t, c, href)
	if st != 200 || !bytes.Equal(got, wheel) {
		t.Fatalf("download %s: %d, %d bytes (want %d)", href, st, len(got), len(wheel))
	}
}

// skipIfUnrouted skips when the index does not serve a route yet (the
// upload endpoint and read APIs land separately): a 404 from the index
// itself, not from the harness's host split.
func skipIfUnrouted(t *testing.T, status int, what string) {
	t.Helper()
	if status == http.StatusNotFound {
		t.Skipf("the index does not serve %s yet", what)
	}
}

func mint(t *testing.T, c *http.Client, base, jwt string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/_/oidc/mint-token", strings.NewReader(`{"token": "`+jwt+`"}`))
	req.Header.Set("Content-Type", "application/json")
	st, body := call(t, c, req)
	var m struct{ Token string }
	if st != 200 || json.Unmarshal(body, &m) != nil || !strings.HasPrefix(m.Token, "pypi-") {
		t.Fatalf("mint: %d %s", st, body)
	}
	return m.Token
}

// upload POSTs a file the way twine does (multipart, Basic __token__).
func upload(t *testing.T, c *http.Client, url, token, name, version, filename string, content []byte) (int, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	sha := sha256.Sum256(content)
	b2 := blake2b.Sum256(content)
	for _, kv := range [][2]string{
		{"name", name}, {"version", version}, {"metadata_version", "2.1"}, {"summary", "demo"},
		{"pyversion", "py3"}, {"filetype", "bdist_wheel"}, {"sha256_digest", hex.EncodeToString(sha[:])},
		{"blake2_256_digest", hex.EncodeToString(b2[:])}, {":action", "file_upload"}, {"protocol_version", "1"},
	} {
		mw.WriteField(kv[0], kv[1])
	}
	fw, _ := mw.CreateFormFile("content", filename)
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest("POST", url, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.SetBasicAuth("__token__", token)
	return call(t, c, req)
}

// fileURL finds the href of filename in a simple-index page, without the
// #sha256 fragment.
func fileURL(t *testing.T, page []byte, filename string) string {
	t.Helper()
	s := string(page)
	i := strings.Index(s, filename+"#")
	if i < 0 {
		i = strings.Index(s, filename+`"`)
	}
	j := strings.LastIndex(s[:max(i, 0)], `href="`)
	if i < 0 || j < 0 {
		t.Fatalf("no link to %s in\n%s", filename, page)
	}
	return s[j+len(`href="`) : i+len(filename)]
}

// buildWheel makes a minimal valid wheel: one module, METADATA, WHEEL and
// RECORD with correct hashes.
func buildWheel(t testing.TB, name, version string) []byte {
	t.Helper()
	dist := strings.ReplaceAll(name, "-", "_")
	di := dist + "-" + version + ".dist-info/"
	files := []struct{ name, body string }{
		{dist + "/__init__.py", "VALUE = 1\n"},
		{di + "METADATA", "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\nSummary: demo\n"},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: fakepypi-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// Stored with sizes and CRC up front: PyPI refuses ZIPs with data
	// descriptors, which zip.Writer.Create would write.
	add := func(name, body string) {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Store, CRC32: crc32.ChecksumIEEE([]byte(body)),
			CompressedSize64: uint64(len(body)), UncompressedSize64: uint64(len(body))})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	var record strings.Builder
	for _, f := range files {
		add(f.name, f.body)
		sum := sha256.Sum256([]byte(f.body))
		record.WriteString(f.name + ",sha256=" + base64.RawURLEncoding.EncodeToString(sum[:]) + "," + strconv.Itoa(len(f.body)) + "\n")
	}
	record.WriteString(di + "RECORD,,\n")
	add(di+"RECORD", record.String())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestHostSplit checks that each emulated host serves PyPI's paths for it
// and only those, and that PEP 807 discovery names the asked host.
func TestHostSplit(t *testing.T) {
	h := start(t, Options{})
	c := h.Client()
	for _, tc := range []struct {
		url    string
		status int
		split  bool // 404 from the harness's host split
	}{
		{"https://pypi.org/_/oidc/audience", 200, false},
		{"https://upload.pypi.org/_/oidc/audience", 200, false},
		{"https://upload.pypi.org/simple/", 404, true},
		{"https://files.pythonhosted.org/_/oidc/audience", 404, true},
		{"https://pypi.org/legacy/", 404, true},
		{"https://pypi.org/packages/00/00/x.whl", 404, true},
		{"https://test.pypi.org/_/oidc/audience", 200, false},
		{"https://pypi.org/.well-known/pytp/" + pytp.Key("/legacy/"), 200, false},
		{"https://pypi.org/.well-known/pytp/" + pytp.Key("/nope/"), 404, false},
	} {
		req, _ := http.NewRequest("GET", tc.url, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		split := resp.Header.Get("X-Fakepypi-Host-Split") != ""
		if resp.StatusCode != tc.status || split != tc.split {
			t.Errorf("%s: %d (split %v), want %d (split %v)", tc.url, resp.StatusCode, split, tc.status, tc.split)
		}
	}
	_, body := get(t, c, "https://test.pypi.org/_/oidc/audience")
	if !bytes.Contains(body, []byte(`"testpypi"`)) {
		t.Errorf("test.pypi.org audience: %s", body)
	}
	st, body := get(t, c, "https://upload.pypi.org/.well-known/pytp/"+pytp.Key("/legacy/"), "Accept", pytp.MediaType)
	var doc map[string]string
	if st != 200 || json.Unmarshal(body, &doc) != nil || doc["mint-token-endpoint"] != "https://upload.pypi.org/_/oidc/mint-token" {
		t.Errorf("PEP 807 discovery: %d %s", st, body)
	}
	if st, _ := get(t, c, "https://upload.pypi.org/.well-known/pytp/"+pytp.Key("/legacy/"), "Accept", "application/json"); st != 406 {
		t.Errorf("PEP 807 with Accept application/json: %d, want 406", st)
	}
}

// TestRefusesOtherHosts: a host the harness does not emulate is refused
// by the proxy, so a harnessed client cannot reach anything real.
func TestRefusesOtherHosts(t *testing.T) {
	h := start(t, Options{})
	c := h.Client()
	for _, u := range []string{"https://example.com/", "http://example.com/", "https://pypi.org.evil.example/simple/"} {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: %d, want a refusal", u, resp.StatusCode)
			}
		}
	}
	refused := h.Proxy().Refused()
	if len(refused) != 3 || !strings.HasPrefix(refused[0].Target, "example.com") {
		t.Errorf("refusals: %+v", refused)
	}
}

// TestDirectListeners: the index and issuer also answer on their loopback
// ports, TLS and plain HTTP on the same port by default.
func TestDirectListeners(t *testing.T) {
	h := start(t, Options{NoTestPyPI: true})
	tlsC := h.CA().Client()
	plain := &http.Client{Transport: &http.Transport{Proxy: nil}}
	httpURL := "http://" + strings.TrimPrefix(h.IndexURL(), "https://")
	for _, tc := range []struct {
		c   *http.Client
		url string
	}{
		{tlsC, h.IndexURL() + "/_/oidc/audience"},
		{plain, httpURL + "/_/oidc/audience"},
		{tlsC, h.IssuerURL() + "/.well-known/jwks"},
	} {
		if st, body := get(t, tc.c, tc.url); st != 200 {
			t.Errorf("%s: %d %s", tc.url, st, body)
		}
	}
	// Through the proxy, the loopback listeners are reachable by port,
	// other loopback ports are not.
	h3 := start(t, Options{NoTestPyPI: true})
	if st, body := get(t, h3.Client(), h3.IssuerURL()+"/.well-known/jwks"); st != 200 {
		t.Errorf("issuer via proxy: %d %s", st, body)
	}
	if st, body := get(t, h3.Client(), h3.IndexURL()+"/_/oidc/audience"); st != 200 {
		t.Errorf("index via proxy: %d %s", st, body)
	}
	if st, _ := get(t, h3.Client(), "https://127.0.0.1:1/"); st != http.StatusForbidden {
		t.Errorf("other loopback port via proxy: %d, want 403", st)
	}

	// Without the proxy, env names the direct listener.
	h2 := start(t, Options{NoProxy: true})
	env := envMap(h2.Env())
	if env["TWINE_REPOSITORY_URL"] != h2.IndexURL()+"/legacy/" || env["HTTPS_PROXY"] != "" ||
		!strings.HasPrefix(env["ACTIONS_ID_TOKEN_REQUEST_URL"], h2.IssuerURL()+"/") {
		t.Errorf("NoProxy env: %v", env)
	}
	// ... and the index still fetches the issuer's keys (directly).
	st, body := get(t, h2.Client(), env["ACTIONS_ID_TOKEN_REQUEST_URL"]+"&audience=pypi",
		"Authorization", "bearer "+env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
	var idtok struct{ Value string }
	if st != 200 || json.Unmarshal(body, &idtok) != nil {
		t.Fatalf("token: %d %s", st, body)
	}
	mint(t, h2.Client(), h2.IndexURL(), idtok.Value)
}

func TestPersistentCA(t *testing.T) {
	dir := t.TempDir()
	h1 := start(t, Options{Dir: dir, NoIssuer: true, NoTestPyPI: true})
	pem1, _ := os.ReadFile(h1.CABundle())
	h1.Close()
	h2 := start(t, Options{Dir: dir, NoIssuer: true, NoTestPyPI: true})
	pem2, _ := os.ReadFile(h2.CABundle())
	if len(pem1) == 0 || !bytes.Equal(pem1, pem2) || filepath.Dir(filepath.Dir(h2.CABundle())) != dir {
		t.Errorf("CA not reused from %s: %s", dir, h2.CABundle())
	}
}

// TestTestPyPI: test.pypi.org is a separate index with audience
// "testpypi", its uploads invisible on pypi.org, its files on
// test-files.pythonhosted.org.
func TestTestPyPI(t *testing.T) {
	h := start(t, Options{})
	c := h.Client()
	jwt, err := h.Issuer().Token(t.Context(), "testpypi")
	if err != nil {
		t.Fatal(err)
	}
	token := mint(t, c, "https://test.pypi.org", jwt)
	wheel := buildWheel(t, "demo", "2.0")
	if st, body := upload(t, c, TestUploadURL, token, "demo", "2.0", "demo-2.0-py3-none-any.whl", wheel); st != 200 {
		t.Fatalf("upload: %d %s", st, body)
	}
	st, body := get(t, c, TestSimpleURL+"demo/")
	if st != 200 || !strings.HasPrefix(fileURL(t, body, "demo-2.0-py3-none-any.whl"), "https://test-files.pythonhosted.org/packages/") {
		t.Fatalf("test simple: %d %s", st, body)
	}
	if st, got := get(t, c, fileURL(t, body, "demo-2.0-py3-none-any.whl")); st != 200 || !bytes.Equal(got, wheel) {
		t.Fatalf("test download: %d", st)
	}
	if _, body := get(t, c, SimpleURL+"demo/"); bytes.Contains(body, []byte("demo-2.0")) {
		t.Errorf("TestPyPI upload visible on pypi.org:\n%s", body)
	}
	// A PyPI token (aud "pypi") is refused by TestPyPI.
	pjwt, _ := h.Issuer().Token(t.Context(), "pypi")
	req, _ := http.NewRequest("POST", "https://test.pypi.org/_/oidc/mint-token", strings.NewReader(`{"token": "`+pjwt+`"}`))
	if st, body := call(t, c, req); st != 422 {
		t.Errorf("pypi token at TestPyPI: %d %s", st, body)
	}
}
