// Package pep508 parses PEP 508 dependency specifiers the way packaging
// 26.2 does (packaging/_tokenizer.py, _parser.py, requirements.py,
// markers.py) and renders them as str(Requirement), which is how Warehouse
// stores requires_dist.
package pep508

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/fakepypi/fakepypi/internal/forklift/pep440"
	"github.com/fakepypi/fakepypi/internal/forklift/pyname"
)

// SyntaxError is packaging's ParserSyntaxError. Error() reproduces its
// str(): the message, the source and a caret line, joined by "\n    ".
type SyntaxError struct {
	Message string
	Source  string
	Start   int // span, in bytes of Source
	End     int
}

func (e *SyntaxError) Error() string {
	marker := strings.Repeat(" ", e.Start) + strings.Repeat("~", e.End-e.Start) + "^"
	return strings.Join([]string{e.Message, e.Source, marker}, "\n    ")
}

// Requirement is a parsed dependency specifier.
type Requirement struct {
	Name      string
	Extras    []string // as written, deduplicated
	Specifier pep440.SpecifierSet
	URL       string // non-empty for "name @ url"
	Marker    Marker // nil when absent
}

// String is str(Requirement): name, sorted extras, the specifier set in
// packaging's sorted form, "@ url", and "; marker" with double-quoted
// values, e.g. "requests [socks] (>=2.0) ; python_version<'3.8'" becomes
// `requests[socks]>=2.0; python_version < "3.8"`.
func (r *Requirement) String() string {
	var b strings.Builder
	b.WriteString(r.Name)
	if len(r.Extras) > 0 {
		ex := append([]string(nil), r.Extras...)
		sort.Strings(ex)
		b.WriteString("[" + strings.Join(ex, ",") + "]")
	}
	if r.Specifier.Len() > 0 {
		b.WriteString(r.Specifier.String())
	}
	if r.URL != "" {
		b.WriteString("@ " + r.URL)
		if r.Marker != nil {
			b.WriteString(" ")
		}
	}
	if r.Marker != nil {
		b.WriteString("; " + r.Marker.String())
	}
	return b.String()
}

// Token rules of packaging/_tokenizer.py DEFAULT_RULES. Every pattern is
// anchored at the current position. Compiled at the first requirement
// parsed, not at init (70 KB that a server whose uploads carry no
// Requires-Dist never needs).
var rules = sync.OnceValue(func() map[string]*regexp.Regexp {
	return map[string]*regexp.Regexp{
		"LEFT_PARENTHESIS":          regexp.MustCompile(`^\(`),
		"RIGHT_PARENTHESIS":         regexp.MustCompile(`^\)`),
		"LEFT_BRACKET":              regexp.MustCompile(`^\[`),
		"RIGHT_BRACKET":             regexp.MustCompile(`^\]`),
		"SEMICOLON":                 regexp.MustCompile(`^;`),
		"COMMA":                     regexp.MustCompile(`^,`),
		"QUOTED_STRING":             regexp.MustCompile(`^(?:'[^']*'|"[^"]*")`),
		"OP":                        regexp.MustCompile(`^(?:===|==|~=|!=|<=|>=|<|>)`),
		"BOOLOP":                    regexp.MustCompile(`^(?:or|and)\b`),
		"IN":                        regexp.MustCompile(`^in\b`),
		"NOT":                       regexp.MustCompile(`^not\b`),
		"VARIABLE":                  regexp.MustCompile(`^(?:python_version|python_full_version|os[._]name|sys[._]platform|platform_(?:release|system)|platform[._](?:version|machine|python_implementation)|python_implementation|implementation_(?:name|version)|extras?|dependency_groups)\b`),
		"SPECIFIER":                 pep440.SpecifierPrefixRe(),
		"AT":                        regexp.MustCompile(`^@`),
		"URL":                       regexp.MustCompile(`^[^ \t]+`),
		"IDENTIFIER":                regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]*\b`),
		"VERSION_PREFIX_TRAIL":      regexp.MustCompile(`^\.\*`),
		"VERSION_LOCAL_LABEL_TRAIL": regexp.MustCompile(`^\+[a-z0-9]+(?:[-_.][a-z0-9]+)*`),
		"WS":                        regexp.MustCompile(`^[ \t]+`),
	}
})

// tokenizer mirrors packaging's Tokenizer: check/expect/read with a
// one-token lookahead.
type tokenizer struct {
	src  string
	pos  int
	next string // text of the checked token, if any
	has  bool
}

type parseError struct{ err *SyntaxError }

func (t *tokenizer) fail(msg string, start, end int) {
	panic(parseError{&SyntaxError{Message: msg, Source: t.src, Start: start, End: end}})
}

// wordBoundaryBefore emulates the leading \b of BOOLOP/IN/NOT/VARIABLE/
// IDENTIFIER: the previous byte must not be a word character.
func (t *tokenizer) wordBoundaryBefore() bool {
	if t.pos == 0 {
		return true
	}
	c := t.src[t.pos-1]
	return !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
}

func (t *tokenizer) check(name string, peek bool) bool {
	if name == "END" {
		return t.pos >= len(t.src)
	}
	switch name {
	case "BOOLOP", "IN", "NOT", "VARIABLE", "IDENTIFIER":
		if !t.wordBoundaryBefore() {
			return false
		}
	}
	m := rules()[name].FindString(t.src[t.pos:])
	if m == "" && name != "URL" {
		return false
	}
	if m == "" {
		return false
	}
	if !peek {
		t.next, t.has = m, true
	}
	return true
}

func (t *tokenizer) read() string {
	s := t.next
	t.pos += len(s)
	t.next, t.has = "", false
	return s
}

func (t *tokenizer) consume(name string) {
	if t.check(name, false) {
		t.read()
	}
}

func (t *tokenizer) expect(name, expected string) string {
	if !t.check(name, false) {
		t.fail("Expected "+expected, t.pos, t.pos)
	}
	return t.read()
}

// enclosed runs body between optional open/close tokens, as
// Tokenizer.enclosing_tokens does.
func (t *tokenizer) enclosed(open, close, around string, body func()) {
	openPos := -1
	if t.check(open, false) {
		openPos = t.pos
		t.read()
	}
	body()
	if openPos < 0 {
		return
	}
	if !t.check(close, false) {
		t.fail(fmt.Sprintf("Expected matching %s for %s, after %s", close, open, around), openPos, t.pos)
	}
	t.read()
}

// Parse parses a PEP 508 requirement string.
func Parse(s string) (req *Requirement, err error) {
	t := &tokenizer{src: s}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(parseError)
			if !ok {
				panic(r)
			}
			req, err = nil, pe.err
		}
	}()
	req = &Requirement{}
	t.consume("WS")
	req.Name = t.expect("IDENTIFIER", "package name at the start of dependency specifier")
	t.consume("WS")
	req.Extras = parseExtras(t)
	t.consume("WS")
	var spec string
	req.URL, spec, req.Marker = parseDetails(t)
	t.expect("END", "end of dependency specifier")
	set, serr := pep440.ParseSpecifierSet(spec)
	if serr != nil {
		// The tokenizer only accepts valid clauses; keep a defensive error.
		return nil, &SyntaxError{Message: "Invalid specifier", Source: s}
	}
	req.Specifier = set
	if req.Marker != nil {
		req.Marker = normalizeExtras(req.Marker)
	}
	return req, nil
}

func parseExtras(t *tokenizer) []string {
	if !t.check("LEFT_BRACKET", true) {
		return nil
	}
	var extras []string
	t.enclosed("LEFT_BRACKET", "RIGHT_BRACKET", "extras", func() {
		t.consume("WS")
		if t.check("IDENTIFIER", false) {
			extras = append(extras, t.read())
			for {
				t.consume("WS")
				if t.check("IDENTIFIER", true) {
					t.fail("Expected comma between extra names", t.pos, t.pos)
				} else if !t.check("COMMA", false) {
					break
				}
				t.read()
				t.consume("WS")
				extras = append(extras, t.expect("IDENTIFIER", "extra name after comma"))
			}
		}
		t.consume("WS")
	})
	// set(parsed.extras): duplicates collapse.
	seen := map[string]bool{}
	var out []string
	for _, e := range extras {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

func parseDetails(t *tokenizer) (url, spec string, marker Marker) {
	if t.check("AT", false) {
		t.read()
		t.consume("WS")
		urlStart := t.pos
		url = t.expect("URL", "URL after @")
		if t.check("END", true) {
			return url, "", nil
		}
		t.expect("WS", "whitespace after URL")
		if t.check("END", true) {
			return url, "", nil
		}
		return url, "", parseRequirementMarker(t, urlStart, "URL and whitespace")
	}
	specStart := t.pos
	spec = parseSpecifier(t)
	t.consume("WS")
	if t.check("END", true) {
		return "", spec, nil
	}
	after := "version specifier"
	if spec == "" {
		after = "name and no valid version specifier"
	}
	return "", spec, parseRequirementMarker(t, specStart, after)
}

func parseRequirementMarker(t *tokenizer, spanStart int, after string) Marker {
	if !t.check("SEMICOLON", false) {
		t.fail(fmt.Sprintf("Expected end or semicolon (after %s)", after), spanStart, t.pos)
	}
	t.read()
	m := parseMarker(t)
	t.consume("WS")
	return m
}

func parseSpecifier(t *tokenizer) string {
	var out string
	t.enclosed("LEFT_PARENTHESIS", "RIGHT_PARENTHESIS", "version specifier", func() {
		t.consume("WS")
		out = parseVersionMany(t)
		t.consume("WS")
	})
	return out
}

func parseVersionMany(t *tokenizer) string {
	var out string
	for t.check("SPECIFIER", false) {
		start := t.pos
		out += t.read()
		if t.check("VERSION_PREFIX_TRAIL", true) {
			t.fail(".* suffix can only be used with `==` or `!=` operators", start, t.pos+2)
		}
		if t.check("VERSION_LOCAL_LABEL_TRAIL", true) {
			t.fail("Local version label can only be used with `==` or `!=` operators", start, t.pos)
		}
		t.consume("WS")
		if !t.check("COMMA", false) {
			break
		}
		out += t.read()
		t.consume("WS")
	}
	return out
}

// ParseMarker parses a standalone environment marker.
func ParseMarker(s string) (m Marker, err error) {
	t := &tokenizer{src: s}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(parseError)
			if !ok {
				panic(r)
			}
			m, err = nil, pe.err
		}
	}()
	m = parseMarker(t)
	t.expect("END", "end of marker expression")
	return normalizeExtras(m), nil
}

// Marker is a parsed marker expression: a list of atoms (Item or nested
// Marker) separated by "and"/"or" strings.
type Marker []any

// Item is one comparison, e.g. python_version < "3.8".
type Item struct {
	Left, Op, Right Operand
}

// Operand is a marker variable or a quoted value.
type Operand struct {
	Variable bool
	Text     string
}

func (o Operand) serialize() string {
	if o.Variable {
		return o.Text
	}
	return `"` + o.Text + `"`
}

func parseMarker(t *tokenizer) Marker {
	expr := Marker{parseMarkerAtom(t)}
	for t.check("BOOLOP", false) {
		op := t.read()
		expr = append(expr, op, parseMarkerAtom(t))
	}
	return expr
}

func parseMarkerAtom(t *tokenizer) any {
	t.consume("WS")
	var m any
	if t.check("LEFT_PARENTHESIS", true) {
		t.enclosed("LEFT_PARENTHESIS", "RIGHT_PARENTHESIS", "marker expression", func() {
			t.consume("WS")
			m = parseMarker(t)
			t.consume("WS")
		})
	} else {
		m = parseMarkerItem(t)
	}
	t.consume("WS")
	return m
}

func parseMarkerItem(t *tokenizer) Item {
	t.consume("WS")
	left := parseMarkerVar(t)
	t.consume("WS")
	op := parseMarkerOp(t)
	t.consume("WS")
	right := parseMarkerVar(t)
	t.consume("WS")
	return Item{left, Operand{Text: op}, right}
}

func parseMarkerVar(t *tokenizer) Operand {
	if t.check("VARIABLE", false) {
		v := strings.ReplaceAll(t.read(), ".", "_")
		if v == "python_implementation" {
			v = "platform_python_implementation"
		}
		return Operand{Variable: true, Text: v}
	}
	if t.check("QUOTED_STRING", false) {
		q := t.read()
		return Operand{Text: q[1 : len(q)-1]}
	}
	t.fail("Expected a marker variable or quoted string", t.pos, t.pos)
	return Operand{}
}

func parseMarkerOp(t *tokenizer) string {
	switch {
	case t.check("IN", false):
		t.read()
		return "in"
	case t.check("NOT", false):
		t.read()
		t.expect("WS", "whitespace after 'not'")
		t.expect("IN", "'in' after 'not'")
		return "not in"
	case t.check("OP", false):
		return t.read()
	}
	t.fail("Expected marker operator, one of <=, <, !=, ==, >=, >, ~=, ===, in, not in", t.pos, t.pos)
	return ""
}

// normalizeExtras canonicalizes the value compared with "extra" (and the
// value tested for membership in "extras"/"dependency_groups"), recursively,
// as packaging's Marker does since 25.x.
func normalizeExtras(m Marker) Marker {
	out := make(Marker, len(m))
	for i, a := range m {
		switch x := a.(type) {
		case Marker:
			out[i] = normalizeExtras(x)
		case Item:
			switch {
			case x.Left.Variable && x.Left.Text == "extra" && !x.Right.Variable:
				x.Right.Text = pyname.Normalize(x.Right.Text)
			case x.Right.Variable && x.Right.Text == "extra" && !x.Left.Variable:
				x.Left.Text = pyname.Normalize(x.Left.Text)
			case x.Right.Variable && (x.Right.Text == "extras" || x.Right.Text == "dependency_groups") && !x.Left.Variable:
				x.Left.Text = pyname.Normalize(x.Left.Text)
			}
			out[i] = x
		default:
			out[i] = a
		}
	}
	return out
}

// String is str(Marker) (markers._format_marker): items joined by spaces,
// nested expressions in parentheses, values in double quotes.
func (m Marker) String() string { return formatMarker(m, true) }

func formatMarker(a any, first bool) string {
	switch x := a.(type) {
	case Marker:
		if len(x) == 1 {
			switch x[0].(type) {
			case Marker, Item:
				return formatMarker(x[0], first)
			}
		}
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = formatMarker(p, false)
		}
		s := strings.Join(parts, " ")
		if first {
			return s
		}
		return "(" + s + ")"
	case Item:
		return x.Left.serialize() + " " + x.Op.Text + " " + x.Right.serialize()
	case string:
		return x
	}
	return ""
}
