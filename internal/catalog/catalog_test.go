package catalog

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/google/uuid"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

func file(name, kind, content string) File {
	m, s, b := md5.Sum([]byte(content)), sha256.Sum256([]byte(content)), sha256.Sum256([]byte("b2"+content))
	return File{Filename: name, PackageType: kind, PythonVersion: "py3", Size: int64(len(content)),
		MD5: hex.EncodeToString(m[:]), SHA256: hex.EncodeToString(s[:]), Blake2256: hex.EncodeToString(b[:]), Path: "x/" + name}
}

func newDemo(t *testing.T, c *Catalog) {
	t.Helper()
	if _, err := c.CreateProject(NewProject{Name: "Demo.Pkg", NormalizedName: "demo-pkg", Roles: []Role{{"Owner", "alice"}}}); err != nil {
		t.Fatal(err)
	}
}

func add(c *Catalog, version, canon string, f File) (AddResult, error) {
	return c.AddFile(NewFile{Project: "demo-pkg", Version: version, CanonicalVersion: canon, File: f,
		Metadata: Metadata{Summary: "first " + f.Filename, RequiresPython: ">=3.8"}})
}

func TestCreateProject(t *testing.T) {
	c := New(clock.NewFake(t0))
	newDemo(t, c)
	if _, err := c.CreateProject(NewProject{Name: "demo_pkg", NormalizedName: "demo-pkg"}); !errors.Is(err, ErrProjectExists) {
		t.Fatalf("second create: %v", err)
	}
	p, ok := c.Project("demo-pkg")
	if !ok || p.Name != "Demo.Pkg" || p.UploadLimit != 104857600 || p.TotalSizeLimit != 10737418240 {
		t.Fatalf("%+v", p)
	}
	if !p.Created.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("created %v", p.Created)
	}
	if c.LastSerial() != 2 || p.LastSerial != 2 {
		t.Fatalf("serial %d/%d, want 2 (create + add Owner)", c.LastSerial(), p.LastSerial)
	}
}

func TestAddFileRules(t *testing.T) {
	clk := clock.NewFake(t0)
	c := New(clk)
	newDemo(t, c)
	wheel := file("demo_pkg-1.0-py3-none-any.whl", "bdist_wheel", "wheel")
	res, err := add(c, "1.0", "1", wheel)
	if err != nil || res.Outcome != Added || !res.NewRelease {
		t.Fatalf("first add: %+v %v", res, err)
	}
	// 1.0.0 lands in release 1.0, whose metadata the first file set.
	sdist := file("demo_pkg-1.0.0.tar.gz", "sdist", "sdist")
	res, err = add(c, "1.0.0", "1", sdist)
	if err != nil || res.NewRelease || res.Release.Version != "1.0" || res.Release.Metadata.Summary != "first "+wheel.Filename {
		t.Fatalf("second add: %+v %v", res, err)
	}
	if res.File.RequiresPython != ">=3.8" || !res.File.UploadTime.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("file fields %+v", res.File)
	}
	// Identical re-upload: OK, nothing changes, commit hook not called.
	serial := c.LastSerial()
	called := false
	res, err = c.AddFile(NewFile{Project: "demo-pkg", Version: "1.0", CanonicalVersion: "1", File: wheel, DisplayName: "DEMO-pkg",
		Commit: func() error { called = true; return nil }})
	if err != nil || res.Outcome != Identical || called || c.LastSerial() != serial {
		t.Fatalf("identical: %+v %v called=%v", res, err, called)
	}
	if p, _ := c.Project("demo-pkg"); p.Name != "Demo.Pkg" {
		t.Fatal("identical re-upload changed the display name")
	}
	// Same name, different bytes; and same bytes, other name.
	var dup *DuplicateError
	_, err = add(c, "1.0", "1", file(wheel.Filename, "bdist_wheel", "other"))
	if !errors.As(err, &dup) || dup.Error() != "File already exists ('demo_pkg-1.0-py3-none-any.whl', with blake2_256 hash '"+file("", "", "other").Blake2256+"'). See https://pypi.org/help/#file-name-reuse for more information." {
		t.Fatalf("same name: %v", err)
	}
	renamed := wheel
	renamed.Filename = "demo_pkg-1.0-py2.py3-none-any.whl"
	if _, err = add(c, "1.0", "1", renamed); !errors.As(err, &dup) {
		t.Fatalf("same bytes: %v", err)
	}
	// Second sdist.
	if _, err = add(c, "1.0", "1", file("demo_pkg-1.0.zip", "sdist", "zip")); !errors.Is(err, ErrSecondSdist) {
		t.Fatalf("second sdist: %v", err)
	}
	// Deleted filename is blocked forever.
	if _, err := c.DeleteFile("demo-pkg", sdist.Filename); err != nil {
		t.Fatal(err)
	}
	if _, err = add(c, "1.0", "1", file(sdist.Filename, "sdist", "new bytes")); !errors.Is(err, ErrFilenameReused) {
		t.Fatalf("reuse: %v", err)
	}
	// 14-day rule; the duplicate check still wins over it.
	clk.Advance(MaxAgeForNewUploads + time.Second)
	if _, err = add(c, "1.0", "1", file("demo_pkg-1.0-py2-none-any.whl", "bdist_wheel", "late")); !errors.Is(err, ErrReleaseClosed) {
		t.Fatalf("old release: %v", err)
	}
	if res, err := add(c, "1.0", "1", wheel); err != nil || res.Outcome != Identical {
		t.Fatalf("identical on closed release: %v", err)
	}
	// Commit failure leaves nothing behind.
	_, err = c.AddFile(NewFile{Project: "demo-pkg", Version: "2.0", CanonicalVersion: "2", File: file("demo_pkg-2.0.tar.gz", "sdist", "2"),
		Commit: func() error { return errors.New("disk full") }})
	if err == nil || err.Error() != "disk full" {
		t.Fatalf("commit failure: %v", err)
	}
	if p, _ := c.Project("demo-pkg"); len(p.Releases) != 1 || c.FilenameUsed("demo_pkg-2.0.tar.gz") {
		t.Fatalf("failed add left state: %+v", p.Releases)
	}
	// Project size limit.
	if err := c.SetLimits("demo-pkg", 0, 10); err != nil {
		t.Fatal(err)
	}
	if _, err = add(c, "3.0", "3", file("demo_pkg-3.0.tar.gz", "sdist", "0123456")); !errors.Is(err, ErrProjectTooLarge) {
		t.Fatalf("total size: %v", err)
	}
}

func TestYankDelete(t *testing.T) {
	c := New(clock.NewFake(t0))
	newDemo(t, c)
	add(c, "1.0", "1", file("demo_pkg-1.0.tar.gz", "sdist", "a"))
	add(c, "2.0", "2", file("demo_pkg-2.0.tar.gz", "sdist", "b"))
	if err := c.Yank("demo-pkg", "1", "broken"); err != nil {
		t.Fatal(err)
	}
	if err := c.Yank("demo-pkg", "9", ""); !errors.Is(err, ErrReleaseNotFound) {
		t.Fatal(err)
	}
	p, _ := c.Project("demo-pkg")
	if r, _ := p.Release("1"); !r.Yanked || r.YankedReason != "broken" {
		t.Fatalf("%+v", r)
	}
	c.Unyank("demo-pkg", "1.0")
	p, _ = c.Project("demo-pkg")
	if r, _ := p.Release("1"); r.Yanked || r.YankedReason != "" {
		t.Fatalf("%+v", r)
	}
	files, err := c.DeleteRelease("demo-pkg", "2.0")
	if err != nil || len(files) != 1 {
		t.Fatal(err)
	}
	p, _ = c.Project("demo-pkg")
	if p.TotalSize != 1 || len(p.Releases) != 1 {
		t.Fatalf("%+v", p)
	}
	files, err = c.DeleteProject("demo-pkg")
	if err != nil || len(files) != 1 {
		t.Fatal(err)
	}
	if _, ok := c.Project("demo-pkg"); ok {
		t.Fatal("project survived")
	}
	newDemo(t, c) // the name is free again, the filenames are not
	if _, err := add(c, "1.0", "1", file("demo_pkg-1.0.tar.gz", "sdist", "c")); !errors.Is(err, ErrFilenameReused) {
		t.Fatal(err)
	}
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "catalog.json")
	c, err := Open(path, clock.NewFake(t0))
	if err != nil {
		t.Fatal(err)
	}
	newDemo(t, c)
	f := file("demo_pkg-1.0-py3-none-any.whl", "bdist_wheel", "w")
	f.MetadataSHA256 = "abc"
	f.Provenance = json.RawMessage(`{"version":1,"attestation_bundles":[]}`)
	if _, err := add(c, "1.0", "1", f); err != nil {
		t.Fatal(err)
	}
	c.Yank("demo-pkg", "1", "why")
	c.DeleteFile("demo-pkg", f.Filename)
	add(c, "1.0", "1", file("demo_pkg-1.0.tar.gz", "sdist", "s"))
	want, _ := c.Project("demo-pkg")

	c2, err := Open(path, clock.NewFake(t0))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := c2.Project("demo-pkg")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reloaded project differs:\n got %+v\nwant %+v", got, want)
	}
	if c2.LastSerial() != c.LastSerial() || !c2.FilenameUsed(f.Filename) {
		t.Fatal("serial or filename registry lost")
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".catalog-*"))
	if len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

func TestFailedSaveKeepsOldState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "catalog.json")
	c, err := Open(path, clock.NewFake(t0))
	if err != nil {
		t.Fatal(err)
	}
	newDemo(t, c)
	// A full disk: the append writes part of the record, then fails.
	c.j.write = func(f *os.File, data []byte) (int, error) {
		n, _ := f.Write(data[:len(data)/2])
		return n, syscall.ENOSPC
	}
	committed, rolledBack := false, false
	_, err = c.AddFile(NewFile{Project: "demo-pkg", Version: "1.0", CanonicalVersion: "1", File: file("demo_pkg-1.0.tar.gz", "sdist", "s"),
		Commit: func() error { committed = true; return nil }, Rollback: func() { rolledBack = true }})
	if !errors.Is(err, syscall.ENOSPC) || !committed || !rolledBack {
		t.Fatalf("add on a full disk: err=%v committed=%v rolled back=%v", err, committed, rolledBack)
	}
	if p, _ := c.Project("demo-pkg"); len(p.Releases) != 0 || c.LastSerial() != 2 || c.FilenameUsed("demo_pkg-1.0.tar.gz") || c.Listed("x/demo_pkg-1.0.tar.gz") {
		t.Fatalf("in-memory state changed: %+v", p)
	}
	// The torn half record was cut off: the journal takes the next
	// change, and a restart sees exactly the acknowledged ones.
	c.j.write = writeFile
	if _, err := add(c, "2.0", "2", file("demo_pkg-2.0.tar.gz", "sdist", "t")); err != nil {
		t.Fatal(err)
	}
	c2, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := c2.Project("demo-pkg")
	if len(p.Releases) != 1 || p.Releases[0].Version != "2.0" || c2.FilenameUsed("demo_pkg-1.0.tar.gz") {
		t.Fatalf("reload: %+v", p.Releases)
	}
	// When even the cut-back fails, every later change is refused until
	// a restart, rather than appending after a torn line.
	c2.j.write = func(f *os.File, data []byte) (int, error) { f.Close(); return 0, syscall.EIO }
	if _, err := add(c2, "3.0", "3", file("demo_pkg-3.0.tar.gz", "sdist", "u")); !errors.Is(err, syscall.EIO) {
		t.Fatalf("failed write: %v", err)
	}
	c2.j.write = writeFile
	if _, err := add(c2, "4.0", "4", file("demo_pkg-4.0.tar.gz", "sdist", "v")); err == nil || !strings.Contains(err.Error(), "restart") {
		t.Fatalf("write after an unrecoverable failure: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".catalog-*")); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

func TestConcurrentSameFilename(t *testing.T) {
	c, err := Open(filepath.Join(t.TempDir(), "catalog.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	newDemo(t, c)
	const n = 32
	var wg sync.WaitGroup
	var mu sync.Mutex
	added, dups, commits := 0, 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half the racers send the same bytes, half different bytes.
			content := "same"
			if i%2 == 1 {
				content = "different" + string(rune('a'+i))
			}
			res, err := c.AddFile(NewFile{Project: "demo-pkg", Version: "1.0", CanonicalVersion: "1",
				File:   file("demo_pkg-1.0.tar.gz", "sdist", content),
				Commit: func() error { mu.Lock(); commits++; mu.Unlock(); return nil }})
			mu.Lock()
			defer mu.Unlock()
			var d *DuplicateError
			switch {
			case err == nil && res.Outcome == Added:
				added++
			case err == nil && res.Outcome == Identical, errors.As(err, &d):
				dups++
			default:
				t.Errorf("unexpected: %v", err)
			}
		}()
	}
	wg.Wait()
	p, _ := c.Project("demo-pkg")
	if added != 1 || commits != 1 || dups != n-1 || len(p.Releases) != 1 || len(p.Releases[0].Files) != 1 {
		t.Fatalf("added=%d commits=%d dups=%d files=%d", added, commits, dups, len(p.Releases[0].Files))
	}
}

// A project can be created with a given ID (a configured token's ProjectID
// caveat names it) and a starting PEP 792 status; IDs stay unique.
func TestCreateProjectIDAndStatus(t *testing.T) {
	c := New(clock.NewFake(t0))
	id := uuid.MustParse("6f9b4a52-2c1d-4e0f-8a3b-1c2d3e4f5a6b")
	p, err := c.CreateProject(NewProject{Name: "Kept", NormalizedName: "kept", ID: id, Status: StatusArchived})
	if err != nil || p.ID != id || p.Status != StatusArchived {
		t.Fatalf("create: %+v %v", p, err)
	}
	if _, err := c.CreateProject(NewProject{Name: "other", NormalizedName: "other", ID: id}); err == nil {
		t.Fatal("a second project got the same id")
	}
	if _, err := c.CreateProject(NewProject{Name: "bad", NormalizedName: "bad", Status: "gone"}); err == nil {
		t.Fatal("unknown status accepted")
	}
	if p, _ := c.CreateProject(NewProject{Name: "act", NormalizedName: "act", Status: StatusActive}); p.Status != "" {
		t.Fatalf("active stored as %q, want \"\"", p.Status)
	}
}
