package readapi

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf8"
)

// obj is a JSON object; keys are always written sorted.
type obj map[string]any

// pyJSON renders v the way Python's json.dumps does with sort_keys=True,
// which is how every PyPI read API serializes (pypi-server.md §6.1, §6.3).
// Go's encoding/json differs in ways a byte-for-byte comparison notices: it
// escapes <, >, & and U+2028/2029, and cannot emit Python's ", " / ": "
// separators. compact selects separators (",", ":"); ensureASCII escapes
// every non-ASCII rune as \uXXXX (surrogate pairs above the BMP).
func pyJSON(v any, compact, ensureASCII bool) []byte {
	e := pyEncoder{compact: compact, ascii: ensureASCII}
	e.value(v)
	return e.b
}

type pyEncoder struct {
	b       []byte
	compact bool
	ascii   bool
}

func (e *pyEncoder) sep(item bool) {
	switch {
	case item && e.compact:
		e.b = append(e.b, ',')
	case item:
		e.b = append(e.b, ", "...)
	case e.compact:
		e.b = append(e.b, ':')
	default:
		e.b = append(e.b, ": "...)
	}
}

func (e *pyEncoder) value(v any) {
	switch x := v.(type) {
	case nil:
		e.b = append(e.b, "null"...)
	case bool:
		e.b = strconv.AppendBool(e.b, x)
	case int:
		e.b = strconv.AppendInt(e.b, int64(x), 10)
	case int64:
		e.b = strconv.AppendInt(e.b, x, 10)
	case json.Number:
		// Provenance re-serialized from storage keeps its number literals.
		e.b = append(e.b, x...)
	case string:
		e.str(x)
	case []string:
		e.b = append(e.b, '[')
		for i, s := range x {
			if i > 0 {
				e.sep(true)
			}
			e.str(s)
		}
		e.b = append(e.b, ']')
	case []any:
		e.b = append(e.b, '[')
		for i, s := range x {
			if i > 0 {
				e.sep(true)
			}
			e.value(s)
		}
		e.b = append(e.b, ']')
	case []obj:
		e.b = append(e.b, '[')
		for i, s := range x {
			if i > 0 {
				e.sep(true)
			}
			e.value(s)
		}
		e.b = append(e.b, ']')
	case obj:
		e.object(x, sortedKeys(x))
	case map[string]any:
		e.object(x, sortedKeys(x))
	case orderedObj:
		e.object(x.m, x.keys)
	default:
		panic(fmt.Sprintf("pyJSON: unsupported %T", v))
	}
}

// orderedObj is an object written in a given key order (for provenance,
// whose order is the database's, not sorted).
type orderedObj struct {
	keys []string
	m    map[string]any
}

func (e *pyEncoder) object(m map[string]any, keys []string) {
	e.b = append(e.b, '{')
	for i, k := range keys {
		if i > 0 {
			e.sep(true)
		}
		e.str(k)
		e.sep(false)
		e.value(m[k])
	}
	e.b = append(e.b, '}')
}

func sortedKeys[M ~map[string]any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Byte order of UTF-8 equals code point order, which is Python's.
	sort.Strings(keys)
	return keys
}

const hexDigits = "0123456789abcdef"

// str writes s as Python's json encoder does: short escapes for \" \\ \n \r
// \t \b \f, \u00XX for other control characters, and with ensure_ascii
// \uXXXX for everything above 0x7e... except DEL, which Python leaves raw.
func (e *pyEncoder) str(s string) {
	e.b = append(e.b, '"')
	for _, r := range s {
		switch r {
		case '"':
			e.b = append(e.b, '\\', '"')
		case '\\':
			e.b = append(e.b, '\\', '\\')
		case '\n':
			e.b = append(e.b, '\\', 'n')
		case '\r':
			e.b = append(e.b, '\\', 'r')
		case '\t':
			e.b = append(e.b, '\\', 't')
		case '\b':
			e.b = append(e.b, '\\', 'b')
		case '\f':
			e.b = append(e.b, '\\', 'f')
		default:
			switch {
			case r < 0x20:
				e.u4(r)
			case r < 0x80 || !e.ascii:
				e.b = utf8.AppendRune(e.b, r)
			case r > 0xffff:
				r -= 0x10000
				e.u4(0xd800 + (r>>10)&0x3ff)
				e.u4(0xdc00 + r&0x3ff)
			default:
				e.u4(r)
			}
		}
	}
	e.b = append(e.b, '"')
}

func (e *pyEncoder) u4(r rune) {
	e.b = append(e.b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}
