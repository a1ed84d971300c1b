// Command fakeindex runs an offline PyPI for testing publishing clients:
// the trusted-publishing exchange, the upload endpoint and the read APIs,
// plus a JSON control plane under /_fake/.
//
// Usage:
//
//	fakeindex [flags]
//	fakeindex up [flags] [-- COMMAND [ARGS...]]  (the whole harness: CA, issuer, index, proxy; up.go, job.go)
//	fakeindex mint [--repository-url URL]       (the action's token exchange, in a job; mint.go)
//	fakeindex proxy [flags]                     (the proxy alone, for containers; proxy.go)
//	fakeindex attest [flags] DIST...            (PEP 740 attestations in the job; attest.go)
//	fakeindex conform [flags] -- ENTRYPOINT     (the uploader conformance suite; conform.go)
//	fakeindex healthcheck [--url U]             (container health check; healthcheck.go)
//	fakeindex version                           (version.go)
//
// With --addr 127.0.0.1:0 it picks a free port and prints the URL on one
// line once it is ready to serve.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/fakepypi/fakepypi/internal/adminflag"
	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/controlplane"
	"github.com/fakepypi/fakepypi/internal/index"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/indexfault"
	"github.com/fakepypi/fakepypi/internal/logging"
	"github.com/fakepypi/fakepypi/internal/oidc"
	"github.com/fakepypi/fakepypi/internal/suggest"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	os.Exit(exitCode(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "up" {
		return runUp(ctx, args[1:], stdout, stderr) // the whole harness: up.go
	}
	if len(args) > 0 && args[0] == "attest" {
		return runAttest(ctx, args[1:], stdout, stderr) // PEP 740 attestations in the job: attest.go
	}
	if len(args) > 0 && args[0] == "proxy" {
		return runProxy(ctx, args[1:], stdout, stderr) // the proxy alone, for containers: proxy.go
	}
	if len(args) > 0 && args[0] == "mint" {
		return runMint(ctx, args[1:], stdout, stderr) // gh-action-pypi-publish's exchange, in a job: mint.go
	}
	if len(args) > 0 && (args[0] == "version" || args[0] == "--version" || args[0] == "-version") {
		return printVersion(stdout, "fakeindex") // version.go
	}
	if len(args) > 0 && args[0] == "conform" {
		return runConform(ctx, args[1:], stdout, stderr) // the uploader conformance suite: conform.go
	}
	if len(args) > 0 && args[0] == "healthcheck" {
		return runHealthcheck(ctx, args[1:], stdout, stderr) // for FROM-scratch images: healthcheck.go
	}
	f := newServeFlags()
	if err := parseFlags(f.fs, serveUsage, serveUsageTail, args, stdout, stderr); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q%s (see fakeindex --help)", f.fs.Arg(0), suggest.DidYouMean(f.fs.Arg(0), subcommands))
	}
	// Local names as before the flags moved into serveFlags.
	addr, config, audience, domain, data := f.addr, f.config, f.audience, f.domain, f.data
	memory, tlsCert, tlsKey, quiet := f.memory, f.tlsCert, f.tlsKey, f.quiet
	discovery, flags := *f.discovery, *f.flags

	setup := &indexconfig.File{}
	if *config != "" {
		var err error
		if setup, err = indexconfig.Load(*config); err != nil {
			return configFileError("--config", *config, err, "examples/demo.yaml is a configuration to start from (format: docs/fakeindex.md)")
		}
	}
	if *audience != "" {
		setup.Audience = *audience
	}
	if *domain != "" {
		setup.Domain = *domain
	}
	setup.Flags = append(setup.Flags, flags...)
	for _, d := range discovery {
		svc, url, ok := strings.Cut(d, "=")
		if !ok || !oidc.ValidService(svc) || url == "" {
			return fmt.Errorf("--discovery %q: want service=URL with service github, gitlab, google or activestate", d)
		}
		setup.Issuers = append(setup.Issuers, oidc.Issuer{URL: oidc.CanonicalIssuer(svc), Service: svc, Discovery: url})
	}

	logger, err := logging.New(stderr, *f.logFormat, slog.LevelInfo)
	if err != nil {
		return err
	}
	logger = logger.With("component", "index")
	if u := *f.filesURL; u != "" && (!strings.HasSuffix(u, "/") || !(strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://"))) {
		return usageErrorf("--files-url %q: want an http(s) URL ending in / (e.g. https://files.pythonhosted.org/packages/)", u)
	}
	cfg := index.Config{Setup: *setup, Logger: logger, Control: f.control.Policy(), FilesURL: *f.filesURL}
	if *quiet {
		cfg.Logger = nil
	}
	if !*memory {
		// One clock for the server and the catalog, so /_fake/clock moves
		// the 14-day rule too.
		clk := clock.NewOffset(clock.Real{})
		cat, blobs, err := index.OpenData(*data, clk)
		if err != nil {
			return err
		}
		cfg.Clock, cfg.Catalog, cfg.Blobs = clk, cat, blobs
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return usageErrorf("--tls-cert and --tls-key go together: give both, or neither")
	}
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) && os.IsNotExist(err) {
				flagName := "--tls-cert"
				if pe.Path == *tlsKey {
					flagName = "--tls-key"
				}
				return missingFile(flagName, pe.Path, err, "give a PEM certificate and key, or run fakeindex up, which makes its own CA")
			}
			return fmt.Errorf("--tls-cert %s --tls-key %s: %v", *tlsCert, *tlsKey, err)
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	srv, err := index.New(cfg)
	if err != nil {
		return err
	}
	if err := setFaults(srv, *f.faults); err != nil {
		return err
	}
	if err := srv.Listen(*addr); err != nil {
		return suggest.Listen(err, "--addr")
	}
	for _, t := range srv.Tokens.List() {
		if t.Token != "" {
			// A prefix only: logs are kept where tokens must not be.
			// GET /_fake/tokens has them whole.
			logger.Info("token", "name", t.Name, "user", t.User, "prefix", tokenPrefix(t.Token))
		}
	}
	if f.control.Generated() {
		logger.Info("control token", "flag", "--control-token "+controlplane.RandomToken, "token", cfg.Control.Token)
	}
	fmt.Fprintln(stdout, srv.URL())

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	err = srv.Close()
	if cfg.Catalog != nil {
		// Folds the catalog's journal into catalog.json (a kill -9 loses
		// nothing either: the journal is replayed at the next start).
		err = errors.Join(err, cfg.Catalog.Close())
	}
	return err
}

const serveUsage = `Usage: fakeindex [flags]

An offline PyPI: trusted-publishing exchange, control plane under /_fake/.

Flags:
`

// subcommands are fakeindex's commands, for "did you mean" on a typo.
var subcommands = []string{"up", "mint", "attest", "proxy", "healthcheck", "version"}

const serveUsageTail = `
  fakeindex up [flags]
	the whole harness (CA, issuer, index, HTTPS proxy for PyPI's hostnames); see fakeindex up --help
  fakeindex mint [--repository-url URL]
	in a job (fakeindex up -- COMMAND, up --shell): gh-action-pypi-publish's exchange; prints the PyPI token
  fakeindex attest [flags] DIST...
	in a job: PEP 740 attestations with the harness's fake Sigstore, written as <dist>.publish.attestation (docs/attestations.md)
  fakeindex conform [flags] -- ENTRYPOINT [ARGS...]
	the conformance suite for PyPI uploaders, run against ENTRYPOINT (docs/conformance.md); see fakeindex conform --help
  fakeindex version, fakeindex --version
	the module version and VCS revision it was built from
  fakeindex proxy [flags]
	the proxy alone, in front of separate index and issuer processes (compose.yaml); see fakeindex proxy --help
  fakeindex healthcheck [--url URL]
	exit 0 if URL answers 2xx: the health check of the FROM-scratch image
`

// serveFlags are plain fakeindex's flags. They are built apart from run so
// that a test can walk every flag and check that the docs name it.
type serveFlags struct {
	fs                                                    *flag.FlagSet
	addr, config, audience, domain, data, tlsCert, tlsKey *string
	filesURL                                              *string
	logFormat                                             *string
	memory, quiet                                         *bool
	discovery, flags, faults                              *multi
	control                                               *controlplane.Flags
}

func newServeFlags() *serveFlags {
	fs := flag.NewFlagSet("fakeindex", flag.ContinueOnError)
	f := &serveFlags{fs: fs, discovery: &multi{}, flags: &multi{}, faults: &multi{}}
	f.addr = fs.String("addr", "127.0.0.1:8080", "`host:port` to listen on; port 0 picks a free one (the URL is printed on one line when ready)")
	f.config = fs.String("config", "", "YAML `file` declaring users, projects, publishers, pending publishers, tokens, issuers, audience and flags (see docs/fakeindex.md)")
	f.audience = fs.String("audience", "", "`aud` OIDC tokens must carry (default from --config, else \"pypi\"; TestPyPI uses \"testpypi\")")
	f.domain = fs.String("domain", "", "macaroon location put in minted tokens (default \"pypi.org\", giving tokens that start pypi-AgEIcHlwaS5vcmcCJ)")
	f.data = fs.String("data", "fakeindex-data", "data `dir`: the project database (catalog.json and catalog.journal) and the uploaded files (files/, PyPI's blake2 layout); it survives restarts, and every write is atomic")
	f.memory = fs.Bool("memory", false, "keep projects and files in memory only (for tests); --data is ignored")
	f.tlsCert = fs.String("tls-cert", "", "PEM certificate `file`; with --tls-key, serve HTTPS")
	f.tlsKey = fs.String("tls-key", "", "PEM private key `file` for --tls-cert")
	f.quiet = fs.Bool("quiet", false, "do not log events (mint attempts, uploads) to stderr")
	f.filesURL = fs.String("files-url", "", "`URL` prefix of the file links on the simple and JSON pages, ending in /packages/ (PyPI: https://files.pythonhosted.org/packages/, TestPyPI: https://test-files.pythonhosted.org/packages/; default: this index's own /packages/ on the host the request named)")
	f.logFormat = logging.FormatFlag(fs)
	fs.Var(f.discovery, "discovery", "`service=URL`: fetch that canonical issuer's keys from URL/.well-known/openid-configuration instead of the real issuer; service is github, gitlab, google or activestate (repeatable)")
	fs.Var(f.flags, "flag", "admin `flag` to turn on: "+strings.Join(adminflag.Known, ", ")+" (repeatable)")
	f.control = controlplane.AddFlags(fs)
	fs.Var(f.faults, "fault", "`[endpoint=]fault[,fault...]`: make a PyPI endpoint misbehave on every request, e.g. upload=status:503 or mint-token=delay:6s; endpoints "+
		"audience, mint-token, upload, simple, json, files, integrity, discovery (default any); faults status:CODE, json-status:CODE, non-json, no-value, delay:DURATION, reset (repeatable; docs/fakeindex.md, \"Faults\")")
	return f
}

// parseFlags parses args into fs. Asked-for help (-h, --help) is output,
// not an error: it goes to stdout, so "fakeindex --help | less" works, and
// run returns flag.ErrHelp, which main turns into exit status 0, as
// fakeissuer does. A bad flag is a usage error (exit status 2): one line
// saying what is wrong, with the nearest flag for a typo, then the usage
// line and where the full list is, rather than every flag.
func parseFlags(fs *flag.FlagSet, head, tail string, args []string, stdout, stderr io.Writer) error {
	fs.SetOutput(io.Discard) // the flag package's own messages: rewritten below
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printUsage(stdout, fs, head, tail)
		return err
	case err != nil:
		err = suggest.FlagError(fs, err)
		fmt.Fprintf(stderr, "fakeindex: %v\n%s", err, usageLine(head))
		return &usageError{fmt.Errorf("%w: %v", errFlagPrinted, err)}
	}
	return nil
}

// usageLine is the first line of a usage text ("Usage: fakeindex up
// [flags]"), printed after a bad flag.
func usageLine(head string) string {
	line, _, _ := strings.Cut(head, "\n")
	return line + "\n"
}

// printUsage writes head, every flag with its default, then tail.
func printUsage(w io.Writer, fs *flag.FlagSet, head, tail string) {
	io.WriteString(w, head)
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
	io.WriteString(w, tail)
}

// setFaults makes each --fault sticky; several for one endpoint add up
// (delay:6s and status:504 make a slow 504).
func setFaults(srv *index.Server, specs []string) error {
	byEndpoint := map[string][]indexfault.Fault{}
	var order []string
	for _, spec := range specs {
		r, err := indexfault.ParseRule(spec)
		if err != nil {
			return fmt.Errorf("--fault %q: %v", spec, err)
		}
		if _, ok := byEndpoint[r.Endpoint]; !ok {
			order = append(order, r.Endpoint)
		}
		byEndpoint[r.Endpoint] = append(byEndpoint[r.Endpoint], r.Faults...)
	}
	for _, ep := range order {
		if err := srv.Faults.SetSticky(ep, byEndpoint[ep]...); err != nil {
			return fmt.Errorf("--fault: %v", err)
		}
	}
	return nil
}

// tokenPrefixLen is how much of a token the log shows: past the 22
// characters every pypi.org token shares, 8 of its identifier.
const tokenPrefixLen = 30

func tokenPrefix(tok string) string {
	if len(tok) <= tokenPrefixLen {
		return tok
	}
	return tok[:tokenPrefixLen] + "…"
}
