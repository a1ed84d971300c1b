package issuer

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Fault names. Each makes one token (or one token request) wrong in one
// way a verifier or client must notice.
const (
	FaultExpired         = "expired"          // exp in the past (iat an hour ago)
	FaultNotYetValid     = "not-yet-valid"    // nbf an hour ahead
	FaultIssuedInFuture  = "issued-in-future" // iat an hour ahead
	FaultAudienceList    = "aud-list"         // aud is ["<aud>"]: Warehouse wants a single string
	FaultWrongAudience   = "wrong-audience"   // aud is "not-<aud>"
	FaultWrongIssuer     = "wrong-issuer"     // iss is WrongIssuer
	FaultUnknownKid      = "unknown-kid"      // kid not in the JWKS
	FaultBadSignature    = "bad-signature"    // one signature bit flipped
	FaultAlgNone         = "alg-none"         // {"alg":"none"}, empty signature
	FaultHS256PublicKey  = "hs256-public-key" // HS256 keyed with the PEM public key (key confusion)
	FaultMissingClaim    = "missing"          // missing:CLAIM removes CLAIM
	FaultSetClaim        = "claim"            // claim:CLAIM=VALUE sets CLAIM (VALUE is JSON if it parses, else a string)
	FaultForkPR          = "fork-pr"          // pull_request from a fork: token variables withheld (GitHub)
	FaultPRTarget        = "pull-request-target"
	FaultReusableOther   = "reusable-other-repo" // job run by a reusable workflow of another repository (GitHub)
	FaultEndpoint404     = "endpoint-404"
	FaultEndpoint500     = "endpoint-500"
	FaultEndpointNonJSON = "endpoint-non-json"
	FaultEndpointNoValue = "endpoint-no-value"
)

// WrongIssuer is the iss of a wrong-issuer token: no index trusts it.
const WrongIssuer = "https://issuer.invalid"

// OtherRepoWorkflow is the reusable workflow a reusable-other-repo token names.
const OtherRepoWorkflow = "other-org/shared-workflows/.github/workflows/publish.yml@refs/heads/main"

var simpleFaults = map[string]string{
	FaultExpired:         "exp in the past",
	FaultNotYetValid:     "nbf in the future",
	FaultIssuedInFuture:  "iat in the future",
	FaultAudienceList:    "aud is a JSON list",
	FaultWrongAudience:   "aud is not the requested audience",
	FaultWrongIssuer:     "iss is " + WrongIssuer,
	FaultUnknownKid:      "kid is not in the JWKS",
	FaultBadSignature:    "signature does not verify",
	FaultAlgNone:         "alg none, no signature",
	FaultHS256PublicKey:  "HS256 with the public key as HMAC secret",
	FaultForkPR:          "pull_request from a fork: no token for the job (GitHub)",
	FaultPRTarget:        "pull_request_target event (GitHub)",
	FaultReusableOther:   "reusable workflow from another repository (GitHub)",
	FaultEndpoint404:     "token endpoint answers 404",
	FaultEndpoint500:     "token endpoint answers 500",
	FaultEndpointNonJSON: "token endpoint answers 200 with a non-JSON body",
	FaultEndpointNoValue: "token endpoint answers 200 with JSON lacking value",
}

// FaultNames lists the fault names with a one-line description each,
// including the two parameterised forms.
func FaultNames() map[string]string {
	m := map[string]string{
		FaultMissingClaim + ":CLAIM":   "CLAIM removed",
		FaultSetClaim + ":CLAIM=VALUE": "CLAIM set to VALUE (JSON if it parses, else a string)",
	}
	for k, v := range simpleFaults {
		m[k] = v
	}
	return m
}

// Fault is one parsed fault.
type Fault struct {
	Name  string // one of the Fault* constants
	Claim string // for missing and claim
	Value any    // for claim
}

// ParseFault parses "expired", "missing:jti", "claim:email_verified=false"...
func ParseFault(s string) (Fault, error) {
	s = strings.TrimSpace(s)
	if _, ok := simpleFaults[s]; ok {
		return Fault{Name: s}, nil
	}
	name, arg, ok := strings.Cut(s, ":")
	switch {
	case ok && name == FaultMissingClaim && arg != "":
		return Fault{Name: name, Claim: arg}, nil
	case ok && name == FaultSetClaim:
		claim, raw, ok := strings.Cut(arg, "=")
		if !ok || claim == "" {
			return Fault{}, fmt.Errorf("fault %q: want claim:CLAIM=VALUE", s)
		}
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			v = raw
		}
		return Fault{Name: name, Claim: claim, Value: v}, nil
	}
	names := make([]string, 0, len(simpleFaults)+2)
	for k := range FaultNames() {
		names = append(names, k)
	}
	sort.Strings(names)
	return Fault{}, fmt.Errorf("unknown fault %q (known: %s)", s, strings.Join(names, ", "))
}

// ParseFaults parses each of names.
func ParseFaults(names []string) ([]Fault, error) {
	var out []Fault
	for _, n := range names {
		f, err := ParseFault(n)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func (f Fault) String() string {
	switch f.Name {
	case FaultMissingClaim:
		return f.Name + ":" + f.Claim
	case FaultSetClaim:
		b, _ := json.Marshal(f.Value)
		if s, ok := f.Value.(string); ok {
			// Round-trips through ParseFault unless the string itself is JSON.
			var probe any
			if json.Unmarshal([]byte(s), &probe) != nil {
				return f.Name + ":" + f.Claim + "=" + s
			}
		}
		return f.Name + ":" + f.Claim + "=" + string(b)
	}
	return f.Name
}

// MarshalText and UnmarshalText let faults travel as strings in JSON and YAML.
func (f Fault) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

func (f *Fault) UnmarshalText(b []byte) error {
	p, err := ParseFault(string(b))
	if err != nil {
		return err
	}
	*f = p
	return nil
}

type faultSet []Fault

func (fs faultSet) has(name string) bool {
	for _, f := range fs {
		if f.Name == name {
			return true
		}
	}
	return false
}

// endpointFault is the first token-endpoint failure in fs, or "".
func (fs faultSet) endpointFault() string {
	for _, f := range fs {
		switch f.Name {
		case FaultEndpoint404, FaultEndpoint500, FaultEndpointNonJSON, FaultEndpointNoValue:
			return f.Name
		}
	}
	return ""
}

func (fs faultSet) strings() []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.String())
	}
	return out
}

// shapeRun applies the faults that change the GitHub run itself, before
// defaults are filled in so derived values follow.
func (fs faultSet) shapeRun(g *GitHubRun) {
	for _, f := range fs {
		switch f.Name {
		case FaultForkPR:
			g.Event, g.Fork = "pull_request", true
			g.Ref = "refs/pull/42/merge"
			g.RefProtected = boolPtr(false)
		case FaultPRTarget:
			// pull_request_target runs in the base repository's context, on
			// its default branch.
			g.Event = "pull_request_target"
			if g.BaseRef == "" {
				g.BaseRef = "main"
			}
			g.Ref = "refs/heads/" + g.BaseRef
		case FaultReusableOther:
			g.ReusableWorkflow = OtherRepoWorkflow
			g.ReusableWorkflowSHA = ""
		}
	}
}
