package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/testenv"
)

// waitFor polls f until it returns non-empty, failing after 20 s or when
// done delivers (run returned).
func waitFor(t *testing.T, done <-chan error, f func() string) string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if s := f(); s != "" {
			return s
		}
		select {
		case err := <-done:
			t.Fatalf("exited early: %v", err)
		case <-deadline:
			t.Fatal("not ready after 20 s")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestTokensNotLoggedInFull is issue 11 item 9: plain fakeindex logged
// every configured user token whole at start; a log is often kept where a
// token must not be. It logs a prefix (enough to tell tokens apart), and
// the full token stays behind the control plane.
func TestTokensNotLoggedInFull(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pypi.yaml")
	os.WriteFile(cfg, []byte("users: [{name: alice}]\ntokens: [{name: alice-all, user: alice}]\n"), 0o644)
	var stdout, stderr testenv.LogBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--memory", "--config", cfg}, &stdout, &stderr)
	}()
	url := strings.TrimSpace(waitFor(t, done, stdout.String))
	resp, err := http.Get(url + "/_fake/tokens")
	if err != nil {
		t.Fatal(err)
	}
	var toks []struct{ Name, Token string }
	json.NewDecoder(resp.Body).Decode(&toks)
	resp.Body.Close()
	if len(toks) != 1 || !strings.HasPrefix(toks[0].Token, "pypi-") {
		t.Fatalf("/_fake/tokens: %+v", toks)
	}
	logged := stderr.String()
	if strings.Contains(logged, toks[0].Token) {
		t.Errorf("the full token is in the log:\n%s", logged)
	}
	if !strings.Contains(logged, "name=alice-all") || !strings.Contains(logged, toks[0].Token[:tokenPrefixLen]+"…") {
		t.Errorf("the log does not name the token by its prefix:\n%s", logged)
	}
	cancel()
	<-done
}

// TestUpEnvFileSecret: the env file holds ACTIONS_ID_TOKEN_REQUEST_TOKEN
// (and, with --control-token, the control token), so only its owner may
// read it: mode 0600, where it was 0644.
func TestUpEnvFileSecret(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "job.env")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"up", "--data", filepath.Join(dir, "data"), "--no-testpypi", "--quiet", "--scheme", "http",
			"--env-file", envFile, "--control-token", "random"}, io.Discard, io.Discard)
	}()
	env := waitFor(t, done, func() string { b, _ := os.ReadFile(envFile); return string(b) })
	st, err := os.Stat(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("env file mode %v, want 0600", st.Mode().Perm())
	}
	tok := regexp.MustCompile(`FAKEPYPI_CONTROL_TOKEN='([0-9a-f]{64})'`).FindStringSubmatch(env)
	idx := regexp.MustCompile(`FAKEPYPI_INDEX_URL='(http://[^']+)'`).FindStringSubmatch(env)
	if tok == nil || idx == nil || !strings.Contains(env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=") {
		t.Fatalf("env file lacks the tokens or the index URL:\n%s", env)
	}
	for auth, want := range map[string]int{"": 401, "Bearer " + tok[1]: 200} {
		req, _ := http.NewRequest("GET", idx[1]+"/_fake/tokens", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("/_fake/tokens with %q: %d, want %d", auth, resp.StatusCode, want)
		}
	}
	cancel()
	<-done
}
