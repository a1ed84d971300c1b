// Command fakeissuer is a fake CI OIDC issuer: GitHub Actions' token
// endpoint and the GitLab, Google, ActiveState, Buildkite and CircleCI
// issuers, for testing PyPI Trusted Publishing offline. See
// docs/fakeissuer.md.
//
//	fakeissuer [flags]                     serve (the default)
//	fakeissuer env --url URL [--ci KIND]   print a CI job's shell exports
//	fakeissuer buildkite-agent oidc request-token --audience AUD
//	fakeissuer circleci run oidc get --claims '{"aud":"AUD"}'
//
// Invoked through a link named buildkite-agent or circleci, it behaves as
// that command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fakepypi/fakepypi/internal/controlplane"
	"github.com/fakepypi/fakepypi/internal/issuer"
	"github.com/fakepypi/fakepypi/internal/logging"
	"github.com/fakepypi/fakepypi/internal/suggest"
	"github.com/fakepypi/fakepypi/internal/version"
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run dispatches on the program name first (a link named buildkite-agent
// or circleci), then on the first argument.
func run(args []string, stdout, stderr io.Writer) int {
	switch filepath.Base(args[0]) {
	case "buildkite-agent":
		return buildkiteAgent(args[1:], stdout, stderr)
	case "circleci":
		return circleCI(args[1:], stdout, stderr)
	}
	if len(args) > 1 {
		switch args[1] {
		case "env":
			return envCommand(args[2:], stdout, stderr)
		case "buildkite-agent":
			return buildkiteAgent(args[2:], stdout, stderr)
		case "circleci":
			return circleCI(args[2:], stdout, stderr)
		case "version", "--version", "-version":
			fmt.Fprintln(stdout, version.String("fakeissuer"))
			return 0
		case "serve":
			args = args[1:]
		}
	}
	return serve(args[1:], stdout, stderr, nil)
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// serveFlags are the serve command's flags. GitHub shortcuts are --set
// github.<field> under another name.
type serveFlags struct {
	fs           *flag.FlagSet
	addr         string
	config       string
	publicURL    string
	seed         string
	keys         int
	keyFile      string
	requestToken string
	lifetime     time.Duration
	quiet        bool
	logFormat    *string
	issuers      listFlag
	faults       listFlag
	sets         listFlag
	github       map[string]*string // flag name -> value, applied as github.<field>
	control      *controlplane.Flags
	usage        func(io.Writer)
}

func newServeFlags(stderr io.Writer) *serveFlags {
	f := &serveFlags{fs: flag.NewFlagSet("fakeissuer", flag.ContinueOnError), github: map[string]*string{}}
	fs := f.fs
	fs.SetOutput(stderr)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:0", "listen `address`; port 0 picks a free port")
	fs.StringVar(&f.config, "config", "", "YAML configuration `file` (flags override it)")
	fs.StringVar(&f.publicURL, "public-url", "", "base `URL` to advertise instead of the listener's")
	fs.StringVar(&f.seed, "seed", "", "derive keys (and the request token) from this `string`, for reproducible runs")
	fs.IntVar(&f.keys, "keys", 0, "number of keys in the JWKS at start; the last one signs (default 1)")
	fs.StringVar(&f.keyFile, "key-file", "", "keep the random keys in this PEM `file` (created 0600 if missing), so kids survive a restart; ignored with --seed")
	fs.StringVar(&f.requestToken, "request-token", "", "ACTIONS_ID_TOKEN_REQUEST_TOKEN `value` (default random, or from --seed)")
	fs.DurationVar(&f.lifetime, "lifetime", 0, "token lifetime exp-iat (default 5m0s, as on GitHub)")
	fs.BoolVar(&f.quiet, "quiet", false, "do not log requests to stderr")
	f.logFormat = logging.FormatFlag(fs)
	fs.Var(&f.issuers, "issuer", "`KIND=ISS` override a kind's iss claim, e.g. gitlab=https://gitlab.example.com; ISS \"self\" = this server (repeatable)")
	fs.Var(&f.faults, "fault", "`FAULT` applied to every token, e.g. expired or claim:actor=eve (repeatable; see docs)")
	fs.Var(&f.sets, "set", "`section.field=value` set any run-context field, e.g. gitlab.project_path=g/p (repeatable)")
	f.control = controlplane.AddFlags(fs)
	for _, s := range issuer.GitHubShortcuts {
		f.github[s.Flag] = fs.String(s.Flag, "", s.Usage)
	}
	f.usage = func(w io.Writer) {
		fmt.Fprint(w, `Usage:
  fakeissuer [flags]                      serve; prints the base URL on one line when ready
  fakeissuer env --url URL [--ci KIND]    print the shell exports of a CI job (eval them)
  fakeissuer buildkite-agent oidc request-token --audience AUD
  fakeissuer circleci run oidc get --claims '{"aud":"AUD"}' [--root-issuer]

KIND is github, gitlab, google, activestate, buildkite or circleci.
Run "fakeissuer env --help" for the env flags. Full documentation: docs/fakeissuer.md.

Flags:
`)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	// Usage is printed by parseArgs: on stdout for --help, on stderr
	// after a bad flag.
	fs.Usage = func() {}
	return f
}

// parseArgs parses flags; --help prints usage on stdout. It returns an
// exit code and whether to stop.
func parseArgs(fs *flag.FlagSet, usage func(io.Writer), args []string, stdout, stderr io.Writer) (int, bool) {
	persona := !strings.HasPrefix(fs.Name(), "fakeissuer")
	if !persona {
		fs.SetOutput(io.Discard) // the flag package's own line: rewritten below
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage(stdout)
		return 0, true
	case err != nil:
		if persona {
			// A persona (buildkite-agent, circleci) answers as its tool.
			usage(stderr)
			return exitUsage, true
		}
		// As fakeindex: one line saying what is wrong, with the nearest
		// flag for a typo, then the usage lines, not every flag.
		fmt.Fprintf(stderr, "fakeissuer: %v\n", suggest.FlagError(fs, err))
		var b strings.Builder
		usage(&b)
		lines := strings.SplitAfter(b.String(), "\n")
		io.WriteString(stderr, strings.Join(lines[:min(len(lines), 3)], ""))
		return exitUsage, true
	}
	return 0, false
}

// Exit statuses, the same as fakeindex's: 1 when the command failed, 2
// for a command line it cannot run.
const (
	exitFailure = 1
	exitUsage   = 2
)

// flagError marks an error in a flag's value: exit status 2.
type flagError struct{ error }

func (e flagError) Unwrap() error { return e.error }

// exitFor is the exit status for an error of toConfig.
func exitFor(err error) int {
	var fe flagError
	if errors.As(err, &fe) {
		return exitUsage
	}
	return exitFailure
}

// config merges defaults, the config file, then the flags that were set.
func (f *serveFlags) toConfig() (issuer.Config, error) {
	var cfg issuer.Config
	if f.config != "" {
		var err error
		if cfg, err = issuer.LoadConfig(f.config); err != nil {
			if os.IsNotExist(err) {
				wd, _ := os.Getwd()
				return cfg, flagError{fmt.Errorf("--config %s: no such file (relative paths start at %s); the format is in docs/fakeissuer.md", f.config, wd)}
			}
			return cfg, err
		}
	}
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if set["addr"] || cfg.Addr == "" {
		cfg.Addr = f.addr
	}
	if set["public-url"] {
		cfg.PublicURL = f.publicURL
	}
	if set["seed"] {
		cfg.Seed = f.seed
	}
	if set["keys"] {
		cfg.Keys = f.keys
	}
	if set["key-file"] {
		cfg.KeyFile = f.keyFile
	}
	if set["request-token"] {
		cfg.RequestToken = f.requestToken
	}
	if set["lifetime"] {
		cfg.Lifetime = f.lifetime
	}
	for _, kv := range f.issuers {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return cfg, flagError{fmt.Errorf("--issuer %q: want KIND=ISS", kv)}
		}
		kind, err := issuer.ParseKind(k)
		if err != nil {
			return cfg, flagError{fmt.Errorf("--issuer: %w", err)}
		}
		if cfg.Issuers == nil {
			cfg.Issuers = map[issuer.Kind]string{}
		}
		cfg.Issuers[kind] = v
	}
	faults, err := issuer.ParseFaults(f.faults)
	if err != nil {
		return cfg, flagError{fmt.Errorf("--fault: %w", err)}
	}
	control := f.control.Policy()
	if control.Token != "" {
		cfg.Control.Token = control.Token
	}
	cfg.Control.AllowHosts = append(cfg.Control.AllowHosts, control.AllowHosts...)
	cfg.Control.DirectOnly = cfg.Control.DirectOnly || control.DirectOnly
	cfg.Faults = append(cfg.Faults, faults...)
	for _, s := range issuer.GitHubShortcuts {
		if set[s.Flag] {
			if err := cfg.Context.Set("github."+s.Field, *f.github[s.Flag]); err != nil {
				return cfg, flagError{fmt.Errorf("--%s: %w", s.Flag, err)}
			}
		}
	}
	for _, kv := range f.sets {
		path, v, ok := strings.Cut(kv, "=")
		if !ok {
			return cfg, flagError{fmt.Errorf("--set %q: want section.field=value, e.g. github.environment=pypi", kv)}
		}
		if err := cfg.Context.Set(path, v); err != nil {
			return cfg, flagError{fmt.Errorf("--set %q: %w", kv, err)}
		}
	}
	return cfg, nil
}

// serve runs the server until SIGINT/SIGTERM or ctx ends (tests pass ctx).
func serve(args []string, stdout, stderr io.Writer, ctx context.Context) int {
	f := newServeFlags(stderr)
	if code, stop := parseArgs(f.fs, f.usage, args, stdout, stderr); stop {
		return code
	}
	if f.fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fakeissuer: unexpected argument %q (see fakeissuer --help)\n", f.fs.Arg(0))
		return 2
	}
	cfg, err := f.toConfig()
	if err != nil {
		fmt.Fprintf(stderr, "fakeissuer: %v\n", err)
		return exitFor(err)
	}
	logger, err := logging.New(stderr, *f.logFormat, slog.LevelInfo)
	if err != nil {
		fmt.Fprintf(stderr, "fakeissuer: %v\n", err)
		return 2
	}
	logger = logger.With("component", "issuer")
	if !f.quiet {
		cfg.Logger = logger
	}
	s, err := issuer.Start(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "fakeissuer: %v\n", suggest.Listen(err, "--addr"))
		return exitFailure
	}
	defer s.Close()
	logger.Info("GitHub issuer", "iss", s.Issuer(issuer.GitHub), "discovery", s.URL()+"/.well-known/openid-configuration",
		"ACTIONS_ID_TOKEN_REQUEST_URL", s.RequestURL(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN", s.RequestToken())
	if f.control.Generated() {
		logger.Info("control token", "flag", "--control-token "+controlplane.RandomToken, "token", cfg.Control.Token)
	}
	// The one stdout line: scripts read the URL from it.
	fmt.Fprintln(stdout, s.URL())

	if ctx == nil {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	<-ctx.Done()
	return 0
}
