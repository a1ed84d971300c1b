package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// command is one fakeindex command line, its flags, and the section of the
// docs that documents them.
type command struct {
	args    []string // before --help
	fs      *flag.FlagSet
	doc     string // file under docs/
	section string // heading line that starts the section
}

func commands() []command {
	serve := newServeFlags().fs
	up, _ := newUpFlags()
	prox, _ := newProxyFlags()
	health, _, _ := newHealthcheckFlags()
	mint, _ := newMintFlags()
	conf, _ := newConformFlags()
	return []command{
		{nil, serve, "fakeindex.md", "## Running"},
		{[]string{"up"}, up, "harness.md", "## `fakeindex up` flags"},
		{[]string{"proxy"}, prox, "containers.md", "### `fakeindex proxy`"},
		{[]string{"healthcheck"}, health, "containers.md", "### `fakeindex healthcheck`"},
		{[]string{"mint"}, mint, "harness.md", "## `fakeindex mint`"},
		{[]string{"conform"}, conf, "conformance.md", "## Flags"},
	}
}

// section returns the lines of doc from heading to the next heading of the
// same or a higher level.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/" + doc)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("docs/%s has no heading %q", doc, heading)
	}
	level := strings.IndexByte(heading, ' ') // number of '#'
	lines := strings.Split(rest, "\n")
	for i, line := range lines {
		if n := len(line) - len(strings.TrimLeft(line, "#")); n > 0 && n <= level && strings.HasPrefix(line[n:], " ") {
			return strings.Join(lines[:i], "\n")
		}
	}
	return rest
}

// TestDocsDocumentEveryFlag: every flag of every fakeindex command has a
// row in its docs' flag table: a table line whose first cell names
// --flag (alone or with others, e.g. "`--tls-cert file --tls-key file`").
func TestDocsDocumentEveryFlag(t *testing.T) {
	for _, c := range commands() {
		name := strings.Join(append([]string{"fakeindex"}, c.args...), " ")
		sec := section(t, c.doc, c.section)
		var firstCells []string
		for _, line := range strings.Split(sec, "\n") {
			if cells := strings.Split(line, "|"); strings.HasPrefix(line, "|") && len(cells) > 2 {
				firstCells = append(firstCells, cells[1])
			}
		}
		n := 0
		c.fs.VisitAll(func(fl *flag.Flag) {
			n++
			re := regexp.MustCompile(`(^|[^\w-])--` + regexp.QuoteMeta(fl.Name) + `($|[^\w-])`)
			for _, cell := range firstCells {
				if re.MatchString(cell) {
					return
				}
			}
			t.Errorf("%s --%s: no row in the flag table of docs/%s %q", name, fl.Name, c.doc, c.section)
		})
		if n == 0 {
			t.Errorf("%s: no flags walked", name)
		}
	}
}

// TestHelp: -h and --help print the usage, naming every flag, on stdout,
// nothing on stderr, and end in flag.ErrHelp, which main turns into exit
// status 0 (TestHelpExitStatus checks the binary). A bad flag prints the
// usage on stderr instead.
func TestHelp(t *testing.T) {
	for _, c := range commands() {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string(nil), c.args...), h)
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), args, &stdout, &stderr)
			if !errors.Is(err, flag.ErrHelp) {
				t.Errorf("%v: err = %v", args, err)
			}
			if stderr.Len() != 0 {
				t.Errorf("%v: stderr:\n%s", args, stderr.String())
			}
			if !strings.HasPrefix(stdout.String(), "Usage: fakeindex") {
				t.Errorf("%v: stdout does not start with the usage:\n%s", args, stdout.String())
			}
			c.fs.VisitAll(func(fl *flag.Flag) {
				if !strings.Contains(stdout.String(), "  -"+fl.Name+" ") && !strings.Contains(stdout.String(), "  -"+fl.Name+"\n") {
					t.Errorf("%v: no -%s in the help", args, fl.Name)
				}
			})
		}
		args := append(append([]string(nil), c.args...), "--no-such-flag")
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, &stdout, &stderr); err == nil || errors.Is(err, flag.ErrHelp) {
			t.Errorf("%v: err = %v", args, err)
		}
		if stdout.Len() != 0 || !strings.Contains(stderr.String(), "Usage: fakeindex") {
			t.Errorf("%v: stdout:\n%s\nstderr:\n%s", args, stdout.String(), stderr.String())
		}
	}
}

// TestHelpExitStatus builds fakeindex and checks what TestHelp cannot: that
// main turns help into exit status 0 with the usage on stdout only, and a
// bad flag into a non-zero status.
func TestHelpExitStatus(t *testing.T) {
	bin := fakeindexBinary(t)
	for _, c := range commands() {
		for _, h := range []string{"-h", "--help", "--no-such-flag"} {
			args := append(append([]string(nil), c.args...), h)
			cmd := exec.Command(bin, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			cmd.Run()
			code := cmd.ProcessState.ExitCode()
			if h == "--no-such-flag" {
				if code == 0 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "Usage: fakeindex") {
					t.Errorf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout.String(), stderr.String())
				}
				continue
			}
			if code != 0 || stderr.Len() != 0 || !strings.HasPrefix(stdout.String(), "Usage: fakeindex") {
				t.Errorf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout.String(), stderr.String())
			}
		}
	}
}
