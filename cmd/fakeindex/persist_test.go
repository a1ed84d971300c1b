package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/testenv"
)

// upOnce runs `fakeindex up args...` on loopback HTTP without proxy or
// issuer, calls fn with the index's direct URL, then stops it.
func upOnce(t *testing.T, args []string, fn func(indexURL string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testenv.LogBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"up", "--quiet", "--scheme", "http", "--no-proxy", "--no-issuer"}, args...), &stdout, &stderr)
	}()
	re := regexp.MustCompile(`export FAKEPYPI_INDEX_URL='([^']+)'`)
	var indexURL string
	for deadline := time.Now().Add(10 * time.Second); indexURL == ""; time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			indexURL = m[1]
		} else if time.Now().After(deadline) {
			cancel()
			t.Fatalf("up not ready: %v\nstdout: %s\nstderr: %s", <-done, stdout.String(), stderr.String())
		}
	}
	fn(indexURL)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("up: %v\n%s", err, stderr.String())
	}
}

func getBody(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %s", u, resp.Status, b)
	}
	return string(b)
}

// TestUpPersist: a file added to `fakeindex up --persist` is listed after a
// restart on the same --data; without --persist it is not.
func TestUpPersist(t *testing.T) {
	dir := t.TempDir()
	const file = "demo-1.0.tar.gz"
	upOnce(t, []string{"--data", dir, "--persist"}, func(u string) {
		seed := `{"project": "demo", "version": "1.0", "filename": "` + file + `", "content": "` + "ZGVtbw==" + `"}`
		resp, err := http.Post(u+"/_fake/seed", "application/json", strings.NewReader(seed))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("seed: %s %s", resp.Status, b)
		}
		if !strings.Contains(getBody(t, u+"/simple/demo/"), file) {
			t.Fatal("seeded file not listed")
		}
	})
	upOnce(t, []string{"--data", dir, "--persist"}, func(u string) {
		if page := getBody(t, u+"/simple/demo/"); !strings.Contains(page, file) {
			t.Errorf("after restart with --persist, /simple/demo/ lacks %s:\n%s", file, page)
		}
	})
	upOnce(t, []string{"--data", dir}, func(u string) {
		if page := getBody(t, u+"/simple/demo/"); strings.Contains(page, file) {
			t.Errorf("without --persist, /simple/demo/ lists %s:\n%s", file, page)
		}
	})
}
