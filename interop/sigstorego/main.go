// Command sigstore-go-verify checks PEP 740 attestations with sigstore-go,
// Sigstore's Go verifier, against a trusted root: the one fakepypi's fake
// Sigstore serves (GET /_fake/sigstore/trusted_root.json), or any other.
// It is how an index or client author points an independent verifier at
// the harness (docs/attestations.md), and fakepypi's tests run it to show
// that what the fake produces verifies, and what its faults produce does
// not, with a verifier fakepypi did not write.
//
// It lives in its own module because sigstore-go would double the size
// of fakepypi's binaries and its dependencies cannot be tidied beside
// golang.org/x/crypto v0.59 (which dropped the openpgp packages that
// rekor's tests import).
//
// Usage:
//
//	sigstore-go-verify -root trusted_root.json -dist demo-1.0.tar.gz -provenance provenance.json
//	sigstore-go-verify -root trusted_root.json -dist demo-1.0.tar.gz -attestation demo-1.0.tar.gz.publish.attestation -github octo-org/octo-repo:release.yml
//
// With -provenance it verifies every attestation of every bundle against
// the bundle's publisher; with -attestation against -github OWNER/REPO:WORKFLOW,
// -gitlab NAMESPACE/PROJECT:PATH or -google EMAIL. It prints one line per
// verified attestation and exits 1 at the first failure.
package main

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// attestation is PEP 740's attestation object (pypi-attestations).
type attestation struct {
	Version              int `json:"version"`
	VerificationMaterial struct {
		Certificate         []byte            `json:"certificate"`
		TransparencyEntries []json.RawMessage `json:"transparency_entries"`
	} `json:"verification_material"`
	Envelope struct {
		Statement []byte `json:"statement"`
		Signature []byte `json:"signature"`
	} `json:"envelope"`
}

type publisher struct {
	Kind             string `json:"kind"`
	Repository       string `json:"repository"`
	Workflow         string `json:"workflow"`
	WorkflowFilepath string `json:"workflow_filepath"`
	Email            string `json:"email"`
}

type provenance struct {
	Version            int `json:"version"`
	AttestationBundles []struct {
		Publisher    publisher     `json:"publisher"`
		Attestations []attestation `json:"attestations"`
	} `json:"attestation_bundles"`
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sigstore-go-verify:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("sigstore-go-verify", flag.ContinueOnError)
	rootPath := fs.String("root", "", "trusted_root.json")
	distPath := fs.String("dist", "", "the distribution file")
	provPath := fs.String("provenance", "", "a PEP 740 provenance object (the integrity API's answer)")
	attPath := fs.String("attestation", "", "one attestation (<dist>.publish.attestation)")
	gh := fs.String("github", "", "expected GitHub publisher OWNER/REPO:WORKFLOW (with -attestation)")
	gl := fs.String("gitlab", "", "expected GitLab publisher NAMESPACE/PROJECT:CI_CONFIG_PATH (with -attestation)")
	google := fs.String("google", "", "expected Google service account email (with -attestation)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rootPath == "" || *distPath == "" || (*provPath == "") == (*attPath == "") {
		return errors.New("need -root, -dist and one of -provenance or -attestation")
	}
	rb, err := os.ReadFile(*rootPath)
	if err != nil {
		return err
	}
	tr, err := root.NewTrustedRootFromJSON(rb)
	if err != nil {
		return fmt.Errorf("trusted root: %w", err)
	}
	// What sigstore-python requires of a PEP 740 attestation: an embedded
	// SCT, a log entry, and the log's integrated time as the signing time.
	v, err := verify.NewVerifier(tr, verify.WithSignedCertificateTimestamps(1), verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1))
	if err != nil {
		return err
	}
	dist, err := os.ReadFile(*distPath)
	if err != nil {
		return err
	}
	digest := sha256.Sum256(dist)
	name := filepath.Base(*distPath)

	type job struct {
		pub publisher
		att attestation
	}
	var jobs []job
	if *provPath != "" {
		var p provenance
		if err := readJSON(*provPath, &p); err != nil {
			return err
		}
		for _, b := range p.AttestationBundles {
			for _, a := range b.Attestations {
				jobs = append(jobs, job{b.Publisher, a})
			}
		}
	} else {
		var a attestation
		if err := readJSON(*attPath, &a); err != nil {
			return err
		}
		var pub publisher
		switch {
		case *gh != "":
			repo, wf, _ := strings.Cut(*gh, ":")
			pub = publisher{Kind: "GitHub", Repository: repo, Workflow: wf}
		case *gl != "":
			repo, wf, _ := strings.Cut(*gl, ":")
			pub = publisher{Kind: "GitLab", Repository: repo, WorkflowFilepath: wf}
		case *google != "":
			pub = publisher{Kind: "Google", Email: *google}
		default:
			return errors.New("-attestation needs -github, -gitlab or -google")
		}
		jobs = append(jobs, job{pub, a})
	}
	if len(jobs) == 0 {
		return errors.New("no attestations")
	}
	for i, j := range jobs {
		b, err := toBundle(j.att)
		if err != nil {
			return fmt.Errorf("attestation %d: %w", i+1, err)
		}
		id, err := identity(j.pub)
		if err != nil {
			return err
		}
		res, err := v.Verify(b, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest[:]), verify.WithCertificateIdentity(id)))
		if err != nil {
			return fmt.Errorf("attestation %d: %w", i+1, err)
		}
		if res.Statement == nil || len(res.Statement.Subject) != 1 || res.Statement.Subject[0].Name != name {
			return fmt.Errorf("attestation %d: the statement's subject is not %s", i+1, name)
		}
		fmt.Printf("OK %s %s %s %s\n", name, res.Statement.PredicateType, j.pub.Kind, res.Signature.Certificate.SubjectAlternativeName)
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// toBundle is pypi-attestations' Attestation.to_bundle: a v0.3 Sigstore
// bundle with the certificate, the first log entry and a DSSE envelope of
// the statement.
func toBundle(a attestation) (*bundle.Bundle, error) {
	if len(a.VerificationMaterial.TransparencyEntries) == 0 {
		return nil, errors.New("no transparency entries")
	}
	raw, err := json.Marshal(map[string]any{
		"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
		"verificationMaterial": map[string]any{
			"certificate": map[string]any{"rawBytes": a.VerificationMaterial.Certificate},
			"tlogEntries": []json.RawMessage{a.VerificationMaterial.TransparencyEntries[0]},
		},
		"dsseEnvelope": map[string]any{
			"payload": a.Envelope.Statement, "payloadType": "application/vnd.in-toto+json",
			"signatures": []map[string]any{{"sig": a.Envelope.Signature}},
		},
	})
	if err != nil {
		return nil, err
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return nil, err
	}
	return &b, nil
}

// identity is the publisher as a certificate identity: the issuer and
// the SAN the publisher's workflow gets from Fulcio (any ref).
func identity(p publisher) (verify.CertificateIdentity, error) {
	switch p.Kind {
	case "GitHub":
		return verify.NewShortCertificateIdentity("https://token.actions.githubusercontent.com", "", "",
			"^"+regexp.QuoteMeta("https://github.com/"+p.Repository+"/.github/workflows/"+p.Workflow+"@"))
	case "GitLab":
		return verify.NewShortCertificateIdentity("https://gitlab.com", "", "",
			"^"+regexp.QuoteMeta("https://gitlab.com/"+p.Repository+"//"+p.WorkflowFilepath+"@"))
	case "Google":
		return verify.NewShortCertificateIdentity("https://accounts.google.com", "", p.Email, "")
	}
	return verify.CertificateIdentity{}, fmt.Errorf("unknown publisher kind %q", p.Kind)
}
