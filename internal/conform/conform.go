// Package conform is `fakeindex conform`: a conformance suite for PyPI
// uploaders. Each case of the catalogue (catalogue.go) starts a fresh
// in-process harness (CA, fake CI issuer, fake PyPI and TestPyPI, the
// proxy answering PyPI's host names), builds the case's distributions,
// runs the uploader under test through a fixed command-line protocol, and
// judges both what the index received (every request, recorded raw) and
// what the uploader did (exit status, output).
//
// The protocol (version 1, docs/conformance.md):
//
//	ENTRYPOINT [ARGS...] upload --repository-url URL [--skip-existing] [--trusted-publishing] [--attestations] FILE...
//
// with credentials in FAKEPYPI_USERNAME / FAKEPYPI_PASSWORD for the
// cases that use an API token, and a GitHub Actions job environment
// (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN) for the trusted-publishing ones.
package conform

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fakepypi/fakepypi/internal/issuer"
)

// ProtocolVersion is the version of the command-line protocol, exported
// to the uploader as FAKEPYPI_CONFORM_PROTOCOL.
const ProtocolVersion = "1"

// Verdicts.
const (
	Pass  = "PASS"
	Fail  = "FAIL"
	XFail = "XFAIL" // failed, and listed in the xfail file
	XPass = "XPASS" // passed, but listed in the xfail file
	Skip  = "SKIP"  // an optional feature the run skips
)

// Defaults of Options.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultHTTPTimeout = 10 * time.Second
)

// Options configure Run.
type Options struct {
	// Entrypoint and its leading arguments: the uploader's wrapper.
	Entrypoint []string
	// Jobs is how many cases run at once; default 2 per CPU.
	Jobs int
	// Timeout is each case's deadline: an uploader still running then
	// is killed (its whole process group) and the case fails as a hang.
	Timeout time.Duration
	// HTTPTimeout is exported as FAKEPYPI_TIMEOUT (whole seconds): how
	// long an uploader should wait for one answer. The slow-answer case
	// answers later than that.
	HTTPTimeout time.Duration
	// Run selects cases by id; nil runs all.
	Run *regexp.Regexp
	// SkipOptional lists optional features not to run ("all" for every
	// one); their cases are reported as SKIP.
	SkipOptional []string
	// XFail maps case ids to the reason they are expected to fail.
	XFail map[string]string
	// Progress, when set, gets one line per finished case.
	Progress io.Writer
}

// issuerSeed derives the fake issuer's signing key, the same in every
// case of a process: generating a 2048-bit RSA key per case would cost
// most of the suite's own CPU time, and the issuer caches seeded keys.
// Each case still has its own index, which fetches the key afresh.
var (
	issuerSeed     = "fakeindex conform " + rand.Text()
	issuerKeyReady sync.Once
)

// warmIssuerKey derives the seeded key once, before cases start at once
// and would each derive it.
func warmIssuerKey() error {
	var err error
	issuerKeyReady.Do(func() { _, err = issuer.New(issuer.Config{Seed: issuerSeed}) })
	return err
}

// Result is one case's outcome.
type Result struct {
	ID          string        `json:"id"`
	Title       string        `json:"title"`
	Tag         string        `json:"tag"`
	Rule        string        `json:"rule"`
	Verdict     string        `json:"verdict"`
	Reason      string        `json:"reason,omitempty"`
	XFailReason string        `json:"xfail_reason,omitempty"`
	Problems    []string      `json:"problems,omitempty"` // every failed check, Reason first
	ExitCode    int           `json:"exit_code"`          // -1: not run, killed or not started
	Duration    time.Duration `json:"-"`
	Seconds     float64       `json:"duration_seconds"`

	run *CaseRun // for transcripts
}

// Report is a whole run.
type Report struct {
	Protocol   string    `json:"protocol"`
	Entrypoint []string  `json:"entrypoint"`
	Started    time.Time `json:"started"`
	Seconds    float64   `json:"duration_seconds"`
	Summary    Summary   `json:"summary"`
	Results    []*Result `json:"cases"`
}

// Summary counts verdicts.
type Summary struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	XFailed int `json:"xfailed"`
	XPassed int `json:"xpassed"`
	Skipped int `json:"skipped"`
}

// OK reports whether every case that is not listed as xfail passed (or
// was skipped): the run's exit status.
func (r *Report) OK() bool { return r.Summary.Failed == 0 }

// CheckEntrypoint refuses an entrypoint that does not exist or is not
// executable, with a message saying which.
func CheckEntrypoint(name string) (string, error) {
	if name == "" {
		return "", errors.New("no entrypoint: give the uploader's wrapper after --, e.g. fakeindex conform -- conformance/wrappers/twine")
	}
	if !strings.ContainsRune(name, os.PathSeparator) {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("entrypoint %q: not found on PATH", name)
		}
		return p, nil
	}
	fi, err := os.Stat(name)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("entrypoint %s: no such file", name)
	case err != nil:
		return "", fmt.Errorf("entrypoint %s: %v", name, err)
	case fi.IsDir():
		return "", fmt.Errorf("entrypoint %s: is a directory, not a program", name)
	case fi.Mode()&0o111 == 0:
		return "", fmt.Errorf("entrypoint %s: not executable (chmod +x %s)", name, name)
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return "", err
	}
	return abs, nil
}

// CheckXFail checks that every id in xf names a case.
func CheckXFail(xf map[string]string) error {
	known := map[string]bool{}
	for _, c := range Catalogue() {
		known[c.ID] = true
	}
	var unknown []string
	for id := range xf {
		if !known[id] {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("xfail: unknown case ids %s (fakeindex conform --list shows them)", strings.Join(unknown, ", "))
	}
	return nil
}

// Run runs the selected cases against o.Entrypoint and returns the report.
// It fails only when the run cannot start (a bad entrypoint); a case that
// cannot set up is a FAIL with the reason.
func Run(ctx context.Context, o Options) (*Report, error) {
	if len(o.Entrypoint) == 0 {
		return nil, errors.New("no entrypoint")
	}
	path, err := CheckEntrypoint(o.Entrypoint[0])
	if err != nil {
		return nil, err
	}
	entry := append([]string{path}, o.Entrypoint[1:]...)
	if err := CheckXFail(o.XFail); err != nil {
		return nil, err
	}
	if o.Jobs <= 0 {
		o.Jobs = 2 * runtime.NumCPU()
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.HTTPTimeout <= 0 {
		o.HTTPTimeout = DefaultHTTPTimeout
	}
	if err := warmIssuerKey(); err != nil {
		return nil, err
	}
	skip := map[string]bool{}
	for _, f := range o.SkipOptional {
		skip[f] = true
	}

	rep := &Report{Protocol: ProtocolVersion, Entrypoint: o.Entrypoint, Started: time.Now().UTC()}
	var cases []*Case
	for _, c := range Catalogue() {
		if o.Run == nil || o.Run.MatchString(c.ID) {
			cases = append(cases, c)
		}
	}
	results := make([]*Result, len(cases))
	var progress sync.Mutex
	done := 0
	sem := make(chan struct{}, o.Jobs)
	var wg sync.WaitGroup
	// Long cases first (results stay in catalogue order).
	order := make([]int, len(cases))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return cases[order[a]].Long && !cases[order[b]].Long })
	for _, i := range order {
		c := cases[i]
		res := &Result{ID: c.ID, Title: c.Title, Tag: c.Tag(), Rule: c.Rule, ExitCode: -1}
		results[i] = res
		if c.Feature != "" && (skip[c.Feature] || skip["all"]) {
			res.Verdict, res.Reason = Skip, "optional feature "+c.Feature+" skipped (--skip-optional)"
			continue
		}
		if ctx.Err() != nil {
			res.Verdict, res.Reason = Fail, "not run: interrupted"
			continue
		}
		wg.Add(1)
		sem <- struct{}{} // taken here, so cases start in this order
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			start := time.Now()
			r := runCase(ctx, c, entry, o)
			res.run = r
			res.Duration = time.Since(start)
			res.Seconds = res.Duration.Round(time.Millisecond).Seconds()
			res.ExitCode = r.ExitCode
			res.Problems = judge(c, r)
			res.Verdict = Pass
			if len(res.Problems) > 0 {
				res.Verdict, res.Reason = Fail, res.Problems[0]
			}
			if why, ok := o.XFail[c.ID]; ok {
				res.XFailReason = why
				if res.Verdict == Fail {
					res.Verdict = XFail
				} else {
					res.Verdict = XPass
				}
			}
			if o.Progress != nil {
				progress.Lock()
				done++
				fmt.Fprintf(o.Progress, "[%d/%d] %-32s %-5s %5.1fs\n", done, len(cases), c.ID, res.Verdict, res.Duration.Seconds())
				progress.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, r := range results {
		switch r.Verdict {
		case Pass:
			rep.Summary.Passed++
		case Fail:
			rep.Summary.Failed++
		case XFail:
			rep.Summary.XFailed++
		case XPass:
			rep.Summary.XPassed++
		case Skip:
			rep.Summary.Skipped++
		}
	}
	rep.Results = results
	rep.Seconds = time.Since(rep.Started).Round(time.Millisecond).Seconds()
	return rep, nil
}
