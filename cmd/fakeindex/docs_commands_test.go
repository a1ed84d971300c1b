package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/testenv"
)

// fencedBlocks returns the ```sh blocks of a docs section, line by line.
func fencedBlocks(t *testing.T, doc, heading string) [][]string {
	t.Helper()
	var blocks [][]string
	var cur []string
	in := false
	for _, line := range strings.Split(section(t, doc, heading), "\n") {
		switch {
		case !in && strings.HasPrefix(line, "```sh"):
			in, cur = true, nil
		case in && strings.HasPrefix(line, "```"):
			in = false
			blocks = append(blocks, cur)
		case in:
			cur = append(cur, line)
		}
	}
	return blocks
}

// TestDocsHarnessQuickStart runs the quick start of docs/harness.md as
// written, in a copy of the repository: the build, the demo wheel, the
// publish with Debian's twine through fakeindex mint, and the curl line,
// whose output must be what its comment says. Two lines are left to other
// tests: twine >= 6.1's own trusted publishing (Debian has 4.0.2; the
// scenarios and docs/harness.md's twine section cover the flow) and the
// interactive --shell (TestUpShell).
func TestDocsHarnessQuickStart(t *testing.T) {
	testenv.Slow(t)
	testenv.NeedCommand(t, "twine", "apt-get install twine")
	testenv.NeedCommand(t, "curl", "apt-get install curl")
	testenv.NeedPython(t, "apt-get install python3-pip", "setuptools", "pip")
	blocks := fencedBlocks(t, "harness.md", "## Quick start")
	if len(blocks) == 0 {
		t.Fatal("no sh block in docs/harness.md's quick start")
	}
	dir := copyRepo(t)
	env := freshMachineEnv(t, dir)
	ran := 0
	for _, line := range blocks[0] {
		cmdline, comment, _ := strings.Cut(line, "  #")
		cmdline = strings.TrimSpace(cmdline)
		if cmdline == "" || strings.Contains(comment, "twine >= 6.1") || strings.Contains(cmdline, "--shell") {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, "sh", "-c", cmdline)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("%s\n%v\n%s", cmdline, err, out)
		}
		if want, ok := strings.CutSuffix(strings.TrimSpace(comment), " from the fake"); ok && strings.HasPrefix(want, "{") && !strings.Contains(string(out), want) {
			t.Errorf("%s: output lacks %s:\n%s", cmdline, want, out)
		}
		ran++
	}
	if ran < 4 {
		t.Errorf("ran %d lines of the quick start; the block changed shape?", ran)
	}
}

// TestDocsReproducingCommands runs the commands of docs/harness.md's
// "Reproducing a trust mistake" and of the README's "Reproduce a refused
// publish" as written (fakeindex being the binary under test, for go run
// too; claims.txt the action's claims block): each must show PyPI's
// refusal and fakeindex's diagnosis.
func TestDocsReproducingCommands(t *testing.T) {
	bin := fakeindexBinary(t)
	blocks := fencedBlocks(t, "harness.md", "## Reproducing a trust mistake")
	if len(blocks) == 0 || len(blocks[0]) < 2 {
		t.Fatalf("blocks %q", blocks)
	}
	lines := blocks[0]
	readme := codeBlocks(t, readREADME(t), "### Reproduce a refused publish")
	if len(readme) == 0 || len(readme[0]) < 2 {
		t.Fatalf("README blocks %q", readme)
	}
	for _, l := range readme[0] {
		lines = append(lines, strings.Replace(l, "go run ./cmd/fakeindex up ", "fakeindex up ", 1))
	}
	ran := 0
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "claims.txt"), []byte(claimsBlock), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink(bin, filepath.Join(dir, "fakeindex"))
	for _, line := range lines {
		if !strings.HasPrefix(line, "fakeindex up ") {
			continue
		}
		ran++
		// A data directory of the test's own, given first so that it is
		// up's flag and not the command's.
		cmd := exec.Command("sh", "-c", strings.Replace(line, "fakeindex up ", "fakeindex up --data "+filepath.Join(t.TempDir(), "data")+" ", 1))
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), "* `invalid-publisher`") || !strings.Contains(string(out), "fakeindex's diagnosis") {
			t.Errorf("%s: exit %d\n%s", line, code, out)
		}
	}
	if ran != 4 {
		t.Errorf("ran %d commands, want the 2 of docs/harness.md and the 2 of the README", ran)
	}
}
