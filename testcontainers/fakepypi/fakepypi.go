// Package fakepypi is a testcontainers-go module for fakepypi: an offline
// PyPI (upload, simple/JSON APIs, Trusted Publishing token exchange), a fake
// GitHub Actions OIDC issuer and an intercepting HTTPS proxy answering
// PyPI's real hostnames, all in one container running `fakeindex up`.
//
//	ctr, err := fakepypi.Run(ctx, "fakepypi:dev")
//	testcontainers.CleanupContainer(t, ctr)
//	if err != nil { t.Fatal(err) }
//	env, err := ctr.Env(ctx) // a GitHub Actions publish job's environment
//	cmd := exec.Command("twine", "upload", "dist/*")
//	cmd.Env = append(os.Environ(), env...)
//
// The image is built locally (docker/build.sh in the fakepypi repository)
// and never pulled. It is its own Go module so that fakepypi's binaries do
// not depend on Docker client libraries. See docs/containers.md.
package fakepypi

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Ports inside the container, as the image's default command sets them.
// The index and issuer ports speak both TLS and plain HTTP.
const (
	IndexPort  = "8080/tcp"
	IssuerPort = "8081/tcp"
	ProxyPort  = "8082/tcp"
)

// The URLs of the emulated PyPI that clients use through the proxy
// (HTTPS_PROXY from Env).
const (
	UploadURL     = "https://upload.pypi.org/legacy/"
	SimpleURL     = "https://pypi.org/simple/"
	TestUploadURL = "https://test.pypi.org/legacy/"
)

const (
	dataDir    = "/data"
	envFile    = dataDir + "/fakepypi.env"
	configFile = "/etc/fakepypi/config.yaml"
	caFile     = dataDir + "/ca/ca.pem"
)

// Container is a running fakepypi container.
type Container struct {
	testcontainers.Container
	settings options

	mu      sync.Mutex
	hostDir string // host copies of the CA bundle and runner files; removed on Terminate
	env     []string
	unset   []string
}

// Run starts the image (built locally, e.g. "fakepypi:dev") running the
// whole harness and waits until the index answers and the job environment
// is written. Module Options (WithConfig, WithPublisher, WithAudience,
// WithRunContext) and testcontainers' own customizers can be mixed; the
// latter are applied last, so they override the defaults. As in
// testcontainers' modules, a non-nil Container is returned even with an
// error whenever one was created, for testcontainers.CleanupContainer.
func Run(ctx context.Context, img string, opts ...testcontainers.ContainerCustomizer) (*Container, error) {
	var settings options
	for _, o := range opts {
		if o, ok := o.(Option); ok {
			if err := o(&settings); err != nil {
				return nil, err
			}
		}
	}

	cmd := []string{"/fakeindex", "up", "--data", dataDir, "--env-file", envFile,
		"--addr-index", "0.0.0.0:8080", "--addr-issuer", "0.0.0.0:8081", "--addr-proxy", "0.0.0.0:8082"}
	for _, s := range settings.sets {
		cmd = append(cmd, "--set", s)
	}
	hostDir, err := os.MkdirTemp("", "fakepypi-tc-")
	if err != nil {
		return nil, fmt.Errorf("run fakepypi: %w", err)
	}
	moduleOpts := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts(IndexPort, IssuerPort, ProxyPort),
		// Never pull: there may be no registry, and the image only exists
		// where it was built.
		testcontainers.WithWaitStrategy(wait.ForAll(
			wait.ForHTTP("/_fake/health").WithPort(IndexPort).WithStartupTimeout(60*time.Second),
			// Written atomically once every listener is ready.
			wait.ForFile(envFile).WithStartupTimeout(60*time.Second),
		)),
		testcontainers.WithLifecycleHooks(testcontainers.ContainerLifecycleHooks{
			PostTerminates: []testcontainers.ContainerHook{func(context.Context, testcontainers.Container) error {
				return os.RemoveAll(hostDir)
			}},
		}),
	}
	if settings.config != nil {
		cmd = append(cmd, "--config", configFile)
		moduleOpts = append(moduleOpts, withFileContent(settings.config, configFile))
	}
	moduleOpts = append(moduleOpts, testcontainers.WithCmd(cmd...))
	moduleOpts = append(moduleOpts, opts...)

	note := detectHost(ctx) // host.go: the container-in-container case
	ctr, err := testcontainers.Run(ctx, img, moduleOpts...)
	var c *Container
	if ctr != nil {
		c = &Container{Container: ctr, settings: settings, hostDir: hostDir}
	} else {
		os.RemoveAll(hostDir)
	}
	if err != nil {
		return c, fmt.Errorf("run fakepypi: %w%s", err, hostHint(note))
	}
	if err := c.configure(ctx); err != nil {
		return c, fmt.Errorf("run fakepypi: %w", err)
	}
	return c, nil
}

// withFileContent copies content into the container at path, readable by
// the image's unprivileged user.
func withFileContent(content []byte, path string) testcontainers.CustomizeRequestOption {
	return testcontainers.WithFiles(testcontainers.ContainerFile{
		Reader:            strings.NewReader(string(content)),
		ContainerFilePath: path,
		FileMode:          0o644,
	})
}

// endpoint is host:port of an exposed port as seen from this process.
func (c *Container) endpoint(ctx context.Context, port string) (string, error) {
	host, err := c.Host(ctx)
	if err != nil {
		return "", err
	}
	p, err := c.MappedPort(ctx, port)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, p.Port()), nil
}

// IndexURL is the PyPI index's base URL on the mapped port, plain HTTP
// (e.g. http://localhost:32768): /simple/, /legacy/, /_/oidc/... and the
// control plane /_fake/. The port also speaks TLS, with a certificate for
// localhost and 127.0.0.1 from the container's CA.
func (c *Container) IndexURL(ctx context.Context) (string, error) {
	e, err := c.endpoint(ctx, IndexPort)
	if err != nil {
		return "", err
	}
	return "http://" + e, nil
}

// IssuerURL is the fake issuer's base URL on the mapped port, plain HTTP:
// GitHub's token endpoint, discovery, JWKS and its /_fake/ control plane
// (docs/fakeissuer.md).
func (c *Container) IssuerURL(ctx context.Context) (string, error) {
	e, err := c.endpoint(ctx, IssuerPort)
	if err != nil {
		return "", err
	}
	return "http://" + e, nil
}

// ProxyURL is the intercepting proxy's URL for HTTPS_PROXY: through it
// https://pypi.org, https://upload.pypi.org, https://files.pythonhosted.org,
// https://test.pypi.org and https://token.actions.githubusercontent.com
// reach the container, and every other host is refused.
func (c *Container) ProxyURL(ctx context.Context) (string, error) {
	e, err := c.endpoint(ctx, ProxyPort)
	if err != nil {
		return "", err
	}
	return "http://" + e, nil
}

// CACertPEM returns the container's CA certificate, the only one clients
// must trust (PEM).
func (c *Container) CACertPEM(ctx context.Context) ([]byte, error) {
	r, err := c.CopyFileFromContainer(ctx, caFile)
	if err != nil {
		return nil, fmt.Errorf("fakepypi: CA certificate: %w", err)
	}
	defer r.Close()
	return io.ReadAll(r)
}

// CABundle returns the path of a host file holding CACertPEM, for
// REQUESTS_CA_BUNDLE, SSL_CERT_FILE or PIP_CERT. It is removed when the
// container is terminated.
func (c *Container) CABundle(ctx context.Context) (string, error) {
	if err := c.loadEnv(ctx); err != nil {
		return "", err
	}
	return c.hostPath(ctx, caFile)
}

// Env returns the environment of a GitHub Actions publish job against this
// container, as "KEY=value" entries for a process on this machine:
// GITHUB_ACTIONS, ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN and the other
// GITHUB_* variables, HTTPS_PROXY (the mapped proxy port), the CA bundle
// (REQUESTS_CA_BUNDLE, SSL_CERT_FILE, PIP_CERT... as host files), the index
// URLs for twine, uv and pip, and FAKEPYPI_INDEX_URL/_ISSUER_URL/_PROXY_URL.
// It is the environment `fakeindex up` prints, with the container's
// addresses and files replaced by their host equivalents. Remove Unset
// from an inherited environment first (other CI systems' variables).
func (c *Container) Env(ctx context.Context) ([]string, error) {
	if err := c.loadEnv(ctx); err != nil {
		return nil, err
	}
	return append([]string(nil), c.env...), nil
}

// Unset lists the variables a job must not inherit (another CI system's
// would make clients detect the wrong CI).
func (c *Container) Unset(ctx context.Context) ([]string, error) {
	if err := c.loadEnv(ctx); err != nil {
		return nil, err
	}
	return append([]string(nil), c.unset...), nil
}

// Environ returns base without Unset and without the variables Env sets,
// followed by Env: ready for exec.Cmd.Env.
func (c *Container) Environ(ctx context.Context, base []string) ([]string, error) {
	env, err := c.Env(ctx)
	if err != nil {
		return nil, err
	}
	drop := map[string]bool{}
	for _, k := range c.unset {
		drop[k] = true
	}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop[k] = true
	}
	var out []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	return append(out, env...), nil
}
