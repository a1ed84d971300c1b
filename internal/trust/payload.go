package trust

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fakepypi/fakepypi/internal/pyfmt"
)

// pydanticVersion is the minor version in pydantic's error links
// (https://errors.pydantic.dev/<major.minor>/v/<type>, from the installed
// pydantic's version): Warehouse pins pydantic[email]==2.13.4
// (requirements/main.txt).
const pydanticVersion = "2.13"

// parsePayload is `TokenPayload.model_validate_json(request.body)` with
// `token: StrictStr`. On failure it returns str(ValidationError): PyPI
// sends that multi-line text as the invalid-payload description. The text
// is pydantic v2's layout; its jiter JSON-error wording is approximated.
func parsePayload(body []byte) (string, string) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil && dec.More() {
		err = fmt.Errorf("trailing characters")
	}
	if err != nil {
		msg := "expected value at line 1 column 1"
		if len(bytes.TrimSpace(body)) == 0 {
			msg = fmt.Sprintf("EOF while parsing a value at line 1 column %d", len(body))
		} else if err.Error() == "trailing characters" {
			msg = "trailing characters at line 1 column " + fmt.Sprint(dec.InputOffset()+1)
		}
		return "", validationError("", "Invalid JSON: "+msg, "json_invalid", pyfmt.ReprBytes(body), "bytes")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return "", validationError("", "Input should be an object", "model_type", pyfmt.ReprValue(v), pyfmt.TypeName(v))
	}
	tok, present := obj["token"]
	if !present {
		return "", validationError("token", "Field required", "missing", pyfmt.ReprValue(obj), "dict")
	}
	s, ok := tok.(string)
	if !ok {
		return "", validationError("token", "Input should be a valid string", "string_type", pyfmt.ReprValue(tok), pyfmt.TypeName(tok))
	}
	return s, ""
}

func validationError(loc, msg, typ, input, inputType string) string {
	var b strings.Builder
	b.WriteString("1 validation error for TokenPayload\n")
	if loc != "" {
		b.WriteString(loc + "\n")
	}
	fmt.Fprintf(&b, "  %s [type=%s, input_value=%s, input_type=%s]\n", msg, typ, pyfmt.TruncateRepr(input), inputType)
	fmt.Fprintf(&b, "    For further information visit https://errors.pydantic.dev/%s/v/%s", pydanticVersion, typ)
	return b.String()
}
