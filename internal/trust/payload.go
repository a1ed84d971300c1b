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
		return "", validationError("", "Invalid JSON: "+msg, "json_invalid", bytesRepr(body), "bytes")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return "", validationError("", "Input should be an object", "model_type", pyfmt.ReprValue(v), pyType(v))
	}
	tok, present := obj["token"]
	if !present {
		return "", validationError("token", "Field required", "missing", pyfmt.ReprValue(obj), "dict")
	}
	s, ok := tok.(string)
	if !ok {
		return "", validationError("token", "Input should be a valid string", "string_type", pyfmt.ReprValue(tok), pyType(tok))
	}
	return s, ""
}

func validationError(loc, msg, typ, input, inputType string) string {
	var b strings.Builder
	b.WriteString("1 validation error for TokenPayload\n")
	if loc != "" {
		b.WriteString(loc + "\n")
	}
	fmt.Fprintf(&b, "  %s [type=%s, input_value=%s, input_type=%s]\n", msg, typ, truncate(input), inputType)
	fmt.Fprintf(&b, "    For further information visit https://errors.pydantic.dev/%s/v/%s", pydanticVersion, typ)
	return b.String()
}

// truncate shortens long input reprs as pydantic-core does.
func truncate(s string) string {
	r := []rune(s)
	if len(r) <= 50 {
		return s
	}
	return string(r[:25]) + "..." + string(r[len(r)-24:])
}

func pyType(v any) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case string:
		return "str"
	case bool:
		return "bool"
	case json.Number:
		if strings.ContainsAny(string(x), ".eE") {
			return "float"
		}
		return "int"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	}
	return "object"
}

// bytesRepr is Python's repr() of a bytes object.
func bytesRepr(b []byte) string {
	quote := byte('\'')
	if bytes.IndexByte(b, '\'') >= 0 && bytes.IndexByte(b, '"') < 0 {
		quote = '"'
	}
	var s strings.Builder
	s.WriteString("b")
	s.WriteByte(quote)
	for _, c := range b {
		switch {
		case c == '\\' || c == quote:
			s.WriteByte('\\')
			s.WriteByte(c)
		case c == '\n':
			s.WriteString(`\n`)
		case c == '\r':
			s.WriteString(`\r`)
		case c == '\t':
			s.WriteString(`\t`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&s, `\x%02x`, c)
		default:
			s.WriteByte(c)
		}
	}
	s.WriteByte(quote)
	return s.String()
}
