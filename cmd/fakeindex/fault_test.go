package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/index"
)

func TestFaultFlagSetsStickyFaults(t *testing.T) {
	srv, err := index.New(index.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// Two flags for one endpoint add up; another endpoint keeps its own.
	if err := setFaults(srv, []string{"mint-token=delay:6s", "mint-token=status:504", "status:502"}); err != nil {
		t.Fatal(err)
	}
	st := srv.Faults.State()
	var got []string
	for _, r := range st.Sticky {
		got = append(got, r.String())
	}
	if strings.Join(got, " ") != "any=status:502 mint-token=delay:6s,status:504" || len(st.Queued) != 0 {
		t.Fatalf("sticky faults %v, queued %v", got, st.Queued)
	}
}

func TestFaultFlagRefusals(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--fault", "upload=bogus"}, `--fault "upload=bogus": unknown index fault "bogus"`},
		{[]string{"--fault", "legacy=status:500"}, `unknown endpoint "legacy"`},
		{[]string{"--fault", "upload=reset", "--fault", "upload=status:500"}, "at most one of status, json-status, non-json, no-value and reset"},
	} {
		args := append([]string{"--memory", "--quiet", "--addr", "127.0.0.1:0"}, c.args...)
		// A flag that was wrongly accepted serves until the timeout, then
		// returns nil: a failure, not a hang.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := run(ctx, args, io.Discard, io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error saying %q", c.args, err, c.want)
		}
	}
}

// fakeindex up --fault makes PyPI's index faulty before the env file
// (the clients' cue) exists; a bad one stops up with the parse error.
func TestUpFaultFlag(t *testing.T) {
	dir := t.TempDir()
	base := []string{"up", "--data", filepath.Join(dir, "data"), "--no-proxy", "--no-testpypi", "--quiet"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := run(ctx, append(base, "--fault", "upload=bogus"), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), `unknown index fault "bogus"`) {
		t.Fatalf("bad --fault: %v", err)
	}

	envFile := filepath.Join(dir, "job.env")
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append(base, "--env-file", envFile, "--fault", "audience=status:503"), io.Discard, io.Discard)
	}()
	var env []byte
	for env == nil {
		select {
		case err := <-done:
			t.Fatalf("up exited: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		env, _ = os.ReadFile(envFile)
	}
	m := regexp.MustCompile(`FAKEPYPI_INDEX_URL='?https?://([^'\s]+)`).FindSubmatch(env)
	if m == nil {
		t.Fatalf("no FAKEPYPI_INDEX_URL in\n%s", env)
	}
	// The direct listener speaks plain HTTP too (--scheme both).
	resp, err := http.Get("http://" + string(m[1]) + "/_/oidc/audience")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("audience under --fault audience=status:503: %s", resp.Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("up: %v", err)
	}
}
