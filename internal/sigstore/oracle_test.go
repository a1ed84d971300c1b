package sigstore

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/attestation"
	"github.com/fakepypi/fakepypi/internal/testenv"
)

// oracleScript is what sigstore-python does with a leaf certificate, run
// by Debian's python3-openssl and python3-cryptography: the chain at the
// signing time (Verifier._verify_chain_at_time: an X509Store holding the
// trusted root's CA certificates, X509_STRICT, set_time), the precert TBS
// its SCT check signs over (cryptography's tbs_precertificate_bytes), and
// str() of the Build Config URI extension (pypi-attestations' message).
const oracleScript = `
import base64, datetime, json, sys
from cryptography import x509
from OpenSSL.crypto import X509, X509Store, X509StoreContext, X509StoreContextError, X509StoreFlags
req = json.load(sys.stdin)
out = []
for case in req["cases"]:
    cert = x509.load_der_x509_certificate(base64.b64decode(case["cert"]))
    store = X509Store()
    store.set_flags(X509StoreFlags.X509_STRICT)
    for c in req["chain"]:
        store.add_cert(X509.from_cryptography(x509.load_der_x509_certificate(base64.b64decode(c))))
    store.set_time(datetime.datetime.fromtimestamp(case["time"], tz=datetime.timezone.utc))
    try:
        X509StoreContext(store, X509.from_cryptography(cert)).get_verified_chain()
        chain = "ok"
    except X509StoreContextError as e:
        chain = f"failed to build timestamp certificate chain: {e}"
    try:
        ext = str(cert.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.18")))
    except x509.ExtensionNotFound:
        ext = ""
    out.append({"chain": chain, "tbs": cert.tbs_precertificate_bytes.hex(), "ext": ext})
json.dump(out, sys.stdout)
`

func TestOracleSigstorePython(t *testing.T) {
	py := testenv.NeedPython(t, "apt-get install python3-openssl python3-cryptography", "OpenSSL", "cryptography")
	s := newFake(t, githubClaims())
	root := s.TrustedRoot()
	good := attest(t, Local{s})
	if err := s.SetFaults(FaultExpiredCert); err != nil {
		t.Fatal(err)
	}
	expired := attest(t, Local{s})
	other := newFake(t, githubClaims())
	forged := attest(t, Local{other})

	type kase struct {
		name string
		att  *attestation.Attestation
	}
	cases := []kase{{"good", good}, {"expired", expired}, {"forged", forged}}
	var req struct {
		Chain [][]byte `json:"chain"`
		Cases []struct {
			Cert []byte `json:"cert"`
			Time int64  `json:"time"`
		} `json:"cases"`
	}
	for _, c := range root.CertificateAuthorities[0].CertChain.Certificates {
		req.Chain = append(req.Chain, c.RawBytes)
	}
	for _, c := range cases {
		req.Cases = append(req.Cases, struct {
			Cert []byte `json:"cert"`
			Time int64  `json:"time"`
		}{c.att.VerificationMaterial.Certificate, int64(c.att.VerificationMaterial.TransparencyEntries[0].IntegratedTime)})
	}
	in, _ := json.Marshal(req)
	cmd := exec.Command(py, "-c", oracleScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v\n%s", err, stderr.String())
	}
	var got []struct{ Chain, TBS, Ext string }
	if err := json.Unmarshal(outb, &got); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		cert, err := x509.ParseCertificate(c.att.VerificationMaterial.Certificate)
		if err != nil {
			t.Fatal(err)
		}
		at := time.Unix(int64(c.att.VerificationMaterial.TransparencyEntries[0].IntegratedTime), 0)
		want := "ok"
		if _, err := attestation.VerifyChainForTest(cert, root, at); err != nil {
			want = err.Error()
		}
		if got[i].Chain != want {
			t.Errorf("%s: chain: OpenSSL says %q, fakepypi %q", c.name, got[i].Chain, want)
		}
		tbs, err := attestation.TBSWithoutSCTs(cert)
		if err != nil {
			t.Fatal(err)
		}
		if got[i].TBS != hex.EncodeToString(tbs) {
			t.Errorf("%s: precert TBS differs from cryptography's tbs_precertificate_bytes", c.name)
		}
		if want := attestation.ExtensionStringForTest(cert, attestation.OIDBuildConfigURI); got[i].Ext != want {
			t.Errorf("%s: extension str:\ncryptography %s\nfakepypi     %s", c.name, got[i].Ext, want)
		}
	}
	if !strings.Contains(got[1].Chain, "expired") || !strings.Contains(got[2].Chain, "issuer") || got[0].Chain != "ok" {
		t.Errorf("oracle did not see the expected outcomes: %+v", got)
	}
}
