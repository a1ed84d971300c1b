package issuer

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/fakepypi/fakepypi/internal/testenv"
)

// python is Debian's python3 with PyJWT, skipping without it (failing
// under CI=true).
func python(t *testing.T) string {
	t.Helper()
	return testenv.NeedPython(t, "apt-get install python3-jwt python3-cryptography", "jwt", "cryptography")
}

type pyItem struct {
	Name      string `json:"name"`
	Token     string `json:"token"`
	Discovery string `json:"discovery"`
	Audience  string `json:"audience"`
}

type pyVerdict struct {
	OK      bool   `json:"ok"`
	Error   string `json:"error"`
	Message string `json:"message"`
	Aud     any    `json:"aud"`
}

// PyJWT's PyJWKClient on the discovery's jwks_uri accepts valid tokens of
// every kind and rejects each fault with the exception that names it.
func TestPyJWTVerifies(t *testing.T) {
	py := python(t)
	s := startTest(t, Config{})
	ctx := context.Background()
	var items []pyItem
	add := func(name string, k Kind, aud string, faults ...Fault) {
		tok, err := s.TokenFor(ctx, k, aud, faults...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		items = append(items, pyItem{name, tok, s.DiscoveryURL(k), aud})
	}
	for _, k := range Kinds {
		add("valid-"+string(k), k, "pypi")
	}
	// GitHub also at the root, fetched through the token endpoint.
	items = append(items, pyItem{"valid-endpoint", githubJWT(t, s, "&audience=pypi"), s.URL() + "/.well-known/openid-configuration", "pypi"})

	want := map[string]string{
		FaultExpired:         "ExpiredSignatureError",
		FaultNotYetValid:     "ImmatureSignatureError",
		FaultIssuedInFuture:  "ImmatureSignatureError",
		FaultAudienceList:    "InvalidAudienceError", // only where PyJWT has strict_aud
		FaultWrongAudience:   "InvalidAudienceError",
		FaultWrongIssuer:     "InvalidIssuerError",
		FaultUnknownKid:      "PyJWKClientError",
		FaultBadSignature:    "InvalidSignatureError",
		FaultAlgNone:         "InvalidAlgorithmError",
		FaultHS256PublicKey:  "InvalidAlgorithmError",
		"missing:exp":        "MissingRequiredClaimError",
		"missing:iat":        "MissingRequiredClaimError",
		"claim:exp=\"soon\"": "DecodeError",
	}
	for name := range want {
		f, err := ParseFault(name)
		if err != nil {
			t.Fatal(err)
		}
		add(name, GitHub, "pypi", f)
	}
	in, _ := json.Marshal(items)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/pyjwt_verify.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pyjwt_verify.py: %v\n%s", err, stderr.String())
	}
	var verdicts map[string]json.RawMessage
	if err := json.Unmarshal(out, &verdicts); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var strict bool
	_ = json.Unmarshal(verdicts["_strict_aud"], &strict)
	t.Logf("PyJWT %s (strict_aud: %v) via %s", verdicts["_pyjwt"], strict, py)
	verdict := func(name string) pyVerdict {
		var v pyVerdict
		if err := json.Unmarshal(verdicts[name], &v); err != nil {
			t.Fatalf("%s: no verdict in %s", name, out)
		}
		return v
	}
	for _, it := range items {
		if !strings.HasPrefix(it.Name, "valid-") {
			continue
		}
		if v := verdict(it.Name); !v.OK {
			t.Errorf("%s rejected: %s: %s", it.Name, v.Error, v.Message)
		}
	}
	for name, class := range want {
		v := verdict(name)
		if name == FaultAudienceList && !strict {
			// This PyJWT predates strict_aud and accepts ["pypi"]; the
			// fault must still be what it claims to be.
			if l, ok := v.Aud.([]any); !v.OK || !ok || len(l) != 1 || l[0] != "pypi" {
				t.Errorf("%s: %+v, want accepted with aud [\"pypi\"] by a PyJWT without strict_aud", name, v)
			}
			continue
		}
		if v.OK || v.Error != class {
			t.Errorf("%s: got %+v, want %s", name, v, class)
		}
		if name == FaultIssuedInFuture && !strings.Contains(v.Message, "iat") {
			t.Errorf("%s rejected for %q, want the iat check", name, v.Message)
		}
	}
}
