package fakepypi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// loadEnv reads the environment `fakeindex up` wrote in the container and
// translates it for this machine, once.
func (c *Container) loadEnv(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.env != nil {
		return nil
	}
	r, err := c.CopyFileFromContainer(ctx, envFile)
	if err != nil {
		return fmt.Errorf("fakepypi: job environment: %w", err)
	}
	raw, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		return fmt.Errorf("fakepypi: job environment: %w", err)
	}
	vars, unset, err := parseShell(raw)
	if err != nil {
		return fmt.Errorf("fakepypi: %s: %w", envFile, err)
	}
	// A data path that prefixes another is a directory (RUNNER_TEMP holds
	// the event file...): created on the host rather than copied, since the
	// Docker copy API hands a directory back as a tar.
	dirs := map[string]bool{}
	for _, a := range vars {
		for _, b := range vars {
			if strings.HasPrefix(a[1], "/") && strings.HasPrefix(b[1], a[1]+"/") {
				dirs[a[1]] = true
			}
		}
	}
	rw, err := c.rewriter(ctx, dirs)
	if err != nil {
		return err
	}
	host, err := c.Host(ctx)
	if err != nil {
		return err
	}
	env := make([]string, 0, len(vars))
	for _, kv := range vars {
		v, err := rw(ctx, kv[1])
		if err != nil {
			return fmt.Errorf("fakepypi: %s: %w", kv[0], err)
		}
		switch kv[0] {
		case "NO_PROXY", "no_proxy":
			// `fakeindex up` empties NO_PROXY and routes its own loopback
			// listeners through the proxy by port. The mapped ports differ
			// from the container's, so the proxy cannot recognise them:
			// clients must reach the Docker host's ports directly (the
			// direct ACTIONS_ID_TOKEN_REQUEST_URL, FAKEPYPI_*_URL), and
			// only those; PyPI's hostnames still go through the proxy.
			v = strings.Trim(host, "[]")
		}
		env = append(env, kv[0]+"="+v)
	}
	c.env, c.unset = env, unset
	return nil
}

// rewriter returns a function that maps a value of the container's
// environment to this machine's: listener addresses (the container binds
// 0.0.0.0, printed as [::] or 0.0.0.0) become the mapped host ports, and
// paths under the data directory become host copies of those files.
func (c *Container) rewriter(ctx context.Context, dirs map[string]bool) (func(context.Context, string) (string, error), error) {
	host, err := c.Host(ctx)
	if err != nil {
		return nil, err
	}
	// The container's certificates name localhost and loopback only; to
	// another Docker host address, https on the direct ports cannot verify,
	// so those URLs fall back to plain HTTP, which the same ports speak.
	tlsOK := host == "localhost" || host == "127.0.0.1" || host == "::1"
	var pairs []string
	for _, p := range []string{IndexPort, IssuerPort, ProxyPort} {
		ep, err := c.endpoint(ctx, p)
		if err != nil {
			return nil, err
		}
		port := strings.TrimSuffix(p, "/tcp")
		// fakeindex up names a listener on every interface by 127.0.0.1;
		// older images printed [::] or 0.0.0.0.
		for _, h := range []string{"127.0.0.1", "[::]", "0.0.0.0"} {
			in := net.JoinHostPort(strings.Trim(h, "[]"), port)
			if !tlsOK {
				pairs = append(pairs, "https://"+in, "http://"+ep)
			}
			pairs = append(pairs, in, ep)
		}
	}
	addrs := strings.NewReplacer(pairs...)
	return func(ctx context.Context, v string) (string, error) {
		if v == dataDir || strings.HasPrefix(v, dataDir+"/") {
			if dirs[v] {
				d := c.hostFile(v)
				return d, os.MkdirAll(d, 0o755)
			}
			return c.hostPath(ctx, v)
		}
		return addrs.Replace(v), nil
	}, nil
}

// hostFile is where the host copy of container path p (under the data
// directory) lives.
func (c *Container) hostFile(p string) string {
	return filepath.Join(c.hostDir, filepath.FromSlash(strings.TrimPrefix(p, dataDir)))
}

// hostPath copies a file of the container's data directory to the host
// directory (once) and returns the copy's path.
func (c *Container) hostPath(ctx context.Context, p string) (string, error) {
	dst := c.hostFile(p)
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	r, err := c.CopyFileFromContainer(ctx, p)
	if err != nil {
		return "", fmt.Errorf("copy %s from the container: %w", p, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	return dst, os.WriteFile(dst, b, 0o644)
}

// parseShell reads the "unset A B" and "export K='V'" lines `fakeindex up`
// writes (harness.Shell): single-quoted values, ' written as '\”.
func parseShell(b []byte) (vars [][2]string, unset []string, err error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "unset "):
			unset = append(unset, strings.Fields(strings.TrimPrefix(line, "unset "))...)
		case strings.HasPrefix(line, "export "):
			k, q, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
			if !ok || len(q) < 2 || q[0] != '\'' || q[len(q)-1] != '\'' {
				return nil, nil, fmt.Errorf("unexpected line %q", line)
			}
			vars = append(vars, [2]string{k, strings.ReplaceAll(q[1:len(q)-1], `'\''`, "'")})
		default:
			return nil, nil, fmt.Errorf("unexpected line %q", line)
		}
	}
	return vars, unset, sc.Err()
}

// configure applies the settings that go through the index's control
// plane once it is up: audience, then publishers (creating their projects).
func (c *Container) configure(ctx context.Context) error {
	if c.settings.audience == "" && len(c.settings.publishers) == 0 {
		return nil
	}
	base, err := c.IndexURL(ctx)
	if err != nil {
		return err
	}
	token, err := c.ControlToken(ctx)
	if err != nil {
		return err
	}
	call := func(ctx context.Context, method, url string, in, out any) error {
		return callControl(ctx, token, method, url, in, out)
	}
	if c.settings.audience != "" {
		if err := call(ctx, http.MethodPut, base+"/_fake/audience", map[string]string{"audience": c.settings.audience}, nil); err != nil {
			return err
		}
	}
	var projects []struct {
		Name string `json:"name"`
	}
	if err := call(ctx, http.MethodGet, base+"/_fake/projects", nil, &projects); err != nil {
		return err
	}
	have := map[string]bool{}
	for _, p := range projects {
		have[p.Name] = true
	}
	for _, pub := range c.settings.publishers {
		for _, name := range pub.Projects {
			if have[name] {
				continue
			}
			if err := call(ctx, http.MethodPost, base+"/_fake/projects", map[string]string{"name": name}, nil); err != nil {
				return err
			}
			have[name] = true
		}
		if err := call(ctx, http.MethodPost, base+"/_fake/publishers", pub, nil); err != nil {
			return err
		}
	}
	return nil
}

// controlClient talks to the mapped ports directly, never through a proxy
// from this process's environment.
var controlClient = &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 30 * time.Second}

// ControlToken is the token the harness's /_fake/ control plane wants
// ("Authorization: Bearer <token>"), "" for none: the container's
// FAKEPYPI_CONTROL_TOKEN, set when `fakeindex up` ran with --control-token
// (e.g. through testcontainers.WithCmdArgs) or had it in its environment.
func (c *Container) ControlToken(ctx context.Context) (string, error) {
	if err := c.loadEnv(ctx); err != nil {
		return "", err
	}
	for _, kv := range c.env {
		if v, ok := strings.CutPrefix(kv, "FAKEPYPI_CONTROL_TOKEN="); ok {
			return v, nil
		}
	}
	return "", nil
}

// callControl sends a JSON control-plane request with the control token
// (if any) and decodes a 2xx answer into out. Writes always say
// application/json: the control plane refuses any other type.
func callControl(ctx context.Context, token, method, url string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	if method != http.MethodGet && method != http.MethodHead {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := controlClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, strings.TrimSpace(string(b)))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
