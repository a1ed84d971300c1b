package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/testenv"
)

// codeBlocks returns the indented code blocks (four spaces) of the README
// section that starts with heading, up to the next heading of the same
// level, each as its lines without the indent.
func codeBlocks(t *testing.T, readme, heading string) [][]string {
	t.Helper()
	_, rest, ok := strings.Cut(readme, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no heading %q", heading)
	}
	level := strings.IndexByte(heading, ' ')
	var blocks [][]string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			blocks = append(blocks, cur)
			cur = nil
		}
	}
	for _, line := range strings.Split(rest, "\n") {
		if n := len(line) - len(strings.TrimLeft(line, "#")); n > 0 && n <= level && strings.HasPrefix(line[n:], " ") {
			break
		}
		if l, ok := strings.CutPrefix(line, "    "); ok {
			cur = append(cur, l)
			continue
		}
		if strings.TrimSpace(line) != "" {
			flush()
		}
	}
	flush()
	return blocks
}

func readREADME(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestREADMEStartsWithTheTwoCommands: the README's quick start opens with
// the command that starts the harness and the one that runs the tests, and
// .ci/run runs that test command.
func TestREADMEStartsWithTheTwoCommands(t *testing.T) {
	readme := readREADME(t)
	if i, j := strings.Index(readme, "\n## Quick start\n"), strings.Index(readme, "\n## "); i < 0 || i != j {
		t.Errorf("the first section of README.md is not \"## Quick start\"")
	}
	blocks := codeBlocks(t, readme, "## Quick start")
	if len(blocks) < 2 || strings.Join(blocks[0], "\n") != "go run ./cmd/fakeindex up" || strings.Join(blocks[1], "\n") != "go test ./..." {
		t.Fatalf("the quick start's first two commands are %q, want go run ./cmd/fakeindex up and go test ./...", blocks)
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "\ngo test ./...\n") {
		t.Error(".ci/run does not run the README's test command, go test ./...")
	}
}

// TestREADMEQuickStart runs the README's quick start word for word, as a
// newcomer on a fresh Debian machine would: in a copy of the repository,
// with a fresh HOME, Debian's PATH and no network (GOPROXY=off). The first
// command must bring the harness up and stop on Ctrl-C; the commands of
// "Publish and install" must build the demo package, publish it with
// Debian's twine through fakeindex mint, and install it back with pip.
func TestREADMEQuickStart(t *testing.T) {
	testenv.Slow(t)
	testenv.NeedCommand(t, "twine", "apt-get install twine")
	testenv.NeedPython(t, "apt-get install python3-pip", "setuptools", "pip")
	readme := readREADME(t)
	start := codeBlocks(t, readme, "## Quick start")[0]
	publish := codeBlocks(t, readme, "### Publish and install")
	if len(publish) != 1 {
		t.Fatalf("want one code block under Publish and install, got %q", publish)
	}

	dir := copyRepo(t)
	env := freshMachineEnv(t, dir)

	t.Run("start", func(t *testing.T) {
		cmd := exec.Command("sh", "-c", strings.Join(start, "\n"))
		cmd.Dir, cmd.Env = dir, env
		// Its own process group, so that the test's Ctrl-C reaches go run
		// and the fakeindex it runs, as a terminal's does.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		up := make(chan string, 1)
		var log bytes.Buffer
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
				if strings.HasPrefix(sc.Text(), "Next, in another terminal:") {
					up <- log.String()
				}
			}
			close(up)
		}()
		var banner string
		select {
		case b, ok := <-up:
			if !ok {
				cmd.Wait()
				t.Fatalf("%s exited before the harness was up:\n%s", start[0], log.String())
			}
			banner = b
		case <-time.After(5 * time.Minute):
			// go run compiles the whole module in the copy first: a
			// minute or more on a busy 2-core machine.
			t.Fatalf("no banner after 5 minutes:\n%s", log.String())
		}
		if !strings.Contains(banner, "fakepypi harness is up") || !strings.Contains(banner, "go run ./cmd/fakeindex up --shell") {
			t.Errorf("banner:\n%s", banner)
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatal("still running a minute after Ctrl-C")
		}
		if !strings.Contains(stdout.String(), "export ACTIONS_ID_TOKEN_REQUEST_URL=") {
			t.Errorf("stdout has no job environment:\n%s", stdout.String())
		}
	})

	t.Run("publish-and-install", func(t *testing.T) {
		for _, line := range publish[0] {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			cmd := exec.CommandContext(ctx, "sh", "-c", line)
			cmd.Dir, cmd.Env = dir, env
			out, err := cmd.CombinedOutput()
			cancel()
			if err != nil {
				t.Fatalf("%s\n%v\n%s", line, err, out)
			}
			t.Logf("$ %s\n%s", line, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "site", "demo", "__init__.py")); err != nil {
			t.Errorf("demo not installed: %v", err)
		}
	})
}

// freshMachineEnv is the environment of a newcomer's shell on Debian with
// Go: Debian's default PATH plus Go's bin directory, a HOME of its own
// (no pip.conf, ~/.pypirc or fakepypi data directory yet), and the Go
// caches of this machine so that nothing is downloaded (GOPROXY=off).
func freshMachineEnv(t *testing.T, dir string) []string {
	goBin := filepath.Join(runtime.GOROOT(), "bin")
	if p, err := exec.LookPath("go"); err == nil {
		goBin = filepath.Dir(p)
	}
	env := []string{
		"PATH=" + goBin + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + t.TempDir(),
		"LANG=C.UTF-8",
		"GOPROXY=off",
		"GOFLAGS=" + os.Getenv("GOFLAGS"),
	}
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH"} {
		out, err := exec.Command("go", "env", k).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", k, err)
		}
		env = append(env, k+"="+strings.TrimSpace(string(out)))
	}
	return env
}

// copyRepo copies the repository's files (not .git, not what a build
// leaves behind) to a temporary directory, so the quick start's dist/ and
// site/ land there.
func copyRepo(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			switch rel {
			case ".git", "dist", "site", "docker/bin", "examples/demo/build", "fakeindex-data":
				// Git's store and what builds and runs leave (.gitignore).
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() || strings.HasSuffix(d.Name(), ".egg-info") || strings.HasSuffix(d.Name(), ".test") {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		out, err := os.Create(filepath.Join(dst, rel))
		if err != nil {
			return err
		}
		_, err = io.Copy(out, src)
		return errors.Join(err, out.Close())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
