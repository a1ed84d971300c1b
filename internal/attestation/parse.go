package attestation

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fakepypi/fakepypi/internal/pyfmt"
)

// ParseList is Warehouse's TypeAdapter(list[Attestation]).validate_json
// (warehouse/attestations/services.py _extract_attestations_from_request).
// On failure the error's text is pydantic 2.13's ValidationError for the
// cases a client can plausibly send: not JSON, not a list, an element that
// is not an object, missing or mistyped fields, version other than 1,
// empty transparency_entries, bad base64. Messages of serde_json's
// "Invalid JSON" other than an empty field are approximate.
func ParseList(field string) ([]Attestation, error) {
	dec := json.NewDecoder(strings.NewReader(field))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, pydErr([]pydIssue{{loc: "", msg: "Invalid JSON: " + serdeMessage(field, err), typ: "json_invalid", input: field}})
	}
	list, ok := v.([]any)
	if !ok {
		return nil, pydErr([]pydIssue{{msg: "Input should be a valid array", typ: "list_type", input: v}})
	}
	var issues []pydIssue
	out := make([]Attestation, len(list))
	for i, item := range list {
		issues = append(issues, checkAttestation(fmt.Sprint(i), item, &out[i])...)
	}
	if len(issues) > 0 {
		return nil, pydErr(issues)
	}
	return out, nil
}

type pydIssue struct {
	loc, msg, typ string
	input         any
	noURL         bool
}

type field struct {
	name  string
	check func(loc string, v any) []pydIssue
}

func object(loc string, v any, fields []field, typ string) []pydIssue {
	m, ok := v.(map[string]any)
	if !ok {
		return []pydIssue{{loc: loc, msg: "Input should be an object", typ: typ, input: v}}
	}
	var issues []pydIssue
	for _, f := range fields {
		fv, ok := m[f.name]
		if !ok {
			issues = append(issues, pydIssue{loc: loc + "." + f.name, msg: "Field required", typ: "missing", input: v})
			continue
		}
		issues = append(issues, f.check(loc+"."+f.name, fv)...)
	}
	return issues
}

func b64Field(dst *[]byte) func(string, any) []pydIssue {
	return func(loc string, v any) []pydIssue {
		s, ok := v.(string)
		if !ok {
			return []pydIssue{{loc: loc, msg: "Input should be a valid bytes", typ: "bytes_type", input: v}}
		}
		b, err := pyB64Lenient(s)
		if err != nil {
			return []pydIssue{{loc: loc, msg: "Base64 decoding error: '" + err.Error() + "'", typ: "base64_decode", input: v, noURL: true}}
		}
		*dst = b
		return nil
	}
}

func checkAttestation(loc string, v any, a *Attestation) []pydIssue {
	return object(loc, v, []field{
		{"version", func(loc string, v any) []pydIssue {
			if n, ok := v.(json.Number); ok && n.String() == "1" {
				a.Version = 1
				return nil
			}
			if b, ok := v.(bool); ok && b {
				a.Version = 1 // Literal[1] accepts True (True == 1)
				return nil
			}
			return []pydIssue{{loc: loc, msg: "Input should be 1", typ: "literal_error", input: v}}
		}},
		{"verification_material", func(loc string, v any) []pydIssue {
			return object(loc, v, []field{
				{"certificate", b64Field(&a.VerificationMaterial.Certificate)},
				{"transparency_entries", func(loc string, v any) []pydIssue {
					l, ok := v.([]any)
					if !ok {
						return []pydIssue{{loc: loc, msg: "Input should be a valid list", typ: "list_type", input: v}}
					}
					var issues []pydIssue
					for i, e := range l {
						if _, ok := e.(map[string]any); !ok {
							issues = append(issues, pydIssue{loc: fmt.Sprintf("%s.%d", loc, i), msg: "Input should be an object", typ: "dict_type", input: e})
						}
					}
					if len(issues) == 0 && len(l) == 0 {
						issues = append(issues, pydIssue{loc: loc, msg: "List should have at least 1 item after validation, not 0", typ: "too_short", input: v})
					}
					if len(issues) > 0 {
						return issues
					}
					raw, _ := json.Marshal(l)
					if err := json.Unmarshal(raw, &a.VerificationMaterial.TransparencyEntries); err != nil {
						// The entries are plain dicts to pydantic; a malformed
						// one fails later, in to_bundle.
						a.VerificationMaterial.TransparencyEntries = make([]TlogEntry, len(l))
					}
					return nil
				}},
			}, "model_type")
		}},
		{"envelope", func(loc string, v any) []pydIssue {
			return object(loc, v, []field{
				{"statement", b64Field(&a.Envelope.Statement)},
				{"signature", b64Field(&a.Envelope.Signature)},
			}, "model_type")
		}},
	}, "model_type")
}

func pydErr(issues []pydIssue) error {
	var b strings.Builder
	n := len(issues)
	s := "s"
	if n == 1 {
		s = ""
	}
	fmt.Fprintf(&b, "%d validation error%s for list[Attestation]", n, s)
	for _, is := range issues {
		b.WriteString("\n")
		if is.loc != "" {
			b.WriteString(strings.TrimPrefix(is.loc, ".") + "\n")
		}
		fmt.Fprintf(&b, "  %s [type=%s, input_value=%s, input_type=%s]", is.msg, is.typ, pyfmt.TruncateRepr(pyfmt.ReprValue(is.input)), pyfmt.TypeName(is.input))
		if !is.noURL {
			fmt.Fprintf(&b, "\n    For further information visit https://errors.pydantic.dev/2.13/v/%s", is.typ)
		}
	}
	return &Error{Msg: b.String()}
}

// serdeMessage approximates serde_json's error for invalid JSON.
func serdeMessage(field string, err error) string {
	if strings.TrimSpace(field) == "" {
		lines := strings.Split(field, "\n")
		return fmt.Sprintf("EOF while parsing a value at line %d column %d", len(lines), len(lines[len(lines)-1]))
	}
	line, col := 1, 0
	off := len(field)
	if se, ok := err.(*json.SyntaxError); ok {
		off = int(se.Offset)
	}
	for i, c := range []byte(field[:min(off, len(field))]) {
		_ = i
		if c == '\n' {
			line, col = line+1, 0
		} else {
			col++
		}
	}
	if err == nil {
		return fmt.Sprintf("trailing characters at line %d column %d", line, col+1)
	}
	if off >= len(field) {
		return fmt.Sprintf("EOF while parsing a value at line %d column %d", line, col)
	}
	return fmt.Sprintf("expected value at line %d column %d", line, col)
}

// pyB64Lenient is base64.b64decode without validate (binascii's
// a2b_base64): characters outside the alphabet are skipped, decoding
// stops at padding, and its errors are binascii's.
func pyB64Lenient(s string) ([]byte, error) {
	var data bytes.Buffer
	pads := 0
	for _, r := range s {
		switch {
		case r == '=':
			pads++
		case r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/':
			if pads > 0 {
				// binascii stops at complete padding; data after it is ignored
				// only when the quantum was complete. Keep it simple: treat as
				// more data.
				pads = 0
			}
			data.WriteRune(r)
		}
	}
	n := data.Len()
	if n%4 == 1 {
		return nil, fmt.Errorf("Invalid base64-encoded string: number of data characters (%d) cannot be 1 more than a multiple of 4", n)
	}
	if need := (4 - n%4) % 4; pads < need {
		return nil, fmt.Errorf("Incorrect padding")
	}
	return base64.RawStdEncoding.DecodeString(data.String())
}
