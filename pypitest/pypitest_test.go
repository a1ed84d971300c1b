package pypitest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/pypitest"
)

const config = `
users: [{name: alice}]
projects:
  - {name: demo, owners: [alice]}
publishers:
  - {service: github, owner: octo-org, repository: octo-repo, workflow_filename: release.yml, projects: [demo]}
tokens:
  - {name: alice-all, user: alice}
`

// The whole publish flow: OIDC token, exchange, upload, then the file is
// in the simple index and the events say what happened.
func TestPublishRoundTrip(t *testing.T) {
	t.Parallel()
	h := pypitest.New(t, pypitest.WithConfig(config))
	tok := h.PublishToken()
	if !strings.HasPrefix(tok, "pypi-") {
		t.Fatalf("token %q", tok)
	}
	whl := pypitest.Wheel("demo", "1.0")
	res, err := h.Upload(tok, pypitest.WheelFilename("demo", "1.0"), whl)
	if err != nil || res.Status != 200 {
		t.Fatalf("upload: %v %+v", err, res)
	}
	sd := pypitest.Sdist("demo", "1.0")
	if res, err := h.Upload(tok, pypitest.SdistFilename("demo", "1.0"), sd); err != nil || res.Status != 200 {
		t.Fatalf("sdist upload: %v %s", err, res.StatusLine())
	}
	resp, err := h.Client().Get(h.SimpleURL() + "demo/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("simple: %v %v", err, resp)
	}
	resp.Body.Close()
	if ev := h.Events("mint"); len(ev) != 1 || ev[0].Verdict != "ok" {
		t.Errorf("mint events: %+v", ev)
	}
	if ev := h.Events("upload"); len(ev) != 2 {
		t.Errorf("upload events: %+v", ev)
	}
}

// A refusal comes back as data, with PyPI's code and description.
func TestExchangeRefused(t *testing.T) {
	t.Parallel()
	h := pypitest.New(t, pypitest.WithConfig(config), pypitest.WithContext("github.workflow_file", ".github/workflows/other.yml"))
	jwt, err := h.OIDCToken("github", "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := h.Exchange(jwt)
	if err != nil {
		t.Fatal(err)
	}
	want := "valid token, but no corresponding publisher (Publisher with matching claims was not found)"
	if m.Status != 422 || len(m.Errors) != 1 || m.Errors[0].Code != "invalid-publisher" || m.Errors[0].Description != want {
		t.Fatalf("got %d %s", m.Status, m.Body)
	}
	if ev := h.Events("mint"); len(ev) != 1 || !strings.Contains(ev[0].Why, "other.yml") {
		t.Errorf("events: %+v", ev)
	}
}

// AdvanceClock moves the index's clock: a minted token dies after 15 min.
func TestClockExpiresToken(t *testing.T) {
	t.Parallel()
	h := pypitest.New(t, pypitest.WithConfig(config))
	tok := h.PublishToken()
	h.AdvanceClock(16 * time.Minute)
	res, err := h.Upload(tok, pypitest.WheelFilename("demo", "1.0"), pypitest.Wheel("demo", "1.0"))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusLine() != "403 Invalid API Token: token is expired" {
		t.Fatalf("got %q", res.StatusLine())
	}
}

// Seeded files exist before the test; re-uploading one is idempotent.
func TestSeedAndAPIToken(t *testing.T) {
	t.Parallel()
	h := pypitest.New(t, pypitest.WithConfig(config))
	whl := pypitest.Wheel("demo", "0.9")
	if err := h.Seed("demo", "", pypitest.WheelFilename("demo", "0.9"), whl); err != nil {
		t.Fatal(err)
	}
	tok, ok := h.APIToken("alice-all")
	if !ok {
		t.Fatal("no token alice-all")
	}
	res, err := h.Upload(tok, pypitest.WheelFilename("demo", "0.9"), whl)
	if err != nil || res.Status != 200 {
		t.Fatalf("identical re-upload: %v %+v", err, res)
	}
	res, _ = h.Upload(tok, pypitest.WheelFilename("demo", "0.9"), pypitest.Wheel("demo", "0.9", pypitest.DistOptions{Metadata: []string{"Keywords: x"}}))
	if res.Status != 400 || !strings.HasPrefix(res.Reason, "File already exists") {
		t.Fatalf("conflicting re-upload: %s", res.StatusLine())
	}
}

func TestEnvAndBadConfig(t *testing.T) {
	t.Parallel()
	h := pypitest.New(t)
	env := strings.Join(h.Env(), "\n")
	for _, want := range []string{"ACTIONS_ID_TOKEN_REQUEST_URL=", "REQUESTS_CA_BUNDLE=", "TWINE_REPOSITORY_URL=" + h.UploadURL()} {
		if !strings.Contains(env, want) {
			t.Errorf("Env lacks %s", want)
		}
	}
	if _, err := pypitest.Start(pypitest.WithConfig("projects: [{nme: x}]")); err == nil {
		t.Error("Start accepted an unknown key")
	}
}

func TestReadMetadata(t *testing.T) {
	for _, fn := range []string{"demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz"} {
		var b []byte
		if strings.HasSuffix(fn, ".whl") {
			b = pypitest.Wheel("Demo", "1.0", pypitest.DistOptions{Metadata: []string{"Requires-Dist: a", "Requires-Dist: b"}})
		} else {
			b = pypitest.Sdist("Demo", "1.0", pypitest.DistOptions{Metadata: []string{"Requires-Dist: a", "Requires-Dist: b"}})
		}
		md, err := pypitest.ReadMetadata(fn, b)
		if err != nil {
			t.Fatal(err)
		}
		if md.Get("Name") != "Demo" || len(md.Header["Requires-Dist"]) != 2 {
			t.Errorf("%s: %+v", fn, md)
		}
		name, v, err := pypitest.ParseFilename(fn)
		if name != "demo" || v != "1.0" || err != nil {
			t.Errorf("ParseFilename(%s) = %s %s %v", fn, name, v, err)
		}
	}
}

// WithProxy: PyPI's real hostnames answer through the proxy, with the CA.
func TestWithProxy(t *testing.T) {
	t.Parallel()
	h := pypitest.New(t, pypitest.WithProxy())
	resp, err := h.Client().Get("https://pypi.org/_/oidc/audience")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("audience through the proxy: %s", resp.Status)
	}
	if !strings.Contains(strings.Join(h.Env(), "\n"), "HTTPS_PROXY=") {
		t.Error("Env lacks HTTPS_PROXY")
	}
	// The harness's own calls still reach the direct listeners.
	tok := h.PublishToken()
	if res, err := h.Upload(tok, pypitest.WheelFilename("demo", "1.0"), pypitest.Wheel("demo", "1.0")); err != nil || res.Status != 200 {
		t.Fatalf("upload with the proxy running: %v %+v", err, res)
	}
}

// TestWriteLargeWheel: a large wheel written by WriteLargeWheel is
// accepted by the upload checks (RECORD, CRCs, no data descriptors), its
// returned digest is its sha256, and the same arguments give the same
// bytes.
func TestWriteLargeWheel(t *testing.T) {
	t.Parallel()
	var a, b bytes.Buffer
	sum, err := pypitest.WriteLargeWheel(&a, "demo", "2.0", 3<<20+17)
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256.Sum256(a.Bytes()); hex.EncodeToString(got[:]) != sum || a.Len() < 3<<20 {
		t.Fatalf("digest %s, %d bytes", sum, a.Len())
	}
	if _, err := pypitest.WriteLargeWheel(&b, "demo", "2.0", 3<<20+17); err != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("not reproducible")
	}
	h := pypitest.New(t, pypitest.WithConfig(config))
	tok, _ := h.APIToken("alice-all")
	res, err := h.Upload(tok, pypitest.WheelFilename("demo", "2.0"), a.Bytes())
	if err != nil || res.Status != 200 {
		t.Fatalf("upload: %v %+v", err, res)
	}
}
