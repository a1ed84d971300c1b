package catalog

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/clock"
)

// dump is a catalog's whole visible state, for comparisons (as JSON, so
// that an empty list and none compare equal, as they do on disk).
func dump(c *Catalog) string {
	b, _ := json.MarshalIndent(dumpMap(c), "", " ")
	return string(b)
}

func dumpMap(c *Catalog) map[string]any {
	out := map[string]any{"serial": c.LastSerial()}
	for _, ps := range c.Projects() {
		p, _ := c.Project(ps.NormalizedName)
		out[ps.NormalizedName] = p
	}
	c.mu.RLock()
	out["filenames"] = sortedKeys(c.st.Filenames)
	out["paths"] = sortedKeys(c.st.paths)
	out["max"] = c.st.maxLimit
	c.mu.RUnlock()
	return out
}

func TestJournalReplayWithoutClose(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "catalog.json")
	c, err := Open(path, clock.NewFake(t0))
	if err != nil {
		t.Fatal(err)
	}
	newDemo(t, c)
	add(c, "1.0", "1", file("demo_pkg-1.0.tar.gz", "sdist", "a"))
	want := dump(c)
	// No Close: as after kill -9. The snapshot is the empty catalog
	// written at creation; everything else is in the journal.
	snap, _ := os.ReadFile(path)
	if !strings.Contains(string(snap), `"format": "fakepypi-catalog/2"`) || strings.Contains(string(snap), "demo") {
		t.Fatalf("snapshot:\n%s", snap)
	}
	c2, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(c2); got != want {
		t.Fatalf("replayed state differs:\n got %v\nwant %v", got, want)
	}
	// Close folds the journal into the snapshot.
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(journalPath(path)); err != nil || fi.Size() != 0 {
		t.Fatalf("journal after Close: %v %v", fi, err)
	}
	c3, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(c3); got != want {
		t.Fatalf("state after Close differs:\n got %v\nwant %v", got, want)
	}
}

func TestJournalTornTailAndDamage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "catalog.json")
	c, _ := Open(path, clock.NewFake(t0))
	newDemo(t, c)
	add(c, "1.0", "1", file("demo_pkg-1.0.tar.gz", "sdist", "a"))
	want := dump(c)
	jp := journalPath(path)
	good, _ := os.ReadFile(jp)
	lines := strings.SplitAfter(string(good), "\n")
	for _, tail := range []string{`{"seq":3,"serial":9,"ops":[{"op":"pro`, "\x00\x00\x00\x00", `{"seq":3,"serial":5,"ops":[]}`} {
		// A torn last line, however it looks, was never acknowledged.
		os.WriteFile(jp, []byte(string(good)+tail), 0o644)
		c2, err := Open(path, nil)
		if err != nil {
			t.Fatalf("tail %q: %v", tail, err)
		}
		if got := dump(c2); got != want {
			t.Fatalf("tail %q: state differs", tail)
		}
		// The torn end is cut before the next append.
		add(c2, "2.0", "2", file("demo_pkg-2.0.tar.gz", "sdist", "b"))
		if _, err := Open(path, nil); err != nil {
			t.Fatalf("after appending past a torn tail %q: %v", tail, err)
		}
		os.WriteFile(jp, good, 0o644)
	}
	for _, tc := range []struct{ journal, want string }{
		{lines[0] + "garbage\n" + lines[1], "catalog.journal:2: invalid character"},
		{lines[1], "catalog.journal:1: record 2 follows record 0: records are missing"},
		{lines[0] + `{"seq":2,"serial":3,"ops":[{"op":"file","project":"nope","version":"1","f":{"filename":"x"}}]}` + "\n",
			`catalog.journal:2: record 2: op 1 (file): no project "nope"`},
		{lines[0] + `{"seq":2,"serial":3,"ops":[{"op":"explode"}]}` + "\n", `unknown op "explode"`},
		{lines[0] + `{"seq":2,"serial":1,"ops":[]}` + "\n", "serial 1 goes back from 2"},
	} {
		os.WriteFile(jp, []byte(tc.journal), 0o644)
		_, err := Open(path, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), jp) {
			t.Errorf("journal %q: %v, want %q with the path", tc.journal, err, tc.want)
		}
	}
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "catalog.json")
	c, _ := Open(path, clock.NewFake(t0))
	newDemo(t, c)
	// Changes big enough to outgrow the 1 MiB floor quickly.
	big := strings.Repeat("d", 64<<10)
	compacted := false
	for i := range 40 {
		_, err := c.AddFile(NewFile{Project: "demo-pkg", Version: fmt.Sprintf("%d.0", i), CanonicalVersion: fmt.Sprint(i),
			Metadata: Metadata{Description: big}, File: file(fmt.Sprintf("demo_pkg-%d.0.tar.gz", i), "sdist", fmt.Sprint(i))})
		if err != nil {
			t.Fatal(err)
		}
		if c.j.size == 0 {
			compacted = true
		}
		if c.j.size > 2*minCompact {
			t.Fatalf("journal grew to %d bytes", c.j.size)
		}
	}
	if !compacted {
		t.Fatal("the journal was never folded into a snapshot")
	}
	want := dump(c)
	c2, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if dump(c2) != want {
		t.Fatal("state after compaction differs")
	}
	// A crash between a snapshot and the journal's truncation: records
	// the snapshot holds are skipped.
	add(c2, "100", "100", file("demo_pkg-100.tar.gz", "sdist", "x"))
	stale, _ := os.ReadFile(journalPath(path))
	c2.mu.RLock()
	c2.j.compact(c2.st)
	c2.mu.RUnlock()
	os.WriteFile(journalPath(path), stale, 0o644)
	want = dump(c2)
	c3, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if dump(c3) != want {
		t.Fatal("state after a crash during compaction differs")
	}
}

func TestMigrateV1(t *testing.T) {
	// testdata/v1-catalog.json was written by the whole-file catalog of
	// earlier releases (fakepypi-catalog/1).
	v1, err := os.ReadFile("testdata/v1-catalog.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "catalog.json")
	os.WriteFile(path, v1, 0o644)
	c, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := c.Project("demo-pkg")
	if !ok || p.Name != "Demo.Pkg" || len(p.Releases) != 2 || !p.Releases[1].Yanked || p.TotalSize != 3 {
		t.Fatalf("demo-pkg: %+v", p)
	}
	if o, _ := c.Project("other"); o.Status != StatusArchived || o.UploadLimit != 5<<30 || c.MaxUploadLimit() != 5<<30 {
		t.Fatalf("other: %+v", o)
	}
	if !c.FilenameUsed("demo_pkg-1.0.tar.gz") || !c.Listed("x/demo_pkg-1.0-py3-none-any.whl.metadata") || c.LastSerial() != 11 {
		t.Fatal("registry, paths or serial lost")
	}
	// Rewritten at once in the current format, so that an older binary
	// refuses the directory rather than ignore the journal.
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `"format": "fakepypi-catalog/2"`) {
		t.Fatalf("not migrated:\n%.200s", data)
	}
	if _, err := add(c, "3.0", "3", file("demo_pkg-3.0.tar.gz", "sdist", "new")); err != nil {
		t.Fatal(err)
	}
	c2, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := c2.Project("demo-pkg"); len(p.Releases) != 3 {
		t.Fatalf("after migration and an upload: %+v", p.Releases)
	}
}

func TestValidateAtLoad(t *testing.T) {
	v1, _ := os.ReadFile("testdata/v1-catalog.json")
	var good map[string]any
	json.Unmarshal(v1, &good)
	// edit returns the fixture changed by fn, as JSON.
	edit := func(fn func(st map[string]any)) string {
		var st map[string]any
		json.Unmarshal(v1, &st)
		fn(st)
		b, _ := json.Marshal(st)
		return string(b)
	}
	proj := func(st map[string]any) map[string]any {
		return st["projects"].(map[string]any)["demo-pkg"].(map[string]any)
	}
	file0 := func(st map[string]any) map[string]any {
		return proj(st)["releases"].([]any)[0].(map[string]any)["files"].([]any)[0].(map[string]any)
	}
	for _, tc := range []struct{ data, want string }{
		{`{"format":"fakepypi-catalog/1","projects":{"x":null}}`, `projects["x"] is null`},
		{`{"format":"fakepypi-catalog/2","projects":{"x":{}}}`, `projects["x"].normalized_name is "", not its key`},
		{`{"projects":{}}`, `no "format"`},
		{`{"format":"fakepypi-catalog/9"}`, `unknown format "fakepypi-catalog/9"`},
		{`{"format":"fakepypi-catalog/1",`, `unexpected end of JSON input`},
		{`{"format":"fakepypi-catalog/1","projects":[]}`, `cannot unmarshal array`},
		{edit(func(st map[string]any) { proj(st)["id"] = "00000000-0000-0000-0000-000000000000" }), `projects["demo-pkg"].id is missing`},
		{edit(func(st map[string]any) { proj(st)["upload_limit"] = 0 }), `upload_limit is 0`},
		{edit(func(st map[string]any) { proj(st)["status"] = "gone" }), `status is "gone"`},
		{edit(func(st map[string]any) { proj(st)["last_serial"] = 99 }), `last_serial is 99, outside 0..11`},
		{edit(func(st map[string]any) { proj(st)["roles"] = []any{map[string]any{"role": "Admin", "user": "x"}} }), `roles[0] is "Admin"`},
		{edit(func(st map[string]any) { proj(st)["total_size"] = 7 }), `total_size is 7, but its files add up to 3`},
		{edit(func(st map[string]any) { file0(st)["sha256"] = "abc" }), `sha256 is not 64 lowercase hex digits`},
		{edit(func(st map[string]any) { file0(st)["path"] = "../../etc/passwd" }), `path "../../etc/passwd" is not a clean relative path`},
		{edit(func(st map[string]any) { file0(st)["filename"] = "" }), `bad filename`},
		{edit(func(st map[string]any) { delete(st["filenames"].(map[string]any), "demo_pkg-2.0.tar.gz") }), `missing from filenames`},
		{edit(func(st map[string]any) {
			rels := proj(st)["releases"].([]any)
			rels[1].(map[string]any)["canonical_version"] = "1"
		}), `a second release "1"`},
		{edit(func(st map[string]any) {
			rels := proj(st)["releases"].([]any)
			f := rels[1].(map[string]any)["files"].([]any)[0].(map[string]any)
			f["blake2_256"] = file0(st)["blake2_256"]
		}), `the same blake2_256 is at`},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "catalog.json")
		os.WriteFile(path, []byte(tc.data), 0o644)
		_, err := Open(path, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%.80s: %v, want %q and the path", tc.data, err, tc.want)
		}
		// A refused catalog is left as it was.
		if data, _ := os.ReadFile(path); string(data) != tc.data {
			t.Errorf("%.80s: the refused file was changed", tc.data)
		}
	}
}

func TestDeleteProjectIfUnchanged(t *testing.T) {
	c := New(clock.NewFake(t0))
	created, err := c.CreateProject(NewProject{Name: "Demo.Pkg", NormalizedName: "demo-pkg", Roles: []Role{{"Owner", "alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Another upload stored a file meanwhile: the project stays.
	add(c, "1.0", "1", file("demo_pkg-1.0.tar.gz", "sdist", "a"))
	if deleted, err := c.DeleteProjectIfUnchanged(created); deleted || err != nil {
		t.Fatalf("deleted a used project: %v %v", deleted, err)
	}
	if p, ok := c.Project("demo-pkg"); !ok || len(p.Releases) != 1 {
		t.Fatal("the other upload's file is gone")
	}
	// Any other change keeps it too.
	c2 := New(clock.NewFake(t0))
	created, _ = c2.CreateProject(NewProject{Name: "X", NormalizedName: "x", Roles: []Role{{"Owner", "alice"}}})
	c2.SetLimits("x", 1<<30, 0)
	if deleted, _ := c2.DeleteProjectIfUnchanged(created); deleted {
		t.Fatal("deleted a changed project")
	}
	// Untouched: the rollback removes it, and takes no journal id.
	created, _ = c2.CreateProject(NewProject{Name: "Y", NormalizedName: "y", Roles: []Role{{"Owner", "alice"}}})
	serial := c2.LastSerial()
	if deleted, err := c2.DeleteProjectIfUnchanged(created); !deleted || err != nil {
		t.Fatalf("untouched project kept: %v", err)
	}
	if _, ok := c2.Project("y"); ok || c2.LastSerial() != serial {
		t.Fatal("rollback")
	}
	// A project of the same name created afresh is not the one to delete.
	c2.CreateProject(NewProject{Name: "Y", NormalizedName: "y", Roles: []Role{{"Owner", "alice"}}})
	if deleted, _ := c2.DeleteProjectIfUnchanged(created); deleted {
		t.Fatal("deleted another incarnation")
	}
}

// TestRandomOpsReplay runs random changes on an on-disk catalog and checks
// after each batch that a reload (replaying the journal, sometimes after a
// snapshot) sees exactly the live state, and that the indexes agree with
// a fresh rebuild.
func TestRandomOpsReplay(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "catalog.json")
	clk := clock.NewFake(t0)
	c, err := Open(path, clk)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	projects := []string{"a", "b", "c"}
	for i := range 600 {
		p := projects[rng.Intn(len(projects))]
		v := fmt.Sprint(rng.Intn(6))
		fn := fmt.Sprintf("%s-%s-%d.tar.gz", p, v, rng.Intn(3))
		switch rng.Intn(10) {
		case 0:
			c.CreateProject(NewProject{Name: strings.ToUpper(p), NormalizedName: p, Roles: []Role{{"Owner", "u"}}})
		case 1:
			c.DeleteFile(p, fn)
		case 2:
			c.Yank(p, v, "r")
		case 3:
			if rng.Intn(5) == 0 {
				c.DeleteRelease(p, v)
			}
		case 4:
			if rng.Intn(10) == 0 {
				c.DeleteProject(p)
			}
		case 5:
			c.SetLimits(p, int64(rng.Intn(3)+1)<<27, 0)
		case 6:
			clk.Advance(time.Hour)
		default:
			kind := "sdist"
			if rng.Intn(2) == 0 {
				kind, fn = "bdist_wheel", strings.TrimSuffix(fn, ".tar.gz")+".whl"
			}
			f := file(fn, kind, fmt.Sprint(rng.Intn(50)))
			if rng.Intn(2) == 0 {
				f.MetadataSHA256 = f.SHA256
			}
			c.AddFile(NewFile{Project: p, DisplayName: strings.ToUpper(p), Version: v + ".0", CanonicalVersion: v, File: f})
		}
		if i%50 == 49 {
			want := dump(c)
			c.mu.Lock()
			fresh := &state{Projects: c.st.Projects, Filenames: c.st.Filenames}
			fresh.index()
			same := reflect.DeepEqual(fresh.byName, c.st.byName) && reflect.DeepEqual(fresh.byBlake, c.st.byBlake) &&
				reflect.DeepEqual(fresh.paths, c.st.paths) && reflect.DeepEqual(fresh.rels, c.st.rels) &&
				reflect.DeepEqual(fresh.names, c.st.names) && fresh.maxLimit == c.st.maxLimit
			c.mu.Unlock()
			if !same {
				t.Fatalf("step %d: indexes differ from a rebuild", i)
			}
			if i%100 == 49 {
				c.Close()
			}
			c, err = Open(path, clk)
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if got := dump(c); got != want {
				t.Fatalf("step %d: reloaded state differs", i)
			}
		}
	}
}

// TestReadersDuringWrites runs readers against a writer (go test -race
// checks the locking).
func TestReadersDuringWrites(t *testing.T) {
	c, _ := Open(filepath.Join(t.TempDir(), "catalog.json"), nil)
	newDemo(t, c)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c.Projects()
				if p, ok := c.Project("demo-pkg"); ok {
					for _, r := range p.Releases {
						for _, f := range r.Files {
							c.Listed(f.Path)
						}
					}
				}
				c.MaxUploadLimit()
			}
		}()
	}
	for i := range 50 {
		if _, err := add(c, fmt.Sprintf("%d.0", i), fmt.Sprint(i), file(fmt.Sprintf("demo_pkg-%d.0.tar.gz", i), "sdist", fmt.Sprint(i))); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}

// benchCatalog is an on-disk catalog holding n files (100 projects), filled
// without a journal write per file (so that setting up 10,000 files does
// not take 10,000 fsyncs) and then snapshotted.
func benchCatalog(b *testing.B, n int) *Catalog {
	b.Helper()
	c, err := Open(filepath.Join(b.TempDir(), "catalog.json"), clock.NewFake(t0))
	if err != nil {
		b.Fatal(err)
	}
	j := c.j
	c.j = nil
	for p := range 100 {
		c.CreateProject(NewProject{Name: fmt.Sprintf("p%d", p), NormalizedName: fmt.Sprintf("p%d", p), Roles: []Role{{"Owner", "u"}}})
	}
	for i := range n {
		p := fmt.Sprintf("p%d", i%100)
		v := fmt.Sprintf("1.%d", i/100)
		if _, err := c.AddFile(NewFile{Project: p, Version: v, CanonicalVersion: v, SkipAgeCheck: true,
			Metadata: Metadata{Summary: "a package", Description: strings.Repeat("d", 2000)},
			File:     file(p+"-"+v+".tar.gz", "sdist", p+v)}); err != nil {
			b.Fatal(err)
		}
	}
	c.j = j
	if err := j.compact(c.st); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkAddFile: one file added to a catalog of 100 or 10,000 files,
// durably (one journal append and fsync). The cost must not grow with the
// catalog; the bytes written per change and the CPU per change are
// reported (the time is mostly the fsync's, which the disk decides).
func BenchmarkAddFile(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			c := benchCatalog(b, n)
			before := c.j.size
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			i := 0
			for b.Loop() {
				v := fmt.Sprintf("9.%d", i)
				if _, err := c.AddFile(NewFile{Project: "p7", Version: v, CanonicalVersion: v, SkipAgeCheck: true,
					Metadata: Metadata{Summary: "a package", Description: strings.Repeat("d", 2000)},
					File:     file("p7-"+v+".tar.gz", "sdist", "new"+v)}); err != nil {
					b.Fatal(err)
				}
				i++
			}
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
			b.ReportMetric(float64(cpu)/1e3/float64(i), "CPU-µs/op")
			if c.j.size > before {
				b.ReportMetric(float64(c.j.size-before)/float64(i), "journal-B/op")
			}
		})
	}
}

// BenchmarkCheckFile: an upload's catalog checks (duplicates anywhere,
// filename reuse, release rules) at 100 and 10,000 files.
func BenchmarkCheckFile(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			c := benchCatalog(b, n)
			nf := NewFile{Project: "p7", Version: "9.0", CanonicalVersion: "9", File: file("p7-9.0.tar.gz", "sdist", "new")}
			for b.Loop() {
				if out, err := c.CheckFile(nf); out != Added || err != nil {
					b.Fatal(out, err)
				}
			}
		})
	}
}

// TestReadersNotBlockedByJournalWrite: while a change's journal write (and
// fsync) is stuck, readers and the upload checks go on: the only lock
// readers take is never held across disk I/O.
func TestReadersNotBlockedByJournalWrite(t *testing.T) {
	c, err := Open(filepath.Join(t.TempDir(), "catalog.json"), clock.NewFake(t0))
	if err != nil {
		t.Fatal(err)
	}
	newDemo(t, c)
	add(c, "1.0", "1", file("demo_pkg-1.0.tar.gz", "sdist", "a"))
	stuck, release := make(chan struct{}), make(chan struct{})
	c.j.write = func(f *os.File, data []byte) (int, error) {
		close(stuck)
		<-release
		return f.Write(data)
	}
	done := make(chan error)
	go func() {
		_, err := add(c, "2.0", "2", file("demo_pkg-2.0.tar.gz", "sdist", "b"))
		done <- err
	}()
	<-stuck
	read := make(chan struct{})
	go func() {
		defer close(read)
		c.Projects()
		c.Project("demo-pkg")
		c.LastSerial()
		c.Listed("x/demo_pkg-1.0.tar.gz")
		c.CheckFile(NewFile{Project: "demo-pkg", Version: "3.0", CanonicalVersion: "3", File: file("demo_pkg-3.0.tar.gz", "sdist", "c")})
	}()
	select {
	case <-read:
	case <-time.After(5 * time.Second):
		t.Fatal("readers waited for the journal write")
	}
	// Not visible until durable.
	if p, _ := c.Project("demo-pkg"); len(p.Releases) != 1 {
		t.Fatal("a change was visible before its journal write finished")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p, _ := c.Project("demo-pkg"); len(p.Releases) != 2 {
		t.Fatal("the change is not visible after its journal write")
	}
}
