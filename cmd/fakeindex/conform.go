package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/fakepypi/fakepypi/internal/conform"
)

const conformUsage = `Usage: fakeindex conform [flags] -- ENTRYPOINT [ARGS...]
       fakeindex conform --list
       fakeindex conform --markdown [--results NAME=FILE.json]...

Runs the conformance suite for PyPI uploaders against ENTRYPOINT: for each
case a fresh in-process harness (CA, fake GitHub Actions issuer, fake PyPI and
TestPyPI behind a proxy answering PyPI's host names), then

  ENTRYPOINT [ARGS...] upload --repository-url URL [--skip-existing]
      [--trusted-publishing] [--attestations] FILE...

with FAKEPYPI_USERNAME and FAKEPYPI_PASSWORD (token cases) or a GitHub
Actions job environment (trusted-publishing cases). Each case is judged on
what the index received and on what the uploader did. A table goes to
stdout; the exit status is 0 only when every case not listed in --xfail
passed. Wrappers for twine, flit, poetry, uv, hatch, pdm and maturin are in
conformance/wrappers/. See docs/conformance.md.

Flags:
`

type conformFlags struct {
	jobs                            *int
	timeout, httpTimeout            *time.Duration
	run, xfail, junit, jsonOut, out *string
	list, markdown, quiet           *bool
	skip, results                   *multi
}

func newConformFlags() (*flag.FlagSet, *conformFlags) {
	fs := flag.NewFlagSet("fakeindex conform", flag.ContinueOnError)
	f := &conformFlags{skip: &multi{}, results: &multi{}}
	f.jobs = fs.Int("j", 0, "run `N` cases at once (default 2 per CPU)")
	f.timeout = fs.Duration("timeout", conform.DefaultTimeout, "each case's `deadline`: an uploader still running then is killed with its process group, and the case fails as a hang")
	f.httpTimeout = fs.Duration("http-timeout", conform.DefaultHTTPTimeout, "`duration` exported as FAKEPYPI_TIMEOUT (whole seconds): how long the uploader should wait for one answer; answer-slow answers later")
	f.run = fs.String("run", "", "run only the cases whose id matches `regexp`")
	fs.Var(f.skip, "skip-optional", "skip the cases of an optional `feature`: "+strings.Join(conform.Features, ", ")+", or all (repeatable, or comma-separated)")
	f.xfail = fs.String("xfail", "", "`file` of cases expected to fail: one id per line, then the reason; a listed case that passes is XPASS")
	f.junit = fs.String("junit", "", "write JUnit XML to `file`")
	f.jsonOut = fs.String("json", "", "write the results as JSON to `file`")
	f.out = fs.String("out", "", "write a txtar transcript of every failing case to `dir`/<case>.txtar")
	f.list = fs.Bool("list", false, "list the cases (id, tag, title) and exit")
	f.markdown = fs.Bool("markdown", false, "print the catalogue as Markdown (docs/conformance.md), with a matrix column per --results, and exit")
	fs.Var(f.results, "results", "`name=file.json`: a --json report to show as a matrix column under --markdown (repeatable)")
	f.quiet = fs.Bool("quiet", false, "no progress lines on stderr")
	return fs, f
}

func runConform(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newConformFlags()
	if err := parseFlags(fs, conformUsage, "", args, stdout, stderr); err != nil {
		return err
	}
	switch {
	case *f.list:
		return conform.WriteList(stdout)
	case *f.markdown:
		var cols []conform.Column
		for _, spec := range *f.results {
			name, path, ok := strings.Cut(spec, "=")
			if !ok || name == "" || path == "" {
				return usageErrorf("--results %q: want name=file.json", spec)
			}
			rep, err := readReportFile(path)
			if err != nil {
				return usageErrorf("--results %s: %w", spec, err)
			}
			cols = append(cols, conform.Column{Name: name, Report: rep})
		}
		return conform.WriteMarkdown(stdout, cols)
	}
	if fs.NArg() == 0 {
		return usageErrorf("conform: no entrypoint: fakeindex conform [flags] -- ENTRYPOINT [ARGS...] (see --help)")
	}
	o := conform.Options{Entrypoint: fs.Args(), Jobs: *f.jobs, Timeout: *f.timeout, HTTPTimeout: *f.httpTimeout}
	if !*f.quiet {
		o.Progress = stderr
	}
	if *f.run != "" {
		re, err := regexp.Compile(*f.run)
		if err != nil {
			return usageErrorf("--run: %v", err)
		}
		o.Run = re
	}
	for _, s := range *f.skip {
		for _, feat := range strings.Split(s, ",") {
			feat = strings.TrimSpace(feat)
			if feat != "all" && !slices.Contains(conform.Features, feat) {
				return usageErrorf("--skip-optional %q: want one of %s, or all", feat, strings.Join(conform.Features, ", "))
			}
			o.SkipOptional = append(o.SkipOptional, feat)
		}
	}
	if *f.xfail != "" {
		fh, err := os.Open(*f.xfail)
		if err != nil {
			return usageErrorf("--xfail: %w", err)
		}
		o.XFail, err = conform.ReadXFail(fh, *f.xfail)
		fh.Close()
		if err == nil {
			err = conform.CheckXFail(o.XFail)
		}
		if err != nil {
			return usageErrorf("--xfail: %w", err)
		}
	}
	if _, err := conform.CheckEntrypoint(o.Entrypoint[0]); err != nil {
		return usageErrorf("conform: %w", err)
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := conform.Run(ctx, o)
	if err != nil {
		return fmt.Errorf("conform: %w", err)
	}
	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	for _, w := range []struct {
		path  string
		write func(io.Writer) error
	}{{*f.junit, rep.WriteJUnit}, {*f.jsonOut, rep.WriteJSON}} {
		if w.path == "" {
			continue
		}
		if err := writeFile(w.path, w.write); err != nil {
			return err
		}
	}
	if *f.out != "" {
		if err := rep.WriteTranscripts(*f.out); err != nil {
			return err
		}
	}
	if !rep.OK() {
		return fmt.Errorf("conform: %d case(s) failed", rep.Summary.Failed)
	}
	return nil
}

func readReportFile(path string) (*conform.Report, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return conform.ReadReport(fh)
}

func writeFile(path string, write func(io.Writer) error) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(fh); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}
