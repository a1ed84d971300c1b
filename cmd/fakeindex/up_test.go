package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/testenv"
)

func TestUpHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"up", "--help"}, &stdout, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"-addr-index", "-addr-issuer", "-addr-proxy", "-data", "-config", "-env-file", "-no-proxy", "-no-issuer", "-scheme", "-persist", "upload.pypi.org", `project "demo"`} {
		if !strings.Contains(stdout.String(), want) { // help is output: stdout
			t.Errorf("help lacks %q", want)
		}
	}
}

// TestUpBinary builds fakeindex, runs `fakeindex up --env-file F`, waits
// for F, sources it in a shell and talks to PyPI's and GitHub's hostnames
// with curl, then stops it with SIGTERM.
func TestUpBinary(t *testing.T) {
	curl := testenv.NeedCommand(t, "curl", "apt-get install curl")
	dir := t.TempDir()
	bin := fakeindexBinary(t)

	envFile := filepath.Join(dir, "fakepypi.env")
	cmd := exec.Command(bin, "up", "--env-file", envFile, "--data", filepath.Join(dir, "data"), "--quiet")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
	}()

	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(envFile); err == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("fakeindex up exited: %v\n%s", err, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no env file after 20s\n%s", stderr.String())
		}
	}

	script := `. "$1" && ` + curl + ` -sS --fail https://pypi.org/_/oidc/audience && echo &&
` + curl + ` -sS --fail -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=pypi" | tr -d " \n" | head -c 9 && echo &&
` + curl + ` -sS --fail -o /dev/null -w '%{http_code}\n' https://upload.pypi.org/.well-known/pytp/0cace9579789849db6e16d48df183951c8f17582200d84bc93c7678d6c8f78a7 &&
if ` + curl + ` -sS https://example.com/ 2>&1; then echo reached-example; else echo refused-example; fi`
	sh := exec.Command("sh", "-c", script, "sh", envFile)
	sh.Env = append(os.Environ(), "HOME="+dir)
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("shell: %v\n%s\nfakeindex stderr:\n%s", err, out, stderr.String())
	}
	for _, want := range []string{`{"audience":"pypi"}`, `{"value":`, "200", "CONNECT tunnel failed, response 403", "refused-example"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("shell output lacks %q:\n%s", want, out)
		}
	}
	if b, _ := os.ReadFile(envFile); !bytes.Equal(b, stdout.Bytes()) {
		t.Errorf("stdout and env file differ:\n%s\n---\n%s", stdout.Bytes(), b)
	}
	if !strings.Contains(stderr.String(), "fakepypi harness is up") {
		t.Errorf("no banner on stderr:\n%s", stderr.String())
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10s after SIGTERM")
	}
	if _, err := os.Stat(envFile); !os.IsNotExist(err) {
		t.Errorf("env file left behind: %v", err)
	}
}
