package conform

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/testenv"
)

var (
	uploaderOnce sync.Once
	uploaderPath string
	uploaderErr  error
)

// referenceUploader builds testdata/uploader (the suite's own uploader,
// with switchable defects) once per test binary.
func referenceUploader(t *testing.T) string {
	t.Helper()
	uploaderOnce.Do(func() {
		dir, err := os.MkdirTemp("", "conform-uploader-")
		if err != nil {
			uploaderErr = err
			return
		}
		uploaderPath = filepath.Join(dir, "uploader")
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		out, err := exec.Command(goBin, "build", "-o", uploaderPath, "./testdata/uploader").CombinedOutput()
		if err != nil {
			uploaderErr = &buildError{err, out}
		}
	})
	if uploaderErr != nil {
		t.Fatal(uploaderErr)
	}
	return uploaderPath
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string {
	return "building testdata/uploader: " + e.err.Error() + "\n" + string(e.out)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if uploaderPath != "" {
		os.RemoveAll(filepath.Dir(uploaderPath))
	}
	os.Exit(code)
}

// run runs the suite against the reference uploader with defects.
func run(t *testing.T, cases string, defects ...string) *Report {
	t.Helper()
	entry := []string{referenceUploader(t)}
	for _, d := range defects {
		entry = append(entry, "--defect="+d)
	}
	// The default answer timeout (10 s): a shorter one makes the reference
	// uploader give up on answers a loaded machine is merely slow to give.
	o := Options{Entrypoint: entry, Jobs: 4}
	if cases != "" {
		o.Run = regexp.MustCompile(cases)
	}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func verdicts(rep *Report) map[string]*Result {
	m := map[string]*Result{}
	for _, r := range rep.Results {
		m[r.ID] = r
	}
	return m
}

// expectFailures checks that exactly the cases in want failed, each for a
// reason containing the substring given for it.
func expectFailures(t *testing.T, rep *Report, want map[string]string) {
	t.Helper()
	for _, r := range rep.Results {
		sub, should := want[r.ID]
		switch {
		case should && r.Verdict != Fail:
			t.Errorf("%s: %s, want FAIL (reason naming %q)", r.ID, r.Verdict, sub)
		case should && !strings.Contains(r.Reason, sub):
			t.Errorf("%s: reason %q does not name the defect (%q)", r.ID, r.Reason, sub)
		case !should && r.Verdict != Pass:
			t.Errorf("%s: %s, want PASS: %s", r.ID, r.Verdict, strings.Join(r.Problems, "; "))
		}
	}
}

// quickCases cover every kind of check in a few seconds: the full
// catalogue runs behind testenv.Slow.
const quickCases = `^(upload-sdist-and-wheel|meta-strings|meta-sdist|auth-token-not-printed.*|answer-file-exists|answer-invalid-metadata|answer-redirect|answer-reset|skip-existing-.*|tp-publish|tp-tokens-not-printed|tp-invalid-publisher|tp-fork-pr|form-content-part)$`

func TestReferenceUploaderPassesQuick(t *testing.T) {
	t.Parallel()
	rep := run(t, quickCases)
	if len(rep.Results) != 16 {
		t.Fatalf("%d cases selected, want 16", len(rep.Results))
	}
	expectFailures(t, rep, nil)
	if !rep.OK() {
		t.Error("report not OK")
	}
}

// The four defects of the issue, each on the cases it touches and on
// cases it must not touch: each fails exactly its cases, with a reason
// naming it.
func TestDefectsFailTheirCasesQuick(t *testing.T) {
	referenceUploader(t) // built once, before the parallel subtests
	for _, tc := range []struct {
		defect, cases string
		want          map[string]string
	}{
		{"digest", `^(upload-sdist-and-wheel|answer-file-exists|answer-reset|tp-publish|tp-invalid-publisher|tp-fork-pr)$`, map[string]string{
			"upload-sdist-and-wheel": "sha256_digest", "answer-file-exists": "sha256_digest", "answer-reset": "sha256_digest",
			"tp-publish": "sha256_digest",
		}},
		{"drop-field", `^(meta-strings|meta-sdist|meta-classifiers|upload-wheel)$`,
			map[string]string{"meta-strings": `Requires-Python ">=3.8"`, "meta-sdist": `Requires-Python ">=3.9"`}},
		{"ignore-400", `^(answer-file-exists|answer-invalid-metadata|skip-existing-other-errors|answer-invalid-token|upload-wheel)$`, map[string]string{
			"answer-file-exists": "exit status 0", "answer-invalid-metadata": "exit status 0", "skip-existing-other-errors": "exit status 0",
		}},
		{"print-token", `^(auth-token-not-printed.*|tp-tokens-not-printed|upload-wheel|tp-publish)$`, map[string]string{
			"auth-token-not-printed": "printed the API token", "auth-token-not-printed-on-error": "printed the API token",
			"tp-tokens-not-printed": "printed an OIDC or minted token",
		}},
	} {
		t.Run(tc.defect, func(t *testing.T) {
			t.Parallel()
			expectFailures(t, run(t, tc.cases, tc.defect), tc.want)
		})
	}
}

// The whole catalogue: the reference uploader passes every case, and each
// defect fails exactly its cases.
func TestReferenceUploaderFull(t *testing.T) {
	testenv.Slow(t)
	t.Parallel()
	rep := run(t, "")
	if len(rep.Results) != len(Catalogue()) {
		t.Fatalf("%d results for %d cases", len(rep.Results), len(Catalogue()))
	}
	expectFailures(t, rep, nil)
}

func TestDefectsFull(t *testing.T) {
	testenv.Slow(t)
	referenceUploader(t) // built once, before the parallel subtests
	// Cases where no upload is attempted: a wrong digest cannot show.
	noUpload := map[string]bool{}
	for _, c := range Catalogue() {
		if strings.HasPrefix(c.ID, "tp-") && c.Expect == ExpectFailure {
			noUpload[c.ID] = true
		}
	}
	digest := map[string]string{}
	for _, c := range Catalogue() {
		if !noUpload[c.ID] {
			digest[c.ID] = "sha256_digest"
		}
	}
	for _, tc := range []struct {
		defect string
		want   map[string]string
	}{
		{"digest", digest},
		{"drop-field", map[string]string{"meta-strings": "Requires-Python", "meta-sdist": "Requires-Python"}},
		{"ignore-400", map[string]string{
			"answer-file-exists": "exit status 0", "answer-invalid-metadata": "exit status 0", "answer-platform-tag": "exit status 0",
			"answer-too-large": "exit status 0", "auth-token-not-printed-on-error": "exit status 0", "skip-existing-other-errors": "exit status 0",
		}},
		{"print-token", map[string]string{
			"auth-token-not-printed": "printed the API token", "auth-token-not-printed-on-error": "printed the API token",
			"tp-tokens-not-printed": "printed an OIDC or minted token",
		}},
	} {
		t.Run(tc.defect, func(t *testing.T) {
			t.Parallel()
			expectFailures(t, run(t, "", tc.defect), tc.want)
		})
	}
}

// An uploader that never exits (and whose child would outlive it) is
// killed at the deadline with its process group, and the case fails as a
// hang.
func TestHangIsKilled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	script := filepath.Join(dir, "hang")
	os.WriteFile(script, []byte("#!/bin/sh\nsleep 300 &\necho $! > "+pidFile+"\nwait\n"), 0o755)
	start := time.Now()
	rep, err := Run(context.Background(), Options{Entrypoint: []string{script}, Timeout: 2 * time.Second, Run: regexp.MustCompile(`^upload-wheel$`)})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("took %s with a 2s deadline", d)
	}
	r := rep.Results[0]
	if r.Verdict != Fail || !strings.HasPrefix(r.Reason, "hung: still running after 2s") {
		t.Fatalf("%s %q", r.Verdict, r.Reason)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the uploader's child %d survived the case", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEntrypointRefused(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "plain")
	os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644)
	for _, tc := range []struct{ entry, want string }{
		{filepath.Join(dir, "missing"), "no such file"},
		{notExec, "not executable (chmod +x"},
		{dir, "is a directory"},
		{"no-such-uploader-on-path", "not found on PATH"},
		{"", "no entrypoint"},
	} {
		_, err := CheckEntrypoint(tc.entry)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.entry, err, tc.want)
		}
	}
	if _, err := Run(context.Background(), Options{Entrypoint: []string{notExec}}); err == nil {
		t.Error("Run accepted a non-executable entrypoint")
	}
}

func TestXFailXPassSkip(t *testing.T) {
	t.Parallel()
	up := referenceUploader(t)
	rep, err := Run(context.Background(), Options{
		Entrypoint:   []string{up, "--defect=drop-field"},
		Run:          regexp.MustCompile(`^(meta-strings|upload-wheel|tp-publish)$`),
		XFail:        map[string]string{"meta-strings": "drops Requires-Python", "upload-wheel": "listed by mistake"},
		SkipOptional: []string{FeatureTrustedPublishing},
	})
	if err != nil {
		t.Fatal(err)
	}
	v := verdicts(rep)
	if v["meta-strings"].Verdict != XFail || v["upload-wheel"].Verdict != XPass || v["tp-publish"].Verdict != Skip {
		t.Fatalf("verdicts %s %s %s", v["meta-strings"].Verdict, v["upload-wheel"].Verdict, v["tp-publish"].Verdict)
	}
	if !rep.OK() || rep.Summary != (Summary{XFailed: 1, XPassed: 1, Skipped: 1}) {
		t.Errorf("summary %+v OK=%v", rep.Summary, rep.OK())
	}
	if err := CheckXFail(map[string]string{"no-such-case": "x"}); err == nil || !strings.Contains(err.Error(), "no-such-case") {
		t.Errorf("unknown xfail id: %v", err)
	}
}

func TestReadXFail(t *testing.T) {
	m, err := ReadXFail(strings.NewReader("# comment\n\nmeta-dynamic  sends 2.1\nanswer-slow no timeout at all\n"), "x.txt")
	if err != nil || len(m) != 2 || m["meta-dynamic"] != "sends 2.1" || m["answer-slow"] != "no timeout at all" {
		t.Fatalf("%v %v", m, err)
	}
	for in, want := range map[string]string{
		"meta-dynamic\n":                   "x.txt:1: meta-dynamic has no reason",
		"answer-slow a\n\nanswer-slow b\n": "x.txt:3: answer-slow listed twice",
	} {
		if _, err := ReadXFail(strings.NewReader(in), "x.txt"); err == nil || err.Error()[:len(want)] != want {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

// Outputs: table, JSON (read back), JUnit (well-formed, one testcase per
// case, failures and skips), transcripts of failing cases.
func TestOutputs(t *testing.T) {
	t.Parallel()
	rep := run(t, `^(meta-strings|answer-file-exists|tp-invalid-publisher)$`, "drop-field", "ignore-400")
	var table bytes.Buffer
	rep.WriteTable(&table)
	for _, want := range []string{"meta-strings", "FAIL", "Requires-Python", "3 cases: 1 passed, 2 failed"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(&js)
	if err != nil || len(back.Results) != 3 || back.Summary != rep.Summary || back.Results[0].Rule == "" {
		t.Fatalf("JSON round trip: %v %+v", err, back)
	}
	var ju bytes.Buffer
	if err := rep.WriteJUnit(&ju); err != nil {
		t.Fatal(err)
	}
	var suites junitSuites
	if err := xml.Unmarshal(ju.Bytes(), &suites); err != nil {
		t.Fatalf("JUnit: %v\n%s", err, ju.String())
	}
	s := suites.Suites[0]
	if s.Tests != 3 || s.Failures != 2 || len(s.Cases) != 3 || s.Cases[1].Failure == nil || !strings.Contains(s.Cases[1].Failure.Message, "exit status 0") {
		t.Errorf("JUnit suite %+v", s)
	}
	dir := t.TempDir()
	if err := rep.WriteTranscripts(dir); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if len(files) != 2 {
		t.Fatalf("transcripts %v, want 2 (the failing cases)", files)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "answer-file-exists.txtar"))
	tr := string(b)
	for _, want := range []string{"case answer-file-exists, FAIL", "Rule: warehouse/forklift/legacy.py", "-- command --", "-- stdout --",
		"-- request-01 --", "POST https://upload.pypi.org/legacy/", "-- index-events --\nupload error 400", "form :action = file_upload", "=> 400 File already exists",
		"Authorization: Basic (username \"__token__\", password: the token from FAKEPYPI_PASSWORD)"} {
		if !strings.Contains(tr, want) {
			t.Errorf("transcript lacks %q:\n%s", want, tr)
		}
	}
	if tok := rep.Results[1].run.Token; strings.Contains(tr, tok) {
		t.Error("the transcript shows the token")
	}
}

func TestMarkdownAndList(t *testing.T) {
	t.Parallel()
	rep := run(t, `^meta-strings$`, "drop-field")
	var md bytes.Buffer
	WriteMarkdown(&md, []Column{{Name: "broken", Report: rep}})
	out := md.String()
	if !strings.HasPrefix(out, MarkdownBegin) || !strings.HasSuffix(out, MarkdownEnd+"\n") {
		t.Errorf("markers missing")
	}
	if !strings.Contains(out, "| [`meta-strings`](#meta-strings) | required | FAIL |") || !strings.Contains(out, "| [`upload-wheel`](#upload-wheel) | required | not run |") {
		t.Errorf("matrix rows:\n%s", out)
	}
	var list bytes.Buffer
	WriteList(&list)
	for _, c := range Catalogue() {
		if !strings.Contains(out, "\n#### "+c.ID+"\n") {
			t.Errorf("markdown lacks case %s", c.ID)
		}
		if !strings.Contains(list.String(), c.ID) {
			t.Errorf("list lacks case %s", c.ID)
		}
	}
}

// The catalogue: at least 40 cases, unique ids, every case cited and
// tagged, optional ones with a known feature. (That rules cite upstream
// files only is cmd/fakeindex's TestNoOutsideCitations.)
func TestCatalogue(t *testing.T) {
	cs := Catalogue()
	if len(cs) < 40 {
		t.Errorf("%d cases, want at least 40", len(cs))
	}
	seen := map[string]bool{}
	idRe := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	for _, c := range cs {
		if seen[c.ID] || !idRe.MatchString(c.ID) {
			t.Errorf("id %q duplicate or malformed", c.ID)
		}
		seen[c.ID] = true
		if c.Title == "" || c.Rule == "" || len(c.Dists) == 0 || len(c.Checks) == 0 && c.Expect == ExpectAny {
			t.Errorf("%s: incomplete", c.ID)
		}
		if c.Feature != "" && !slices.Contains(Features, c.Feature) {
			t.Errorf("%s: unknown feature %q", c.ID, c.Feature)
		}
	}
}

func TestCompareField(t *testing.T) {
	for _, tc := range []struct {
		field     string
		want, got []string
		problem   string
	}{
		{"Name", []string{"Conform-Demo"}, []string{"conform_demo"}, ""},
		{"Name", []string{"Conform-Demo"}, []string{"other"}, "different project"},
		{"Keywords", []string{"a,b, c"}, []string{"a, b,c"}, ""},
		{"Keywords", []string{"a,b"}, []string{"a b"}, "arrived as"},
		{"Classifier", []string{"x", "y"}, []string{"y", "x"}, ""},
		{"Classifier", []string{"x", "y"}, []string{"x"}, `"y" in the file's metadata was not sent`},
		{"Classifier", []string{"x"}, []string{"x", "z"}, `values "z" not in the file's metadata`},
		{"Dynamic", []string{"requires-dist"}, []string{"Requires-Dist"}, ""},
		{"Summary", []string{"s"}, []string{"s", "s"}, "sent 2 times"},
		{"Summary", []string{"s"}, nil, "was not sent"},
	} {
		p := compareField(lookupMetaField(tc.field), tc.want, tc.got)
		if tc.problem == "" && p != "" || tc.problem != "" && !strings.Contains(p, tc.problem) {
			t.Errorf("%s %q vs %q: %q, want %q", tc.field, tc.want, tc.got, p, tc.problem)
		}
	}
}

func TestOutputChecks(t *testing.T) {
	r := &CaseRun{Stdout: []byte("\x1b[31mERROR\x1b[0m HTTPError: 400 Bad Request\n  File already\n  exists ('x').\n::add-mask::pypi-SECRET\n"), Token: "pypi-SECRET"}
	if !containsLoosely(r.Output(), "File already exists ('x').") {
		t.Error("wrapped message not found")
	}
	if p := notPrinted("the token", func(r *CaseRun) []string { return []string{r.Token} })(r); p != "" {
		t.Errorf("::add-mask:: line counted as printing: %s", p)
	}
	r.Stderr = []byte("token is SECRET\n")
	if p := notPrinted("the token", func(r *CaseRun) []string { return []string{r.Token} })(r); p == "" {
		t.Error("the macaroon without its pypi- prefix was not caught")
	}
	if w := r.lastWords(); w != `"token is SECRET"` {
		t.Errorf("lastWords %s", w)
	}
}

// JSON results name every field the docs promise.
func TestJSONShape(t *testing.T) {
	rep := &Report{Protocol: ProtocolVersion, Entrypoint: []string{"x"}, Results: []*Result{{ID: "a", Verdict: Pass}}}
	var b bytes.Buffer
	rep.WriteJSON(&b)
	var m map[string]any
	json.Unmarshal(b.Bytes(), &m)
	for _, k := range []string{"protocol", "entrypoint", "started", "duration_seconds", "summary", "cases"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	c := m["cases"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "title", "tag", "rule", "verdict", "exit_code", "duration_seconds"} {
		if _, ok := c[k]; !ok {
			t.Errorf("case JSON lacks %q", k)
		}
	}
}

// An interrupted run (SIGINT cancels the context) kills the uploaders at
// once and says so, instead of waiting for deadlines or blaming them.
func TestInterrupted(t *testing.T) {
	t.Parallel()
	script := filepath.Join(t.TempDir(), "hang")
	os.WriteFile(script, []byte("#!/bin/sh\nsleep 300\n"), 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	rep, err := Run(ctx, Options{Entrypoint: []string{script}, Jobs: 2, Timeout: time.Minute, Run: regexp.MustCompile(`^(upload-wheel|upload-sdist|form-action|form-digests)$`)})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("took %s after the interrupt", d)
	}
	for _, r := range rep.Results {
		if r.Verdict != Fail || !strings.Contains(r.Reason, "interrupted") {
			t.Errorf("%s: %s %q", r.ID, r.Verdict, r.Reason)
		}
	}
}
