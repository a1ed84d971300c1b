package upload_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fakepypi/fakepypi/internal/blobstore"
	"github.com/fakepypi/fakepypi/internal/catalog"
	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/index"
	"github.com/fakepypi/fakepypi/internal/indexconfig"
	"github.com/fakepypi/fakepypi/internal/testenv"
	"github.com/fakepypi/fakepypi/internal/upload"
)

// TestFailedFirstUploadKeepsOthersFiles is the rollback race of issue 11:
// upload A creates a new project and fails late (attestations from a user
// token, step 30); meanwhile uploads B and C to the same new project get
// 200. A's rollback must not take their files (a 200 is never undone),
// their filenames must stay usable by nobody else, and nothing unlisted
// may be served.
func TestFailedFirstUploadKeepsOthersFiles(t *testing.T) {
	s, clk := newIndex(t, testSetup)
	created := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	h := upload.New(upload.Options{Catalog: s.Catalog, Blobs: s.Blobs, Tokens: s.Tokens, Flags: s.Flags, Clock: clk,
		// The index's own creation, then a pause: A's project exists
		// and A has yet to reach its failing check.
		CreateProject: func(name, creator string) (catalog.Project, error) {
			p, err := s.CreateProject(name, creator, "")
			once.Do(func() { close(created); <-release })
			return p, err
		}})
	mux := http.NewServeMux()
	mux.Handle("/legacy/", h)
	mux.Handle("/", s)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	alice := basic(token(t, s, "alice-all"))

	aDone := make(chan string)
	go func() {
		f := uploadForm("racy", "1.0", "racy-1.0-py3-none-any.whl", wheel("racy", "1.0")).set("attestations", "[{}]")
		st, _ := send(t, srv.URL+"/legacy/", alice, f)
		aDone <- st
	}()
	<-created
	var stored [][]byte
	for _, v := range []string{"2.0", "3.0"} {
		whl := wheel("racy", v)
		if st, body := send(t, srv.URL+"/legacy/", alice, uploadForm("racy", v, "racy-"+v+"-py3-none-any.whl", whl)); st != okStatus {
			t.Fatalf("upload %s while A is in flight: %s %s", v, st, body)
		}
		stored = append(stored, whl)
	}
	close(release)
	if st := <-aDone; !strings.HasPrefix(st, "400 Invalid attestations supplied during upload: Attestations are only supported when using Trusted Publishing") {
		t.Fatalf("A: %s", st)
	}
	p, ok := s.Catalog.Project("racy")
	if !ok {
		t.Fatal("A's rollback deleted the project B and C stored files in")
	}
	if len(p.Releases) != 2 {
		t.Fatalf("releases after A's rollback: %+v", p.Releases)
	}
	for i, r := range p.Releases {
		f := r.Files[0]
		resp, err := http.Get(srv.URL + "/packages/" + f.Path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, stored[i]) {
			t.Errorf("%s after A's rollback: %d, %d bytes", f.Filename, resp.StatusCode, len(got))
		}
	}
	// A left nothing: its filename was never used, and a retry (without
	// the attestations) succeeds.
	if s.Catalog.FilenameUsed("racy-1.0-py3-none-any.whl") {
		t.Error("A's filename is burned")
	}
	if st, _ := send(t, srv.URL+"/legacy/", alice, uploadForm("racy", "1.0", "racy-1.0-py3-none-any.whl", wheel("racy", "1.0"))); st != okStatus {
		t.Errorf("A again: %s", st)
	}
}

// TestFailedFirstUploadAloneRollsBack: with nobody else using it, a failed
// first upload leaves no project behind, as in Warehouse where the
// creation is part of the failed transaction.
func TestFailedFirstUploadAloneRollsBack(t *testing.T) {
	s, _ := newIndex(t, testSetup)
	alice := basic(token(t, s, "alice-all"))
	f := uploadForm("lonely", "1.0", "lonely-1.0-py3-none-any.whl", wheel("lonely", "1.0")).set("attestations", "[{}]")
	if st, _ := send(t, s.URL()+"/legacy/", alice, f); !strings.HasPrefix(st, "400 Invalid attestations") {
		t.Fatal(st)
	}
	if _, ok := s.Catalog.Project("lonely"); ok {
		t.Fatal("the failed upload's project stayed")
	}
	for _, ps := range s.Catalog.Projects() {
		if ps.NormalizedName == "lonely" {
			t.Fatal("listed")
		}
	}
}

// sizedWheel is a valid wheel for name-version holding size bytes of
// incompressible data derived from seed (so each one is distinct).
func sizedWheel(name, version string, size int, seed int64) []byte {
	data := make([]byte, size)
	rand.New(rand.NewSource(seed)).Read(data)
	return wheelWith(name, version, [2]string{name + "/data.bin", string(data)})
}

// openDisk starts an index with testSetup over a data directory.
func openDisk(t *testing.T, dir string) *index.Server {
	t.Helper()
	f, err := indexconfig.Parse("test.yaml", []byte(testSetup))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(t0)
	cat, blobs, err := index.OpenData(dir, clk)
	if err != nil {
		t.Fatal(err)
	}
	s, err := index.Start(index.Config{Setup: *f, Clock: clk, Catalog: cat, Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); cat.Close() })
	return s
}

// get fetches url and returns the status code and body.
func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestFullDiskDrill fills a small real disk (a tmpfs) with uploads of
// shrinking sizes, so that the disk runs out at different points of the
// upload (spooling the file, its metadata, the commit, the catalog's
// journal). Every failure must be PyPI's 500 with no server path, every
// 200 must stay served byte for byte, nothing unlisted may be served or
// left behind, uploads must work again once space is freed, and a restart
// must load what is there.
func TestFullDiskDrill(t *testing.T) {
	disk := testenv.SmallDisk(t, 3<<20)
	dir := filepath.Join(disk, "data")
	s := openDisk(t, dir)
	alice := basic(token(t, s, "alice-all"))
	type upload struct {
		filename string
		data     []byte
	}
	var stored, refused []upload
	try := func(i, size int) {
		t.Helper()
		v := fmt.Sprintf("%d.0", i)
		u := upload{"full-" + v + "-py3-none-any.whl", sizedWheel("full", v, size, int64(i))}
		st, body := send(t, s.URL()+"/legacy/", alice, uploadForm("full", v, u.filename, u.data))
		switch st {
		case okStatus:
			stored = append(stored, u)
		case "500 Internal Server Error":
			if strings.Contains(body, disk) {
				t.Errorf("upload %d: the answer names a server path: %s", i, body)
			}
			refused = append(refused, u)
		default:
			t.Fatalf("upload %d (%d bytes): %s %s", i, len(u.data), st, body)
		}
	}
	// Space held back, to be given back a little at a time once the disk
	// is full.
	filler := filepath.Join(disk, "filler")
	fillerSize := int64(256 << 10)
	if err := os.WriteFile(filler, make([]byte, fillerSize), 0o644); err != nil {
		t.Fatal(err)
	}
	i := 0
	for ; len(refused) == 0 && i < 100; i++ {
		try(i, 256<<10)
	}
	// Each round frees a few KiB and tries a small upload, so the disk
	// runs out at a different point of the upload each time.
	rng := rand.New(rand.NewSource(1))
	for ; fillerSize > 0; i++ {
		fillerSize = max(0, fillerSize-int64(rng.Intn(6<<10)))
		if err := os.Truncate(filler, fillerSize); err != nil {
			t.Fatal(err)
		}
		try(i, 200+rng.Intn(12<<10))
	}
	if len(refused) < 2 || len(stored) < 2 {
		t.Fatalf("stored %d, refused %d: the disk never filled", len(stored), len(refused))
	}
	_, events := get(t, s.URL()+"/_fake/events?kind=upload")
	if strings.Contains(string(events), disk) {
		t.Error("an upload event names a server path")
	}
	steps := map[string]int{}
	var ev struct {
		Events []struct {
			Status  int
			Why     string
			Details struct{ Step string }
		}
	}
	if err := json.Unmarshal(events, &ev); err != nil {
		t.Fatal(err)
	}
	for _, e := range ev.Events {
		if e.Status == 500 {
			steps[e.Details.Step+": "+e.Why]++
		}
	}
	t.Logf("stored %d, refused %d on a full disk, by step: %v", len(stored), len(refused), steps)

	check := func(s *index.Server, when string) {
		t.Helper()
		for _, u := range stored {
			path := blobstore.Path(blobstore.Sum(u.data).Blake2256, u.filename)
			if code, got := get(t, s.URL()+"/packages/"+path); code != 200 || !bytes.Equal(got, u.data) {
				t.Errorf("%s: %s: %d, %d bytes", when, u.filename, code, len(got))
			}
		}
		for _, u := range refused {
			path := blobstore.Path(blobstore.Sum(u.data).Blake2256, u.filename)
			if code, _ := get(t, s.URL()+"/packages/"+path); code != 404 {
				t.Errorf("%s: refused %s is served (%d)", when, u.filename, code)
			}
			if s.Catalog.FilenameUsed(u.filename) {
				t.Errorf("%s: refused %s is in the catalog", when, u.filename)
			}
		}
		// Nothing on disk that the catalog does not list.
		root := filepath.Join(dir, "files")
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.Contains(p, "/.tmp/") {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if !s.Catalog.Listed(filepath.ToSlash(rel)) {
				t.Errorf("%s: unlisted blob left on disk: %s", when, rel)
			}
			return nil
		})
	}
	check(s, "full disk")

	// Free space: the catalog was not left broken by the failed writes.
	for _, u := range stored[:len(stored)/2] {
		if code, body := call(t, "DELETE", s.URL()+"/_fake/projects/full/files/"+u.filename, ""); code != 200 {
			t.Fatalf("delete %s: %d %s", u.filename, code, body)
		}
	}
	stored = stored[len(stored)/2:]
	u := upload{"full-999.0-py3-none-any.whl", sizedWheel("full", "999.0", 64<<10, 9999)}
	if st, body := send(t, s.URL()+"/legacy/", alice, uploadForm("full", "999.0", u.filename, u.data)); st != okStatus {
		t.Fatalf("upload after freeing space: %s %s", st, body)
	}
	stored = append(stored, u)
	check(s, "after freeing space")

	s.Close()
	s.Catalog.Close()
	check(openDisk(t, dir), "after a restart")
}

// TestCatalogWriteFailsAfterCommit: the blob is committed, then the
// catalog cannot record it (its journal is immutable, as a full disk or a
// read-only remount would leave it). The upload answers 500, and the blob
// is neither served nor left on disk.
func TestCatalogWriteFailsAfterCommit(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir)
	alice := basic(token(t, s, "alice-all"))
	journal := filepath.Join(dir, "catalog.journal")
	setImmutable(t, journal, true)
	defer setImmutable(t, journal, false)
	whl := wheel("demo", "1.0")
	st, body := send(t, s.URL()+"/legacy/", alice, uploadForm("demo", "1.0", "demo-1.0-py3-none-any.whl", whl))
	if st != "500 Internal Server Error" || strings.Contains(body, dir) {
		t.Fatalf("upload with an unwritable catalog: %s %s", st, body)
	}
	path := blobstore.Path(blobstore.Sum(whl).Blake2256, "demo-1.0-py3-none-any.whl")
	for _, p := range []string{path, path + ".metadata"} {
		if code, _ := get(t, s.URL()+"/packages/"+p); code != 404 {
			t.Errorf("%s served: %d", p, code)
		}
		if _, err := os.Stat(filepath.Join(dir, "files", p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left on disk: %v", p, err)
		}
	}
	setImmutable(t, journal, false)
	if st, _ := send(t, s.URL()+"/legacy/", alice, uploadForm("demo", "1.0", "demo-1.0-py3-none-any.whl", whl)); st != okStatus {
		t.Fatalf("upload once the catalog is writable again: %s", st)
	}
}

// TestProjectGoneBeforeCommit: the project an upload checked against is
// removed before the upload commits (another upload's rollback, or a
// deletion through the control plane). The upload starts again, as in
// PyPI it would not have seen that project at all, and stores its file.
func TestProjectGoneBeforeCommit(t *testing.T) {
	s, clk := newIndex(t, testSetup)
	calls := 0
	h := upload.New(upload.Options{Catalog: s.Catalog, Blobs: s.Blobs, Tokens: s.Tokens, Flags: s.Flags, Clock: clk,
		CreateProject: func(name, creator string) (catalog.Project, error) {
			calls++
			p, err := s.CreateProject(name, creator, "")
			if calls == 1 && err == nil {
				s.Catalog.DeleteProject(p.NormalizedName) // gone before the commit
			}
			return p, err
		}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	whl := wheel("fleeting", "1.0")
	st, body := send(t, srv.URL+"/legacy/", basic(token(t, s, "alice-all")), uploadForm("fleeting", "1.0", "fleeting-1.0-py3-none-any.whl", whl))
	if st != okStatus || calls != 2 {
		t.Fatalf("upload: %s %s (project created %d times)", st, body, calls)
	}
	if p, ok := s.Catalog.Project("fleeting"); !ok || len(p.Releases) != 1 {
		t.Fatalf("project after the retry: %+v", p)
	}
}
