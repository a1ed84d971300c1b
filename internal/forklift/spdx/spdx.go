// Package spdx validates and canonicalizes a core-metadata License-Expression
// the way packaging 26.2's packaging.licenses.canonicalize_license_expression
// does (src/packaging/licenses/__init__.py), which is what PyPI runs on the
// license_expression upload field through packaging.metadata.
//
// The identifier lists are packaging 26.2's src/packaging/licenses/_spdx.py
// (SPDX License List 3.27.0), kept as data in licenses.txt and exceptions.txt.
// github.com/github/go-spdx/v2 v2.8.0 was not used: it ships list 3.29.0,
// which accepts about 40 licences and 7 exceptions that PyPI refuses.
//
// packaging's algorithm is not an SPDX grammar: it lowercases, splits on
// whitespace, checks the shape by compiling the operators as a Python
// expression, then looks every operand up. Its quirks are reproduced on
// purpose, because they decide what PyPI accepts and stores:
//   - AND, OR and WITH are operators in any case; WITH is treated like OR for
//     the shape check, so "MIT WITH X WITH Y" and "(MIT) WITH X" pass it;
//   - only the token right after WITH is looked up as an exception; anything
//     else, "+"-suffixed or not, must be a listed licence or a LicenseRef-;
//   - "(" is allowed only first or right after AND, OR or WITH, so "((MIT))"
//     is refused (nested parentheses came later, pypa/packaging#931), and
//     "()" never is (pypa/packaging#879, in 26.2);
//   - LicenseRef- spellings are taken per lowercased spelling, the last one
//     in the expression winning ("LicenseRef-A OR licenseref-a" is stored as
//     "LicenseRef-a OR LicenseRef-a");
//   - DocumentRef- is not supported: it is an unknown licence.
package spdx

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"

	"github.com/fakepypi/fakepypi/internal/pyfmt"
)

// ListVersion is the SPDX License List version of the embedded identifiers,
// _spdx.py's VERSION in packaging 26.2.
const ListVersion = "3.27.0"

//go:embed licenses.txt
var licensesTxt string

//go:embed exceptions.txt
var exceptionsTxt string

// licenses and exceptions map the lowercase form of an identifier to its
// canonical spelling, as _spdx.py's LICENSES and EXCEPTIONS do. They are
// built at first use: most uploads carry no License-Expression, and a
// server that never sees one should not hold the 110 KB maps.
var (
	licenses   = sync.OnceValue(func() map[string]string { return loadIDs(licensesTxt) })
	exceptions = sync.OnceValue(func() map[string]string { return loadIDs(exceptionsTxt) })
)

func loadIDs(txt string) map[string]string {
	m := make(map[string]string)
	for line := range strings.SplitSeq(txt, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, id := range strings.Fields(line) {
			m[strings.ToLower(id)] = id
		}
	}
	return m
}

// IsLicense reports whether id (any case) is in the embedded licence list.
func IsLicense(id string) bool { _, ok := licenses()[strings.ToLower(id)]; return ok }

// IsException reports whether id (any case) is in the embedded exception list.
func IsException(id string) bool { _, ok := exceptions()[strings.ToLower(id)]; return ok }

// Error is a refused expression. Msg is packaging's InvalidLicenseExpression
// message; PyPI does not show it (metadata validation replaces it with
// "'<v>' is invalid for 'license-expression'"), but tests and logs can.
type Error struct {
	Msg string
	// Crash marks the inputs packaging 26.2 does not refuse cleanly, whose
	// exception escapes packaging.metadata's validation (it catches
	// InvalidMetadata only) and so makes PyPI answer 500: a "+"-suffixed
	// LicenseRef- whose bare spelling does not also occur (KeyError, e.g.
	// "LicenseRef-Foo+"; fixed after 26.2 by pypa/packaging#1219), and
	// parentheses nested deeper than maxParenDepth (MemoryError).
	Crash bool
}

func (e *Error) Error() string { return e.Msg }

// maxParenDepth is the deepest parenthesis nesting CPython's compile()
// accepts in packaging's shape check. One level more overflows the parser
// stack (measured on CPython 3.11.7: MemoryError at 200 levels, before the
// tokenizer's 200-level "too many nested parentheses"); MemoryError is not
// the SyntaxError packaging catches, so such an expression crashes it.
const maxParenDepth = 199

// Canonicalize returns packaging 26.2's canonical form of a License-Expression
// (canonicalize_license_expression), or an *Error if packaging refuses it.
func Canonicalize(raw string) (string, error) {
	invalid := func() error {
		return &Error{Msg: "Invalid license expression: " + pyfmt.Repr(raw)}
	}
	if raw == "" {
		return "", invalid()
	}
	// Parentheses are padded so that whitespace splitting tokenizes.
	padded := strings.ReplaceAll(strings.ReplaceAll(raw, "(", " ( "), ")", " ) ")
	// LicenseRef- spellings, keyed by their lowercase form (the last wins,
	// as in packaging's dict comprehension). "LicenseRef-" is 11 ASCII
	// characters in any spelling whose lowercase starts with "licenseref-".
	refs := make(map[string]string)
	for _, tok := range pySplit(padded) {
		if l := pyLower(tok); strings.HasPrefix(l, "licenseref-") {
			refs[l] = "LicenseRef-" + tok[len("licenseref-"):]
		}
	}
	tokens := pySplit(pyLower(padded))

	// Shape check. packaging maps every operand to False and WITH to or,
	// refuses "(" after anything but nothing, or and and, and ")" right
	// after "(", then compile()s the result; the state machine below accepts
	// exactly the token sequences that pass both.
	var last string
	expectOperand, depth := true, 0
	for _, tok := range tokens {
		switch tok {
		case "or", "and", "with":
			if expectOperand {
				return "", invalid()
			}
			expectOperand, last = true, "or"
		case "(":
			if last != "" && last != "or" {
				return "", invalid()
			}
			if depth++; depth > maxParenDepth {
				return "", &Error{Msg: "MemoryError: Parser stack overflowed", Crash: true}
			}
			last = "("
		case ")":
			if last == "(" || expectOperand || depth == 0 {
				return "", invalid()
			}
			depth--
			last = ")"
		default:
			if !expectOperand {
				return "", invalid()
			}
			expectOperand, last = false, "False"
		}
	}
	if expectOperand || depth != 0 {
		return "", invalid()
	}

	// Identifier pass.
	out := make([]string, 0, len(tokens))
	for _, tok := range tokens {
		switch tok {
		case "or", "and", "with", "(", ")":
			out = append(out, strings.ToUpper(tok))
			continue
		}
		if len(out) > 0 && out[len(out)-1] == "WITH" {
			id, ok := exceptions()[tok]
			if !ok {
				return "", &Error{Msg: "Unknown license exception: " + pyfmt.Repr(tok)}
			}
			out = append(out, id)
			continue
		}
		final, suffix := tok, ""
		if strings.HasSuffix(tok, "+") {
			final, suffix = tok[:len(tok)-1], "+"
		}
		if strings.HasPrefix(final, "licenseref-") {
			if !licenseRefAllowed(final) {
				return "", &Error{Msg: "Invalid licenseref: " + pyfmt.Repr(final)}
			}
			ref, ok := refs[final]
			if !ok {
				return "", &Error{Msg: "KeyError: " + pyfmt.Repr(final), Crash: true}
			}
			out = append(out, ref+suffix)
			continue
		}
		id, ok := licenses()[final]
		if !ok {
			return "", &Error{Msg: "Unknown license: " + pyfmt.Repr(final)}
		}
		out = append(out, id+suffix)
	}
	s := strings.Join(out, " ")
	return strings.ReplaceAll(strings.ReplaceAll(s, "( ", "("), " )", ")"), nil
}

// licenseRefAllowed is packaging's license_ref_allowed, ^[A-Za-z0-9.-]*$,
// applied to the whole lowercased token (prefix included).
func licenseRefAllowed(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// pySplit is Python's str.split() with no argument: runs of str.isspace()
// characters separate fields. Python's whitespace is Go's plus the ASCII
// information separators U+001C..U+001F.
func pySplit(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || 0x1c <= r && r <= 0x1f
	})
}

// pyLower is Python's str.lower() as far as it matters here (the result is
// only ever compared with ASCII identifiers): it differs from Go's
// strings.ToLower in mapping U+0130 to "i" plus U+0307, so "MİT" is not MIT.
func pyLower(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "\u0130", "i\u0307"))
}
