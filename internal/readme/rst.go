package readme

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fakepypi/fakepypi/internal/lazyregexp"
)

// Problem returns the docutils system message (level WARNING or above)
// that makes readme_renderer's rst.render return None for src, or "" when
// the detector finds none.
//
// readme_renderer (rst.py, 37.3 to 45.0) calls publish_parts with
// halt_level 2, report_level 5, raw_enabled False and
// file_insertion_enabled False, so any WARNING, ERROR or SEVERE message
// from docutils' parser or transforms refuses the description.
//
// The detector walks only the top level of the document (lines at column
// 0) and what directly follows it; nested content (list items, directive
// bodies, block quotes) is skipped. Whenever a construct is not fully
// understood it gives up on that construct rather than guess: a false
// refusal would block an upload PyPI accepts.
func Problem(src string) string {
	lines, ok := splitLines(src)
	if !ok {
		return ""
	}
	d := &doc{lines: lines, roles: map[string]bool{}, targets: map[string]string{}}
	d.prescan()
	if msg := d.walk(); msg != "" {
		return msg
	}
	if msg := d.unknownTargets(src); msg != "" {
		return msg
	}
	if d.empty() {
		// rst.render returns None when the HTML fragment is empty and
		// writes "No content rendered from RST source.": a blank text,
		// only comments, or only a title, which doctitle_xform moves out
		// of the fragment into parts["title"].
		return "No content rendered from RST source."
	}
	return ""
}

// unknownTargets reports a named reference whose name appears nowhere
// else in the text: no explicit target, title (an implicit target),
// inline target, embedded alias or substitution can define it then.
// docutils' references.DanglingReferences reports it as 'Unknown target
// name' (ERROR). Names are compared with everything but letters and
// digits removed, so any look-alike mention counts as a definition; a
// text with backslashes (escaped names) is not judged.
func (d *doc) unknownTargets(src string) string {
	if len(d.refs) == 0 || strings.Contains(src, "\\") {
		return ""
	}
	all := alnum(src)
	count := map[string]int{}
	for _, r := range d.refs {
		count[alnum(r)]++
	}
	for _, r := range d.refs {
		key := alnum(r)
		if key == "" {
			continue
		}
		if strings.Count(all, key) == count[key] {
			return `ERROR: Unknown target name: "` + strings.ToLower(strings.Join(strings.Fields(r), " ")) + `".`
		}
	}
	return ""
}

func alnum(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var reComment = lazyregexp.New(`^\.\.( +[^ _\[|]|$)`)

// empty reports whether the text is blank, only comments, or one
// underlined title with nothing else.
func (d *doc) empty() bool {
	var rest []string
	for i := 0; i < len(d.lines); i++ {
		l := d.lines[i]
		switch {
		case l == "":
		case reComment().MatchString(l) && !reDirective().MatchString(l):
			for i+1 < len(d.lines) && (d.lines[i+1] == "" || d.lines[i+1][0] == ' ') {
				i++
			}
		default:
			rest = append(rest, l)
		}
	}
	switch len(rest) {
	case 0:
		return true
	case 2:
		t, u := rest[0], rest[1]
		return t[0] != ' ' && !bodyConstruct(t) && isLine(u) && len(u) >= width(t) &&
			strings.TrimSpace(strings.Join(d.lines, "\n")) == t+"\n"+u
	}
	return false
}

// splitLines is docutils.statemachine.string2lines: splitlines(), tabs
// expanded to 8 columns, trailing whitespace stripped. Python's
// splitlines also breaks on \v, \f, \x1c-\x1e, \x85, \u2028 and \u2029;
// a text holding those is not judged.
func splitLines(src string) ([]string, bool) {
	if strings.ContainsAny(src, "\v\f\x1c\x1d\x1e\u0085\u2028\u2029") {
		return nil, false
	}
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	src = strings.TrimSuffix(src, "\n")
	raw := strings.Split(src, "\n")
	out := make([]string, len(raw))
	for i, l := range raw {
		out[i] = strings.TrimRightFunc(expandTabs(l), unicode.IsSpace)
	}
	return out, true
}

func expandTabs(s string) string {
	if !strings.Contains(s, "\t") {
		return s
	}
	var b strings.Builder
	col := 0
	for _, r := range s {
		if r == '\t' {
			n := 8 - col%8
			b.WriteString(strings.Repeat(" ", n))
			col += n
			continue
		}
		b.WriteRune(r)
		col++
	}
	return b.String()
}

type doc struct {
	lines []string
	// roles holds names made known by ".. role::" anywhere in the text.
	roles map[string]bool
	// hasSubst is set when the text defines any substitution.
	hasSubst bool
	// targets maps normalized explicit target names to their URIs.
	targets map[string]string
	// refs are the names of the named references (name_, `name`_)
	// found at the top level.
	refs []string
	// titleStyles and level follow docutils' memo.title_styles and
	// memo.section_level; levelsUnsure stops the level check once a
	// top-level construct might have been a title the walk missed.
	titleStyles  []string
	level        int
	levelsUnsure bool
	// nestedBody is set for a nested body (list item, admonition, block
	// quote), where docutils parses with match_titles False: a section
	// title there is 'Unexpected section title.' (SEVERE).
	nestedBody bool
}

var (
	// docutils Body.patterns (parsers/rst/states.py), ASCII subset.
	reBullet    = lazyregexp.New(`^[-+*\x{2022}\x{2023}\x{2043}]( +|$)`)
	reEnum      = lazyregexp.New(`^(\(?([0-9]+|[a-zA-Z]|[ivxlcdmIVXLCDM]+|#)[.)])( +|$)`)
	reField     = lazyregexp.New(`^:[^: ]`)
	reOption    = lazyregexp.New(`^(--?[A-Za-z0-9]|/[A-Za-z0-9])`)
	reDoctest   = lazyregexp.New(`^>>>( +|$)`)
	reLineBlock = lazyregexp.New(`^\|( +|$)`)
	reGridTop   = lazyregexp.New(`^\+-[-+]+-\+ *$`)
	reSimpleTop = lazyregexp.New(`^=+( +=+)+ *$`)
	reExplicit  = lazyregexp.New(`^\.\.( +|$)`)
	reAnonymous = lazyregexp.New(`^__( +|$)`)
	// Explicit.constructs: a directive is ".. name::" with name a
	// docutils simplename (ASCII here: a non-ASCII name is not judged).
	reDirective = lazyregexp.New(`^\.\. +([A-Za-z0-9]+(?:[-._+:][A-Za-z0-9]+)*)[ ]?::( +|$)`)
	reSubstDef  = lazyregexp.New(`^\.\. +\|`)
	reSubstDir  = lazyregexp.New(`^\.\. +\|[^|]+\| +([A-Za-z0-9]+(?:[-._+:][A-Za-z0-9]+)*)[ ]?::( +|$)`)
	reRoleDef   = lazyregexp.New(`(?m)^ *\.\. +role:: +([A-Za-z0-9]+(?:[-._+:][A-Za-z0-9]+)*)`)
	// A one-line external target ".. _name: uri" whose name needs no
	// quoting.
	reTarget = lazyregexp.New("^\\.\\. _([A-Za-z0-9][^:`\\\\]*): +(\\S+)$")
)

// directives is every directive name docutils 0.19 to 0.21 knows in
// English (directives._directive_registry plus languages/en.py).
// Anything else, Sphinx's toctree, automodule or versionadded included,
// is 'Unknown directive type "..."' (ERROR).
var directives = setOf("admonition", "attention", "caution", "class", "code", "code-block", "compound",
	"container", "contents", "csv-table", "danger", "date", "default-role", "epigraph", "error", "figure",
	"footer", "header", "highlights", "hint", "image", "important", "include", "line-block", "list-table",
	"math", "meta", "note", "parsed-literal", "pull-quote", "raw", "replace", "restructuredtext-test-directive",
	"role", "rubric", "section-numbering", "sectnum", "sidebar", "sourcecode", "table", "target-notes", "tip",
	"title", "topic", "unicode", "warning",
	// Newer docutils spellings; listed so that no version refuses them.
	"footnotes", "citations")

// roles is every interpreted-text role docutils knows in English
// (roles._role_registry plus languages/en.py). Sphinx's :ref:, :doc:,
// :class: and friends are 'Unknown interpreted text role' (ERROR).
var roles = setOf("ab", "abbreviation", "ac", "acronym", "anonymous-reference", "citation-reference",
	"code", "emphasis", "footnote-reference", "i", "index", "literal", "math", "named-reference", "pep",
	"pep-reference", "raw", "restructuredtext-unimplemented-role", "rfc", "rfc-reference", "strong", "sub",
	"subscript", "substitution-reference", "sup", "superscript", "t", "target", "title", "title-reference",
	"uri", "uri-reference", "url", "dfn", "kbd")

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func (d *doc) prescan() {
	src := strings.Join(d.lines, "\n")
	for _, m := range reRoleDef().FindAllStringSubmatch(src, -1) {
		d.roles[strings.ToLower(m[1])] = true
	}
	for _, l := range d.lines {
		if reSubstDef().MatchString(strings.TrimLeft(l, " ")) {
			d.hasSubst = true
		}
	}
}

// isLine is Body.patterns['line'], r'([!-/:-@[-`{-~])\1* *$': one
// non-alphanumeric 7-bit character, repeated (lines are right-stripped).
func isLine(l string) bool {
	if l == "" || !strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", rune(l[0])) {
		return false
	}
	return strings.Trim(l, l[:1]) == ""
}

func indent(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

func (d *doc) blank(i int) bool { return i >= len(d.lines) || d.lines[i] == "" }

// block returns the end of the indented block starting at i: the first
// line at column 0 that is not blank, or len(lines). It also reports
// whether that line directly follows a non-blank line (no blank between),
// which is what docutils' "ends without a blank line" warnings test.
func (d *doc) block(i int) (end int, unblank bool) {
	for i < len(d.lines) && (d.lines[i] == "" || d.lines[i][0] == ' ') {
		i++
	}
	return i, i < len(d.lines) && i > 0 && d.lines[i-1] != ""
}

// bodyConstruct reports whether a column-0 line starts something other
// than a paragraph or title (docutils Body.patterns, in their order).
func bodyConstruct(l string) bool {
	return reBullet().MatchString(l) || reEnum().MatchString(l) || reField().MatchString(l) ||
		reOption().MatchString(l) || reDoctest().MatchString(l) || reLineBlock().MatchString(l) ||
		reGridTop().MatchString(l) || reSimpleTop().MatchString(l) || reExplicit().MatchString(l) ||
		reAnonymous().MatchString(l) || isLine(l)
}

// walk parses the top level and returns the first problem found.
func (d *doc) walk() string {
	n := len(d.lines)
	i := 0
	for i < n {
		l := d.lines[i]
		if l == "" {
			i++
			continue
		}
		if l[0] == ' ' {
			// An indented block after a construct that does not own it
			// (handled by that construct) is not judged.
			i, _ = d.block(i)
			continue
		}
		var msg string
		i, msg = d.construct(i)
		if msg != "" {
			return msg
		}
	}
	return ""
}

// construct handles the column-0 construct starting at line i and
// returns the line after it.
func (d *doc) construct(i int) (int, string) {
	l := d.lines[i]
	n := len(d.lines)
	switch {
	case reExplicit().MatchString(l) || reAnonymous().MatchString(l):
		if msg := d.explicit(l); msg != "" {
			return i, msg
		}
		end, unblank := d.block(i + 1)
		if msg := imageDirective(l, d.lines[i+1:end]); msg != "" {
			return i, msg
		}
		if m := reDirective().FindStringSubmatch(l); m != nil && admonitions[strings.ToLower(m[1])] && strings.HasSuffix(l, "::") {
			// An admonition's content is body text; options come
			// first, up to the first blank line.
			body := d.lines[i+1 : end]
			k := 0
			for k < len(body) && body[k] != "" && strings.HasPrefix(strings.TrimLeft(body[k], " "), ":") {
				k++
			}
			if k == 0 || k == len(body) || body[k] == "" {
				if msg := d.nested("", body[k:], -1); msg != "" {
					return i, msg
				}
			}
		}
		// Explicit.explicit_markup: the next explicit construct may
		// follow directly; anything else is an unindent warning.
		if unblank && !reExplicit().MatchString(d.lines[end]) && !reAnonymous().MatchString(d.lines[end]) {
			return end, "WARNING: Explicit markup ends without a blank line; unexpected unindent."
		}
		return end, ""
	case reBullet().MatchString(l):
		end, unblank := d.block(i + 1)
		// The item's body (Body.list_item): with text after the
		// bullet, get_known_indented strips exactly the bullet's width
		// from the following lines, and a line indented less ends the
		// item (not judged); a bare bullet is not judged.
		m := reBullet().FindString(l)
		if w := utf8.RuneCountInString(m); len(l) > len(m) && fits(d.lines[i+1:end], w) {
			if msg := d.nested(l[len(m):], d.lines[i+1:end], w); msg != "" {
				return i, msg
			}
		}
		if unblank && !reBullet().MatchString(d.lines[end]) && !isLine(d.lines[end]) {
			return end, "WARNING: Bullet list ends without a blank line; unexpected unindent."
		}
		return end, ""
	case reArabicEnum().MatchString(l):
		return d.enumerated(i)
	case reGridTop().MatchString(l):
		if end, msg, ok := d.gridTable(i); ok {
			return end, msg
		}
		j := i
		for j < n && !d.blank(j) {
			j++
		}
		return d.skipLiteral(j), ""
	case reSimpleTop().MatchString(l):
		// A simple table ends at a border followed by a blank line.
		for j := i + 1; j < n; j++ {
			if reSimpleTop().MatchString(d.lines[j]) && d.blank(j+1) {
				return j + 1, ""
			}
		}
		d.levelsUnsure = true
		return n, ""
	case isLine(l) && !reLineBlock().MatchString(l):
		// (A lone "|" is a line block: Body.patterns tries
		// line_block before line.)
		return d.overline(i)
	case bodyConstruct(l):
		// Enumerated, field and option lists, doctests, line blocks,
		// grid tables: not judged; skip to the next blank line and the
		// indented block after it.
		j := i
		for j < n && !d.blank(j) {
			if isLine(d.lines[j]) && !reGridTop().MatchString(d.lines[j]) && !strings.HasPrefix(d.lines[j], "+") {
				d.levelsUnsure = true
			}
			j++
		}
		return d.skipLiteral(j), ""
	}
	return d.text(i)
}

// skipLiteral follows a construct skipped unjudged that ended at j: if
// its last line ends with "::" it may have announced a literal block,
// indented or quoted, which is skipped as well.
func (d *doc) skipLiteral(j int) int {
	if j == 0 || !strings.HasSuffix(d.lines[j-1], "::") {
		return j
	}
	n := len(d.lines)
	for j < n && d.lines[j] == "" {
		j++
	}
	if j < n && d.lines[j][0] == ' ' {
		j, _ = d.block(j)
		return j
	}
	for j < n && d.lines[j] != "" {
		j++
	}
	d.levelsUnsure = true
	return j
}

// explicit judges the first line of an explicit markup construct.
func (d *doc) explicit(l string) string {
	if m := reDirective().FindStringSubmatch(l); m != nil {
		return directiveProblem(m[1])
	}
	if m := reSubstDir().FindStringSubmatch(l); m != nil {
		return directiveProblem(m[1])
	}
	if m := reTarget().FindStringSubmatch(l); m != nil && !strings.HasSuffix(m[2], "_") {
		name := strings.ToLower(strings.Join(strings.Fields(m[1]), " "))
		if old, ok := d.targets[name]; ok && old != m[2] {
			// nodes.document.set_duplicate_name_id: two explicit
			// targets of one name and different URIs are level 2.
			return `WARNING: Duplicate explicit target name: "` + name + `".`
		}
		d.targets[name] = m[2]
	}
	return ""
}

// admonitions are the directives whose content is parsed as body
// elements and that take no argument (directives/admonitions.py).
var admonitions = setOf("attention", "caution", "danger", "error", "hint", "important", "note", "tip", "warning")

// nested judges a nested body (a list item, an admonition's content) with
// the same walk. Section titles are not allowed there (match_titles is
// False), so title levels are not tracked; first is the text on the
// construct's first line, rest the following lines, dedented by ind
// columns (by their common indentation when ind is negative).
func (d *doc) nested(first string, rest []string, ind int) string {
	if ind < 0 {
		// get_first_known_indented: the common indentation.
		for _, l := range rest {
			if l != "" && (ind < 0 || indent(l) < ind) {
				ind = indent(l)
			}
		}
	}
	lines := []string{first}
	if first == "" {
		lines = nil
	}
	for _, l := range rest {
		if l != "" {
			l = l[ind:]
		}
		lines = append(lines, l)
	}
	sd := &doc{lines: lines, roles: d.roles, hasSubst: d.hasSubst, targets: d.targets, levelsUnsure: true, nestedBody: true}
	msg := sd.walk()
	d.refs = append(d.refs, sd.refs...)
	return msg
}

// fits reports whether every non-blank line is indented by w or more.
func fits(lines []string, w int) bool {
	for _, l := range lines {
		if l != "" && indent(l) < w {
			return false
		}
	}
	return true
}

// directiveProblem judges a directive name as written; docutils looks
// names up lowercased and quotes them as written.
func directiveProblem(name string) string {
	switch strings.ToLower(name) {
	case "raw":
		// directives/misc.py Raw.run: raw_enabled is False.
		return `WARNING: "raw" directive disabled.`
	case "include":
		// directives/misc.py Include.run: file_insertion_enabled is
		// False.
		return `WARNING: "include" directive disabled.`
	}
	if !directives[strings.ToLower(name)] {
		return `ERROR: Unknown directive type "` + name + `".`
	}
	return ""
}

// overline handles a column-0 punctuation line: an overlined title, a
// transition, or something not judged.
func (d *doc) overline(i int) (int, string) {
	n := len(d.lines)
	l := d.lines[i]
	if d.blank(i + 1) {
		if len(l) < 4 {
			// Line.blank: too short for a transition, so text (a
			// lone "::" is an expanded literal block marker).
			return d.paragraph(i)
		}
		return i + 1, ""
	}
	if i+2 < n && d.lines[i+1][0] != ' ' && d.lines[i+2] == l && !isLine(d.lines[i+1]) {
		title := d.lines[i+1]
		if width(title) > len(l) {
			if len(l) < 4 {
				// Line.short_overline: the lines are reparsed as a
				// paragraph, up to the next blank line; not judged.
				d.levelsUnsure = true
				j := i
				for j < n && !d.blank(j) {
					j++
				}
				return d.skipLiteral(j), ""
			}
			// Line.text: the overline is checked first.
			return i, "WARNING: Title overline too short."
		}
		if msg := d.title(string(l[0]) + string(l[0])); msg != "" {
			return i, msg
		}
		if msg := d.titleInline(title); msg != "" {
			return i, msg
		}
		return i + 3, ""
	}
	d.levelsUnsure = true
	j := i
	for j < n && !d.blank(j) {
		j++
	}
	return d.skipLiteral(j), ""
}

// title applies docutils' RSTState.check_subsection to a new title of
// the given style.
func (d *doc) title(style string) string {
	if d.levelsUnsure {
		return ""
	}
	level := 0
	for k, s := range d.titleStyles {
		if s == style {
			level = k + 1
		}
	}
	if level == 0 {
		if len(d.titleStyles) != d.level {
			return "SEVERE: Title level inconsistent:"
		}
		d.titleStyles = append(d.titleStyles, style)
		d.level = len(d.titleStyles)
		return ""
	}
	if level > d.level+1 {
		return "SEVERE: Title level inconsistent:"
	}
	d.level = level
	return ""
}

// text handles a column-0 line that starts no other construct: a
// section title, a definition list, or a paragraph (docutils' Text
// state).
func (d *doc) text(i int) (int, string) {
	n := len(d.lines)
	l := d.lines[i]
	if i+1 < n && d.lines[i+1] != "" && d.lines[i+1][0] != ' ' && isLine(d.lines[i+1]) {
		u := d.lines[i+1]
		if width(l) > len(u) {
			if len(u) >= 4 {
				// Text.underline.
				return i, "WARNING: Title underline too short."
			}
			// "Treating it as ordinary text because it's so short."
			return d.paragraph(i)
		}
		if d.nestedBody {
			// Text.underline without match_titles.
			return i, "SEVERE: Unexpected section title."
		}
		if msg := d.title(u[:1]); msg != "" {
			return i, msg
		}
		if msg := d.titleInline(l); msg != "" {
			return i, msg
		}
		return i + 2, ""
	}
	if i+1 < n && d.lines[i+1] != "" && d.lines[i+1][0] == ' ' {
		// A definition list item (Text.indent). A following column-0
		// line with no blank before it ends the list unless it is the
		// next term, which is followed by an indented line.
		for {
			end, unblank := d.block(i + 1)
			if !unblank {
				return end, ""
			}
			nx := d.lines[end]
			if end+1 < n && d.lines[end+1] != "" && d.lines[end+1][0] == ' ' && !bodyConstruct(nx) {
				i = end
				continue
			}
			if end+1 < n && d.lines[end+1] == "" || end+1 == n {
				if !bodyConstruct(nx) {
					return end, "WARNING: Definition list ends without a blank line; unexpected unindent."
				}
			}
			return end, ""
		}
	}
	return d.paragraph(i)
}

// paragraph handles Text.text: the text block from i to the next blank
// line, which must stay at column 0.
func (d *doc) paragraph(i int) (int, string) {
	n := len(d.lines)
	j := i + 1
	for j < n && d.lines[j] != "" {
		if d.lines[j][0] == ' ' {
			if j > i+1 {
				return j, "ERROR: Unexpected indentation."
			}
			break
		}
		j++
	}
	if j < n && d.lines[j] != "" {
		// Only reachable for a one-line paragraph followed by an
		// indented line, which is a definition list; handled above.
		return j, ""
	}
	data := strings.Join(d.lines[i:j], "\n")
	text := data
	literal := false
	if strings.HasSuffix(data, "::") {
		literal = true
		switch {
		case len(data) == 2:
			text = ""
		case data[len(data)-3] == ' ' || data[len(data)-3] == '\n':
			text = strings.TrimRightFunc(data[:len(data)-3], unicode.IsSpace)
		default:
			text = data[:len(data)-1]
		}
	}
	if msg := d.inline(text); msg != "" {
		return j, msg
	}
	// The indented block after the blank line: a literal block after
	// "::", a block quote otherwise (Body.indent).
	k := j
	for k < n && d.lines[k] == "" {
		k++
	}
	if k == n {
		if literal {
			return k, "WARNING: Literal block expected; none found."
		}
		return k, ""
	}
	if d.lines[k][0] != ' ' {
		if literal && !isLine(d.lines[k][:1]) {
			// Not a quoted literal block (whose lines start with
			// punctuation) either.
			return k, "WARNING: Literal block expected; none found."
		}
		if literal {
			d.levelsUnsure = true
			for k < n && d.lines[k] != "" {
				k++
			}
		}
		return k, ""
	}
	end, unblank := d.block(k)
	if !literal {
		if msg := d.blockQuote(d.lines[k:end]); msg != "" {
			return k, msg
		}
	}
	if unblank {
		if literal {
			return end, "WARNING: Literal block ends without a blank line; unexpected unindent."
		}
		if !isLine(d.lines[end]) {
			return end, "WARNING: Block quote ends without a blank line; unexpected unindent."
		}
	}
	return end, ""
}

// width is docutils.utils.column_width, rounded down when unsure: every
// rune counts 1 (East Asian wide ones count 2 in docutils) and combining
// marks count 0.
func width(s string) int {
	w := 0
	for _, r := range s {
		if unicode.In(r, unicode.Mn, unicode.Mc, unicode.Me) {
			continue
		}
		w++
	}
	return w
}

// Inline markup (docutils parsers/rst/states.py Inliner), ASCII subset:
// start-strings must follow whitespace or one of these, end-strings must
// precede whitespace, the end or one of those.
const (
	startPrefix = "\"'(<[{-/:"
	endSuffix   = "\x00\\.,;!?-/:\"')>]}"
)

var reSimplename = lazyregexp.New(`^[A-Za-z0-9]+(?:[-._+:][A-Za-z0-9]+)*`)

// escape2null is docutils.utils.escape2null.
func escape2null(text string) string {
	var b strings.Builder
	for {
		k := strings.IndexByte(text, '\\')
		if k < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:k])
		b.WriteByte(0)
		text = text[k+1:]
		if text != "" {
			_, sz := utf8.DecodeRuneInString(text)
			b.WriteString(text[:sz])
			text = text[sz:]
		}
	}
}

// class sorts a character next to a start- or end-string: space, one of
// the ASCII sets, another ASCII character, or unsure (non-ASCII, where
// docutils' Unicode punctuation tables would decide).
type class int

const (
	clOther class = iota
	clSpace
	clSet
	clUnsure
)

func classify(r rune, set string) class {
	switch {
	case r == ' ' || r == '\n':
		return clSpace
	case strings.ContainsRune(set, r):
		return clSet
	case r == 0:
		// An escaping backslash (escape2null) is no start prefix.
		return clOther
	case r < 0x20 || r >= 0x7f:
		if r >= 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return clOther
		}
		return clUnsure
	}
	return clOther
}

// errUnsure stops the inline scan of one text without a verdict.
const errUnsure = "?"

// titleInline scans a section title. A reference in a title may name the
// title itself (its implicit target), so its names are not kept.
func (d *doc) titleInline(text string) string {
	n := len(d.refs)
	msg := d.inline(text)
	d.refs = d.refs[:n]
	return msg
}

// inline runs docutils' Inliner.parse over one paragraph or title text
// and returns the first start-string without end-string or unknown role.
func (d *doc) inline(text string) string {
	msg := d.inlineScan([]rune(escape2null(text)))
	if msg == errUnsure {
		return ""
	}
	return msg
}

func (d *doc) inlineScan(s []rune) string {
	n := len(s)
	before := func(i int) class {
		if i == 0 {
			return clSpace
		}
		return classify(s[i-1], startPrefix)
	}
	after := func(i int) class {
		if i >= n {
			return clSpace
		}
		return classify(s[i], endSuffix)
	}
	has := func(i int, t string) bool {
		rs := []rune(t)
		if i+len(rs) > n {
			return false
		}
		for k, r := range rs {
			if s[i+k] != r {
				return false
			}
		}
		return true
	}
	// findEnd searches for end after position from: preceded by
	// non-whitespace (and, unless literal, not \x00), followed by an
	// end suffix; at least one character of content.
	// re.search semantics: the first end found must leave at least one
	// character of content (Inliner.inline_obj: endmatch.start(1)).
	findEnd := func(from int, end string, literal, interpreted bool) (int, int, string) {
		for k := from; k+len(end) <= n; k++ {
			if !has(k, end) {
				continue
			}
			p := s[k-1]
			if p == ' ' || p == '\n' || (!literal && p == 0) {
				continue
			}
			if interpreted && k >= 2 && s[k-2] == 0 {
				// An escaped space before the backquote: docutils'
				// non_unescaped_whitespace_escape_before; not judged.
				return -1, 0, errUnsure
			}
			e := k + len(end)
			if end == "|" {
				// Inliner.patterns.substitution_ref: \|_{0,2}.
				for m := 0; m < 2 && e < n && s[e] == '_'; m++ {
					e++
				}
			}
			if interpreted {
				// Optional role suffix, then optional _ or __.
				if e < n && s[e] == ':' {
					if m := reSimplename().FindString(string(s[e+1:])); m != "" && has(e+1+len([]rune(m)), ":") {
						e += 2 + len([]rune(m))
					}
				}
				if has(e, "__") {
					e += 2
				} else if has(e, "_") {
					e++
				}
			}
			c := after(e)
			if interpreted && e > k+1 && k+1 < n && s[k+1] == ':' {
				// The role suffix is optional in the end pattern, and
				// ":" is itself an end suffix.
				c = clSet
			}
			switch c {
			case clSpace, clSet:
				if k == from {
					return -1, 0, ""
				}
				return k, e, ""
			case clUnsure:
				return -1, 0, errUnsure
			}
		}
		return -1, 0, ""
	}
	// quoted is Inliner.quoted_start for a start-string [i, j).
	quoted := func(i, j int) (bool, string) {
		if i == 0 {
			return false, ""
		}
		if j >= n {
			return true, ""
		}
		pre, post := s[i-1], s[j]
		if pre >= 0x80 || post >= 0x80 {
			return false, errUnsure
		}
		pairs := map[rune]rune{'"': '"', '\'': '\'', '(': ')', '<': '>', '[': ']', '{': '}'}
		return pairs[pre] == post, ""
	}
	nonSpaceAfter := func(j int) bool { return j >= n || (s[j] != ' ' && s[j] != '\n') }
	i := 0
	for i < n {
		c := s[i]
		if c != '*' && c != '`' && c != '_' && c != '|' && c != ':' && c != '[' && !(c < 0x80 && (unicode.IsLetter(c) || unicode.IsDigit(c))) {
			i++
			continue
		}
		switch before(i) {
		case clUnsure:
			if c == '*' || c == '`' || c == '|' || c == ':' {
				return errUnsure
			}
			i++
			continue
		case clOther:
			i++
			continue
		}
		var start, end, name string
		literal := false
		role := ""
		switch {
		case has(i, "**") && nonSpaceAfter(i+2):
			start, end, name = "**", "**", "strong"
		case has(i, "*") && !has(i, "**") && nonSpaceAfter(i+1):
			start, end, name = "*", "*", "emphasis"
		case has(i, "``") && nonSpaceAfter(i+2):
			start, end, name, literal = "``", "``", "literal", true
		case has(i, "_`") && nonSpaceAfter(i+2):
			start, end, name = "_`", "`", "target"
		case has(i, "|") && !has(i, "||") && nonSpaceAfter(i+1):
			start, end, name = "|", "|", "substitution_reference"
		case c == '`' && !has(i, "``") && nonSpaceAfter(i+1):
			start, end, name = "`", "`", "interpreted text or phrase reference"
		case c == ':':
			m := reSimplename().FindString(string(s[i+1:]))
			j := i + 1 + len([]rune(m))
			if m == "" || !has(j, ":`") || has(j+1, "``") || !nonSpaceAfter(j+2) {
				i++
				continue
			}
			role = strings.ToLower(m)
			start, end, name = string(s[i:j+2]), "`", "interpreted text or phrase reference"
		case c < 0x80 && (unicode.IsLetter(c) || unicode.IsDigit(c)):
			// The "whole" alternative: a reference name and "_" or
			// "__" before an end suffix (Inliner.reference).
			m := reSimplename().FindString(string(s[i:]))
			j := i + len([]rune(m))
			if j < n && s[j] >= 0x80 {
				// docutils' \w goes on; not judged.
				i = j
				continue
			}
			refend := 0
			if has(j, "__") {
				refend = 2
			} else if has(j, "_") {
				refend = 1
			}
			if refend == 0 {
				i = j
				continue
			}
			switch after(j + refend) {
			case clUnsure:
				return errUnsure
			case clOther:
				i = j
				continue
			}
			if refend == 1 {
				d.refs = append(d.refs, m)
			}
			i = j + refend
			continue
		default:
			// Footnote references and the rest: nothing this scan
			// judges.
			i++
			continue
		}
		j := i + len([]rune(start))
		q, u := quoted(i, j)
		if u != "" {
			return u
		}
		if q {
			i = j
			continue
		}
		k, e, u := findEnd(j, end, literal, end == "`" && name != "target")
		if u != "" {
			return u
		}
		if k < 0 {
			return "WARNING: Inline " + name + " start-string without end-string."
		}
		if role != "" && !roles[role] && !d.roles[role] {
			return `ERROR: Unknown interpreted text role "` + role + `".`
		}
		if name == "substitution_reference" && !d.hasSubst {
			return `ERROR: Undefined substitution referenced: "` + string(s[j:k]) + `".`
		}
		if name == "interpreted text or phrase reference" && role == "" && e == k+2 && s[k+1] == '_' && s[k-1] != '>' {
			// `name`_: a named hyperlink reference without an
			// embedded URI or alias.
			d.refs = append(d.refs, string(s[j:k]))
		}
		i = e
	}
	return ""
}
