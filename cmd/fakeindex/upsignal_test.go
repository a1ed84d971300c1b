package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestUpInterruptedAtOnce: a Ctrl-C that comes as soon as the env file
// exists (the first sign that the harness is up), while the banner is
// still being written, shuts fakeindex up down cleanly: exit 0, the
// environment printed, the env file removed. A handler installed only
// after the banner let such a signal kill the process (under load,
// TestREADMEQuickStart's Ctrl-C after the banner's last line sometimes
// came before the environment was printed).
//
// To put the signal in that window every time, not by luck, fakeindex's
// stderr is a pipe that is already full: its first write (the banner,
// after the env file) blocks until the test reads it, after the signal.
func TestUpInterruptedAtOnce(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "job.env")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fillPipe(t, w)
	cmd := exec.Command(fakeindexBinary(t), "up", "--env-file", envFile, "--data", filepath.Join(dir, "data"), "--quiet")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close() // the child has its own copy
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()
	stderr := make(chan []byte, 1)
	drain := func() { b, _ := io.ReadAll(r); stderr <- b }
	for {
		if _, err := os.Stat(envFile); err == nil {
			break
		}
		select {
		case err := <-exited:
			go drain()
			t.Fatalf("fakeindex up exited before the env file: %v\n%s", err, <-stderr)
		case <-time.After(5 * time.Millisecond):
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	go drain()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after an early Ctrl-C: %v\n%s", err, bytes.TrimLeft(<-stderr, "\x00"))
		}
	case <-time.After(time.Minute):
		t.Fatal("still running a minute after Ctrl-C")
	}
	if !bytes.Contains(stdout.Bytes(), []byte("export ACTIONS_ID_TOKEN_REQUEST_URL=")) {
		t.Errorf("no environment on stdout:\n%s", stdout.Bytes())
	}
	if _, err := os.Stat(envFile); !os.IsNotExist(err) {
		t.Errorf("env file left behind: %v", err)
	}
}

// fillPipe writes NULs to w until the pipe holds no more, so that the
// next write to it blocks until the other end reads.
func fillPipe(t *testing.T, w *os.File) {
	t.Helper()
	rc, err := w.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	rc.Control(func(fd uintptr) {
		if werr = syscall.SetNonblock(int(fd), true); werr != nil {
			return
		}
		buf := make([]byte, 4096)
		for {
			if _, err := syscall.Write(int(fd), buf); err != nil {
				if err != syscall.EAGAIN {
					werr = err
				}
				break
			}
		}
		// Blocking again: the child inherits the open file, flags and all.
		if err := syscall.SetNonblock(int(fd), false); werr == nil {
			werr = err
		}
	})
	if werr != nil {
		t.Fatal(werr)
	}
}
