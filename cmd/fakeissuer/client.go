package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fakepypi/fakepypi/internal/controlplane"
)

// The client side of fakeissuer: commands that talk to a running server,
// found by --url or $FAKEISSUER_URL (which every env export sets).

var httpClient = &http.Client{Timeout: 30 * time.Second}

func serverURL(flagURL string) (string, error) {
	u := flagURL
	if u == "" {
		u = os.Getenv("FAKEISSUER_URL")
	}
	if u == "" {
		return "", errors.New("no fakeissuer server: pass --url or set FAKEISSUER_URL")
	}
	return strings.TrimSuffix(u, "/"), nil
}

// get fetches u and returns the body of a 200 answer; otherwise the
// server's {"message"} as an error. It sends the control token from
// $FAKEPYPI_CONTROL_TOKEN, which a server started with one requires.
func get(u string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	controlplane.SetToken(req, os.Getenv(controlplane.EnvToken))
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var m struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &m) == nil && m.Message != "" {
			return nil, fmt.Errorf("%s: %s", resp.Status, m.Message)
		}
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

func envCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fakeissuer env", flag.ContinueOnError)
	fs.SetOutput(stderr)
	serverFlag := fs.String("url", "", "fakeissuer base `URL` (default $FAKEISSUER_URL)")
	ci := fs.String("ci", "github", "`KIND` of job: github, gitlab, google, activestate, buildkite or circleci")
	format := fs.String("format", "shell", "shell (for eval) or json")
	binDir := fs.String("bin-dir", "", "`dir` for the buildkite-agent and circleci links (default: under the temp dir)")
	var audiences, faults listFlag
	fs.Var(&audiences, "audience", "audience of the tokens put in the environment (GitLab <AUD>_ID_TOKEN...; default pypi; repeatable)")
	fs.Var(&faults, "fault", "`FAULT` for this job, e.g. fork-pr (repeatable)")
	usage := func(w io.Writer) {
		fmt.Fprint(w, `Usage: fakeissuer env --url URL [--ci KIND] [flags]

Prints the shell exports a CI job of that kind would see, so that
  eval "$(fakeissuer env --url http://127.0.0.1:PORT)"
turns a shell into that job. For buildkite and circleci it also puts
buildkite-agent and circleci (links to this binary) first on PATH.

Flags:
`)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	fs.Usage = func() {}
	if code, stop := parseArgs(fs, usage, args, stdout, stderr); stop {
		return code
	}
	base, err := serverURL(*serverFlag)
	if err != nil {
		fmt.Fprintf(stderr, "fakeissuer env: %v\n", err)
		return 2
	}
	q := url.Values{"ci": {*ci}}
	if *format == "json" {
		q.Set("format", "json")
	} else if *format != "shell" {
		fmt.Fprintf(stderr, "fakeissuer env: --format %q: want shell or json\n", *format)
		return 2
	}
	q["audience"] = audiences
	q["fault"] = faults
	body, err := get(base + "/_fake/env?" + q.Encode())
	if err != nil {
		fmt.Fprintf(stderr, "fakeissuer env: %v\n", err)
		return 1
	}
	if _, err := stdout.Write(body); err != nil {
		return 1
	}
	if *format == "shell" && (*ci == "buildkite" || *ci == "circleci") {
		dir, err := linkPersonas(*binDir)
		if err != nil {
			fmt.Fprintf(stderr, "fakeissuer env: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "export PATH='%s':\"$PATH\"\n", strings.ReplaceAll(dir, "'", `'\''`))
	}
	return 0
}

// linkPersonas makes dir/buildkite-agent and dir/circleci links to this
// executable, which then acts as those commands.
func linkPersonas(dir string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if dir == "" {
		sum := sha256.Sum256([]byte(exe))
		dir = filepath.Join(os.TempDir(), "fakeissuer-bin-"+hex.EncodeToString(sum[:6]))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, name := range []string{"buildkite-agent", "circleci"} {
		link := filepath.Join(dir, name)
		if target, err := os.Readlink(link); err == nil && target == exe {
			continue
		}
		_ = os.Remove(link)
		if err := os.Symlink(exe, link); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// mintVia asks the server for a token of kind ci (GET /_fake/token).
func mintVia(ci, audience string, faults []string) (string, error) {
	base, err := serverURL("")
	if err != nil {
		return "", err
	}
	q := url.Values{"ci": {ci}, "fault": faults}
	if audience != "" {
		q.Set("audience", audience)
	}
	body, err := get(base + "/_fake/token?" + q.Encode())
	if err != nil {
		return "", err
	}
	var rec struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &rec); err != nil || rec.Token == "" {
		return "", fmt.Errorf("bad answer from %s: %s", base, body)
	}
	return rec.Token, nil
}

// buildkiteAgent is `buildkite-agent oidc request-token --audience AUD`:
// the token on stdout, as id and ambient-id read it
// (id/_internal/oidc/ambient.py detect_buildkite, ambient-id src/buildkite.rs).
func buildkiteAgent(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 || args[0] != "oidc" || args[1] != "request-token" {
		fmt.Fprintln(stderr, "usage: buildkite-agent oidc request-token [--audience AUD] [--lifetime SECONDS] (fakeissuer persona)")
		return 2
	}
	fs := flag.NewFlagSet("buildkite-agent oidc request-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	audience := fs.String("audience", "", "audience of the token (default: the organization)")
	fs.Int("lifetime", 0, "accepted for compatibility; the server's lifetime applies")
	var claims listFlag
	fs.Var(&claims, "claim", "accepted for compatibility (optional claims)")
	fs.Usage = func() {}
	usage := personaUsage(fs, "usage: buildkite-agent oidc request-token [--audience AUD] [--lifetime SECONDS] (fakeissuer persona)", stderr)
	if code, stop := parseArgs(fs, usage, args[2:], stdout, stderr); stop {
		return code
	}
	tok, err := mintVia("buildkite", *audience, nil)
	if err != nil {
		fmt.Fprintf(stderr, "fatal: failed to get OIDC token: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

// circleCI is `circleci run oidc get --claims '{"aud": "AUD"}'
// [--root-issuer]`, the form id ≥1.6 and ambient-id run
// (id/_internal/oidc/ambient.py detect_circleci, ambient-id src/circleci.rs). Claims other than aud are set on the token.
func circleCI(args []string, stdout, stderr io.Writer) int {
	if len(args) < 3 || args[0] != "run" || args[1] != "oidc" || args[2] != "get" {
		fmt.Fprintln(stderr, `usage: circleci run oidc get [--claims '{"aud":"AUD"}'] [--root-issuer] (fakeissuer persona)`)
		return 2
	}
	fs := flag.NewFlagSet("circleci run oidc get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	claimsJSON := fs.String("claims", "", `JSON object of claims, e.g. {"aud": "pypi"}`)
	fs.Bool("root-issuer", false, "accepted; the token's iss is the configured CircleCI issuer")
	fs.Usage = func() {}
	usage := personaUsage(fs, `usage: circleci run oidc get [--claims '{"aud":"AUD"}'] [--root-issuer] (fakeissuer persona)`, stderr)
	if code, stop := parseArgs(fs, usage, args[3:], stdout, stderr); stop {
		return code
	}
	var audience string
	var faults []string
	if *claimsJSON != "" {
		var claims map[string]any
		if err := json.Unmarshal([]byte(*claimsJSON), &claims); err != nil {
			fmt.Fprintf(stderr, "Error: invalid --claims JSON: %v\n", err)
			return 1
		}
		for k, v := range claims {
			if s, ok := v.(string); ok && k == "aud" {
				audience = s
				continue
			}
			b, _ := json.Marshal(v)
			faults = append(faults, "claim:"+k+"="+string(b))
		}
	}
	tok, err := mintVia("circleci", audience, faults)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

// personaUsage prints a persona's usage line and flags, for parseArgs: on
// stdout for -h/--help (exit 0, like the serve and env commands), on
// stderr after a bad flag.
func personaUsage(fs *flag.FlagSet, line string, stderr io.Writer) func(io.Writer) {
	return func(w io.Writer) {
		fmt.Fprintln(w, line)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
}
