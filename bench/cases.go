package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fakepypi/fakepypi/pypitest"
)

// client is the driver's HTTP client: keep-alive, enough idle
// connections for 8 concurrent workers, no proxy from the environment.
var client = &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Minute}

// seq numbers data directories and config files within a run.
var seq atomic.Int64

func (r *runner) path(name string) string {
	return filepath.Join(r.tmp, fmt.Sprintf("%d-%s", seq.Add(1), name))
}

func (r *runner) writeFile(name, content string) (string, error) {
	p := r.path(name)
	return p, os.WriteFile(p, []byte(content), 0o644)
}

// index starts a plain fakeindex with the configuration cfg (YAML), on a
// fresh data directory (or in memory), extra environment and flags.
func (r *runner) index(ctx context.Context, cfg string, memory bool, env []string, args ...string) (*proc, string, error) {
	cf, err := r.writeFile("index.yaml", cfg)
	if err != nil {
		return nil, "", err
	}
	data := r.path("data")
	a := []string{"--addr", "127.0.0.1:0", "--quiet", "--config", cf}
	if memory {
		a = append(a, "--memory")
	} else {
		a = append(a, "--data", data)
	}
	p, _, err := start(ctx, r.fakeindex(), env, append(a, args...)...)
	return p, data, err
}

// postJSON posts v and decodes the answer into out (if not nil).
func postJSON(url string, v, out any) error {
	b, _ := json.Marshal(v)
	resp, err := client.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s %s", url, resp.Status, body)
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}

// userToken makes a user API token for user through /_fake/tokens.
func userToken(base, user string) (string, error) {
	var out struct{ Token string }
	err := postJSON(base+"/_fake/tokens", map[string]any{"name": "bench-" + user, "user": user}, &out)
	return out.Token, err
}

// get fetches url (with an optional Accept) and returns how long it took.
func get(url, accept string) (time.Duration, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	t := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(t)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return d, err
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ---- upload: one big wheel, digests on and off ----

const bigUploadConfig = `
users: [{name: u}]
projects: [{name: big, owners: [u], upload_limit: 8589934592, total_size_limit: 85899345920}]
`

func (r *runner) bigWheel() (wheelFile, error) {
	if w, ok := r.cache["big"].(wheelFile); ok {
		return w, nil
	}
	fmt.Fprintf(os.Stderr, "bench: writing a %s wheel\n", sizeText(r.uploadSize))
	w, err := makeWheelFile(r.tmp, "big", "1.0", r.uploadSize)
	if err == nil {
		r.cache["big"] = w
	}
	return w, err
}

// uploadOnce starts a fresh index on disk and uploads the big wheel to
// it, returning MB/s, server CPU seconds per GiB, server peak RSS (MiB),
// and, with probe, the latencies of /simple/ requested every 10 ms while
// the upload ran.
func (r *runner) uploadOnce(ctx context.Context, w wheelFile, noDigests, probe bool) (mbps, cpuPerGiB, rss float64, lat []float64, err error) {
	var env []string
	if noDigests {
		// The storage engineer's benchmark-only switch (blobstore.Options.NoDigests).
		env = append(env, "FAKEINDEX_BENCH_NO_DIGESTS=1")
	}
	p, data, err := r.index(ctx, bigUploadConfig, false, env)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	defer os.RemoveAll(data)
	defer p.stop()
	tok, err := userToken(p.url, "u")
	if err != nil {
		return 0, 0, 0, nil, err
	}
	f, err := os.Open(w.path)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	defer f.Close()
	req := uploadRequest(p.url+"/legacy/", tok, w.name, w.version, w.filename(), w.sha256, f, w.size)
	stopProbe := make(chan struct{})
	var probeDone sync.WaitGroup
	var probeErr error
	if probe {
		probeDone.Add(1)
		go func() {
			defer probeDone.Done()
			for {
				select {
				case <-stopProbe:
					return
				case <-time.After(10 * time.Millisecond):
				}
				d, err := get(p.url+"/simple/", "")
				if err != nil {
					probeErr = err
					return
				}
				lat = append(lat, ms(d))
			}
		}()
	}
	cpu0 := p.cpu()
	t := time.Now()
	err = upload(client, req)
	took := time.Since(t)
	cpu := p.cpu() - cpu0
	close(stopProbe)
	probeDone.Wait()
	if err != nil {
		return 0, 0, 0, nil, fmt.Errorf("%w (server: %s)", err, p.stderr)
	}
	if probeErr != nil {
		return 0, 0, 0, nil, probeErr
	}
	gib := float64(w.size) / (1 << 30)
	return float64(w.size) / 1e6 / took.Seconds(), cpu.Seconds() / gib, float64(p.memKiB("VmHWM")) / 1024, lat, nil
}

func runUpload(ctx context.Context, r *runner) error {
	w, err := r.bigWheel()
	if err != nil {
		return err
	}
	// Digests on and off back to back, in alternating order from one
	// repetition to the next.
	var on, off float64
	first := len(r.samples["upload.ratio"])%2 == 0
	for _, noDigests := range []bool{!first, first} {
		mbps, cpu, rss, _, err := r.uploadOnce(ctx, w, noDigests, false)
		if err != nil {
			return err
		}
		if noDigests {
			off = mbps
			continue
		}
		on = mbps
		r.record("upload.mbps", mbps)
		r.record("upload.cpu", cpu)
		r.record("upload.rss", rss)
	}
	r.record("upload.ratio", on/off)
	_, _, _, lat, err := r.uploadOnce(ctx, w, false, true)
	if err != nil {
		return err
	}
	if len(lat) > 0 {
		r.record("upload.simple", percentile(lat, 99))
	}
	return nil
}

// ---- catalog: small uploads as the catalog grows ----

func runCatalog(ctx context.Context, r *runner) error {
	const projects = 100
	var cfg strings.Builder
	cfg.WriteString("users: [{name: u}]\nprojects:\n")
	for i := range projects {
		fmt.Fprintf(&cfg, "  - {name: p%03d, owners: [u]}\n", i)
	}
	p, data, err := r.index(ctx, cfg.String(), false, nil)
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)
	defer p.stop()
	tok, err := userToken(p.url, "u")
	if err != nil {
		return err
	}
	lat := make([]float64, 0, r.files)
	for i := range r.files {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		name, version := fmt.Sprintf("p%03d", i%projects), fmt.Sprintf("1.0.%d", i/projects)
		whl, digest := smallWheel(name, version)
		req := uploadRequest(p.url+"/legacy/", tok, name, version, pypitest.WheelFilename(name, version), digest, bytes.NewReader(whl), int64(len(whl)))
		t := time.Now()
		if err := upload(client, req); err != nil {
			return fmt.Errorf("upload %d: %w", i+1, err)
		}
		lat = append(lat, ms(time.Since(t)))
	}
	n := min(100, len(lat)/2)
	early, late := median(lat[:n]), median(lat[len(lat)-n:])
	r.record("catalog.ratio", late/early)
	r.record("catalog.p50", late)
	return nil
}

// ---- mint: the index's exchange, as the event log fills ----

// mintRig is a fakeissuer and a fakeindex trusting it.
type mintRig struct {
	iss, idx *proc
}

func (r *runner) mintRig(ctx context.Context) (*mintRig, error) {
	iss, _, err := start(ctx, r.fakeissuer(), nil, "--addr", "127.0.0.1:0", "--quiet", "--seed", "bench", "--request-token", "rt")
	if err != nil {
		return nil, err
	}
	idx, _, err := r.index(ctx, `
users: [{name: u}]
projects: [{name: demo, owners: [u]}]
publishers:
  - {service: github, owner: octo-org, repository: octo-repo, workflow_filename: release.yml, projects: [demo]}
`, true, nil, "--discovery", "github="+iss.url)
	if err != nil {
		iss.stop()
		return nil, err
	}
	return &mintRig{iss: iss, idx: idx}, nil
}

func (m *mintRig) stop() { m.idx.stop(); m.iss.stop() }

// token asks the issuer's GitHub token endpoint, as a workflow does.
func (m *mintRig) token() (string, error) {
	req, _ := http.NewRequest(http.MethodGet, m.iss.url+"/github/idtoken?api-version=2.0&audience=pypi", nil)
	req.Header.Set("Authorization", "bearer rt")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct{ Value string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Value == "" {
		return "", fmt.Errorf("token endpoint: %s %v", resp.Status, err)
	}
	return out.Value, nil
}

// mint exchanges tok at the index and checks for success.
func (m *mintRig) mint(tok string) error {
	resp, err := client.Post(m.idx.url+"/_/oidc/mint-token", "application/json", strings.NewReader(`{"token": "`+tok+`"}`))
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mint-token: %s %s", resp.Status, body)
	}
	return nil
}

// parallel runs f(i) for i in [0, n) on 8 workers and returns the
// first error.
func parallel(n int, f func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n))
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// eventLogFull is the mint after which the index's event log (10,000
// events) is full: RSS is compared with what it was then.
const eventLogFull = 10000

// runMintFlat mints r.mints tokens (each fetched from the issuer, then
// exchanged) with 8 workers and compares the index's CPU per mint and
// RSS late in the run with early in it: the event log is full after
// 10,000 events.
func runMintFlat(ctx context.Context, r *runner) error {
	m, err := r.mintRig(ctx)
	if err != nil {
		return err
	}
	defer m.stop()
	tenth := r.mints / 10
	var mu sync.Mutex
	cpu := map[int]time.Duration{0: m.idx.cpu()}
	rss := map[int]int64{}
	var done atomic.Int64
	err = parallel(r.mints, func(int) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		tok, err := m.token()
		if err != nil {
			return err
		}
		if err := m.mint(tok); err != nil {
			return err
		}
		if n := int(done.Add(1)); n%tenth == 0 || n == eventLogFull {
			c, s := m.idx.cpu(), m.idx.memKiB("VmRSS")
			mu.Lock()
			cpu[n], rss[n] = c, s
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return err
	}
	n := tenth * 10
	first := cpu[tenth] - cpu[0]
	last := cpu[n] - cpu[n-tenth]
	r.record("mint.cpu", float64(last)/float64(first))
	if n >= 2*eventLogFull {
		r.record("mint.rss", float64(rss[n])/float64(rss[eventLogFull]))
		r.record("mint.rssfull", float64(rss[eventLogFull])/1024)
		r.record("mint.rssend", float64(rss[n])/1024)
		r.record("mint.rssper", float64(rss[n]-rss[eventLogFull])*1024/float64(n-eventLogFull))
	}
	r.record("mint.cpums", ms(last)/float64(tenth))
	return nil
}

// runRates measures the issuer's token endpoint and then the index's
// exchange, each with 8 concurrent clients.
func runRates(ctx context.Context, r *runner) error {
	m, err := r.mintRig(ctx)
	if err != nil {
		return err
	}
	defer m.stop()
	n := 3000
	if r.mints < 50000 {
		n = 1000
	}
	toks := make([]string, n)
	t, cpu := time.Now(), m.iss.cpu()
	if err := parallel(n, func(i int) (err error) { toks[i], err = m.token(); return err }); err != nil {
		return err
	}
	r.record("rate.issuer", float64(n)/time.Since(t).Seconds())
	r.record("rate.issuercpu", ms(m.iss.cpu()-cpu)/float64(n))
	t = time.Now()
	if err := parallel(n, func(i int) error { return m.mint(toks[i]) }); err != nil {
		return err
	}
	r.record("rate.mint", float64(n)/time.Since(t).Seconds())
	return nil
}

// ---- read: the JSON and simple APIs at 1,000 releases ----

// seed1000 gives project "big" 1,000 releases through /_fake/seed.
func seed1000(base string) error {
	meta := map[string]any{"metadata_version": "2.1", "summary": "a project with many releases",
		"description": strings.Repeat("A long description. ", 20), "requires_python": ">=3.8",
		"classifiers": []string{"Programming Language :: Python :: 3", "License :: OSI Approved :: MIT License"}}
	return parallel(1000, func(i int) error {
		v := fmt.Sprintf("%d.%d.%d", i/100, (i/10)%10, i%10)
		switch i % 7 {
		case 3:
			v += "rc1"
		case 5:
			v += ".post1"
		}
		whl, _ := smallWheel("big", v)
		return postJSON(base+"/_fake/seed", map[string]any{"project": "big", "version": v,
			"filename": pypitest.WheelFilename("big", v), "content": whl, "metadata": meta}, nil)
	})
}

func runRead(ctx context.Context, r *runner) error {
	p, _, err := r.index(ctx, "users: [{name: u}]\n", true, nil)
	if err != nil {
		return err
	}
	defer p.stop()
	if err := seed1000(p.url); err != nil {
		return err
	}
	for _, c := range []struct{ key, path, accept string }{
		{"read.json", "/pypi/big/json", ""},
		{"read.simple", "/simple/big/", ""},
		{"read.simplejson", "/simple/big/", "application/vnd.pypi.simple.v1+json"},
	} {
		var lat []float64
		for i := range 105 {
			d, err := get(p.url+c.path, c.accept)
			if err != nil {
				return err
			}
			if i >= 5 { // the first requests warm the caches
				lat = append(lat, ms(d))
			}
		}
		r.record(c.key, median(lat))
	}
	return nil
}

// ---- start: `fakeindex up` until its environment is printed ----

func runStart(ctx context.Context, r *runner) error {
	dir := r.path("up")
	defer os.RemoveAll(dir)
	up := func() (time.Duration, error) {
		p, ready, err := start(ctx, r.fakeindex(), nil, "up", "--quiet", "--data", dir)
		if err != nil {
			return 0, err
		}
		p.stop()
		return ready, nil
	}
	fresh, err := up()
	if err != nil {
		return err
	}
	r.record("start.fresh", ms(fresh))
	var ready []float64
	for range 10 {
		d, err := up()
		if err != nil {
			return err
		}
		ready = append(ready, ms(d))
	}
	r.record("start.ready", median(ready))
	return nil
}

// ---- proxy: pip download through the proxy and from the direct listener ----

func (r *runner) pipWheel() (wheelFile, error) {
	if w, ok := r.cache["pip"].(wheelFile); ok {
		return w, nil
	}
	w, err := makeWheelFile(r.tmp, "pipbig", "1.0", r.pipSize)
	if err == nil {
		r.cache["pip"] = w
	}
	return w, err
}

// python is Debian's python3 when present (what CI installs), else the
// first on PATH.
func python() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

func runProxy(ctx context.Context, r *runner) error {
	w, err := r.pipWheel()
	if err != nil {
		return err
	}
	cfg, err := r.writeFile("up.yaml", "users: [{name: u}]\nprojects: [{name: pipbig, owners: [u], upload_limit: 4294967296}]\n")
	if err != nil {
		return err
	}
	dir, envFile := r.path("up"), r.path("env")
	defer os.RemoveAll(dir)
	p, _, err := start(ctx, r.fakeindex(), nil, "up", "--quiet", "--data", dir, "--config", cfg, "--env-file", envFile)
	if err != nil {
		return err
	}
	defer p.stop()
	env, err := readEnvFile(envFile)
	if err != nil {
		return err
	}
	direct := strings.Replace(env["FAKEPYPI_INDEX_URL"], "https://", "http://", 1)
	tok, err := userToken(direct, "u")
	if err != nil {
		return err
	}
	f, err := os.Open(w.path)
	if err != nil {
		return err
	}
	err = upload(client, uploadRequest(direct+"/legacy/", tok, w.name, w.version, w.filename(), w.sha256, f, w.size))
	f.Close()
	if err != nil {
		return err
	}
	pip := func(viaProxy bool) (time.Duration, error) {
		out := r.path("pip")
		defer os.RemoveAll(out)
		index := env["FAKEPYPI_INDEX_URL"] + "/simple/"
		cmdEnv := []string{"HOME=" + r.tmp, "PATH=" + os.Getenv("PATH"), "NO_PROXY=", "no_proxy="}
		if viaProxy {
			index = "https://pypi.org/simple/"
			cmdEnv = append(cmdEnv, "HTTPS_PROXY="+env["FAKEPYPI_PROXY_URL"], "https_proxy="+env["FAKEPYPI_PROXY_URL"])
		}
		cmd := exec.CommandContext(ctx, python(), "-m", "pip", "download", "--no-deps", "--no-cache-dir",
			"--disable-pip-version-check", "-q", "-d", out, "--index-url", index, "--cert", env["FAKEPYPI_CA_BUNDLE"], w.name+"=="+w.version)
		cmd.Env = cmdEnv
		t := time.Now()
		b, err := cmd.CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("pip download: %v: %s", err, b)
		}
		d := time.Since(t)
		if st, err := os.Stat(filepath.Join(out, w.filename())); err != nil || st.Size() != w.size {
			return 0, errors.New("pip download: the wheel did not arrive whole")
		}
		return d, nil
	}
	// direct, proxy, proxy, direct: each side gets an early and a late turn.
	var direct2, proxy2 []float64
	for _, viaProxy := range []bool{false, true, true, false} {
		d, err := pip(viaProxy)
		if err != nil {
			return err
		}
		if viaProxy {
			proxy2 = append(proxy2, d.Seconds())
		} else {
			direct2 = append(direct2, d.Seconds())
		}
	}
	pt, dt := median(proxy2), median(direct2)
	r.record("proxy.ratio", dt/pt)
	r.record("proxy.mbps", float64(w.size)/1e6/pt)
	return nil
}

// readEnvFile parses `export K='V'` lines.
func readEnvFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		kv, ok := strings.CutPrefix(l, "export ")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		env[k] = strings.ReplaceAll(strings.Trim(v, "'"), `'\''`, "'")
	}
	return env, nil
}
