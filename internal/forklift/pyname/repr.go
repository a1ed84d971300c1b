package pyname

import (
	"fmt"
	"strings"
	"unicode"
)

// Repr returns Python's repr() of a str. Warehouse and packaging build many
// messages with {value!r}, so byte-exact messages need the same quoting:
// single quotes unless the text contains a single quote and no double
// quote, backslash escapes for \\, \n, \r, \t and the active quote, and
// \xNN / \uNNNN / \UNNNNNNNN for characters str.isprintable() rejects.
func Repr(s string) string {
	quote := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == unicode.ReplacementChar:
			// Invalid UTF-8 reaches us as U+FFFD, which is printable.
			b.WriteRune(r)
		case !unicode.IsPrint(r):
			switch {
			case r < 0x100:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r < 0x10000:
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

// ReprList returns Python's repr() of a list of str, e.g. ['a', 'b'].
func ReprList(items []string) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = Repr(it)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
