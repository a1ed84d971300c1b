package main

import (
	"context"
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
	"sort"
	"strings"
	"time"

	"github.com/fakepypi/fakepypi/internal/sigstore"
)

const attestUsage = `usage: fakeindex attest [flags] DIST_OR_DIR...

Makes a PEP 740 publish attestation for each distribution and writes it
next to it as <dist>.publish.attestation, as gh-action-pypi-publish's
attestations.py does before "twine upload --attestations": an identity
token with audience "sigstore" from the job (ACTIONS_ID_TOKEN_REQUEST_URL
and _TOKEN, or SIGSTORE_ID_TOKEN), a certificate from Fulcio, a signed
in-toto statement logged in Rekor. A directory means its *.tar.gz, *.zip
and *.whl; *.attestation arguments are skipped. Against the harness
(fakeindex up) it signs with the fake Sigstore (FAKEPYPI_SIGSTORE_URL).

`

// runAttest is "fakeindex attest".
func runAttest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fakeindex attest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, attestUsage)
		fs.PrintDefaults()
	}
	def := os.Getenv("FAKEPYPI_SIGSTORE_URL")
	sigURL := fs.String("sigstore", def, "base URL of Fulcio and Rekor both (default $FAKEPYPI_SIGSTORE_URL)")
	fulcio := fs.String("fulcio", "", "Fulcio base URL (default --sigstore, else "+sigstore.FulcioURL+")")
	rekor := fs.String("rekor", "", "Rekor base URL (default --sigstore, else "+sigstore.RekorURL+")")
	token := fs.String("token", "", "identity token (default $SIGSTORE_ID_TOKEN, else fetched with ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN)")
	force := fs.Bool("force", false, "overwrite existing .publish.attestation files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("attest: no distributions given")
	}
	for _, u := range []*string{fulcio, rekor} {
		if *u == "" {
			*u = *sigURL
		}
	}
	if *fulcio == "" {
		*fulcio = sigstore.FulcioURL
	}
	if *rekor == "" {
		*rekor = sigstore.RekorURL
	}
	dists, err := collectDists(fs.Args())
	if err != nil {
		return err
	}
	if !*force {
		// gh-action-pypi-publish refuses to overwrite: a publish
		// attestation already there means the job is confused.
		for _, d := range dists {
			if _, err := os.Stat(d + ".publish.attestation"); err == nil {
				return fmt.Errorf("attest: %s already has a publish attestation: %s.publish.attestation (--force overwrites)", d, d)
			}
		}
	}
	// HTTPS_PROXY and SSL_CERT_FILE from the job reach Go's defaults.
	hc := &http.Client{Timeout: 30 * time.Second}
	tok := *token
	if tok == "" {
		if tok, err = identityToken(ctx, hc); err != nil {
			return fmt.Errorf("attest: OpenID Connect token retrieval failed: %w", err)
		}
	}
	a, err := sigstore.NewAttester(sigstore.Client{FulcioURL: *fulcio, RekorURL: *rekor, HTTP: hc}, tok)
	if err != nil {
		return fmt.Errorf("attest: %w", err)
	}
	for _, d := range dists {
		sum, err := fileSHA256(d)
		if err != nil {
			return fmt.Errorf("attest: %w", err)
		}
		att, err := a.Attest(filepath.Base(d), sum)
		if err != nil {
			return fmt.Errorf("attest: %s: %w", d, err)
		}
		b, err := json.Marshal(att)
		if err != nil {
			return err
		}
		out := d + ".publish.attestation"
		if err := os.WriteFile(out, b, 0o644); err != nil {
			return fmt.Errorf("attest: %w", err)
		}
		fmt.Fprintln(stdout, out)
	}
	return nil
}

// collectDists expands directories as attestations.py does and skips
// attestation files, so "fakeindex attest dist/*" works twice.
func collectDists(args []string) ([]string, error) {
	var out []string
	isDist := func(n string) bool {
		return strings.HasSuffix(n, ".tar.gz") || strings.HasSuffix(n, ".zip") || strings.HasSuffix(n, ".whl")
	}
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("attest: %w", err)
		}
		if st.IsDir() {
			ents, err := os.ReadDir(a)
			if err != nil {
				return nil, fmt.Errorf("attest: %w", err)
			}
			var found []string
			for _, e := range ents {
				if isDist(e.Name()) {
					p := filepath.Join(a, e.Name())
					if s, err := os.Stat(p); err != nil || !s.Mode().IsRegular() {
						return nil, fmt.Errorf("attest: Path looks like a distribution but is not a file: %s", p)
					}
					found = append(found, p)
				}
			}
			sort.Strings(found)
			out = append(out, found...)
			continue
		}
		switch {
		case strings.HasSuffix(a, ".attestation"):
			continue
		case isDist(a):
			out = append(out, a)
		default:
			return nil, fmt.Errorf("attest: %s is not a distribution (.tar.gz, .zip or .whl)", a)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("attest: no distributions found")
	}
	return out, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// identityToken gets an identity token with audience "sigstore" the way
// sigstore-python's detect_credential does on CI: SIGSTORE_ID_TOKEN (how
// GitLab jobs pass an id_token), else GitHub Actions' token endpoint.
func identityToken(ctx context.Context, hc *http.Client) (string, error) {
	if t := os.Getenv("SIGSTORE_ID_TOKEN"); t != "" {
		return t, nil
	}
	reqURL, reqTok := os.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL"), os.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	if reqURL == "" || reqTok == "" {
		return "", errors.New("no ambient credential: set SIGSTORE_ID_TOKEN, or run in a job with ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN (fakeindex up prints one)")
	}
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("audience", sigstore.Audience)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "bearer "+reqTok)
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
		return "", fmt.Errorf("token endpoint answered without a token: %s", strings.TrimSpace(string(body)))
	}
	return v.Value, nil
}
