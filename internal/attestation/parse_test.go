package attestation

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// pydanticCases are attestations fields and what pydantic 2.13.4 (the
// version warehouse/requirements/main.txt pins) says of them, captured
// from TypeAdapter(list[Attestation]).validate_json with a replica of
// pypi-attestations' models. "" means valid.
var pydanticCases = []struct{ in, want string }{
	{``, "1 validation error for list[Attestation]\n  Invalid JSON: EOF while parsing a value at line 1 column 0 [type=json_invalid, input_value='', input_type=str]\n    For further information visit https://errors.pydantic.dev/2.13/v/json_invalid"},
	{`{}`, "1 validation error for list[Attestation]\n  Input should be a valid array [type=list_type, input_value={}, input_type=dict]\n    For further information visit https://errors.pydantic.dev/2.13/v/list_type"},
	{`1`, "1 validation error for list[Attestation]\n  Input should be a valid array [type=list_type, input_value=1, input_type=int]\n    For further information visit https://errors.pydantic.dev/2.13/v/list_type"},
	{`"x"`, "1 validation error for list[Attestation]\n  Input should be a valid array [type=list_type, input_value='x', input_type=str]\n    For further information visit https://errors.pydantic.dev/2.13/v/list_type"},
	{`null`, "1 validation error for list[Attestation]\n  Input should be a valid array [type=list_type, input_value=None, input_type=NoneType]\n    For further information visit https://errors.pydantic.dev/2.13/v/list_type"},
	{`[1]`, "1 validation error for list[Attestation]\n0\n  Input should be an object [type=model_type, input_value=1, input_type=int]\n    For further information visit https://errors.pydantic.dev/2.13/v/model_type"},
	{`[{}]`, "3 validation errors for list[Attestation]\n0.version\n  Field required [type=missing, input_value={}, input_type=dict]\n    For further information visit https://errors.pydantic.dev/2.13/v/missing\n0.verification_material\n  Field required [type=missing, input_value={}, input_type=dict]\n    For further information visit https://errors.pydantic.dev/2.13/v/missing\n0.envelope\n  Field required [type=missing, input_value={}, input_type=dict]\n    For further information visit https://errors.pydantic.dev/2.13/v/missing"},
	{`[{"version":2}]`, "3 validation errors for list[Attestation]\n0.version\n  Input should be 1 [type=literal_error, input_value=2, input_type=int]\n    For further information visit https://errors.pydantic.dev/2.13/v/literal_error\n0.verification_material\n  Field required [type=missing, input_value={'version': 2}, input_type=dict]\n    For further information visit https://errors.pydantic.dev/2.13/v/missing\n0.envelope\n  Field required [type=missing, input_value={'version': 2}, input_type=dict]\n    For further information visit https://errors.pydantic.dev/2.13/v/missing"},
	{`[{"version":1,"verification_material":{"certificate":"!!","transparency_entries":[]},"envelope":{"statement":"YQ==","signature":"YQ=="}}]`, "1 validation error for list[Attestation]\n0.verification_material.transparency_entries\n  List should have at least 1 item after validation, not 0 [type=too_short, input_value=[], input_type=list]\n    For further information visit https://errors.pydantic.dev/2.13/v/too_short"},
	{`[{"version":3, "verification_material": {"certificate": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}, "envelope": 5}]`, "3 validation errors for list[Attestation]\n0.version\n  Input should be 1 [type=literal_error, input_value=3, input_type=int]\n    For further information visit https://errors.pydantic.dev/2.13/v/literal_error\n0.verification_material.transparency_entries\n  Field required [type=missing, input_value={'certificate': 'aaaaaaaa...aaaaaaaaaaaaaaaaaaaaaa'}, input_type=dict]\n    For further information visit https://errors.pydantic.dev/2.13/v/missing\n0.envelope\n  Input should be an object [type=model_type, input_value=5, input_type=int]\n    For further information visit https://errors.pydantic.dev/2.13/v/model_type"},
	{`[{"version":1,"verification_material":{"certificate":5,"transparency_entries":[1]},"envelope":{"statement":"YQ==","signature":"Y"}}]`, "3 validation errors for list[Attestation]\n0.verification_material.certificate\n  Input should be a valid bytes [type=bytes_type, input_value=5, input_type=int]\n    For further information visit https://errors.pydantic.dev/2.13/v/bytes_type\n0.verification_material.transparency_entries.0\n  Input should be an object [type=dict_type, input_value=1, input_type=int]\n    For further information visit https://errors.pydantic.dev/2.13/v/dict_type\n0.envelope.signature\n  Base64 decoding error: 'Invalid base64-encoded string: number of data characters (1) cannot be 1 more than a multiple of 4' [type=base64_decode, input_value='Y', input_type=str]"},
	{`[]`, ""},
	{`[{"version":1,"verification_material":{"certificate":"YQ==","transparency_entries":[{}]},"envelope":{"statement":"YQ==","signature":"YQ=="}}]`, ""},
}

func TestParseListPydantic(t *testing.T) {
	for _, c := range pydanticCases {
		_, err := ParseList(c.in)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("ParseList(%s):\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// TestParseListOracle runs the same cases through pydantic itself when
// FAKEPYPI_PYDANTIC_PYTHON names a python with pydantic 2.13 (Debian 12
// has only pydantic 1, so CI cannot install it; run it where it exists).
func TestParseListOracle(t *testing.T) {
	py := os.Getenv("FAKEPYPI_PYDANTIC_PYTHON")
	if py == "" {
		t.Skip("set FAKEPYPI_PYDANTIC_PYTHON to a python with pydantic 2.13 to check ParseList against pydantic")
	}
	const script = `
import json, sys
from typing import Annotated, Any, Literal, NewType
from annotated_types import MinLen
from pydantic import Base64Bytes, BaseModel, TypeAdapter, ValidationError
TransparencyLogEntry = NewType("TransparencyLogEntry", dict[str, Any])
class VerificationMaterial(BaseModel):
    certificate: Base64Bytes
    transparency_entries: Annotated[list[TransparencyLogEntry], MinLen(1)]
class Envelope(BaseModel):
    statement: Base64Bytes
    signature: Base64Bytes
class Attestation(BaseModel):
    version: Literal[1]
    verification_material: VerificationMaterial
    envelope: Envelope
out = []
for s in json.load(sys.stdin):
    try:
        TypeAdapter(list[Attestation]).validate_json(s)
        out.append("")
    except ValidationError as e:
        out.append(str(e))
json.dump(out, sys.stdout)
`
	var ins []string
	for _, c := range pydanticCases {
		ins = append(ins, c.in)
	}
	b, _ := json.Marshal(ins)
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = strings.NewReader(string(b))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", py, err)
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	for i, c := range pydanticCases {
		if got[i] != c.want {
			t.Errorf("pydantic on %s:\n says %q\n case %q", c.in, got[i], c.want)
		}
	}
}
