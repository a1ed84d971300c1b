package readme

import (
	"strconv"
	"strings"

	"github.com/fakepypi/fakepypi/internal/lazyregexp"
)

// Constructs the detector judges beyond the top-level walk of rst.go:
// enumerated lists, grid table borders, block quotes and the image and
// figure directives (docutils parsers/rst/states.py and
// parsers/rst/directives/images.py, as readme_renderer runs them). Each
// gives up, accepting, where it would have to guess.

// reArabicEnum is Body.patterns['enumerator'] for arabic numerals and the
// auto-enumerator '#': "1.", "1)", "(1)". Alphabetic and Roman
// enumerators are not judged (parse_enumerator's ambiguities).
var reArabicEnum = lazyregexp.New(`^(\(([0-9]+|#)\)|([0-9]+|#)\)|([0-9]+|#)\.)( +|$)`)

// enumerator parses an arabic or auto enumerator at the start of l:
// its format ("parens", "rparen", "period"), its text, and its match.
func enumerator(l string) (format, text, match string, ok bool) {
	m := reArabicEnum().FindStringSubmatch(l)
	if m == nil {
		return "", "", "", false
	}
	switch {
	case m[2] != "":
		return "parens", m[2], m[0], true
	case m[3] != "":
		return "rparen", m[3], m[0], true
	}
	return "period", m[4], m[0], true
}

// makeEnumerator is Body.make_enumerator for arabic and '#': the next
// enumerator and the auto-enumerator, each followed by a space.
func makeEnumerator(ordinal int, format string) (next, auto string) {
	pre, suf := "", "."
	switch format {
	case "parens":
		pre, suf = "(", ")"
	case "rparen":
		suf = ")"
	}
	return pre + strconv.Itoa(ordinal) + suf + " ", pre + "#" + suf + " "
}

// validItem is Body.is_enumerated_list_item: the line after the item is
// absent, blank or indented, or starts with the next enumerator or the
// auto-enumerator.
func (d *doc) validItem(i, ordinal int, format string) bool {
	if i+1 >= len(d.lines) {
		return true
	}
	nx := d.lines[i+1]
	if nx == "" || nx[0] == ' ' {
		return true
	}
	next, auto := makeEnumerator(ordinal+1, format)
	return strings.HasPrefix(nx, next) || strings.HasPrefix(nx, auto)
}

// enumerated handles Body.enumerator and the EnumeratedList state for an
// arabic or auto-numbered list at line i: a first item that is not valid
// makes the lines a paragraph; each item's body is judged like a bullet
// item's; the list goes on while the next column-0 line is the next item
// of the same format; a list whose last item is followed without a blank
// line by anything else is 'Enumerated list ends without a blank line;
// unexpected unindent.' (WARNING).
func (d *doc) enumerated(i int) (int, string) {
	n := len(d.lines)
	format, text, _, _ := enumerator(d.lines[i])
	ordinal, auto := 1, text == "#"
	if !auto {
		v, err := strconv.Atoi(text)
		if err != nil {
			return d.skipUnjudged(i)
		}
		ordinal = v
	}
	if !d.validItem(i, ordinal, format) {
		// TransitionCorrection('text').
		return d.text(i)
	}
	cur := i
	for {
		l := d.lines[cur]
		_, _, m, _ := enumerator(l)
		end, unblank := d.block(cur + 1)
		if w := len(m); len(l) > len(m) && fits(d.lines[cur+1:end], w) {
			if msg := d.nested(l[len(m):], d.lines[cur+1:end], w); msg != "" {
				return cur, msg
			}
		}
		if end >= n {
			return end, ""
		}
		nx := d.lines[end]
		f2, t2, _, ok := enumerator(nx)
		if ok && f2 == format {
			if t2 == "#" && d.validItem(end, ordinal, format) {
				auto, cur = true, end
				continue
			}
			if v, err := strconv.Atoi(t2); err == nil && t2 != "#" && !auto && v == ordinal+1 && d.validItem(end, v, format) {
				ordinal, cur = v, end
				continue
			}
		}
		if unblank && !isLine(nx) {
			return end, "WARNING: Enumerated list ends without a blank line; unexpected unindent."
		}
		return end, ""
	}
}

// skipUnjudged skips a construct the walk does not judge, to the next
// blank line and an announced literal block.
func (d *doc) skipUnjudged(i int) (int, string) {
	j := i
	for j < len(d.lines) && !d.blank(j) {
		j++
	}
	d.levelsUnsure = true
	return d.skipLiteral(j), ""
}

// gridTable is Body.isolate_grid_table for a grid table whose top border
// is line i: the text block up to the next blank line (an indented line
// in it is 'Unexpected indentation.'), cut at the first line that does not
// start with '+' or '|' (then 'Blank line required after table.',
// WARNING), ending at a border (else the last border from the
// second-last line up to the third is taken, or the table is malformed),
// every line as wide as the first and ending with '+' or '|' (else
// 'Malformed table.', ERROR). The cells are not judged. ok is false when
// the table is not judged (non-ASCII text, whose East Asian widths
// docutils pads).
func (d *doc) gridTable(i int) (end int, msg string, ok bool) {
	n := len(d.lines)
	j := i
	for j < n && d.lines[j] != "" {
		if d.lines[j][0] == ' ' {
			// get_text_block(flush_left=True).
			return j, "ERROR: Unexpected indentation.", true
		}
		j++
	}
	block := d.lines[i:j]
	for _, l := range block {
		if !isASCII(l) {
			return 0, "", false
		}
	}
	width := len(strings.TrimSpace(block[0]))
	blankFinish := true
	for k, l := range block {
		if c := strings.TrimSpace(l); c == "" || (c[0] != '+' && c[0] != '|') {
			blankFinish = false
			block = block[:k]
			break
		}
	}
	if len(block) == 0 || !reGridTop().MatchString(strings.TrimSpace(block[len(block)-1])) {
		blankFinish = false
		found := false
		for k := len(block) - 2; k > 1; k-- {
			if reGridTop().MatchString(strings.TrimSpace(block[k])) {
				block, found = block[:k+1], true
				break
			}
		}
		if !found {
			return i + len(block), "ERROR: Malformed table.", true
		}
	}
	for _, l := range block {
		c := strings.TrimSpace(l)
		if len(c) != width || (c[len(c)-1] != '+' && c[len(c)-1] != '|') {
			return i + len(block), "ERROR: Malformed table.", true
		}
	}
	end = i + len(block)
	if !blankFinish {
		// Body.table_top, after the table is built or found malformed.
		return end, "WARNING: Blank line required after table.", true
	}
	return end, "", true
}

func isASCII(s string) bool {
	for k := 0; k < len(s); k++ {
		if s[k] >= 0x80 {
			return false
		}
	}
	return true
}

// reAttribution is BlockQuote's attribution_pattern: a line starting with
// "--", "---" or an em dash, then text.
var reAttribution = lazyregexp.New(`^(---?($|[^-])|\x{2014})`)

// blockQuote judges the lines of a block quote (Body.indent), dedented
// by their common indentation, with the nested walk. A quote that may
// hold an attribution (a dash line after a blank line), which docutils
// splits off and parses apart, is not judged.
func (d *doc) blockQuote(lines []string) string {
	for k := 1; k < len(lines); k++ {
		if lines[k-1] == "" && reAttribution().MatchString(strings.TrimLeft(lines[k], " ")) {
			return ""
		}
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return ""
	}
	return d.nested("", lines, -1)
}

// imageOptions are the options of the image directive in any docutils
// version PyPI may run (0.19 to 0.23: "loading" is newer).
var imageOptions = setOf("alt", "height", "width", "scale", "align", "target", "class", "name", "loading")

var reImage = lazyregexp.New(`^\.\. +(image|figure)::( +|$)`)

// reFieldMarker is Body.patterns['field_marker'] for names without
// colons or backslashes: ":name:" followed by spaces or the end. A line
// such as ":ref:`x`" is no field marker (its colon is followed by a
// backquote), so it stays in the argument block, as in docutils.
var reFieldMarker = lazyregexp.New("^:([^: \\\\`][^:\\\\`]*[^ :\\\\`]|[^: \\\\`]):( +|$)")

// imageDirective judges the arguments of an image or figure directive
// (directives/images.py: one required argument, the URI; image takes
// no content) the way Body.parse_directive_block splits the block: the
// first line's text and the indented lines after it, up to the first
// blank line, are the argument block, whose first field marker starts the
// options; what follows the blank line is content. Messages are docutils'
// 'Error in "image" directive:' (ERROR). Option values are not judged.
func imageDirective(first string, rest []string) string {
	m := reImage().FindStringSubmatch(first)
	if m == nil {
		return ""
	}
	name := m[1]
	// get_first_known_indented: the text after the marker, then the
	// indented lines dedented by their common indentation.
	ind := -1
	for _, l := range rest {
		if l != "" && (ind < 0 || indent(l) < ind) {
			ind = indent(l)
		}
	}
	block := []string{strings.TrimSpace(first[len(m[0]):])}
	for _, l := range rest {
		if l != "" {
			l = l[ind:]
		}
		block = append(block, l)
	}
	if block[0] == "" {
		block = block[1:] // trim_start: one blank line
	}
	for len(block) > 0 && block[len(block)-1] == "" {
		block = block[:len(block)-1]
	}
	i := len(block)
	for k, l := range block {
		if l == "" {
			i = k
			break
		}
	}
	args := block[:i]
	var content []string
	if i < len(block) {
		content = block[i+1:]
	}
	for k, l := range args {
		if reFieldMarker().MatchString(l) {
			opts := args[k:]
			args = args[:k]
			for _, o := range opts {
				if name != "image" {
					break // figure's options differ by version; not judged
				}
				if o == "" || o[0] != ':' {
					return "" // a continuation line: not judged
				}
				fm := reFieldMarker().FindStringSubmatch(o)
				if fm == nil {
					return "" // not a simple option line: not judged
				}
				optName := fm[1]
				if !imageOptions[strings.ToLower(optName)] {
					return `ERROR: Error in "image" directive:` + "\n" + `unknown option: "` + optName + `".`
				}
			}
			break
		}
	}
	if len(strings.Fields(strings.Join(args, "\n"))) == 0 {
		return `ERROR: Error in "` + name + `" directive:` + "\n" + `1 argument(s) required, 0 supplied.`
	}
	for len(content) > 0 && content[0] == "" {
		content = content[1:]
	}
	if name == "image" && len(content) > 0 {
		return `ERROR: Error in "image" directive:` + "\n" + `no content permitted.`
	}
	return ""
}
