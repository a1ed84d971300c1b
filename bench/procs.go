package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a running fakeindex, fakeissuer or `fakeindex up`.
type proc struct {
	cmd    *exec.Cmd
	url    string // the first line it printed on stdout
	stderr *tailBuffer
	done   chan error
}

// start runs bin with args (and extra environment) and waits for its
// first stdout line: the URL that fakeindex and fakeissuer print once
// they serve, or the first line of `fakeindex up`'s environment. The
// time it took is returned too.
func start(ctx context.Context, bin string, env []string, args ...string) (*proc, time.Duration, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	p := &proc{cmd: cmd, stderr: &tailBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(out)
		l, _ := r.ReadString('\n')
		line <- strings.TrimSpace(l)
		io.Copy(io.Discard, r)
	}()
	go func() { p.done <- cmd.Wait() }()
	select {
	case l := <-line:
		ready := time.Since(t0)
		if l == "" {
			p.stop()
			return nil, 0, fmt.Errorf("%s printed nothing: %s", filepath.Base(bin), p.stderr)
		}
		p.url = l
		return p, ready, nil
	case <-time.After(60 * time.Second):
		p.stop()
		return nil, 0, fmt.Errorf("%s not ready after 60 s: %s", filepath.Base(bin), p.stderr)
	}
}

// stop sends SIGTERM and waits for the process (SIGKILL after 10 s).
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// cpu is the process's user + system time so far, from /proc/PID/stat.
func (p *proc) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid()))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; count from its ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// clockTicks is sysconf(_SC_CLK_TCK), 100 on every Linux this runs on.
const clockTicks = 100

// memKiB reads a VmRSS or VmHWM line of /proc/PID/status, in KiB.
func (p *proc) memKiB(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid()))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// tailBuffer keeps the last 4 KiB written to it, for error messages.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return strings.TrimSpace(string(t.b)) }
