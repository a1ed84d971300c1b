// Package pyfmt renders values the way Python prints them, because PyPI's
// messages are Python f-strings and its JSON comes from json.dumps.
//
// Two conventions leak onto the wire: `{x!r}` in an error message is
// repr(x) (single quotes unless the text holds a single quote and no double
// quote), and every JSON body is some json.dumps call whose arguments
// decide the bytes (Warehouse's two renderers, WebOb's json= bodies and
// Pyramid's exception bodies each use different ones: see the Style
// values). Go's encoding/json matches none of them, so responses that must
// match byte for byte are built here.
package pyfmt

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Repr returns Python's repr() of a str.
func Repr(s string) string {
	quote := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(quote):
			b.WriteByte('\\')
			b.WriteByte(quote)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == utf8.RuneError:
			// Invalid UTF-8 reaches us as U+FFFD, which Python prints
			// as itself (it is printable).
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x7f:
			b.WriteRune(r)
		case !unicode.IsPrint(r) && r != ' ':
			// Python's str.isprintable is close to Go's unicode.IsPrint.
			switch {
			case r <= 0xff:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// ReprValue returns repr() of a decoded JSON value (string, json.Number,
// float64, bool, nil, []any, map[string]any), as Python would print the
// object json.loads produced.
func ReprValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return Repr(x)
	case bool:
		if x {
			return "True"
		}
		return "False"
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return string(x)
		}
		if f, err := x.Float64(); err == nil {
			return formatFloat(f)
		}
		return string(x)
	case float64:
		return formatFloat(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = ReprValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []string:
		return ReprList(x)
	case map[string]any:
		// json.loads keeps document order; Go maps do not, so sort for a
		// stable rendering (only used in harness diagnostics and pydantic
		// texts, where exact order is not promised).
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = Repr(k) + ": " + ReprValue(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// ReprList returns repr() of a list of str: ['a', 'b'].
func ReprList(items []string) string {
	parts := make([]string, len(items))
	for i, s := range items {
		parts[i] = Repr(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

// Object is a JSON object whose keys keep the order they were added in,
// because json.dumps writes a dict in insertion order.
type Object []Field

// Field is one key of an Object.
type Field struct {
	Key   string
	Value any
}

// Style is the arguments of json.dumps that change bytes on the wire.
type Style struct {
	// Compact selects the separators "," and ":".
	Compact bool
	// ASCII is ensure_ascii: every non-ASCII rune becomes \uXXXX
	// (a surrogate pair above the BMP).
	ASCII bool
	// SortKeys is sort_keys=True: an Object's fields are written in key
	// order too (a map[string]any always is).
	SortKeys bool
	// Newline appends "\n" after the document.
	Newline bool
}

// The json.dumps calls behind PyPI's JSON answers.
var (
	// Defaults is json.dumps with default arguments: Pyramid's exception
	// bodies for Accept: application/json (pyramid/httpexceptions.py
	// HTTPException.prepare, {"message", "code", "title"}).
	Defaults = Style{ASCII: true}
	// Renderer is Warehouse's "json" renderer (warehouse/config.py:
	// renderers.JSON(serializer=json.dumps, sort_keys=True,
	// separators=(",", ":"))): the trusted-publishing exchange, the
	// integrity API.
	Renderer = Style{Compact: true, ASCII: true, SortKeys: true}
	// RendererNewline is Warehouse's "json-with-newline" renderer
	// (warehouse/config.py: sort_keys, compact, ensure_ascii=False, a
	// trailing newline): the JSON API and the simple API's JSON.
	RendererNewline = Style{Compact: true, SortKeys: true, Newline: true}
	// WebOb is a Response built with json=... (webob/response.py:
	// json.dumps(value, separators=(",", ":"))), as Warehouse's
	// HTTPForbidden(json=...) and HTTPNotFound(json=...) answers are.
	WebOb = Style{Compact: true, ASCII: true}
)

// JSON renders v like Python's json.dumps(v) with default arguments.
func JSON(v any) []byte { return Defaults.Dumps(v) }

// Dumps renders v as json.dumps would with this style. An Object keeps its
// key order unless SortKeys; a map[string]any is written with sorted keys
// (json.dumps keeps a dict's insertion order, which a Go map has not; sorted
// is code point order, which is UTF-8 byte order). v may nest nil, bool, int,
// int64, float64, json.Number (written as is), string, []string, []any,
// Object, []Object, map[string]any and []map[string]any; anything else
// falls back to encoding/json.
func (st Style) Dumps(v any) []byte {
	e := encoder{Style: st}
	e.value(v)
	if st.Newline {
		e.b = append(e.b, '\n')
	}
	return e.b
}

// Encode writes what Dumps returns to w, in pieces of about spillSize
// bytes: a large document (the JSON API of a project with 1,000 releases
// is 800 KB) is never held whole, nor grown by copying.
func (st Style) Encode(w io.Writer, v any) error {
	e := encoder{Style: st, w: w, b: make([]byte, 0, spillSize+spillSize/4)}
	e.value(v)
	if st.Newline {
		e.b = append(e.b, '\n')
	}
	if e.err == nil && len(e.b) > 0 {
		_, e.err = w.Write(e.b)
	}
	return e.err
}

// spillSize is how much Encode gathers before writing.
const spillSize = 32 << 10

type encoder struct {
	Style
	b   []byte
	w   io.Writer // Encode's destination; nil for Dumps
	err error     // the first write error
}

// spill hands what is gathered to the writer once it is large, between
// two items of a list or an object.
func (e *encoder) spill() {
	if e.w == nil || len(e.b) < spillSize {
		return
	}
	if e.err == nil {
		_, e.err = e.w.Write(e.b)
	}
	e.b = e.b[:0]
}

func (e *encoder) sep(item bool) {
	switch {
	case item && e.Compact:
		e.b = append(e.b, ',')
	case item:
		e.b = append(e.b, ", "...)
	case e.Compact:
		e.b = append(e.b, ':')
	default:
		e.b = append(e.b, ": "...)
	}
}

func (e *encoder) value(v any) {
	switch x := v.(type) {
	case nil:
		e.b = append(e.b, "null"...)
	case bool:
		e.b = strconv.AppendBool(e.b, x)
	case int:
		e.b = strconv.AppendInt(e.b, int64(x), 10)
	case int64:
		e.b = strconv.AppendInt(e.b, x, 10)
	case float64:
		e.b = append(e.b, formatFloat(x)...)
	case json.Number:
		// Documents re-serialized from storage keep their number literals.
		e.b = append(e.b, x...)
	case string:
		e.str(x)
	case []string:
		list(e, x, func(s string) { e.str(s) })
	case []any:
		list(e, x, e.value)
	case []Object:
		list(e, x, func(o Object) { e.value(o) })
	case []map[string]any:
		list(e, x, func(m map[string]any) { e.value(m) })
	case Object:
		if e.SortKeys && !keysSorted(x) {
			x = slices.Clone(x)
			sort.SliceStable(x, func(i, j int) bool { return x[i].Key < x[j].Key })
		}
		e.b = append(e.b, '{')
		for i, f := range x {
			if i > 0 {
				e.sep(true)
			}
			e.str(f.Key)
			e.sep(false)
			e.value(f.Value)
			e.spill()
		}
		e.b = append(e.b, '}')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		e.b = append(e.b, '{')
		for i, k := range keys {
			if i > 0 {
				e.sep(true)
			}
			e.str(k)
			e.sep(false)
			e.value(x[k])
			e.spill()
		}
		e.b = append(e.b, '}')
	default:
		// Not a shape PyPI renders; fall back to Go's encoding.
		raw, _ := json.Marshal(x)
		e.b = append(e.b, raw...)
	}
}

func list[T any](e *encoder, xs []T, write func(T)) {
	e.b = append(e.b, '[')
	for i, x := range xs {
		if i > 0 {
			e.sep(true)
		}
		write(x)
		e.spill()
	}
	e.b = append(e.b, ']')
}

// keysSorted reports whether o's keys are in code point order already.
func keysSorted(o Object) bool {
	for i := 1; i < len(o); i++ {
		if o[i].Key < o[i-1].Key {
			return false
		}
	}
	return true
}

const hexDigits = "0123456789abcdef"

// str writes s as Python's json encoder does: short escapes for \" \\ \n
// \r \t \b \f, \u00XX for other control characters, and with ensure_ascii
// \uXXXX for everything above 0x7f. DEL (0x7f) is ASCII and stays raw.
func (e *encoder) str(s string) {
	e.b = append(e.b, '"')
	// Printable ASCII other than '"' and '\\' is copied in runs; only the
	// other characters go through rune.
	start := 0
	for i := 0; i < len(s); {
		if plainASCII[s[i]] {
			i++
			continue
		}
		e.b = append(e.b, s[start:i]...)
		r, size := utf8.DecodeRuneInString(s[i:]) // U+FFFD for a bad byte, as ranging does
		e.rune(r)
		i += size
		start = i
	}
	e.b = append(e.b, s[start:]...)
	e.b = append(e.b, '"')
}

// plainASCII marks the bytes str copies as they are.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// rune writes one character of a string as json.dumps does.
func (e *encoder) rune(r rune) {
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
		case r < 0x80 || !e.ASCII:
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

func (e *encoder) u4(r rune) {
	e.b = append(e.b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}
