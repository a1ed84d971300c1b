package scenarios_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/fakepypi/fakepypi/internal/controlplane"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/fakepypi/fakepypi/internal/testenv"
	"github.com/fakepypi/fakepypi/pypitest"
)

// commands are the scenario commands beyond testscript's built-ins. Each
// fails the scenario with its usage when misused, whatever the `!` prefix:
// only the outcome it checks can be negated.
var commands = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"ci":         cmdCI,
	"fault":      cmdFault,
	"indexfault": cmdIndexFault,
	"oidc":       cmdOIDC,
	"exchange":   cmdExchange,
	"mint":       cmdMint,
	"dist":       cmdDist,
	"upload":     cmdUpload,
	"events":     cmdEvents,
	"clock":      cmdClock,
	"flag":       cmdFlag,
	"http":       cmdHTTP,
	"require":    cmdRequire,
	"apitoken":   cmdAPIToken,
	"sigstore":   cmdSigstore,
	"forge":      cmdForge,
}

// sigstore fault NAME... | sigstore clear | sigstore root FILE
//
// Sets the fake Sigstore's faults (other-identity, expired-certificate,
// missing-entry, bad-inclusion-proof, bad-signature) for the signing that
// follows, clears them, or writes its trusted_root.json to FILE.
func cmdSigstore(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "sigstore fault NAME... | sigstore clear | sigstore root FILE"
	noNeg(ts, neg, usage)
	if len(args) == 0 {
		ts.Fatalf("usage: %s", usage)
	}
	h := harnessOf(ts)
	switch args[0] {
	case "fault":
		if len(args) < 2 {
			ts.Fatalf("usage: %s", usage)
		}
		ts.Check(h.SetSigstoreFaults(args[1:]...))
	case "clear":
		ts.Check(h.SetSigstoreFaults())
	case "root":
		if len(args) != 2 {
			ts.Fatalf("usage: %s", usage)
		}
		ts.Check(os.WriteFile(ts.MkAbs(args[1]), h.TrustedRoot(), 0o644))
	default:
		ts.Fatalf("usage: %s", usage)
	}
}

// forge [-kind KIND] DIST...
//
// Writes DIST.publish.attestation as an attacker would: right in every
// way (the job's identity, the file's name and digest, a log entry with
// its proofs) except that another Sigstore instance made it, one the
// index does not trust.
func cmdForge(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "forge [-kind KIND] DIST..."
	noNeg(ts, neg, usage)
	fs := flag.NewFlagSet("forge", flag.ContinueOnError)
	kind := fs.String("kind", "github", "")
	parse(ts, fs, args, usage)
	if fs.NArg() == 0 {
		ts.Fatalf("usage: %s", usage)
	}
	for _, f := range fs.Args() {
		data, err := os.ReadFile(ts.MkAbs(f))
		ts.Check(err)
		att, err := harnessOf(ts).ForgeAttestation(*kind, filepath.Base(f), data)
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(f+".publish.attestation"), att, 0o644))
	}
}

// apitoken NAME
//
// Uses the user API token declared as NAME under tokens: in
// .pypi/config.yaml: it goes to $PYPI_TOKEN, as a maintainer's
// PYPI_API_TOKEN secret would.
func cmdAPIToken(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "apitoken NAME"
	noNeg(ts, neg, usage)
	if len(args) != 1 {
		ts.Fatalf("usage: %s", usage)
	}
	tok, ok := harnessOf(ts).APIToken(args[0])
	if !ok {
		ts.Fatalf("apitoken: no token %q in .pypi/config.yaml", args[0])
	}
	ts.Setenv("PYPI_TOKEN", tok)
}

// parse parses a command's flags; errors are usage errors.
func parse(ts *testscript.TestScript, fs *flag.FlagSet, args []string, usage string) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		ts.Fatalf("usage: %s (%v)", usage, err)
	}
}

// noNeg refuses `!` for commands whose outcome cannot be negated.
func noNeg(ts *testscript.TestScript, neg bool, usage string) {
	if neg {
		ts.Fatalf("unsupported: ! %s", usage)
	}
}

// ci KIND [field=value...]
//
// Makes the scenario a job of CI system KIND (github, gitlab, google,
// activestate, buildkite, circleci): sets run-context fields (names as in
// fakeissuer's context: ref, environment, workflow_file, project_path...)
// for the tokens minted from now on, and exports that system's job
// variables (GITHUB_*, ACTIONS_ID_TOKEN_REQUEST_*, CI_*, PYPI_ID_TOKEN...),
// removing other systems' ones.
func cmdCI(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "ci KIND [field=value...]"
	noNeg(ts, neg, usage)
	if len(args) < 1 {
		ts.Fatalf("usage: %s", usage)
	}
	h := harnessOf(ts)
	kind := args[0]
	for _, a := range args[1:] {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			ts.Fatalf("usage: %s: %q is not field=value", usage, a)
		}
		ts.Check(h.SetContext(kind+"."+k, v))
	}
	// Files the job expects (GITHUB_EVENT_PATH) go into $WORK/.runner,
	// where the scenario can look at them.
	env, unset, err := h.JobEnv(kind, ts.MkAbs(".runner"))
	ts.Check(err)
	// The previous job's variables go first, so that a variable this job
	// withholds (a fork's ACTIONS_ID_TOKEN_REQUEST_TOKEN) is really unset.
	unset = append(unset, strings.Fields(ts.Getenv(ciVarsEnv))...)
	for _, k := range unset {
		ts.Setenv(k, "")
	}
	var names []string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		ts.Setenv(k, v)
		names = append(names, k)
	}
	ts.Setenv(ciVarsEnv, strings.Join(names, " "))
}

// fault [-once] [NAME...]
//
// Makes tokens wrong in the named ways (expired, wrong-audience, aud-list,
// unknown-kid, bad-signature, alg-none, hs256-public-key, wrong-issuer,
// missing:CLAIM, claim:CLAIM=VALUE, fork-pr, endpoint-500...): every token
// from now on, or with -once only the next one. No names clears them.
func cmdFault(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "fault [-once] [NAME...]"
	noNeg(ts, neg, usage)
	fs := flag.NewFlagSet("fault", flag.ContinueOnError)
	once := fs.Bool("once", false, "")
	parse(ts, fs, args, usage)
	h := harnessOf(ts)
	if *once {
		ts.Check(h.QueueFaults(fs.Args()...))
		return
	}
	ts.Check(h.SetFaults(fs.Args()...))
}

// indexfault [-once | -count N] [-endpoint E] [FAULT...]
//
// Makes the fake PyPI misbehave (fakeindex.md, "Faults"): FAULTs are
// status:CODE, non-json, no-value, delay:DURATION and reset, for endpoint
// E (audience, mint-token, upload, simple, json, files, integrity,
// discovery; default any). Sticky by default (replacing E's sticky
// faults), or only for the next request to E with -once, the next N with
// -count N. No FAULT clears every index fault. It goes through
// /_fake/faults, as a script without the custom commands would.
func cmdIndexFault(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "indexfault [-once | -count N] [-endpoint E] [FAULT...]"
	noNeg(ts, neg, usage)
	fs := flag.NewFlagSet("indexfault", flag.ContinueOnError)
	once := fs.Bool("once", false, "")
	count := fs.Int("count", 0, "")
	endpoint := fs.String("endpoint", "", "")
	parse(ts, fs, args, usage)
	if *once && *count != 0 {
		ts.Fatalf("usage: %s: -once or -count, not both", usage)
	}
	method := "PUT"
	if *once || *count != 0 {
		method = "POST"
	}
	body, err := json.Marshal(map[string]any{"faults": append([]string{}, fs.Args()...), "endpoint": *endpoint, "count": *count})
	ts.Check(err)
	if fs.NArg() == 0 {
		if *once || *count != 0 || *endpoint != "" {
			ts.Fatalf("usage: %s: no FAULT clears them all", usage)
		}
		method, body = "DELETE", nil
	}
	status, out := do(ts, method, "/_fake/faults", string(body))
	if status != 200 {
		ts.Fatalf("indexfault: %d %s", status, out)
	}
}

// oidc [-kind KIND] [-aud AUDIENCE]
//
// Gets an OIDC token as the CI job would (GitHub: over HTTP from
// ACTIONS_ID_TOKEN_REQUEST_URL), stores it in $OIDC_TOKEN and prints its
// claims as JSON. With !, getting a token must fail; the error goes to
// stderr.
func cmdOIDC(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "oidc [-kind KIND] [-aud AUDIENCE]"
	fs := flag.NewFlagSet("oidc", flag.ContinueOnError)
	kind := fs.String("kind", "github", "")
	aud := fs.String("aud", "pypi", "")
	parse(ts, fs, args, usage)
	jwt, err := harnessOf(ts).OIDCToken(*kind, *aud)
	if err != nil {
		fmt.Fprintln(ts.Stderr(), err)
		if !neg {
			ts.Fatalf("oidc: %v", err)
		}
		return
	}
	if neg {
		ts.Fatalf("oidc: got a token, want a failure")
	}
	ts.Setenv("OIDC_TOKEN", jwt)
	claims, err := decodeClaims(jwt)
	if err != nil {
		// A faulty token (alg none...) may not decode; that is fine.
		claims = "{}"
	}
	fmt.Fprintln(ts.Stdout(), claims)
}

// exchange [-body TEXT | -body-file FILE] [TOKEN]
//
// POSTs {"token": TOKEN} (default $OIDC_TOKEN), or TEXT or FILE as is, to
// /_/oidc/mint-token and prints the JSON answer. On success the minted
// API token goes to $PYPI_TOKEN. With !, the exchange must be refused.
func cmdExchange(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "exchange [-body TEXT | -body-file FILE] [TOKEN]"
	fs := flag.NewFlagSet("exchange", flag.ContinueOnError)
	body := fs.String("body", "", "")
	bodyFile := fs.String("body-file", "", "")
	parse(ts, fs, args, usage)
	if *bodyFile != "" {
		*body = ts.ReadFile(*bodyFile)
	}
	h := harnessOf(ts)
	var m *pypitest.MintResponse
	var err error
	switch {
	case *body != "":
		m, err = h.ExchangeBody([]byte(*body))
	case fs.NArg() == 1:
		m, err = h.Exchange(fs.Arg(0))
	case fs.NArg() == 0:
		m, err = h.Exchange(ts.Getenv("OIDC_TOKEN"))
	default:
		ts.Fatalf("usage: %s", usage)
	}
	if m == nil {
		ts.Fatalf("exchange: %v", err)
	}
	exchanged(ts, neg, m)
}

func exchanged(ts *testscript.TestScript, neg bool, m *pypitest.MintResponse) {
	ts.Stdout().Write(m.Body)
	fmt.Fprintln(ts.Stdout())
	ok := m.Status == 200 && m.Token != ""
	if ok {
		ts.Setenv("PYPI_TOKEN", m.Token)
	}
	switch {
	case ok && neg:
		ts.Fatalf("mint-token accepted the token, want a refusal")
	case !ok && !neg:
		ts.Fatalf("mint-token refused (%d): %s", m.Status, m.Body)
	}
}

// mint [-kind KIND] [-aud AUDIENCE]
//
// The whole trusted-publishing exchange: oidc, then exchange. Prints the
// mint-token answer; the API token goes to $PYPI_TOKEN. With !, the
// exchange must be refused.
func cmdMint(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "mint [-kind KIND] [-aud AUDIENCE]"
	fs := flag.NewFlagSet("mint", flag.ContinueOnError)
	kind := fs.String("kind", "github", "")
	aud := fs.String("aud", "pypi", "")
	parse(ts, fs, args, usage)
	if fs.NArg() != 0 {
		ts.Fatalf("usage: %s", usage)
	}
	h := harnessOf(ts)
	jwt, err := h.OIDCToken(*kind, *aud)
	ts.Check(err)
	ts.Setenv("OIDC_TOKEN", jwt)
	m, err := h.Exchange(jwt)
	if m == nil {
		ts.Fatalf("mint: %v", err)
	}
	exchanged(ts, neg, m)
}

// dist wheel|sdist|sdist-zip NAME VERSION ['Field: value'...]
//
// Builds a small valid distribution into dist/ (what python -m build would
// make for a one-module project), with extra core-metadata lines.
func cmdDist(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "dist wheel|sdist|sdist-zip NAME VERSION ['Field: value'...]"
	noNeg(ts, neg, usage)
	if len(args) < 3 {
		ts.Fatalf("usage: %s", usage)
	}
	opts := pypitest.DistOptions{Metadata: args[3:]}
	var name string
	var data []byte
	switch args[0] {
	case "wheel":
		name, data = pypitest.WheelFilename(args[1], args[2]), pypitest.Wheel(args[1], args[2], opts)
	case "sdist":
		name, data = pypitest.SdistFilename(args[1], args[2]), pypitest.Sdist(args[1], args[2], opts)
	case "sdist-zip":
		name = strings.TrimSuffix(pypitest.SdistFilename(args[1], args[2]), ".tar.gz") + ".zip"
		data = pypitest.SdistZip(args[1], args[2], opts)
	default:
		ts.Fatalf("usage: %s", usage)
	}
	ts.Check(os.MkdirAll(ts.MkAbs("dist"), 0o755))
	ts.Check(os.WriteFile(ts.MkAbs(filepath.Join("dist", name)), data, 0o644))
}

// upload [-token T] [-u USER] [-url URL] [-field k=v]... [-type CT] [-skip-existing] [-attestations] FILE...
//
// Uploads files to the legacy API as twine does (form fields from the
// file's metadata, md5/sha256/blake2 digests, Basic auth __token__ with T,
// default $PYPI_TOKEN) and prints one status line per file, e.g.
// "400 File already exists (...)". -field overrides a form field ("" drops
// it). -skip-existing treats "already exists" answers as twine does.
// With !, some upload must fail.
func cmdUpload(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "upload [-token T] [-u USER] [-url URL] [-field k=v]... [-type CT] [-skip-existing] [-attestations] FILE..."
	fs := flag.NewFlagSet("upload", flag.ContinueOnError)
	token := fs.String("token", "", "")
	user := fs.String("u", "", "")
	url := fs.String("url", "", "")
	ctype := fs.String("type", "", "")
	skip := fs.Bool("skip-existing", false, "")
	withAtts := fs.Bool("attestations", false, "")
	fields := map[string]string{}
	fs.Func("field", "", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("-field %q: want k=v", s)
		}
		fields[k] = v
		return nil
	})
	parse(ts, fs, args, usage)
	if fs.NArg() == 0 {
		ts.Fatalf("usage: %s", usage)
	}
	if *token == "" {
		*token = ts.Getenv("PYPI_TOKEN")
	}
	h := harnessOf(ts)
	failed := false
	dists, atts := fs.Args(), map[string][]string{}
	if *withAtts {
		dists, atts = pypitest.SplitInputs(fs.Args())
		for _, d := range dists {
			if len(atts[d]) == 0 {
				// twine/commands/upload.py _make_package, before any upload.
				fmt.Fprintf(ts.Stderr(), "ERROR    InvalidDistribution: Upload with attestations requested, but %s has no associated attestations\n", d)
				if !neg {
					ts.Fatalf("upload failed")
				}
				return
			}
		}
	}
	for _, f := range dists {
		data, err := os.ReadFile(ts.MkAbs(f))
		ts.Check(err)
		fileFields := fields
		if list := atts[f]; len(list) > 0 {
			fileFields = map[string]string{}
			for k, v := range fields {
				fileFields[k] = v
			}
			var raws [][]byte
			for _, a := range list {
				b, err := os.ReadFile(ts.MkAbs(a))
				ts.Check(err)
				raws = append(raws, bytes.TrimSpace(b))
			}
			if _, ok := fileFields["attestations"]; !ok {
				fileFields["attestations"] = pypitest.AttestationsField(raws...)
			}
		}
		res, err := h.Upload(*token, filepath.Base(f), data, pypitest.UploadOptions{URL: *url, Username: *user, Fields: fileFields, ContentType: *ctype})
		ts.Check(err)
		if *skip && (res.Status == 409 || res.Status == 400 && strings.Contains(strings.ToLower(res.Reason+string(res.Body)), "already exist")) {
			fmt.Fprintf(ts.Stdout(), "Skipping %s because it appears to already exist\n", filepath.Base(f))
			continue
		}
		fmt.Fprintln(ts.Stdout(), res.StatusLine())
		if res.Status != 200 {
			failed = true
		}
	}
	switch {
	case failed && !neg:
		ts.Fatalf("upload failed")
	case !failed && neg:
		ts.Fatalf("upload succeeded, want a failure")
	}
}

// events [-kind KIND] [-json]
//
// Prints the index's recorded decisions, one line each:
// "KIND VERDICT STATUS CODE: MESSAGE" and, indented on the next line,
// "why: ..." (the explanation PyPI does not give). -json prints them as
// a JSON array, details included.
func cmdEvents(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "events [-kind mint|upload] [-json]"
	noNeg(ts, neg, usage)
	fs := flag.NewFlagSet("events", flag.ContinueOnError)
	kind := fs.String("kind", "", "")
	asJSON := fs.Bool("json", false, "")
	parse(ts, fs, args, usage)
	evs := harnessOf(ts).Events(*kind)
	if *asJSON {
		b, err := json.MarshalIndent(evs, "", "  ")
		ts.Check(err)
		fmt.Fprintf(ts.Stdout(), "%s\n", b)
		return
	}
	for _, e := range evs {
		fmt.Fprintf(ts.Stdout(), "%s %s %d %s: %s\n", e.Kind, e.Verdict, e.Status, e.Code, e.Message)
		if e.Why != "" {
			fmt.Fprintf(ts.Stdout(), "  why: %s\n", e.Why)
		}
	}
}

// clock advance DURATION
//
// Moves the shared clock of the index and the issuer forward (16m, 15d...).
func cmdClock(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "clock advance DURATION"
	noNeg(ts, neg, usage)
	if len(args) != 2 || args[0] != "advance" {
		ts.Fatalf("usage: %s", usage)
	}
	s := args[1]
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		_, err = fmt.Sscan(days, &n)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil {
		ts.Fatalf("usage: %s: %v", usage, err)
	}
	fmt.Fprintln(ts.Stdout(), harnessOf(ts).AdvanceClock(d).UTC().Format(time.RFC3339))
}

// flag NAME on|off
//
// Turns a PyPI admin flag on or off (disallow-oidc, disallow-github-oidc,
// read-only, disallow-new-upload, disallow-new-project-registration...).
func cmdFlag(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "flag NAME on|off"
	noNeg(ts, neg, usage)
	if len(args) != 2 || (args[1] != "on" && args[1] != "off") {
		ts.Fatalf("usage: %s", usage)
	}
	body := fmt.Sprintf(`{%q: %v}`, args[0], args[1] == "on")
	status, out := do(ts, "PUT", "/_fake/flags", body)
	if status != 200 {
		ts.Fatalf("flag: %d %s", status, out)
	}
}

// http METHOD URL [BODY]
//
// Sends a request (URL absolute, or a path on the index) with the
// harness's client; prints the body to stdout and "STATUS REASON" to
// stderr. A status of 400 or more is a failure, so expect it with !.
func cmdHTTP(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "http METHOD URL [BODY]"
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: %s", usage)
	}
	body := ""
	if len(args) == 3 {
		body = args[2]
	}
	status, out := do(ts, args[0], args[1], body)
	ts.Stdout().Write(out)
	switch {
	case status >= 400 && !neg:
		ts.Fatalf("http: %d", status)
	case status < 400 && neg:
		ts.Fatalf("http: %d, want a failure", status)
	}
}

func do(ts *testscript.TestScript, method, url, body string) (int, []byte) {
	h := harnessOf(ts)
	if strings.HasPrefix(url, "/") {
		url = h.IndexURL() + url
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	ts.Check(err)
	// The control plane takes JSON writes only, even with no body, and
	// the harness's token.
	control := controlplane.IsControlPath(req.URL.Path)
	if body != "" || (control && method != http.MethodGet && method != http.MethodHead) {
		req.Header.Set("Content-Type", "application/json")
	}
	if control {
		controlplane.SetToken(req, h.ControlToken())
	}
	c := *h.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	ts.Check(err)
	fmt.Fprintln(ts.Stderr(), resp.Status)
	if loc := resp.Header.Get("Location"); loc != "" {
		fmt.Fprintln(ts.Stderr(), "Location:", loc)
	}
	return resp.StatusCode, out
}

// require CLIENT...
//
// Skips the scenario unless the real clients are installed (twine, pip,
// build, setuptools, requests). Under CI=true a missing client fails the scenario
// instead: CI installs them, and a skip there would hide a broken image.
func cmdRequire(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "require twine|pip|build|setuptools|requests..."
	noNeg(ts, neg, usage)
	if len(args) == 0 {
		ts.Fatalf("usage: %s", usage)
	}
	for _, name := range args {
		ok, err := clientAvailable(name)
		if err != nil {
			ts.Fatalf("usage: %s: %v", usage, err)
		}
		if !ok {
			if testenv.OnCI() {
				ts.Fatalf("CI=true but the real client %s is not installed", name)
			}
			// TestScript has no Skip; the script's T does what the
			// built-in skip does (require comes first, so no
			// background process is left to wait for).
			ts.Value(tKey{}).(testscript.T).Skip(fmt.Sprintf("%s is not installed", name))
		}
	}
}
