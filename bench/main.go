// Command bench runs fakepypi's performance table (issue 14) against the
// real binaries and prints it as markdown: for each figure the median,
// minimum and maximum over the repetitions, with its target beside it.
//
// Run it through bench/run, which builds fakeindex and fakeissuer first:
//
//	bench/run                 # the whole table, 3 repetitions
//	bench/run -quick          # smaller sizes, 1 repetition (about a minute)
//	bench/run -only mint -reps 5
//
// Repetitions are interleaved: each one runs every case, in an order
// rotated by one from the previous repetition, so that a burst of load
// from elsewhere on a shared machine spreads over all figures instead of
// spoiling one. Ratios (digests on/off, proxy/direct, late/early) are
// taken inside one case, seconds apart. docs/performance.md has the
// method and the latest table.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"
)

// figure is one row of the table.
type figure struct {
	key    string
	label  string
	unit   string
	target float64
	higher bool // the target is a minimum (else a maximum)
	digits int
}

// figures are the rows, in the order printed.
var figures = []figure{
	{"upload.mbps", "upload of a %s wheel, digests on", "MB/s", 240, true, 0},
	{"upload.ratio", "upload throughput, digests on / off", "×", 0.8, true, 2},
	{"upload.cpu", "upload, server CPU per GiB", "s", 5, false, 2},
	{"upload.rss", "upload, server peak RSS", "MiB", 16, false, 1},
	{"upload.simple", "`/simple/` p99 during the upload", "ms", 20, false, 1},
	{"catalog.ratio", "small upload p50, last 100 / first 100 of %s files", "×", 1.2, false, 2},
	{"catalog.p50", "small upload p50, last 100 files", "ms", math.NaN(), false, 1},
	{"mint.cpu", "index CPU per mint, last / first 10%% of %s mints", "×", 1.1, false, 2},
	{"mint.rss", "index RSS, after %s mints / after 10,000 (event log full)", "×", 1.1, false, 2},
	{"mint.cpums", "index CPU per mint (last 10%%)", "ms", math.NaN(), false, 3},
	{"mint.rssfull", "index RSS after 10,000 mints", "MiB", math.NaN(), false, 1},
	{"mint.rssend", "index RSS after %s mints", "MiB", math.NaN(), false, 1},
	{"mint.rssper", "index RSS growth per mint after the 10,000th (tokens and jtis PyPI keeps)", "B", math.NaN(), false, 0},
	{"read.json", "`/pypi/<p>/json` p50, 1,000 releases", "ms", 10, false, 2},
	{"read.simple", "`/simple/<p>/` p50 (HTML), 1,000 releases", "ms", 10, false, 2},
	{"read.simplejson", "`/simple/<p>/` p50 (JSON), 1,000 releases", "ms", 10, false, 2},
	{"start.ready", "`fakeindex up` ready, existing data directory (median of 10)", "ms", 50, false, 1},
	{"start.fresh", "`fakeindex up` ready, fresh data directory", "ms", math.NaN(), false, 1},
	{"rate.mint", "index verify + mint, 8 clients", "/s", 2000, true, 0},
	{"rate.issuer", "issuer tokens, 8 clients", "/s", 1000, true, 0},
	{"rate.issuercpu", "issuer CPU per token", "ms", math.NaN(), false, 3},
	{"proxy.ratio", "pip download of a %s wheel, proxy / direct", "×", 0.9, true, 2},
	{"proxy.mbps", "pip download through the proxy", "MB/s", math.NaN(), true, 0},
	{"pypiserver.upload", "pypiserver: upload of the same wheel", "MB/s", math.NaN(), true, 0},
	{"pypiserver.simple", "pypiserver: `/simple/<p>/` p50, 1,000 releases", "ms", math.NaN(), false, 2},
}

// cases run one repetition of a group of figures each.
var cases = []struct {
	name string
	run  func(ctx context.Context, r *runner) error
}{
	{"upload", runUpload},
	{"catalog", runCatalog},
	{"mint", runMintFlat},
	{"read", runRead},
	{"start", runStart},
	{"rate", runRates},
	{"proxy", runProxy},
	{"pypiserver", runPypiserver},
}

// runner holds the configuration and the samples of a run.
type runner struct {
	bin        string // directory with fakeindex and fakeissuer
	tmp        string
	uploadSize int64
	files      int
	mints      int
	pipSize    int64
	pypiserver string // a pypiserver source tree, or ""
	verbose    bool
	samples    map[string][]float64
	cache      map[string]any // wheels written once per run
}

func (r *runner) record(key string, v float64) {
	r.samples[key] = append(r.samples[key], v)
	if r.verbose {
		fmt.Fprintf(os.Stderr, "  %s = %.3f\n", key, v)
	}
}

func (r *runner) fakeindex() string  { return filepath.Join(r.bin, "fakeindex") }
func (r *runner) fakeissuer() string { return filepath.Join(r.bin, "fakeissuer") }

func main() {
	bin := flag.String("bin", "", "directory holding the fakeindex and fakeissuer binaries to measure (bench/run builds them)")
	reps := flag.Int("reps", 3, "repetitions of every case")
	quick := flag.Bool("quick", false, "small sizes and 1 repetition: a smoke test of the table, not figures to quote")
	only := flag.String("only", "", "run only the cases matching this `regexp` (upload, catalog, mint, read, start, rate, proxy, pypiserver)")
	uploadSize := flag.Int64("upload-size", 1<<30, "size in `bytes` of the big upload")
	files := flag.Int("files", 10000, "small uploads in the catalog case")
	mints := flag.Int("mints", 100000, "mints in the event-log case")
	pipSize := flag.Int64("pip-size", 100<<20, "size in `bytes` of the wheel pip downloads")
	pypiserver := flag.String("pypiserver", "", "`dir` of a pypiserver source tree to measure beside fakeindex (run with python3)")
	out := flag.String("out", "", "also write the table to this `file`")
	verbose := flag.Bool("v", false, "print every sample as it is taken")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "bench: -bin is required (run bench/run)")
		os.Exit(2)
	}
	if *quick {
		*reps = 1
		*uploadSize, *files, *mints, *pipSize = 100<<20, 1000, 20000, 20<<20
	}
	sel, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: -only:", err)
		os.Exit(2)
	}
	tmp, err := os.MkdirTemp("", "fakepypi-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(tmp)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	r := &runner{bin: *bin, tmp: tmp, uploadSize: *uploadSize, files: *files, mints: *mints, pipSize: *pipSize,
		pypiserver: *pypiserver, verbose: *verbose, samples: map[string][]float64{}, cache: map[string]any{}}
	var chosen []int
	for i, c := range cases {
		if sel.MatchString(c.name) && (c.name != "pypiserver" || r.pypiserver != "") {
			chosen = append(chosen, i)
		}
	}
	started := time.Now()
	load0 := loadAvg()
	var failures []string
	for rep := range *reps {
		for j := range chosen {
			c := cases[chosen[(j+rep)%len(chosen)]]
			fmt.Fprintf(os.Stderr, "bench: repetition %d/%d: %s\n", rep+1, *reps, c.name)
			t := time.Now()
			if err := c.run(ctx, r); err != nil {
				failures = append(failures, fmt.Sprintf("%s (repetition %d): %v", c.name, rep+1, err))
				fmt.Fprintf(os.Stderr, "bench: %s failed: %v\n", c.name, err)
			}
			fmt.Fprintf(os.Stderr, "bench: %s took %s\n", c.name, time.Since(t).Round(time.Millisecond))
			if ctx.Err() != nil {
				break
			}
		}
	}
	table := r.table(*reps, time.Since(started), load0, loadAvg())
	if len(failures) > 0 {
		table += "\nFailures:\n\n- " + strings.Join(failures, "\n- ") + "\n"
	}
	fmt.Print(table)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(table), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
	}
	if len(failures) > 0 {
		os.Exit(1)
	}
}

func (r *runner) label(f figure) string {
	if !strings.Contains(f.label, "%s") {
		return strings.ReplaceAll(f.label, "%%", "%")
	}
	var arg string
	switch f.key {
	case "upload.mbps":
		arg = sizeText(r.uploadSize)
	case "catalog.ratio":
		arg = countText(r.files)
	case "mint.cpu", "mint.rss", "mint.rssend":
		arg = countText(r.mints)
	case "proxy.ratio":
		arg = sizeText(r.pipSize)
	}
	return fmt.Sprintf(f.label, arg)
}

// table renders the samples as markdown.
func (r *runner) table(reps int, took time.Duration, load0, load1 string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| figure | median | min | max | target | |\n|---|---:|---:|---:|---:|---|\n")
	for _, f := range figures {
		s := r.samples[f.key]
		if len(s) == 0 {
			continue
		}
		med, lo, hi := median(s), slices.Min(s), slices.Max(s)
		num := func(v float64) string { return formatNum(v, f.digits) }
		target, verdict := "", ""
		if !math.IsNaN(f.target) {
			op := "≤"
			if f.higher {
				op = "≥"
			}
			target = op + " " + num(f.target) + " " + f.unit
			verdict = "met"
			if (f.higher && med < f.target) || (!f.higher && med > f.target) {
				verdict = "**not met**"
			}
		}
		fmt.Fprintf(&b, "| %s | %s %s | %s | %s | %s | %s |\n", r.label(f), num(med), f.unit, num(lo), num(hi), target, verdict)
	}
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "\n%d repetition(s), interleaved; %s in all; %d CPUs (%s), %s; load average %s at the start, %s at the end.\n",
		reps, took.Round(time.Second), runtime.NumCPU(), cpuModel(), host, load0, load1)
	return b.String()
}

func median(s []float64) float64 {
	c := slices.Clone(s)
	slices.Sort(c)
	if n := len(c); n%2 == 1 {
		return c[n/2]
	} else {
		return (c[n/2-1] + c[n/2]) / 2
	}
}

func percentile(s []float64, p float64) float64 {
	c := slices.Clone(s)
	slices.Sort(c)
	i := int(math.Ceil(p/100*float64(len(c)))) - 1
	return c[max(0, min(i, len(c)-1))]
}

func formatNum(v float64, digits int) string {
	s := fmt.Sprintf("%.*f", digits, v)
	if digits == 0 && math.Abs(v) >= 10000 {
		// 12345 → 12,345
		n := len(s)
		var out []byte
		for i := range n {
			if i > 0 && (n-i)%3 == 0 && s[i-1] != '-' {
				out = append(out, ',')
			}
			out = append(out, s[i])
		}
		s = string(out)
	}
	return s
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d B", n)
}

func countText(n int) string { return formatNum(float64(n), 0) }

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
