package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/fakepypi/fakepypi/internal/controlplane"
	"github.com/fakepypi/fakepypi/internal/harness"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/issuer"
	"github.com/fakepypi/fakepypi/internal/logging"
)

const upUsage = `Usage: fakeindex up [flags]

Runs the whole fakepypi harness in one process: a local CA, the fake CI
issuer (GitHub Actions' token endpoint...), the fake PyPI and TestPyPI, and an
intercepting HTTPS proxy that answers PyPI's real hostnames:

  https://pypi.org/simple/ /pypi/ /_/oidc/ /integrity/ /.well-known/pytp/
  https://upload.pypi.org/legacy/            https://files.pythonhosted.org/packages/
  https://test.pypi.org/... (audience testpypi)
  https://token.actions.githubusercontent.com/... (the fake issuer)
  https://fulcio.sigstore.dev/ https://rekor.sigstore.dev/ (the fake Sigstore)

Every other host is refused by the proxy. Without --config the index holds the
demo configuration (examples/demo.yaml): project "demo" with a GitHub trusted
publisher matching the issuer's default run context (octo-org/octo-repo,
.github/workflows/release.yml), so a publish from the printed environment
succeeds out of the box.

Once every listener is ready it prints the environment a publish job needs as
"export K='V'" lines on stdout (GITHUB_ACTIONS, ACTIONS_ID_TOKEN_REQUEST_URL and
_TOKEN, HTTPS_PROXY, REQUESTS_CA_BUNDLE, SSL_CERT_FILE, PIP_CERT, index URLs for
twine, uv and pip...), writes it to --env-file if given, and runs until SIGINT
or SIGTERM. Typical use, in one shell:

  fakeindex up --env-file fakepypi.env &
  until [ -f fakepypi.env ]; do sleep 0.1; done
  . ./fakepypi.env
  twine upload dist/*

The index keeps projects and uploads in memory: every start begins from the
configuration, unless --persist keeps them in the data directory. The data
directory keeps the CA, so a bundle given to clients or baked into an image
stays valid across restarts. See docs/harness.md.

Flags:
`

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newUpFlags()
	if err := parseFlags(fs, upUsage, "", args, stdout, stderr); err != nil {
		return err
	}
	// Local names as before the flags moved into upFlags.
	addrIndex, addrIssuer, addrProxy, data, config, issuerCfg, scheme := f.addrIndex, f.addrIssuer, f.addrProxy, f.data, f.config, f.issuerCfg, f.scheme
	noProxy, noIssuer, noTest, envFile, quiet, sets := f.noProxy, f.noIssuer, f.noTest, f.envFile, f.quiet, *f.sets
	if fs.NArg() > 0 {
		return fmt.Errorf("up: unexpected argument %q (see fakeindex up --help)", fs.Arg(0))
	}

	opts := harness.Options{
		Dir: *data, IndexAddr: *addrIndex, IssuerAddr: *addrIssuer, ProxyAddr: *addrProxy,
		Scheme: *scheme, NoProxy: *noProxy, NoIssuer: *noIssuer, NoTestPyPI: *noTest, Persist: *f.persist,
		Control:      f.control.Policy(),
		SigstoreAddr: *f.addrSigstore, SigstoreFaults: *f.sigFaults,
	}
	logger, err := logging.New(stderr, *f.logFormat, slog.LevelInfo)
	if err != nil {
		return err
	}
	if !*quiet {
		opts.Logger = logger
	}
	if *config != "" {
		setup, err := indexconfig.Load(*config)
		if err != nil {
			return err
		}
		opts.Setup = setup
	}
	if *issuerCfg != "" {
		cfg, err := issuer.LoadConfig(*issuerCfg)
		if err != nil {
			return err
		}
		opts.Issuer = cfg
	}
	for _, s := range sets {
		path, value, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("--set %q: want path=value", s)
		}
		if err := opts.Issuer.Context.Set(path, value); err != nil {
			return fmt.Errorf("--set %q: %v", s, err)
		}
	}

	h, err := harness.Start(opts)
	if err != nil {
		return err
	}
	defer h.Close()
	// Before the env file exists: no client may see the index without them.
	if err := setFaults(h.Index(), *f.faults); err != nil {
		return err
	}
	if *envFile != "" {
		if err := h.WriteEnvFile(*envFile); err != nil {
			return err
		}
		// The ports and the request token die with this process: a stale
		// file would point clients at nothing.
		defer os.Remove(*envFile)
	}
	banner(stderr, h, *envFile)
	io.WriteString(stdout, h.Shell())

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Fprintln(stderr, "fakeindex up: shutting down")
	return h.Close()
}

// upFlags are the up command's flags, built apart from runUp so that a
// test can walk them.
type upFlags struct {
	addrIndex, addrIssuer, addrProxy, data, config, issuerCfg, scheme, envFile *string
	logFormat                                                                  *string
	noProxy, noIssuer, noTest, quiet, persist                                  *bool
	sets, faults, sigFaults                                                    *multi
	addrSigstore                                                               *string
	control                                                                    *controlplane.Flags
}

func newUpFlags() (*flag.FlagSet, *upFlags) {
	fs := flag.NewFlagSet("fakeindex up", flag.ContinueOnError)
	f := &upFlags{sets: &multi{}, faults: &multi{}, sigFaults: &multi{}}
	f.addrIndex = fs.String("addr-index", "127.0.0.1:0", "`host:port` of the index's direct listener (port 0: a free one; FAKEPYPI_INDEX_URL in the env)")
	f.addrIssuer = fs.String("addr-issuer", "127.0.0.1:0", "`host:port` of the issuer's direct listener (FAKEPYPI_ISSUER_URL)")
	f.addrSigstore = fs.String("addr-sigstore", "127.0.0.1:0", "`host:port` of the fake Sigstore's direct listener (Fulcio and Rekor paths; FAKEPYPI_SIGSTORE_URL)")
	f.addrProxy = fs.String("addr-proxy", "127.0.0.1:0", "`host:port` of the proxy (HTTPS_PROXY); keep it on loopback. Fix it (e.g. 127.0.0.1:8899) to reuse one env across restarts")
	f.data = fs.String("data", defaultDataDir(), "data `dir`: the CA (ca/ca.pem is the bundle) and the issuer's keys, the GitHub runner files (runner/) and, with --persist, the indexes' state (index/, testpypi/)")
	f.persist = fs.Bool("persist", false, "keep projects and uploaded files in --data (index/, testpypi/) so they survive a restart; without it each start begins from the configuration")
	f.config = fs.String("config", "", "index configuration YAML `file` (format: docs/fakeindex.md; default: the demo configuration, examples/demo.yaml)")
	f.issuerCfg = fs.String("issuer-config", "", "fakeissuer configuration YAML `file` (run context, faults, keys; docs/fakeissuer.md)")
	f.scheme = fs.String("scheme", harness.SchemeBoth, "what the direct index and issuer listeners speak: both (TLS and plain HTTP on one port), https or http")
	f.noProxy = fs.Bool("no-proxy", false, "do not start the proxy: the env names the direct index URL (twine then skips trusted publishing; uv and gh-action-pypi-publish need https)")
	f.noIssuer = fs.Bool("no-issuer", false, "do not start the issuer: tokens come from elsewhere, and the env has no CI variables")
	f.noTest = fs.Bool("no-testpypi", false, "do not emulate test.pypi.org")
	f.envFile = fs.String("env-file", "", "write the environment to `path` (atomically) once every listener is ready; removed on shutdown")
	f.quiet = fs.Bool("quiet", false, "do not log requests, exchanges, uploads and refusals to stderr")
	f.logFormat = logging.FormatFlag(fs)
	fs.Var(f.sigFaults, "sigstore-fault", "`name`: make the fake Sigstore misbehave from the start: other-identity, expired-certificate, missing-entry, bad-inclusion-proof, bad-signature (repeatable; docs/attestations.md)")
	fs.Var(f.faults, "fault", "`[endpoint=]fault[,fault...]`: make PyPI's index (not TestPyPI's) misbehave on every request, e.g. upload=status:503 (repeatable; docs/fakeindex.md, \"Faults\")")
	f.control = controlplane.AddFlags(fs)
	fs.Var(f.sets, "set", "set one field of the issuer's run context: `path=value`, e.g. github.environment=pypi (repeatable; docs/fakeissuer.md)")
	return fs, f
}

// defaultDataDir is $XDG_DATA_HOME/fakepypi (~/.local/share/fakepypi): out
// of the working tree, so the CA key is not committed by accident, and
// shared by every checkout, so one trusted bundle serves them all.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "fakepypi")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "fakepypi")
	}
	return ".fakepypi"
}

func banner(w io.Writer, h *harness.Harness, envFile string) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("fakepypi harness is up")
	p("  index    %s  (direct; the control plane is under /_fake/)", h.IndexURL())
	if h.ProxyURL() != "" {
		p("           through the proxy: https://pypi.org  https://upload.pypi.org/legacy/  https://files.pythonhosted.org")
		if h.TestIndex() != nil {
			p("           and https://test.pypi.org (audience testpypi)")
		}
	}
	if h.IssuerURL() != "" {
		p("  issuer   %s  (direct)", h.IssuerURL())
		if h.ProxyURL() != "" {
			p("           through the proxy: %s", harness.GitHubTokenURL)
		}
		g := h.Issuer().Context().GitHub
		p("  run      %s, %s@%s", g.Repository, g.WorkflowFile, g.Ref)
	}
	if h.ProxyURL() != "" {
		p("  proxy    %s  (HTTPS_PROXY; other hosts are refused)", h.ProxyURL())
	}
	p("  CA       %s", h.CABundle())
	if h.ControlToken() != "" {
		p("  control  /_fake/ needs the token in $%s (Authorization: Bearer; in a browser, open /_fake/...?token=...)", controlplane.EnvToken)
	}
	if envFile != "" {
		p("  env      %s  (. it in a shell; removed on shutdown)", envFile)
	}
	p("Stop with Ctrl-C or SIGTERM.")
}
