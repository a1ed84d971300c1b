package conform

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/fakepypi/fakepypi/internal/apitoken"
	"github.com/fakepypi/fakepypi/internal/events"
	"github.com/fakepypi/fakepypi/internal/harness"
	"github.com/fakepypi/fakepypi/internal/index"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/issuer"
	"github.com/fakepypi/fakepypi/internal/publisher"
	"github.com/fakepypi/fakepypi/internal/readapi"
	"github.com/fakepypi/fakepypi/internal/sigstore"
	"github.com/fakepypi/fakepypi/pypitest"
)

// maxOutput bounds what is kept of each of the uploader's stdout and stderr.
const maxOutput = 1 << 20

// CaseRun is what happened in one case: the inputs the uploader got, what it
// did, and what the index received. Judges read it.
type CaseRun struct {
	Case  *Case
	Argv  []string
	URL   string  // the --repository-url given
	Dists []Built // the FILE arguments, in order
	// Token is the API token given in FAKEPYPI_PASSWORD ("" for
	// trusted-publishing cases).
	Token, Username string

	ExitCode int // -1 when the process did not exit by itself
	Stdout   []byte
	Stderr   []byte
	Duration time.Duration
	TimedOut bool
	StartErr error
	SetupErr error
	Requests []*Request
	Issued   []string // OIDC tokens the fake issuer handed out
	Events   []events.Event
	Stored   map[string]string // filename -> sha256 of the files the index holds for the release
	// Provenance: the files the index holds with PEP 740 provenance.
	Provenance map[string]bool
	Deadline   time.Duration
	Transport  string // the HTTP timeout exported, for messages
}

// Built is one distribution file given to the uploader.
type Built struct {
	Dist
	Filename string
	Path     string
	Content  []byte
	Meta     pypitest.Metadata
	MD5      string
	SHA256   string
	Blake2   string
	// Attestation is FILE.publish.attestation's content, for cases with
	// --attestations.
	Attestation []byte
}

// Output is stdout and stderr together, without terminal colour codes
// (rich, which twine uses, colours even when not on a terminal).
func (r *CaseRun) Output() string {
	return ansiRe.ReplaceAllString(string(r.Stdout)+"\n"+string(r.Stderr), "")
}

// Uploads returns the upload requests, oldest first.
func (r *CaseRun) Uploads() []*Request {
	var out []*Request
	for _, q := range r.Requests {
		if q.IsUpload() {
			out = append(out, q)
		}
	}
	return out
}

// Requests to path (exact), oldest first.
func (r *CaseRun) To(method, path string) []*Request {
	var out []*Request
	for _, q := range r.Requests {
		if q.Method == method && q.Path == path {
			out = append(out, q)
		}
	}
	return out
}

// Minted returns the tokens the index minted (from mint-token answers).
func (r *CaseRun) Minted() []string {
	var out []string
	for _, q := range r.Requests {
		if !isMintPath(q.Path) || q.Status != 200 {
			continue
		}
		var m struct {
			Token string `json:"token"`
		}
		if json.Unmarshal(q.Answer, &m) == nil && m.Token != "" {
			out = append(out, m.Token)
		}
	}
	return out
}

func isMintPath(p string) bool { return p == "/_/oidc/mint-token" || p == "/_/oidc/github/mint-token" }

// boundedBuffer keeps the first maxOutput bytes written to it.
type boundedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	cut bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := maxOutput - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	if len(p) > maxOutput-b.buf.Len() {
		b.cut = true
	}
	return len(p), nil
}

func (b *boundedBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := append([]byte(nil), b.buf.Bytes()...)
	if b.cut {
		out = append(out, "\n[fakeindex conform: output cut at 1 MiB]\n"...)
	}
	return out
}

// runCase sets up a fresh harness for c, runs the uploader and collects
// what happened. Setup failures are recorded in SetupErr.
func runCase(ctx context.Context, c *Case, entry []string, o Options) *CaseRun {
	r := &CaseRun{Case: c, ExitCode: -1, Deadline: o.Timeout}
	dir, err := os.MkdirTemp("", "fakepypi-conform-")
	if err != nil {
		r.SetupErr = err
		return r
	}
	defer os.RemoveAll(dir)
	if err := r.setup(ctx, dir, entry, o); err != nil && r.SetupErr == nil {
		r.SetupErr = err
	}
	return r
}

func (r *CaseRun) setup(ctx context.Context, dir string, entry []string, o Options) error {
	c := r.Case
	work, home := filepath.Join(dir, "work"), filepath.Join(dir, "home")
	for _, d := range []string{work, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	for _, d := range c.Dists {
		b, err := d.build()
		if err != nil {
			return err
		}
		b.Path = filepath.Join(work, "dist", b.Filename)
		if err := os.MkdirAll(filepath.Dir(b.Path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(b.Path, b.Content, 0o644); err != nil {
			return err
		}
		r.Dists = append(r.Dists, b)
	}

	setup := baseSetup()
	if c.Setup != nil {
		c.Setup(setup)
	}
	iss := issuer.Config{Seed: issuerSeed}
	if len(c.IssuerFaults) > 0 {
		fs, err := issuer.ParseFaults(c.IssuerFaults)
		if err != nil {
			return err
		}
		iss.Faults = fs
	}
	rec := &recorder{}
	h, err := harness.Start(harness.Options{Dir: filepath.Join(dir, "harness"), Setup: setup, Issuer: iss, WrapIndex: rec.wrap})
	if err != nil {
		return fmt.Errorf("harness: %w", err)
	}
	defer func() {
		// End injected delays so that no handler outlives the harness.
		h.Index().Faults.Clear()
		if t := h.TestIndex(); t != nil {
			t.Faults.Clear()
		}
		h.Close()
	}()
	for _, d := range c.Existing {
		b, err := d.build()
		if err != nil {
			return err
		}
		sf := readapi.SeedFile{Project: projectName, Version: b.Meta.Get("Version"), Filename: b.Filename, Content: b.Content}
		if _, err := h.Index().Read.Seed(sf); err != nil {
			return fmt.Errorf("seeding %s: %w", b.Filename, err)
		}
	}
	if c.Flags.Attestations {
		if err := r.attest(ctx, h); err != nil {
			return fmt.Errorf("attesting: %w", err)
		}
	}
	if c.Prepare != nil {
		if err := c.Prepare(h); err != nil {
			return fmt.Errorf("preparing the index: %w", err)
		}
	}

	r.URL = c.Repository
	if r.URL == "" {
		r.URL = harness.UploadURL
	}
	args := append(append([]string(nil), entry...), "upload", "--repository-url", r.URL)
	if c.Flags.SkipExisting {
		args = append(args, "--skip-existing")
	}
	if c.Flags.TrustedPublishing {
		args = append(args, "--trusted-publishing")
	}
	if c.Flags.Attestations {
		args = append(args, "--attestations")
	}
	for _, b := range r.Dists {
		args = append(args, b.Path)
	}
	r.Argv = args

	env, err := r.environ(h, home, o)
	if err != nil {
		return err
	}
	r.exec(ctx, work, env, o.Timeout)

	r.Requests = rec.list()
	if iss := h.Issuer(); iss != nil {
		for _, t := range iss.Issued() {
			r.Issued = append(r.Issued, t.Token)
		}
	}
	r.Events = h.Index().Events.List(events.Filter{})
	r.Stored, r.Provenance = map[string]string{}, map[string]bool{}
	for _, srv := range []*index.Server{h.Index(), h.TestIndex()} {
		if srv == nil {
			continue
		}
		for _, b := range r.Dists {
			files, err := srv.Catalog.ReleaseFiles(pep503(projectName), b.Meta.Get("Version"))
			if err != nil {
				continue
			}
			for _, f := range files {
				r.Stored[f.Filename] = f.SHA256
				if len(f.Provenance) > 0 {
					r.Provenance[f.Filename] = true
				}
			}
		}
	}
	return nil
}

// attest writes FILE.publish.attestation for each file: a PEP 740
// publish attestation signed by the harness's Sigstore for the job's
// GitHub identity, as gh-action-pypi-publish's attestations.py makes them,
// so PyPI's verification on upload accepts it.
func (r *CaseRun) attest(ctx context.Context, h *harness.Harness) error {
	tok, err := h.Issuer().Token(ctx, "sigstore")
	if err != nil {
		return err
	}
	a, err := sigstore.NewAttester(sigstore.Local{S: h.Sigstore()}, tok)
	if err != nil {
		return err
	}
	for i := range r.Dists {
		b := &r.Dists[i]
		att, err := a.Attest(b.Filename, b.SHA256)
		if err != nil {
			return err
		}
		if b.Attestation, err = json.Marshal(att); err != nil {
			return err
		}
		if err := os.WriteFile(b.Path+".publish.attestation", b.Attestation, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// environ is the uploader's environment: the inherited one without
// anything that could carry credentials or configuration into the run,
// then the protocol's variables.
func (r *CaseRun) environ(h *harness.Harness, home string, o Options) ([]string, error) {
	c := r.Case
	drop := map[string]bool{}
	for _, k := range h.Unset() {
		drop[k] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if drop[k] || inheritedDrop(k) {
			continue
		}
		env = append(env, kv)
	}
	for _, kv := range h.Env() {
		k, _, _ := strings.Cut(kv, "=")
		if !protocolVar(k) {
			continue
		}
		if !c.Flags.TrustedPublishing && (k == "ACTIONS_ID_TOKEN_REQUEST_URL" || k == "ACTIONS_ID_TOKEN_REQUEST_TOKEN") {
			// A job without id-token: write, publishing with a token.
			continue
		}
		env = append(env, kv)
	}
	secs := int(o.HTTPTimeout.Round(time.Second) / time.Second)
	r.Transport = strconv.Itoa(max(secs, 1)) + "s"
	env = append(env, "HOME="+home, "FAKEPYPI_CONFORM_PROTOCOL="+ProtocolVersion,
		"FAKEPYPI_TIMEOUT="+strconv.Itoa(max(secs, 1)), "FAKEPYPI_CASE="+c.ID,
		"PYTHONDONTWRITEBYTECODE=1", "PIP_DISABLE_PIP_VERSION_CHECK=1")
	if !c.Flags.TrustedPublishing {
		user, token, err := c.credentials(h)
		if err != nil {
			return nil, err
		}
		r.Username, r.Token = user, token
		env = append(env, "FAKEPYPI_USERNAME="+user, "FAKEPYPI_PASSWORD="+token)
	}
	return env, nil
}

// protocolVar reports whether a harness variable belongs to the protocol:
// the proxy, the CA bundle, the GitHub Actions job, the keyring backend.
// The harness's tool-specific presets (TWINE_REPOSITORY_URL, UV_PUBLISH_URL,
// PIP_INDEX_URL) are left out: the URL comes as an argument.
func protocolVar(k string) bool {
	switch k {
	case "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
		"REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "PIP_CERT", "CURL_CA_BUNDLE", "MATURIN_CA_BUNDLE",
		"FAKEPYPI_CA_BUNDLE", "PYTHON_KEYRING_BACKEND", "RUNNER_TEMP":
		return true
	}
	return strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "ACTIONS_")
}

// inheritedDrop lists inherited variables that would configure the tool
// behind the protocol's back: other credentials, index URLs, a real
// runner's token endpoint, the outer HOME.
func inheritedDrop(k string) bool {
	if k == "HOME" || protocolVar(k) || strings.HasPrefix(k, "FAKEPYPI_") {
		return true
	}
	for _, p := range []string{"TWINE_", "UV_PUBLISH_", "FLIT_", "POETRY_", "PDM_PUBLISH_", "HATCH_INDEX_", "MATURIN_", "PIP_INDEX", "PIP_EXTRA_INDEX"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// exec runs the uploader with a deadline; past it the whole process group
// is killed, so wrappers' children die too.
func (r *CaseRun) exec(parent context.Context, dir string, env []string, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	cmd := exec.Command(r.Argv[0], r.Argv[1:]...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdin = nil
	var stdout, stderr boundedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	setProcessGroup(cmd)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		r.StartErr = err
		return
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-ctx.Done():
		if parent.Err() != nil {
			// The run was interrupted (SIGINT): not the uploader's fault.
			r.SetupErr = errors.New("interrupted")
		} else {
			r.TimedOut = true
		}
		killProcessGroup(cmd)
		select {
		case err = <-waited:
		case <-time.After(5 * time.Second):
			err = errors.New("still running after being killed")
		}
	}
	// Children that outlived the uploader (a daemon it started) must not
	// outlive the case either.
	killProcessGroup(cmd)
	r.Duration = time.Since(start)
	r.Stdout, r.Stderr = stdout.bytes(), stderr.bytes()
	var ee *exec.ExitError
	switch {
	case err == nil:
		r.ExitCode = 0
	case r.TimedOut:
		r.ExitCode = -1
	case errors.As(err, &ee) && ee.Exited():
		r.ExitCode = ee.ExitCode()
	default:
		r.ExitCode = -1
		r.StartErr = err
	}
}

// build makes the distribution's bytes and reads them back as an
// uploader would.
func (d Dist) build() (Built, error) {
	name, version := d.Name, d.Version
	if name == "" {
		name = distName
	}
	if version == "" {
		version = distVersion
	}
	opts := pypitest.DistOptions{Metadata: d.Metadata, Files: d.Files, Tag: d.Tag, MetadataVersion: d.MetadataVersion, Description: d.Description}
	if d.Salt != "" {
		if opts.Files == nil {
			opts.Files = map[string]string{}
		}
		opts.Files["SALT.txt"] = d.Salt
	}
	if d.FillerLines > 0 {
		if opts.Files == nil {
			opts.Files = map[string]string{}
		}
		opts.Files["conform_demo/data.txt"] = strings.Repeat("conformance data\n", d.FillerLines)
	}
	b := Built{Dist: d}
	if d.Sdist {
		b.Filename, b.Content = pypitest.SdistFilename(name, version), pypitest.Sdist(name, version, opts)
	} else {
		b.Filename, b.Content = pypitest.WheelFilename(name, version), pypitest.Wheel(name, version, opts)
		if d.Tag != "" {
			b.Filename = strings.TrimSuffix(b.Filename, "py3-none-any.whl") + d.Tag + ".whl"
		}
	}
	md, err := pypitest.ReadMetadata(b.Filename, b.Content)
	if err != nil {
		return b, err
	}
	b.Meta = md
	m, s := md5.Sum(b.Content), sha256.Sum256(b.Content)
	bl := blake2b.Sum256(b.Content)
	b.MD5, b.SHA256, b.Blake2 = hex.EncodeToString(m[:]), hex.EncodeToString(s[:]), hex.EncodeToString(bl[:])
	return b, nil
}

// baseSetup is every case's index: project Conform-Demo owned by
// conform-owner, with a project-scoped token "conform", a user-scoped
// token "conform-user", a second project for the wrong-project case, and
// a GitHub trusted publisher matching the fake issuer's default run.
func baseSetup() *indexconfig.File {
	return &indexconfig.File{
		Audience: "pypi",
		Users:    []indexconfig.User{{Name: ownerName}},
		Projects: []indexconfig.Project{{Name: projectName, Owners: []string{ownerName}}, {Name: otherProject, Owners: []string{ownerName}}},
		Publishers: []publisher.Publisher{{Service: "github", Owner: "octo-org", Repository: "octo-repo",
			WorkflowFilename: "release.yml", Projects: []string{projectName}}},
		Tokens: []apitoken.UserToken{{Name: "conform", User: ownerName, Projects: []string{projectName}},
			{Name: "conform-other", User: ownerName, Projects: []string{otherProject}}},
	}
}
