package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/fakepypi/fakepypi/internal/harness"
	"github.com/fakepypi/fakepypi/internal/httpserver"
	"github.com/fakepypi/fakepypi/internal/localca"
	"github.com/fakepypi/fakepypi/internal/logging"
	"github.com/fakepypi/fakepypi/internal/proxy"
)

const proxyUsage = `Usage: fakeindex proxy --ca-dir DIR --index URL [--issuer URL] [flags]

Runs only the intercepting proxy, in front of a fakeindex and a fakeissuer
running as separate processes or containers (compose.yaml does this). It
answers PyPI's and GitHub's real hostnames and refuses every other host:

  pypi.org upload.pypi.org files.pythonhosted.org pypi.python.org   -> --index
  test.pypi.org test-files.pythonhosted.org testpypi.python.org     -> --test-index
  token.actions.githubusercontent.com                               -> --issuer

on two kinds of listener:

  --addr       an HTTP proxy for HTTPS_PROXY (CONNECT, then TLS with a
               certificate from the CA in --ca-dir); also serves
               GET /_fake/health and GET /_fake/ca.pem directly
  --tls-addr   plain HTTPS for clients that resolve those hostnames to this
               process (compose network aliases): routed by the Host header

The CA in --ca-dir is created on first use and reused afterwards (share the
directory with the clients: ca.pem is the bundle they trust). Upstreams see the
emulated Host header and X-Forwarded-Proto: https. Unlike "fakeindex up", every
path is forwarded on every index hostname (no per-host path split).

Flags:
`

// runProxy is `fakeindex proxy`: the harness's proxy on its own, routing
// to upstream URLs instead of in-process handlers, so the three parts of
// the harness can run as three containers.
func runProxy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newProxyFlags()
	if err := parseFlags(fs, proxyUsage, "", args, stdout, stderr); err != nil {
		return err
	}
	addr, tlsAddr, caDir, indexURL, testURL, issuerURL, quiet, routes := f.addr, f.tlsAddr, f.caDir, f.indexURL, f.testURL, f.issuerURL, f.quiet, *f.routes
	if fs.NArg() > 0 {
		return fmt.Errorf("proxy: unexpected argument %q (see fakeindex proxy --help)", fs.Arg(0))
	}
	if *indexURL == "" {
		return errors.New("proxy: --index is required")
	}
	table := map[string]string{}
	for _, h := range harness.PyPIHosts {
		table[h] = *indexURL
	}
	if *testURL != "" {
		for _, h := range harness.TestPyPIHosts {
			table[h] = *testURL
		}
	}
	if *issuerURL != "" {
		table[strings.TrimPrefix(harness.GitHubTokenURL, "https://")] = *issuerURL
	}
	for _, r := range routes {
		host, u, ok := strings.Cut(r, "=")
		if !ok || host == "" {
			return fmt.Errorf("proxy: --route %q: want host=URL", r)
		}
		table[strings.ToLower(host)] = u
	}

	// Extra hosts from --route need certificates too; the CA issues only
	// for its configured names.
	var extra []string
	for h := range table {
		extra = append(extra, h)
	}
	ca, err := localca.Open(*caDir, localca.WithHosts(append(append([]string(nil), localca.DefaultHosts...), extra...)...))
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelWarn
	}
	logger, err := logging.New(stderr, *f.logFormat, level)
	if err != nil {
		return err
	}
	logger = logger.With("component", "proxy")
	p := proxy.New(ca, proxy.WithLogger(logger))
	for h, u := range table {
		if err := p.HandleUpstream(h, u); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	servers := []*http.Server{httpserver.New(p.Front(ca), httpserver.Limits{}, logger)}
	go servers[0].Serve(ln)
	logger.Info("proxy listening", "url", "http://"+ln.Addr().String(), "hosts", strings.Join(p.Hosts(), " "), "ca", ca.BundlePath())
	if *tlsAddr != "" {
		tln, err := net.Listen("tcp", *tlsAddr)
		if err != nil {
			p.Close()
			servers[0].Close()
			return fmt.Errorf("proxy: %w", err)
		}
		srv := httpserver.New(directTLS(p), httpserver.Limits{}, logger)
		servers = append(servers, srv)
		go srv.Serve(tls.NewListener(tln, ca.TLSConfig()))
		logger.Info("direct HTTPS listening", "addr", tln.Addr().String())
	}
	fmt.Fprintln(stdout, "http://"+ln.Addr().String())

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	errs := []error{p.Close()}
	for _, s := range servers {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// proxyFlags are the proxy command's flags, built apart from runProxy so
// that a test can walk them.
type proxyFlags struct {
	addr, tlsAddr, caDir, indexURL, testURL, issuerURL *string
	logFormat                                          *string
	quiet                                              *bool
	routes                                             *multi
}

func newProxyFlags() (*flag.FlagSet, *proxyFlags) {
	fs := flag.NewFlagSet("fakeindex proxy", flag.ContinueOnError)
	f := &proxyFlags{routes: &multi{}}
	f.addr = fs.String("addr", "127.0.0.1:8082", "`host:port` of the HTTP proxy (HTTPS_PROXY); only publish it on loopback, it answers for PyPI's hostnames")
	f.tlsAddr = fs.String("tls-addr", "", "`host:port` for direct HTTPS to the emulated hostnames (e.g. 0.0.0.0:443 behind network aliases); empty: none")
	f.caDir = fs.String("ca-dir", "fakepypi-ca", "CA `dir` (ca.pem, ca-key.pem), created if empty")
	f.indexURL = fs.String("index", "", "`URL` of the fakeindex answering pypi.org, upload.pypi.org and files.pythonhosted.org (e.g. http://fakeindex:8080)")
	f.testURL = fs.String("test-index", "", "`URL` of a second fakeindex (audience testpypi) answering test.pypi.org; empty: not emulated")
	f.issuerURL = fs.String("issuer", "", "`URL` of the fakeissuer answering token.actions.githubusercontent.com; empty: not emulated")
	f.quiet = fs.Bool("quiet", false, "log only refusals and failures")
	f.logFormat = logging.FormatFlag(fs)
	fs.Var(f.routes, "route", "`host=URL`: also emulate host with the server at URL (repeatable)")
	return fs, f
}

// directTLS serves requests that arrived over plain TLS (a client that
// resolved pypi.org to this process) through the proxy's routes. It turns
// each into the absolute form the proxy accepts from HTTP clients: the
// proxy then applies the same host table, refusals and status-line
// handling as for tunnelled requests, and since r.TLS is set the upstream
// is told X-Forwarded-Proto: https.
func directTLS(p *proxy.Proxy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, port, err := net.SplitHostPort(host); err == nil && port == "443" {
			host = h
		}
		r.URL.Scheme = "http"
		r.URL.Host = host
		p.ServeHTTP(w, r)
	})
}
