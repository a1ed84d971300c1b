package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/fakepypi/fakepypi/internal/harness"
	"github.com/fakepypi/fakepypi/internal/issuer"
)

// A job is what `fakeindex up -- COMMAND` and `fakeindex up --shell` run:
// one process in the environment of a GitHub Actions publish job, with the
// harness around it for exactly as long as it runs. The user's own shell
// never sees the job's variables (HTTPS_PROXY, CI=true, ...), so nothing
// needs undoing afterwards.

// splitCommand splits up's arguments at the first "--": flags before it,
// the command after it.
func splitCommand(args []string) (flags, command []string, found bool) {
	for i, a := range args {
		if a == "--" {
			return args[:i], args[i+1:], true
		}
	}
	return args, nil, false
}

// jobPrompt starts the prompt of `fakeindex up --shell`.
const jobPrompt = "(fakepypi job) "

// jobEnviron is the job's environment for a child process: the inherited
// environment without other CIs' variables, the harness's variables, and
// binDir first on PATH.
func jobEnviron(h *harness.Harness, base []string, binDir string) []string {
	env := h.Environ(base)
	if binDir == "" {
		return env
	}
	dir := binDir
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			env[i] = "PATH=" + dir + string(os.PathListSeparator) + v
			return env
		}
	}
	return append(env, "PATH="+dir)
}

// selfBin makes dir/fakeindex a link to this executable, so that
// `fakeindex mint` inside the job is this same binary, whatever it is
// called and even when it is not installed (go run builds it in a
// temporary directory). It returns "" when the link cannot be made.
func selfBin(dir string) string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	bin := filepath.Join(dir, "bin")
	if os.Mkdir(bin, 0o755) != nil || os.Symlink(exe, filepath.Join(bin, "fakeindex")) != nil {
		return ""
	}
	return bin
}

// runJob runs argv in the job's environment and returns its exit status.
// The harness keeps serving until argv has exited. SIGINT and SIGTERM go
// to the child, which decides: Ctrl-C at a terminal reaches both anyway,
// and fakeindex must outlive the child to stop the harness cleanly.
func runJob(ctx context.Context, h *harness.Harness, argv []string, env []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	// Look argv[0] up on the job's PATH, which starts with this binary's
	// directory: "fakeindex up -- fakeindex mint" works uninstalled.
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok && !strings.Contains(argv[0], "/") {
			if full, err := lookPathIn(argv[0], p); err == nil {
				cmd.Path = full
				cmd.Err = nil
			}
		}
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			// A shell's answer and status for a missing command.
			fmt.Fprintf(stderr, "fakeindex up: %s: command not found in the job's PATH\n", argv[0])
			return 127, nil
		}
		return 0, fmt.Errorf("up: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case sig := <-sigs:
			cmd.Process.Signal(sig)
		case <-ctx.Done():
			cmd.Process.Signal(syscall.SIGTERM)
		case err := <-done:
			return childStatus(cmd, err)
		}
	}
}

// childStatus is the shell's convention: the exit code, or 128+N for a
// child killed by signal N.
func childStatus(cmd *exec.Cmd, err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 0, err
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ee.ExitCode(), nil
}

func lookPathIn(name, path string) (string, error) {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// shellCommand is the interactive shell of `fakeindex up --shell`: the
// user's $SHELL (else /bin/sh), with a prompt that says it is the job.
// bash reads ~/.bashrc, which usually sets PS1, so it gets an rc file that
// sources ~/.bashrc and then prefixes the prompt; other shells take PS1
// from the environment.
func shellCommand(dir string) (argv []string, extraEnv []string, err error) {
	sh := os.Getenv("SHELL")
	if sh == "" {
		sh = "/bin/sh"
	}
	extraEnv = []string{"PS1=" + jobPrompt + "$ ", "FAKEPYPI_JOB_SHELL=1"}
	if filepath.Base(sh) != "bash" {
		return []string{sh, "-i"}, extraEnv, nil
	}
	rc := filepath.Join(dir, "bashrc")
	const script = `[ -f ~/.bashrc ] && . ~/.bashrc
PS1="` + jobPrompt + `${PS1:-\$ }"
`
	if err := os.WriteFile(rc, []byte(script), 0o600); err != nil {
		return nil, nil, err
	}
	return []string{sh, "--rcfile", rc, "-i"}, extraEnv, nil
}

// jobDescription names the job the harness's environment describes, e.g.
// "GitHub Actions publish job (octo-org/octo-repo,
// .github/workflows/release.yml@refs/heads/main, environment pypi)".
func jobDescription(h *harness.Harness) string {
	iss := h.Issuer()
	if iss == nil {
		return "publish job without an issuer"
	}
	env := func(e string) string {
		if e == "" {
			return ""
		}
		return ", environment " + e
	}
	rc := iss.Context()
	if h.CI() == issuer.GitLab {
		l := rc.GitLab
		return fmt.Sprintf("GitLab CI/CD publish job (%s, %s@%s%s)", l.ProjectPath, l.ConfigPath, l.Ref, env(l.Environment))
	}
	g := rc.GitHub
	return fmt.Sprintf("GitHub Actions publish job (%s, %s@%s%s)", g.Repository, g.WorkflowFile, g.Ref, env(g.Environment))
}

// runUpJob is the job part of `fakeindex up -- COMMAND` and `fakeindex up
// --shell`; the harness h is up, and is closed by the caller.
func runUpJob(ctx context.Context, h *harness.Harness, command []string, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "fakepypi-job-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env := jobEnviron(h, os.Environ(), selfBin(dir))
	run := jobDescription(h)
	if len(command) == 0 {
		argv, extra, err := shellCommand(dir)
		if err != nil {
			return err
		}
		command, env = argv, append(env, extra...)
		fmt.Fprintf(stderr, "fakepypi: %s in a %s, against the harness (index %s).\n", argv[0], run, h.IndexURL())
		fmt.Fprintln(stderr, `Try: fakeindex mint; twine upload -u __token__ -p "$(fakeindex mint)" dist/*; pip install demo. Exit the shell to stop the harness.`)
	} else {
		fmt.Fprintf(stderr, "fakepypi: running %s in a %s\n", strings.Join(command, " "), run)
	}
	code, err := runJob(ctx, h, command, env, os.Stdin, stdout, stderr)
	if err != nil {
		return err
	}
	if err := h.Close(); err != nil {
		fmt.Fprintln(stderr, "fakeindex up: stopping the harness:", err)
	}
	if code != 0 {
		return exitStatus(code)
	}
	return nil
}
