package fakepypi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/fakepypi/fakepypi/testcontainers/fakepypi"
)

func TestMain(m *testing.M) {
	// Ryuk's image would be pulled from Docker Hub, and the engines these
	// tests target have no registry. Every test here removes its own
	// container (CleanupContainer), so the reaper is not needed; an
	// explicit setting wins. testcontainers reads this once, before the
	// first container, hence here and not in a test.
	if _, set := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !set {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	os.Exit(m.Run())
}

// requireDocker skips without a reachable Docker engine, with the reason,
// except under CI=true, where a skip would hide a broken CI machine.
func requireDocker(t *testing.T) {
	t.Helper()
	p, err := testcontainers.NewDockerProvider()
	if err == nil {
		defer p.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = p.Health(ctx)
	}
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("no Docker engine reachable (CI=true, so this fails instead of skipping): %v", err)
	}
	t.Skipf("SKIP: no Docker engine reachable, container tests not run: %v", err)
}

var buildOnce = sync.OnceValues(func() (string, error) {
	if img := os.Getenv("FAKEPYPI_IMAGE"); img != "" {
		return img, nil
	}
	// Build from this checkout: FROM scratch with local static binaries,
	// nothing to pull. It can take minutes on a first run (the binaries
	// are compiled), so its steps show on stderr as they happen, with the
	// time taken, rather than after the test.
	start := time.Now()
	fmt.Fprintln(os.Stderr, "fakepypi: building the image fakepypi:tc-test from this checkout (docker/build.sh; set FAKEPYPI_IMAGE to use a built one)")
	cmd := exec.Command("../../docker/build.sh", "fakepypi:tc-test")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, io.MultiWriter(os.Stderr, &out)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker/build.sh: %v\n%s", err, out.String())
	}
	fmt.Fprintf(os.Stderr, "fakepypi: image built in %.1f s\n", time.Since(start).Seconds())
	return "fakepypi:tc-test", nil
})

// image returns the image under test: $FAKEPYPI_IMAGE, or one built once
// from this checkout.
func image(t *testing.T) string {
	t.Helper()
	requireDocker(t)
	img, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestPublish is a GitHub Actions publish job against the container, from
// its Env alone: OIDC token from ACTIONS_ID_TOKEN_REQUEST_URL, exchange at
// https://upload.pypi.org/_/oidc/mint-token and upload through the proxy,
// then the release on /simple/ both through the proxy and directly.
func TestPublish(t *testing.T) {
	ctx := context.Background()
	ctr, err := fakepypi.Run(ctx, image(t))
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		t.Fatal(err)
	}
	env := envMap(t, ctr)
	for _, k := range []string{"GITHUB_ACTIONS", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "HTTPS_PROXY", "REQUESTS_CA_BUNDLE"} {
		if env[k] == "" {
			t.Errorf("Env has no %s", k)
		}
	}
	// A runner sets no index variable; twine's -r testpypi must win.
	if v, ok := env["TWINE_REPOSITORY_URL"]; ok {
		t.Errorf("Env sets TWINE_REPOSITORY_URL=%q", v)
	}
	bundle, err := ctr.CABundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if env["REQUESTS_CA_BUNDLE"] != bundle {
		t.Errorf("REQUESTS_CA_BUNDLE = %q, CABundle = %q", env["REQUESTS_CA_BUNDLE"], bundle)
	}
	if b, err := os.ReadFile(env["GITHUB_EVENT_PATH"]); err != nil || !json.Valid(b) {
		t.Errorf("GITHUB_EVENT_PATH %q: %v %q", env["GITHUB_EVENT_PATH"], err, b)
	}

	client := jobClient(t, env)
	token := mint(t, client, env, "pypi")
	wheel := wheelFile("demo", "1.0")
	upload(t, client, fakepypi.UploadURL, token, "demo-1.0-py3-none-any.whl", wheel)

	page := get(t, client, fakepypi.SimpleURL+"demo/")
	if !strings.Contains(page, "demo-1.0-py3-none-any.whl") {
		t.Errorf("https://pypi.org/simple/demo/ through the proxy:\n%s", page)
	}
	index, err := ctr.IndexURL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if page := get(t, http.DefaultClient, index+"/simple/demo/"); !strings.Contains(page, "demo-1.0-py3-none-any.whl") {
		t.Errorf("%s/simple/demo/:\n%s", index, page)
	}
	// A host that is not emulated is refused, so a test cannot reach the
	// real internet by mistake.
	if resp, err := client.Get("https://example.com/"); err == nil {
		resp.Body.Close()
		t.Errorf("example.com through the proxy: %s, want a refused CONNECT", resp.Status)
	}
}

// TestOptions checks WithConfig, WithPublisher, WithAudience and
// WithRunContext together: a project from the configuration file, a
// publisher added at start for a new project, a non-default audience and
// a run context that the publisher must match. The harness runs with a
// control token (fakeindex up --control-token), which the module reads
// from the container's env file and sends when it configures the index.
func TestOptions(t *testing.T) {
	ctx := context.Background()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte("users:\n  - name: alice\nprojects:\n  - name: fromconfig\n    owners: [alice]\n"), 0o644)
	ctr, err := fakepypi.Run(ctx, image(t),
		fakepypi.WithConfig(cfg),
		fakepypi.WithAudience("custom-aud"),
		fakepypi.WithPublisher(fakepypi.Publisher{
			Service: "github", Owner: "acme", Repository: "widgets",
			WorkflowFilename: "publish.yml", Environment: "pypi", Projects: []string{"widgets"},
		}),
		fakepypi.WithRunContext("github.repository", "acme/widgets"),
		fakepypi.WithRunContext("github.workflow_file", ".github/workflows/publish.yml"),
		fakepypi.WithRunContext("github.environment", "pypi"),
		testcontainers.WithCmdArgs("--control-token", "tc-control-token"),
	)
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		t.Fatal(err)
	}
	index, err := ctr.IndexURL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := get(t, http.DefaultClient, index+"/_/oidc/audience"); !strings.Contains(got, `"custom-aud"`) {
		t.Errorf("audience: %s", got)
	}
	if tok, err := ctr.ControlToken(ctx); err != nil || tok != "tc-control-token" {
		t.Fatalf("ControlToken: %q, %v", tok, err)
	}
	if resp, err := http.Get(index + "/_fake/projects"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/_fake/projects without the token: %v %v", resp, err)
	}
	req, _ := http.NewRequest("GET", index+"/_fake/projects", nil)
	req.Header.Set("Authorization", "Bearer tc-control-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	projects := string(b)
	for _, p := range []string{"fromconfig", "widgets"} {
		if !strings.Contains(projects, `"`+p+`"`) {
			t.Errorf("project %s missing from %s", p, projects)
		}
	}
	env := envMap(t, ctr)
	if env["GITHUB_REPOSITORY"] != "acme/widgets" {
		t.Errorf("GITHUB_REPOSITORY = %q", env["GITHUB_REPOSITORY"])
	}
	client := jobClient(t, env)
	token := mint(t, client, env, "custom-aud")
	upload(t, client, fakepypi.UploadURL, token, "widgets-2.0-py3-none-any.whl", wheelFile("widgets", "2.0"))
}

func envMap(t *testing.T, ctr *fakepypi.Container) map[string]string {
	t.Helper()
	env, err := ctr.Env(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// jobClient is what a publishing client in that environment uses: the
// proxy for everything, and only the container's CA.
func jobClient(t *testing.T, env map[string]string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(env["SSL_CERT_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", env["SSL_CERT_FILE"])
	}
	proxy, err := url.Parse(env["HTTPS_PROXY"])
	if err != nil {
		t.Fatal(err)
	}
	// NO_PROXY names the Docker host (the mapped ports), nothing else.
	noProxy := env["NO_PROXY"]
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		Proxy: func(r *http.Request) (*url.URL, error) {
			if noProxy != "" && r.URL.Hostname() == noProxy {
				return nil, nil
			}
			return proxy, nil
		},
		TLSClientConfig: &tls.Config{RootCAs: pool},
	}}
}

// mint does the trusted-publishing exchange as gh-action-pypi-publish does.
func mint(t *testing.T, client *http.Client, env map[string]string, aud string) string {
	t.Helper()
	u, err := url.Parse(env["ACTIONS_ID_TOKEN_REQUEST_URL"])
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("audience", aud)
	u.RawQuery = q.Encode()
	req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
	req.Header.Set("Authorization", "bearer "+env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
	var oidc struct{ Value string }
	do(t, client, req, &oidc)
	body, _ := json.Marshal(map[string]string{"token": oidc.Value})
	req, _ = http.NewRequest(http.MethodPost, "https://upload.pypi.org/_/oidc/mint-token", bytes.NewReader(body))
	var minted struct{ Token string }
	do(t, client, req, &minted)
	if !strings.HasPrefix(minted.Token, "pypi-") {
		t.Fatalf("minted %q", minted.Token)
	}
	return minted.Token
}

func do(t *testing.T, client *http.Client, req *http.Request, out any) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s\n%s", req.Method, req.URL, resp.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s: %v\n%s", req.URL, err, b)
	}
}

func get(t *testing.T, client *http.Client, u string) string {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", u, resp.Status, b)
	}
	return string(b)
}

// upload posts a wheel to the legacy upload API as twine does.
func upload(t *testing.T, client *http.Client, uploadURL, token, filename string, content []byte) {
	t.Helper()
	name, rest, _ := strings.Cut(filename, "-")
	version, _, _ := strings.Cut(rest, "-")
	sum := sha256.Sum256(content)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range [][2]string{
		{":action", "file_upload"}, {"protocol_version", "1"}, {"metadata_version", "2.1"},
		{"name", name}, {"version", version}, {"filetype", "bdist_wheel"}, {"pyversion", "py3"},
		{"sha256_digest", hex.EncodeToString(sum[:])},
	} {
		mw.WriteField(f[0], f[1])
	}
	fw, _ := mw.CreateFormFile("content", filename)
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, uploadURL, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.SetBasicAuth("__token__", token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("upload %s: %s\n%s", filename, resp.Status, b)
	}
}

// wheelFile builds the smallest wheel the index accepts.
func wheelFile(name, version string) []byte {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	di := name + "-" + version + ".dist-info/"
	files := [][2]string{
		{name + "/__init__.py", ""},
		{di + "METADATA", "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: fakepypi-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var record strings.Builder
	for _, f := range files {
		record.WriteString(f[0] + ",,\n")
	}
	record.WriteString(di + "RECORD,,\n")
	for _, f := range append(files, [2]string{di + "RECORD", record.String()}) {
		// Stored with sizes and CRC up front: zip.Writer.Create would add
		// data descriptors, which PyPI (and the index) reject.
		w, _ := z.CreateRaw(&zip.FileHeader{
			Name: f[0], Method: zip.Store, CRC32: crc32.ChecksumIEEE([]byte(f[1])),
			CompressedSize64: uint64(len(f[1])), UncompressedSize64: uint64(len(f[1])),
		})
		io.WriteString(w, f[1])
	}
	z.Close()
	return buf.Bytes()
}
