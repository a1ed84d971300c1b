package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/blobstore"
	"github.com/fakepypi/fakepypi/internal/testenv"
	"github.com/fakepypi/fakepypi/pypitest"
)

// drillIndex is a fakeindex process on a data directory.
type drillIndex struct {
	cmd *exec.Cmd
	url string
}

const drillConfig = `
users: [{name: alice}]
tokens: [{name: alice-all, user: alice}]
`

func startDrillIndex(t *testing.T, bin, data, config string) *drillIndex {
	t.Helper()
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--data", data, "--config", config, "--quiet")
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("fakeindex did not start: %q %v\n%s", line, err, stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	return &drillIndex{cmd: cmd, url: strings.TrimSpace(line)}
}

// kill stops the process with SIGKILL: no deferred function, no flush.
func (d *drillIndex) kill() {
	d.cmd.Process.Kill()
	d.cmd.Wait()
}

func (d *drillIndex) token(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(d.url + "/_fake/tokens")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var toks []struct{ Name, Token string }
	json.NewDecoder(resp.Body).Decode(&toks)
	for _, tk := range toks {
		if tk.Name == "alice-all" {
			return tk.Token
		}
	}
	t.Fatal("no alice-all token in /_fake/tokens")
	return ""
}

// listed returns the paths under /packages/ that the index's JSON API
// lists for project (nil if the project does not exist).
func (d *drillIndex) listed(t *testing.T, project string) map[string]bool {
	t.Helper()
	resp, err := http.Get(d.url + "/pypi/" + project + "/json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == 404 {
		return nil
	}
	var doc struct {
		Releases map[string][]struct{ URL string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, files := range doc.Releases {
		for _, f := range files {
			_, p, _ := strings.Cut(f.URL, "/packages/")
			out[p] = true
			out[p+".metadata"] = true // a wheel's PEP 658 file
		}
	}
	return out
}

type drillFile struct {
	project, filename string
	data              []byte
}

func (f drillFile) path() string { return blobstore.Path(blobstore.Sum(f.data).Blake2256, f.filename) }

// TestKill9Drill kills fakeindex with SIGKILL in the middle of a burst of
// concurrent uploads (new projects, small and multi-megabyte files),
// three times, restarting it on the same data directory each time. After
// every restart each upload that got a 200 is listed and served byte for
// byte, and every blob on disk is one the catalog lists (what a kill left
// half-committed is swept, and was never served).
func TestKill9Drill(t *testing.T) {
	testenv.Slow(t) // about 5 s
	bin := fakeindexBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	config := filepath.Join(dir, "index.yaml")
	os.WriteFile(config, []byte(drillConfig), 0o644)
	const workers = 6
	var acked []drillFile
	projects := map[string]bool{}
	rng := rand.New(rand.NewSource(1))
	verify := func(d *drillIndex, when string) {
		t.Helper()
		for _, f := range acked {
			resp, err := http.Get(d.url + "/packages/" + f.path())
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Equal(got, f.data) {
				t.Errorf("%s: %s (acknowledged with 200): %d, %d bytes", when, f.filename, resp.StatusCode, len(got))
			}
		}
		all := map[string]bool{}
		for p := range projects {
			for path := range d.listed(t, p) {
				all[path] = true
			}
		}
		root := filepath.Join(data, "files")
		filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || strings.Contains(p, "/.tmp/") {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if !all[filepath.ToSlash(rel)] {
				t.Errorf("%s: a blob the catalog does not list is on disk: %s", when, rel)
			}
			return nil
		})
	}
	for cycle := range 3 {
		d := startDrillIndex(t, bin, data, config)
		if cycle > 0 {
			verify(d, fmt.Sprintf("restart %d", cycle))
		}
		token := d.token(t)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := &http.Client{Timeout: 30 * time.Second}
				for i := 0; ; i++ {
					project := fmt.Sprintf("drill-%d-%d", w, i/3) // a new project every third upload
					version := fmt.Sprintf("%d.%d", cycle, i)
					size := 1 << 10
					if i%4 == 3 {
						size = 3 << 20
					}
					blob := make([]byte, size)
					rand.New(rand.NewSource(int64(cycle*1e6 + w*1e4 + i))).Read(blob)
					f := drillFile{project: project, filename: pypitest.WheelFilename(project, version),
						data: pypitest.Wheel(project, version, pypitest.DistOptions{Files: map[string]string{"blob.bin": string(blob)}})}
					mu.Lock()
					projects[project] = true
					mu.Unlock()
					resp, err := pypitest.Upload(client, pypitest.UploadOptions{URL: d.url + "/legacy/"}, token, f.filename, f.data)
					if err != nil {
						return // killed
					}
					if resp.Status != 200 {
						t.Errorf("upload %s: %s", f.filename, resp.StatusLine())
						return
					}
					mu.Lock()
					acked = append(acked, f)
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(300+rng.Intn(400)) * time.Millisecond)
		d.kill()
		wg.Wait()
		t.Logf("cycle %d: %d uploads acknowledged so far", cycle, len(acked))
	}
	d := startDrillIndex(t, bin, data, config)
	defer d.kill()
	verify(d, "final restart")
	if len(acked) < 3*workers {
		t.Errorf("only %d uploads acknowledged: the drill did not exercise much", len(acked))
	}
}
