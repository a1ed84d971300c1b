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
	"github.com/fakepypi/fakepypi/internal/suggest"
)

const upUsage = `Usage: fakeindex up [flags] [-- COMMAND [ARGS...]]

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

With -- COMMAND, it runs COMMAND in the environment of a GitHub Actions
publish job (GITHUB_ACTIONS, ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN,
HTTPS_PROXY, REQUESTS_CA_BUNDLE, SSL_CERT_FILE, PIP_CERT, ...; this fakeindex
first on PATH), stops the harness when COMMAND exits, and exits with its
status. Your shell's environment is not touched:

  fakeindex up -- twine upload dist/*                     (twine >= 6.1: trusted publishing)
  fakeindex up -- sh -c 'twine upload -u __token__ -p "$(fakeindex mint)" dist/*'
  fakeindex up --shell                                    (an interactive job; exit to stop)

Without either, once every listener is ready it prints that environment as
"export K='V'" lines on stdout, writes it to --env-file if given, and runs
until SIGINT or SIGTERM, for clients in other shells:

  fakeindex up --env-file job.env &
  until [ -f job.env ]; do sleep 0.1; done
  . ./job.env

The index keeps projects and uploads in memory: every start begins from the
configuration, unless --persist keeps them in the data directory. The data
directory keeps the CA, so a bundle given to clients or baked into an image
stays valid across restarts. See docs/harness.md.

Flags:
`

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flagArgs, command, hasCommand := splitCommand(args) // job.go
	fs, f := newUpFlags()
	if err := parseFlags(fs, upUsage, "", flagArgs, stdout, stderr); err != nil {
		return err
	}
	// Local names as before the flags moved into upFlags.
	addrIndex, addrIssuer, addrProxy, data, config, issuerCfg, scheme := f.addrIndex, f.addrIssuer, f.addrProxy, f.data, f.config, f.issuerCfg, f.scheme
	noProxy, noIssuer, noTest, envFile, quiet, sets := f.noProxy, f.noIssuer, f.noTest, f.envFile, f.quiet, *f.sets
	if fs.NArg() > 0 {
		return usageErrorf("up: unexpected argument %q: to run a command in the job, put -- before it: fakeindex up -- %s", fs.Arg(0), strings.Join(fs.Args(), " "))
	}
	switch {
	case hasCommand && len(command) == 0:
		return usageErrorf("up: nothing after --: want fakeindex up [flags] -- COMMAND [ARGS...]")
	case hasCommand && *f.shell:
		return usageErrorf("up: --shell and -- COMMAND are two ways to run the job: choose one")
	}
	job := hasCommand || *f.shell

	opts := harness.Options{
		Dir: *data, IndexAddr: *addrIndex, IssuerAddr: *addrIssuer, ProxyAddr: *addrProxy,
		Scheme: *scheme, NoProxy: *noProxy, NoIssuer: *noIssuer, NoTestPyPI: *noTest, Persist: *f.persist,
		Control: f.control.Policy(), EnvCA: *f.envCA,
		SigstoreAddr: *f.addrSigstore, SigstoreFaults: *f.sigFaults,
	}
	// In a job the client's output is what matters: only refusals and
	// failures (WARN) are logged beside it.
	level := slog.LevelInfo
	if job {
		level = slog.LevelWarn
	}
	logger, err := logging.New(stderr, *f.logFormat, level)
	if err != nil {
		return err
	}
	if !*quiet {
		opts.Logger = logger
	}
	if *config != "" {
		setup, err := indexconfig.Load(*config)
		if err != nil {
			return configFileError("--config", *config, err, "examples/demo.yaml is a configuration to start from (format: docs/fakeindex.md)")
		}
		opts.Setup = setup
	}
	if *f.testConfig != "" {
		setup, err := indexconfig.Load(*f.testConfig)
		if err != nil {
			return configFileError("--testpypi-config", *f.testConfig, err, "the format is docs/fakeindex.md's, as for --config")
		}
		opts.TestSetup = setup
	}
	if *issuerCfg != "" {
		cfg, err := issuer.LoadConfig(*issuerCfg)
		if err != nil {
			return configFileError("--issuer-config", *issuerCfg, err, "the format is in docs/fakeissuer.md")
		}
		opts.Issuer = cfg
	}
	if err := f.run.apply(fs, &opts); err != nil { // runcontext.go
		return err
	}
	for _, s := range sets {
		path, value, ok := strings.Cut(s, "=")
		if !ok {
			return usageErrorf("--set %q: want path=value, e.g. github.environment=pypi", s)
		}
		if err := opts.Issuer.Context.Set(path, value); err != nil {
			return usageErrorf("--set %q: %v", s, err)
		}
	}

	h, err := harness.Start(opts)
	if err != nil {
		return explainStart(err)
	}
	defer h.Close()
	if !job {
		// Ctrl-C must shut down cleanly (the env file removed) from the
		// moment anything says the harness is up: a signal that came
		// after the banner but before the handler was installed killed
		// the process, before it printed the environment.
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
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
	if job {
		return runUpJob(ctx, h, command, stdout, stderr) // job.go
	}
	banner(stderr, h, *envFile, *f.envCA)
	io.WriteString(stdout, h.Shell())
	<-ctx.Done()
	fmt.Fprintln(stderr, "fakeindex up: shutting down")
	return h.Close()
}

// upFlags are the up command's flags, built apart from runUp so that a
// test can walk them.
type upFlags struct {
	addrIndex, addrIssuer, addrProxy, data, config, issuerCfg, scheme, envFile *string
	logFormat, envCA                                                           *string
	noProxy, noIssuer, noTest, quiet, persist, shell                           *bool
	sets, faults, sigFaults                                                    *multi
	addrSigstore, testConfig                                                   *string
	control                                                                    *controlplane.Flags
	run                                                                        *runFlags
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
	f.testConfig = fs.String("testpypi-config", "", "TestPyPI's index configuration YAML `file` (default: the same as --config, with audience testpypi and domain test.pypi.org; tokens given by value always go to the index that issued them)")
	f.issuerCfg = fs.String("issuer-config", "", "fakeissuer configuration YAML `file` (run context, faults, keys; docs/fakeissuer.md)")
	f.scheme = fs.String("scheme", harness.SchemeBoth, "what the direct index and issuer listeners speak: both (TLS and plain HTTP on one port), https or http")
	f.noProxy = fs.Bool("no-proxy", false, "do not start the proxy: the env names the direct index URL (twine then skips trusted publishing; uv and gh-action-pypi-publish need https)")
	f.noIssuer = fs.Bool("no-issuer", false, "do not start the issuer: tokens come from elsewhere, and the env has no CI variables")
	f.noTest = fs.Bool("no-testpypi", false, "do not emulate test.pypi.org")
	f.shell = fs.Bool("shell", false, "run an interactive shell ($SHELL, else /bin/sh) in the job's environment, with a prompt saying so; the harness stops when the shell exits")
	f.envCA = fs.String("env-ca", "", "CA bundle `path` the environment names (REQUESTS_CA_BUNDLE, SSL_CERT_FILE, ...) instead of DATA/ca/ca.pem; the bundle is copied there. In a container, e.g. /tmp/fakepypi-ca.pem: the host fetches the bundle to the same path from FAKEPYPI_CA_URL and the printed environment works there too")
	f.envFile = fs.String("env-file", "", "write the environment to `path` (atomically) once every listener is ready; removed on shutdown")
	f.quiet = fs.Bool("quiet", false, "do not log requests, exchanges, uploads and refusals to stderr")
	f.logFormat = logging.FormatFlag(fs)
	fs.Var(f.sigFaults, "sigstore-fault", "`name`: make the fake Sigstore misbehave from the start: other-identity, expired-certificate, missing-entry, bad-inclusion-proof, bad-signature (repeatable; docs/attestations.md)")
	fs.Var(f.faults, "fault", "`[endpoint=]fault[,fault...]`: make PyPI's index (not TestPyPI's) misbehave on every request, e.g. upload=status:503 (repeatable; docs/fakeindex.md, \"Faults\")")
	f.control = controlplane.AddFlags(fs)
	f.run = addRunFlags(fs)
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

func banner(w io.Writer, h *harness.Harness, envFile, envCA string) {
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
		p("  run      %s", jobDescription(h))
	}
	if h.ProxyURL() != "" {
		p("  proxy    %s  (HTTPS_PROXY; other hosts are refused)", h.ProxyURL())
	}
	p("  CA       %s", h.CABundle())
	if envCA != "" && h.ProxyURL() != "" {
		p("           named in the env as %s; elsewhere (the host of a container): curl -so %s %s/_fake/ca.pem", envCA, envCA, h.ProxyURL())
	}
	if h.ControlToken() != "" {
		p("  control  /_fake/ needs the token in $%s (Authorization: Bearer; in a browser, open /_fake/...?token=...)", controlplane.EnvToken)
	}
	if envFile != "" {
		p("  env      %s  (. it in a shell; removed on shutdown)", envFile)
	}
	p("Stop with Ctrl-C or SIGTERM.")
	name := invokedAs()
	if envFile != "" {
		p("Next, in another terminal:  . %s && %s mint", shellPath(envFile), name)
		return
	}
	p("Next, in another terminal:  %s up --shell   (a publish job with a harness of its own; or restart this with --env-file job.env and . ./job.env there)", name)
}

// invokedAs is how the user ran fakeindex, for the commands the banner
// suggests: "go run ./cmd/fakeindex" when go run built it (its binary is
// in a go-build temporary directory), else "fakeindex".
func invokedAs() string {
	if exe, err := os.Executable(); err == nil && strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "go run ./cmd/fakeindex"
	}
	return "fakeindex"
}

// shellPath is p as "." needs it: a relative path gets a "./" (". job.env"
// searches PATH).
func shellPath(p string) string {
	if filepath.IsAbs(p) || strings.HasPrefix(p, ".") {
		return p
	}
	return "./" + p
}

// explainStart turns a listener error of harness.Start into what to do,
// naming the flag of the listener that failed.
func explainStart(err error) error {
	for _, l := range []struct{ prefix, flag string }{
		{"index: ", "--addr-index"}, {"issuer: ", "--addr-issuer"}, {"proxy: ", "--addr-proxy"}, {"sigstore: ", "--addr-sigstore"},
	} {
		if strings.HasPrefix(err.Error(), l.prefix) {
			if e := suggest.Listen(err, l.flag); e != err {
				return e
			}
		}
	}
	return err
}
