package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/fakepypi/fakepypi/internal/controlplane"
	"github.com/fakepypi/fakepypi/internal/issuer"
)

const mintUsage = `Usage: fakeindex mint [--repository-url URL]

Performs the trusted-publishing exchange of a GitHub Actions job exactly as
gh-action-pypi-publish does (its oidc-exchange.py): GET
https://DOMAIN/_/oidc/audience, the GitHub OIDC token for that audience from
ACTIONS_ID_TOKEN_REQUEST_URL, then POST https://DOMAIN/_/oidc/mint-token.
It prints the PyPI API token on stdout, so that clients without trusted
publishing (twine < 6.1, flit, poetry, pdm, hatch) can upload with it:

  twine upload -u __token__ -p "$(fakeindex mint)" dist/*
  TWINE_USERNAME=__token__ TWINE_PASSWORD=$(fakeindex mint) twine upload dist/*

It needs the job's environment: run it inside "fakeindex up -- COMMAND",
"fakeindex up --shell", or a shell that sourced fakeindex up's --env-file.
When PyPI refuses, it prints what the action prints (PyPI's reasons and the
token's claims) and fakeindex's diagnosis of why, then exits 1.

Flags:
`

// mintTimeout is gh-action-pypi-publish's timeout on the audience and
// mint-token requests (oidc-exchange.py passes timeout=5 to requests).
const mintTimeout = 5 * time.Second

func runMint(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, repoURL := newMintFlags()
	if err := parseFlags(fs, mintUsage, "", args, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("mint: unexpected argument %q (see fakeindex mint --help)", fs.Arg(0))
	}
	if os.Getenv("GITHUB_ACTIONS") == "" && os.Getenv("GITLAB_CI") == "" && os.Getenv("FAKEPYPI_INDEX_URL") == "" {
		return errors.New(`mint: this shell is not a fakepypi job (GITHUB_ACTIONS, GITLAB_CI and FAKEPYPI_INDEX_URL are unset). Run it inside one:
  fakeindex up -- sh -c 'twine upload -u __token__ -p "$(fakeindex mint)" dist/*'
  fakeindex up --shell          (then: fakeindex mint)`)
	}
	u := *repoURL
	if u == "" {
		u = defaultRepositoryURL(os.Getenv)
	}
	client, err := jobClient(os.Getenv)
	if err != nil {
		return err
	}
	m := &minter{client: client, getenv: os.Getenv}
	token, err := m.mint(ctx, u)
	var refused *mintFailure
	if errors.As(err, &refused) {
		fmt.Fprintf(stderr, "Trusted publishing exchange failure: %s\n", refused.message)
		if why := m.diagnosis(ctx, refused); why != "" {
			fmt.Fprintf(stderr, "fakeindex's diagnosis (PyPI does not say this): %s\n", why)
		}
		return exitStatus(1)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
}

// newMintFlags builds mint's flags apart from runMint, so that a test can
// walk them.
func newMintFlags() (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("fakeindex mint", flag.ContinueOnError)
	repoURL := fs.String("repository-url", "", "upload `URL` whose index mints the token (default $INPUT_REPOSITORY_URL, as the action's repository-url input; else https://upload.pypi.org/legacy/, or the direct index's /legacy/ when the job has no proxy)")
	return fs, repoURL
}

// defaultRepositoryURL is the action's repository-url input: the
// INPUT_REPOSITORY_URL a workflow sets, else PyPI's upload URL. A job
// environment without a proxy (fakeindex up --no-proxy) reaches the index
// only directly, so its /legacy/ is the default there.
func defaultRepositoryURL(getenv func(string) string) string {
	for _, k := range []string{"INPUT_REPOSITORY_URL", "INPUT_REPOSITORY-URL"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	if getenv("HTTPS_PROXY") == "" && getenv("https_proxy") == "" {
		if idx := getenv("FAKEPYPI_INDEX_URL"); idx != "" {
			return strings.TrimSuffix(idx, "/") + "/legacy/"
		}
	}
	return "https://upload.pypi.org/legacy/"
}

// jobClient is an HTTP client as the job's requests sees it: HTTPS_PROXY
// from the environment, and the CA bundle the job trusts
// (REQUESTS_CA_BUNDLE, SSL_CERT_FILE, FAKEPYPI_CA_BUNDLE) on top of the
// system roots.
func jobClient(getenv func(string) string) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	for _, k := range []string{"REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "FAKEPYPI_CA_BUNDLE"} {
		p := getenv(k)
		if p == "" {
			continue
		}
		pem, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("mint: %s names a CA bundle that cannot be read: %v (is the harness still running? fakeindex up writes it in its --data directory)", k, err)
		}
		pool.AppendCertsFromPEM(pem)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool}
	t.Proxy = func(r *http.Request) (*url.URL, error) { return proxyFor(getenv, r.URL) }
	return &http.Client{Transport: t}, nil
}

// proxyFor is the proxy requests would use for u: HTTPS_PROXY (or
// https_proxy) for https URLs, HTTP_PROXY for http, none for hosts in
// NO_PROXY. Unlike Go's http.ProxyFromEnvironment it proxies loopback
// addresses too, as requests does.
func proxyFor(getenv func(string) string, u *url.URL) (*url.URL, error) {
	pick := func(keys ...string) string {
		for _, k := range keys {
			if v := getenv(k); v != "" {
				return v
			}
		}
		return ""
	}
	for _, h := range strings.Split(pick("NO_PROXY", "no_proxy"), ",") {
		h = strings.TrimSpace(h)
		if h != "" && (h == "*" || strings.EqualFold(h, u.Hostname()) || strings.HasSuffix(u.Hostname(), "."+strings.TrimPrefix(h, "."))) {
			return nil, nil
		}
	}
	p := pick("HTTP_PROXY", "http_proxy")
	if u.Scheme == "https" {
		p = pick("HTTPS_PROXY", "https_proxy")
	}
	if p == "" {
		return nil, nil
	}
	return url.Parse(p)
}

// minter performs gh-action-pypi-publish's exchange.
type minter struct {
	client *http.Client
	getenv func(string) string
	domain string
	jwt    string // the GitHub OIDC token, once fetched
}

// mintFailure is one of the action's die() messages.
type mintFailure struct {
	message string
	jwt     string // the OIDC token PyPI refused, "" if none was sent
}

func (e *mintFailure) Error() string { return "trusted publishing exchange failure: " + e.message }

func (m *minter) mint(ctx context.Context, repositoryURL string) (string, error) {
	u, err := url.Parse(repositoryURL)
	if err != nil || u.Host == "" {
		return "", usageErrorf("mint: --repository-url %q is not a URL like https://upload.pypi.org/legacy/", repositoryURL)
	}
	// oidc-exchange.py keeps only the netloc and always speaks https.
	m.domain = u.Host
	audURL := "https://" + m.domain + "/_/oidc/audience"
	mintURL := "https://" + m.domain + "/_/oidc/mint-token"

	resp, body, err := m.do(ctx, http.MethodGet, audURL, nil)
	if err != nil {
		return "", fmt.Errorf("mint: GET %s: %w%s", audURL, err, m.unreachableHint())
	}
	switch {
	case resp.StatusCode == http.StatusForbidden:
		return "", &mintFailure{message: "audience retrieval failed: repository at " + m.domain + " has trusted publishing disabled"}
	case resp.StatusCode == http.StatusNotFound:
		return "", &mintFailure{message: "audience retrieval failed: repository at " + m.domain + " does not indicate trusted publishing support"}
	case resp.StatusCode >= 400:
		return "", &mintFailure{message: fmt.Sprintf("audience retrieval failed: repository at %s responded with unexpected %d: %s", m.domain, resp.StatusCode, http.StatusText(resp.StatusCode))}
	}
	var aud struct {
		Audience *string `json:"audience"`
	}
	if err := json.Unmarshal(body, &aud); err != nil || aud.Audience == nil {
		// The action has no message here: a JSONDecodeError or KeyError
		// traceback.
		return "", fmt.Errorf("mint: %s answered %d without an \"audience\" in JSON: %.200q", audURL, resp.StatusCode, body)
	}

	jwt, err := m.ambientToken(ctx, *aud.Audience)
	if err != nil {
		return "", &mintFailure{message: tokenRetrievalFailed(err.Error())}
	}
	m.jwt = jwt

	reqBody, _ := json.Marshal(map[string]string{"token": jwt})
	resp, body, err = m.do(ctx, http.MethodPost, mintURL, reqBody)
	if err != nil {
		return "", fmt.Errorf("mint: POST %s: %w%s", mintURL, err, m.unreachableHint())
	}
	var payload struct {
		Token  *string `json:"token"`
		Errors []struct {
			Code        string `json:"code"`
			Description string `json:"description"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &payload); err != nil {
		return "", &mintFailure{jwt: jwt, message: fmt.Sprintf("\nToken request failed: the index produced an unexpected\n%d response.\n\nThis strongly suggests a server configuration or downtime issue; wait\na few minutes and try again.\n", resp.StatusCode)}
	}
	if resp.StatusCode >= 400 {
		var reasons []string
		for _, e := range payload.Errors {
			reasons = append(reasons, fmt.Sprintf("* `%s`: %s", e.Code, e.Description))
		}
		return "", &mintFailure{jwt: jwt, message: "\nToken request failed: the server refused the request for the following reasons:\n\n" +
			strings.Join(reasons, "\n") +
			"\n\nThis generally indicates a trusted publisher configuration error, but could\nalso indicate an internal error on GitHub or PyPI's part.\n\n" + renderClaims(jwt)}
	}
	if payload.Token == nil {
		return "", &mintFailure{jwt: jwt, message: "\nToken response error: the index gave us an invalid response.\n\nThis strongly suggests a server configuration or downtime issue; wait\na few minutes and try again.\n"}
	}
	return *payload.Token, nil
}

func (m *minter) do(ctx context.Context, method, u string, body []byte) (*http.Response, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, mintTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, b, err
}

// unreachableHint explains a connection failure in the usual cases: no
// harness environment, or a harness that is gone.
func (m *minter) unreachableHint() string {
	if m.getenv("FAKEPYPI_PROXY_URL") == "" && m.getenv("FAKEPYPI_INDEX_URL") == "" {
		return "\n(no fakepypi job environment here: run it inside fakeindex up -- COMMAND or fakeindex up --shell)"
	}
	return "\n(is the fakeindex up that wrote this environment still running?)"
}

// ambientToken finds the job's OIDC token as the id package's
// detect_credential does (id/_internal/oidc/ambient.py), for the two CIs a
// fakepypi job can be: GitHub Actions, then GitLab CI/CD.
func (m *minter) ambientToken(ctx context.Context, audience string) (string, error) {
	switch {
	case m.getenv("GITHUB_ACTIONS") != "":
		return m.githubToken(ctx, audience)
	case m.getenv("GITLAB_CI") != "":
		// detect_gitlab: the token is in <AUD>_ID_TOKEN.
		name := issuer.GitLabTokenVar(audience)
		if tok := m.getenv(name); tok != "" {
			return tok, nil
		}
		return "", fmt.Errorf("GitLab: Environment variable %s not found", name)
	}
	// What the newest action raises when id detects no CI at all.
	return "", errors.New("Attempted to discover OIDC in broken environment")
}

// githubToken requests the GitHub Actions OIDC token as the id package's
// detect_github does: ACTIONS_ID_TOKEN_REQUEST_TOKEN then _URL, "bearer"
// authorization, the audience as a query field. The errors are id's
// messages.
func (m *minter) githubToken(ctx context.Context, audience string) (string, error) {
	tok := m.getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	if tok == "" {
		return "", errors.New("GitHub: missing or insufficient OIDC token permissions, the ACTIONS_ID_TOKEN_REQUEST_TOKEN environment variable was unset")
	}
	reqURL := m.getenv("ACTIONS_ID_TOKEN_REQUEST_URL")
	if reqURL == "" {
		return "", errors.New("GitHub: missing or insufficient OIDC token permissions, the ACTIONS_ID_TOKEN_REQUEST_URL environment variable was unset")
	}
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", fmt.Errorf("GitHub: OIDC token request failed (ACTIONS_ID_TOKEN_REQUEST_URL: %v)", err)
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second) // id's timeout
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "bearer "+tok)
	resp, err := m.client.Do(req)
	if err != nil {
		return "", errors.New("GitHub: OIDC token request timed out")
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GitHub: OIDC token request failed (code=%d, body=%s)", resp.StatusCode, pyRepr(string(b)))
	}
	var v struct {
		Value *string `json:"value"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.Value == nil {
		return "", errors.New("GitHub: malformed or incomplete JSON")
	}
	return *v.Value, nil
}

// pyRepr is Python's repr of a str without quotes inside, enough for the
// bodies id quotes (JSON and short texts).
func pyRepr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

// tokenRetrievalFailed is the action's _TOKEN_RETRIEVAL_FAILED_MESSAGE.
func tokenRetrievalFailed(identityError string) string {
	return "\nOpenID Connect token retrieval failed: " + identityError + `

This generally indicates a workflow configuration error, such as insufficient
permissions. Make sure that your workflow has ` + "`id-token: write`" + ` configured
at the job level, e.g.:

` + "```yaml" + `
permissions:
  id-token: write
` + "```" + `

Learn more at https://docs.github.com/en/actions/deployment/security-hardening-your-deployments/about-security-hardening-with-openid-connect#adding-permissions-settings.
`
}

// claimBlock lists the claims the action renders when PyPI refuses a
// token, in its order (render_claims in oidc-exchange.py; the newest
// action adds workflow_ref and environment). ParseClaimsBlock reads the
// same block back.
var claimBlock = []string{"sub", "repository", "repository_owner", "repository_owner_id", "workflow_ref", "job_workflow_ref", "ref", "environment"}

// renderClaims is the action's _RENDERED_CLAIMS for a JWT.
func renderClaims(jwt string) string {
	claims := jwtClaims(jwt)
	var b strings.Builder
	b.WriteString("\nThe claims rendered below are **for debugging purposes only**. You should **not**\nuse them to configure a trusted publisher unless they already match your expectations.\n\nIf a claim is not present in the claim set, then it is rendered as `MISSING`.\n\n")
	for _, k := range claimBlock {
		v, ok := claims[k]
		s := "MISSING"
		if ok {
			s = fmt.Sprint(v)
		}
		fmt.Fprintf(&b, "* `%s`: `%s`\n", k, s)
	}
	b.WriteString("\nSee https://docs.pypi.org/trusted-publishers/troubleshooting/ for more help.\n")
	return b.String()
}

func jwtClaims(jwt string) map[string]any {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var c map[string]any
	json.Unmarshal(b, &c)
	return c
}

// diagnosis asks the index that refused the token why, from its event log
// (/_fake/events): the closest publisher and how it differs, or which
// check failed. PyPI says none of this; "" when the index cannot tell.
func (m *minter) diagnosis(ctx context.Context, f *mintFailure) string {
	if f.jwt == "" {
		return ""
	}
	// PyPI's index answers /_fake/ on its direct listener
	// (FAKEPYPI_INDEX_URL), which works even when the control plane is
	// kept off the proxy (--control-direct-only); through the proxy it is
	// on pypi.org, not upload.pypi.org. TestPyPI's is on test.pypi.org.
	base := "https://" + m.domain
	switch idx := m.getenv("FAKEPYPI_INDEX_URL"); {
	case (m.domain == "upload.pypi.org" || m.domain == "pypi.org") && idx != "":
		base = strings.TrimSuffix(idx, "/")
	case m.domain == "upload.pypi.org":
		base = "https://pypi.org"
	}
	u := base + "/_fake/events?kind=mint"
	ctx, cancel := context.WithTimeout(ctx, mintTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return ""
	}
	controlplane.SetToken(req, m.getenv(controlplane.EnvToken))
	resp, err := m.client.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var list struct {
		Events []struct {
			Verdict string `json:"verdict"`
			Why     string `json:"why"`
			Details struct {
				Claims map[string]any `json:"claims"`
			} `json:"details"`
		} `json:"events"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&list) != nil {
		return ""
	}
	jti, _ := jwtClaims(f.jwt)["jti"].(string)
	for i := len(list.Events) - 1; i >= 0; i-- {
		e := list.Events[i]
		if e.Verdict == "ok" {
			continue
		}
		if got, _ := e.Details.Claims["jti"].(string); jti == "" || got == jti {
			return e.Why
		}
	}
	return ""
}
