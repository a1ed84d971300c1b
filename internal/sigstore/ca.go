package sigstore

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/fakepypi/fakepypi/internal/attestation"
)

// The CA is Fulcio's shape: a self-signed P-384 root "sigstore", an
// intermediate "sigstore-intermediate" (O=sigstore.dev), and 10-minute
// leaf certificates with an empty subject, the identity in a critical SAN,
// Fulcio's extensions and one embedded SCT from the CT log.

// LeafLifetime is Fulcio's certificate validity.
const LeafLifetime = 10 * time.Minute

type ca struct {
	root, inter       *x509.Certificate
	rootKey, interKey *ecdsa.PrivateKey
	ctKey             *ecdsa.PrivateKey
	ctSPKI            []byte
}

func newCA(now time.Time) (*ca, error) {
	c := &ca{}
	var err error
	if c.rootKey, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		return nil, err
	}
	if c.interKey, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		return nil, err
	}
	if c.ctKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if c.ctSPKI, err = x509.MarshalPKIXPublicKey(&c.ctKey.PublicKey); err != nil {
		return nil, err
	}
	// Valid from a year back, so a clock moved back (the harness's
	// /_fake/clock) still finds the chain valid.
	start := now.Add(-365 * 24 * time.Hour).Truncate(time.Second)
	rootT := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{Organization: []string{"sigstore.dev"}, CommonName: "sigstore"},
		NotBefore: start, NotAfter: start.Add(20 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLen: 1,
		SubjectKeyId: keyID(&c.rootKey.PublicKey),
	}
	der, err := x509.CreateCertificate(rand.Reader, rootT, rootT, &c.rootKey.PublicKey, c.rootKey)
	if err != nil {
		return nil, err
	}
	if c.root, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	interT := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{Organization: []string{"sigstore.dev"}, CommonName: "sigstore-intermediate"},
		NotBefore: start, NotAfter: start.Add(20 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
		SubjectKeyId: keyID(&c.interKey.PublicKey),
	}
	if der, err = x509.CreateCertificate(rand.Reader, interT, c.root, &c.interKey.PublicKey, c.rootKey); err != nil {
		return nil, err
	}
	if c.inter, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	return c, nil
}

func serial() *big.Int {
	b := make([]byte, 20)
	rand.Read(b)
	b[0] &= 0x7f
	b[0] |= 0x01
	return new(big.Int).SetBytes(b)
}

func keyID(pub crypto.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	var spki struct {
		Algo      pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	asn1.Unmarshal(der, &spki)
	s := sha1.Sum(spki.PublicKey.Bytes)
	return s[:]
}

// Identity is what Fulcio writes into a certificate: the SAN (a URI for
// CI workloads, an email for email issuers) and its extensions, in
// Fulcio's order (fulcio pkg/certificate/extensions.go Render).
type Identity struct {
	Issuer string
	SANURI string
	Email  string
	// Raw are the deprecated 1.1-1.6 extensions (raw strings), V2 the
	// 1.8-1.24 ones (DER UTF8String), each in order.
	Raw []ext
	V2  []ext
}

type ext struct {
	oid asn1.ObjectIdentifier
	val string
}

var oidTokenSubject = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 24}

// identityFromClaims maps OIDC claims to Fulcio's certificate contents
// as fulcio config/identity/config.yaml does for github-workflow,
// gitlab-pipeline and email issuers.
func identityFromClaims(c map[string]any) (Identity, error) {
	str := func(k string) string {
		switch v := c[k].(type) {
		case string:
			return v
		case float64:
			return fmt.Sprintf("%.0f", v)
		}
		if v, ok := c[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	}
	iss := str("iss")
	id := Identity{Issuer: iss}
	id.Raw = append(id.Raw, ext{attestation.OIDIssuer, iss})
	v2 := func(oid asn1.ObjectIdentifier, v string) {
		if v != "" {
			id.V2 = append(id.V2, ext{oid, v})
		}
	}
	switch iss {
	case attestation.GitHubIssuer:
		const u = "https://github.com"
		for _, r := range []struct {
			oid asn1.ObjectIdentifier
			k   string
		}{{attestation.OIDGitHubWorkflowTrigger, "event_name"}, {attestation.OIDGitHubWorkflowSHA, "sha"},
			{attestation.OIDGitHubWorkflowName, "workflow"}, {attestation.OIDGitHubWorkflowRepository, "repository"},
			{attestation.OIDGitHubWorkflowRef, "ref"}} {
			if v := str(r.k); v != "" {
				id.Raw = append(id.Raw, ext{r.oid, v})
			}
		}
		if str("job_workflow_ref") == "" || str("repository") == "" {
			return Identity{}, errors.New("token is missing job_workflow_ref or repository")
		}
		id.SANURI = u + "/" + str("job_workflow_ref")
		v2(attestation.OIDIssuerV2, iss)
		v2(attestation.OIDBuildSignerURI, u+"/"+str("job_workflow_ref"))
		v2(attestation.OIDBuildSignerDigest, str("job_workflow_sha"))
		v2(attestation.OIDRunnerEnvironment, str("runner_environment"))
		v2(attestation.OIDSourceRepositoryURI, u+"/"+str("repository"))
		v2(attestation.OIDSourceRepositoryDigest, str("sha"))
		v2(attestation.OIDSourceRepositoryRef, str("ref"))
		v2(attestation.OIDSourceRepositoryID, str("repository_id"))
		v2(attestation.OIDSourceRepositoryOwnerURI, u+"/"+str("repository_owner"))
		v2(attestation.OIDSourceRepositoryOwnerID, str("repository_owner_id"))
		if wr := str("workflow_ref"); wr != "" {
			v2(attestation.OIDBuildConfigURI, u+"/"+wr)
		}
		v2(attestation.OIDBuildConfigDigest, str("workflow_sha"))
		v2(attestation.OIDBuildTrigger, str("event_name"))
		if str("run_id") != "" {
			v2(attestation.OIDRunInvocationURI, u+"/"+str("repository")+"/actions/runs/"+str("run_id")+"/attempts/"+str("run_attempt"))
		}
		v2(attestation.OIDSourceRepositoryVisibility, str("repository_visibility"))
		v2(attestation.OIDDeploymentEnvironment, str("environment"))
	case attestation.GitLabIssuer:
		const u = "https://gitlab.com"
		cfg := str("ci_config_ref_uri")
		if cfg == "" || str("project_path") == "" {
			return Identity{}, errors.New("token is missing ci_config_ref_uri or project_path")
		}
		id.SANURI = "https://" + cfg
		v2(attestation.OIDIssuerV2, iss)
		v2(attestation.OIDBuildSignerURI, "https://"+cfg)
		v2(attestation.OIDBuildSignerDigest, str("ci_config_sha"))
		v2(attestation.OIDRunnerEnvironment, str("runner_environment"))
		v2(attestation.OIDSourceRepositoryURI, u+"/"+str("project_path"))
		v2(attestation.OIDSourceRepositoryDigest, str("sha"))
		if ref := str("ref"); ref != "" {
			kind := "tags/"
			if str("ref_type") == "branch" {
				kind = "heads/"
			}
			v2(attestation.OIDSourceRepositoryRef, "refs/"+kind+ref)
		}
		v2(attestation.OIDSourceRepositoryID, str("project_id"))
		v2(attestation.OIDSourceRepositoryOwnerURI, u+"/"+str("namespace_path"))
		v2(attestation.OIDSourceRepositoryOwnerID, str("namespace_id"))
		v2(attestation.OIDBuildConfigURI, "https://"+cfg)
		v2(attestation.OIDBuildConfigDigest, str("ci_config_sha"))
		v2(attestation.OIDBuildTrigger, str("pipeline_source"))
		if str("job_id") != "" {
			v2(attestation.OIDRunInvocationURI, u+"/"+str("project_path")+"/-/jobs/"+str("job_id"))
		}
		v2(attestation.OIDSourceRepositoryVisibility, str("project_visibility"))
		v2(attestation.OIDDeploymentEnvironment, str("environment"))
	case attestation.GoogleIssuer:
		// An email issuer: the SAN is the verified email.
		if v, _ := c["email_verified"].(bool); !v {
			return Identity{}, errors.New("email_verified claim missing or false")
		}
		if id.Email = str("email"); id.Email == "" {
			return Identity{}, errors.New("token has no email claim")
		}
		v2(attestation.OIDIssuerV2, iss)
		return id, nil
	default:
		return Identity{}, fmt.Errorf("unsupported issuer %q", iss)
	}
	v2(oidTokenSubject, str("sub"))
	return id, nil
}

// otherIdentity is the other-identity fault: the same claims for another
// repository owner (GitHub), group (GitLab) or account (Google).
func otherIdentity(c map[string]any) map[string]any {
	o := map[string]any{}
	for k, v := range c {
		o[k] = v
	}
	swap := func(k, old, repl string) {
		if s, ok := o[k].(string); ok && old != "" && strings.HasPrefix(s, old) {
			o[k] = repl + strings.TrimPrefix(s, old)
		}
	}
	if owner, ok := o["repository_owner"].(string); ok {
		for _, k := range []string{"repository", "job_workflow_ref", "workflow_ref"} {
			swap(k, owner+"/", "another-owner/")
		}
		o["repository_owner"] = "another-owner"
	}
	if ns, ok := o["namespace_path"].(string); ok {
		swap("project_path", ns+"/", "another-group/")
		if s, ok := o["ci_config_ref_uri"].(string); ok {
			o["ci_config_ref_uri"] = strings.Replace(s, "/"+ns+"/", "/another-group/", 1)
		}
		o["namespace_path"] = "another-group"
	}
	if e, ok := o["email"].(string); ok {
		if i := strings.IndexByte(e, '@'); i >= 0 {
			o["email"] = "another-account" + e[i:]
		}
	}
	return o
}

// issue makes a leaf certificate for pub valid from notBefore, with an
// embedded SCT timestamped sctTime.
func (c *ca) issue(pub crypto.PublicKey, id Identity, notBefore time.Time) (*x509.Certificate, error) {
	t := &x509.Certificate{
		SerialNumber: serial(),
		NotBefore:    notBefore, NotAfter: notBefore.Add(LeafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		SubjectKeyId: keyID(pub),
	}
	if id.SANURI != "" {
		u, err := url.Parse(id.SANURI)
		if err != nil {
			return nil, err
		}
		t.URIs = []*url.URL{u}
	}
	if id.Email != "" {
		t.EmailAddresses = []string{id.Email}
	}
	for _, e := range id.Raw {
		t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: e.oid, Value: []byte(e.val)})
	}
	for _, e := range id.V2 {
		v, err := asn1.MarshalWithParams(e.val, "utf8")
		if err != nil {
			return nil, err
		}
		t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: e.oid, Value: v})
	}
	// The precertificate's TBS is the final TBS without the SCT list:
	// issue once without it, sign the SCT over that TBS, then issue with it.
	der, err := x509.CreateCertificate(rand.Reader, t, c.inter, pub, c.interKey)
	if err != nil {
		return nil, err
	}
	pre, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ts := uint64(notBefore.UnixMilli())
	signed := attestation.SCTSignedData(ts, attestation.KeyID(c.inter.RawSubjectPublicKeyInfo), pre.RawTBSCertificate)
	sig, err := attestation.SignECDSA(c.ctKey, signed)
	if err != nil {
		return nil, err
	}
	list, err := attestation.MarshalSCTList(attestation.SCT{LogID: attestation.KeyID(c.ctSPKI), Timestamp: ts, HashAlg: 4, SigAlg: 3, Signature: sig})
	if err != nil {
		return nil, err
	}
	t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: attestation.OIDSCTList, Value: list})
	if der, err = x509.CreateCertificate(rand.Reader, t, c.inter, pub, c.interKey); err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}
