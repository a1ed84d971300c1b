package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/internal/conform"
)

func TestConformRefusesBadInvocations(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "wrapper")
	os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644)
	xfail := filepath.Join(dir, "xfail.txt")
	os.WriteFile(xfail, []byte("no-such-case some reason\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"conform"}, "no entrypoint"},
		{[]string{"conform", "--", filepath.Join(dir, "missing")}, "no such file"},
		{[]string{"conform", "--", plain}, "not executable"},
		{[]string{"conform", "--skip-optional", "bogus", "--", "/bin/true"}, `--skip-optional "bogus"`},
		{[]string{"conform", "--run", "(", "--", "/bin/true"}, "--run"},
		{[]string{"conform", "--xfail", filepath.Join(dir, "none.txt"), "--", "/bin/true"}, "--xfail"},
		{[]string{"conform", "--markdown", "--results", "twine"}, "want name=file.json"},
		{[]string{"conform", "--xfail", xfail, "--", "/bin/true"}, "unknown case ids no-such-case"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
		if code := exitCode(err, &bytes.Buffer{}); code != exitUsage {
			t.Errorf("%v: exit status %d, want %d (a command line it cannot run)", tc.args, code, exitUsage)
		}
	}
}

func TestConformList(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"conform", "--list"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stdout.String(), "\n"); n != len(conform.Catalogue()) {
		t.Errorf("%d lines for %d cases", n, len(conform.Catalogue()))
	}
}

// docs/conformance.md's generated part is `fakeindex conform --markdown`
// for the catalogue as it is: the case list and each case's text match,
// and the matrix has a row per case with a verdict for twine, flit and
// poetry. (Whether those verdicts are current is conformance/matrix.sh's
// check, which runs the clients.)
func TestConformDocMatchesCatalogue(t *testing.T) {
	b, err := os.ReadFile("../../docs/conformance.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	_, rest, ok1 := strings.Cut(doc, conform.MarkdownBegin)
	gen, _, ok2 := strings.Cut(rest, conform.MarkdownEnd)
	if !ok1 || !ok2 {
		t.Fatal("docs/conformance.md has no generated part (run conformance/matrix.sh --update)")
	}
	var want bytes.Buffer
	if err := run(context.Background(), []string{"conform", "--markdown"}, &want, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	_, wantCases, _ := strings.Cut(want.String(), "### Cases\n")
	_, gotCases, _ := strings.Cut(gen, "### Cases\n")
	wantCases, _, _ = strings.Cut(wantCases, conform.MarkdownEnd)
	if strings.TrimSpace(gotCases) != strings.TrimSpace(wantCases) {
		t.Errorf("the doc's case list differs from the catalogue: run conformance/matrix.sh --update")
	}
	row := regexp.MustCompile("(?m)^\\| \\[`([a-z0-9-]+)`\\]\\(#[a-z0-9-]+\\) \\| [a-z0-9:-]+ \\| (PASS|FAIL|XFAIL|XPASS|SKIP) \\| (PASS|FAIL|XFAIL|XPASS|SKIP) \\| (PASS|FAIL|XFAIL|XPASS|SKIP) \\|$")
	var ids []string
	for _, m := range row.FindAllStringSubmatch(gen, -1) {
		ids = append(ids, m[1])
	}
	var catalogue []string
	for _, c := range conform.Catalogue() {
		catalogue = append(catalogue, c.ID)
	}
	if !slices.Equal(ids, catalogue) {
		t.Errorf("matrix rows %v\nwant the catalogue %v", ids, catalogue)
	}
	if !strings.Contains(gen, "| case | tag | twine | flit | poetry |") {
		t.Error("the matrix has no twine, flit and poetry columns")
	}
}
