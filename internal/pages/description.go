package pages

import (
	"bytes"
	"html"
	"html/template"
	"mime"
	"strings"
	"sync"

	"github.com/fakepypi/fakepypi/internal/lazyregexp"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// markdown renders text/markdown descriptions as GitHub-flavoured
// Markdown, the variant PyPI's readme_renderer defaults to (cmarkgfm
// with GFM). Raw HTML is left out, as PyPI's sanitizer drops most of it.
// Built at the first Markdown description a page shows, not at init.
var markdown = sync.OnceValue(func() goldmark.Markdown { return goldmark.New(goldmark.WithExtensions(extension.GFM)) })

// RenderDescription renders a release description by its content type as
// PyPI shows it on the project page: text/markdown as Markdown,
// text/plain as preformatted text, and everything else (text/x-rst, and
// an absent content type, which PyPI treats as reStructuredText) with a
// small reStructuredText subset: titles, paragraphs, lists, literal and
// code blocks, inline literals, emphasis and links. Directives it does
// not know are left out. The upload path has already refused
// descriptions PyPI cannot render.
func RenderDescription(text, contentType string) template.HTML {
	if strings.TrimSpace(text) == "" {
		return ""
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "text/markdown":
		var buf bytes.Buffer
		if err := markdown().Convert([]byte(text), &buf); err == nil {
			return template.HTML(buf.String())
		}
		return plain(text)
	case "text/plain":
		return plain(text)
	}
	return rst(text)
}

func plain(text string) template.HTML {
	return template.HTML("<pre>" + html.EscapeString(text) + "</pre>")
}

var (
	rstBullet    = lazyregexp.New(`^([-*+•]|\d+[.)]|#\.)\s+`)
	rstDirective = lazyregexp.New(`^\.\.\s+([A-Za-z0-9_-]+)::\s*(.*)$`)
	rstLink      = lazyregexp.New("`([^`<]+?)\\s*<([^>]+)>`__?")
	rstLiteral   = lazyregexp.New("``(.+?)``")
	rstStrong    = lazyregexp.New(`\*\*([^*]+)\*\*`)
	rstEmph      = lazyregexp.New(`\*([^*\s][^*]*)\*`)
	rstRole      = lazyregexp.New("(?::[a-z:]+:)?`([^`]+)`_?")
	rstURL       = lazyregexp.New(`(^|[\s(])(https?://[^\s<>()"]+)`)
)

// rst renders the reStructuredText subset described at RenderDescription.
func rst(text string) template.HTML {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var out strings.Builder
	var para []string
	level := map[string]int{}
	flush := func() {
		if len(para) == 0 {
			return
		}
		joined := strings.Join(para, " ")
		literal := strings.HasSuffix(strings.TrimSpace(joined), "::")
		if literal {
			joined = strings.TrimSuffix(strings.TrimSpace(joined), ":")
			if strings.TrimSpace(joined) == ":" {
				joined = ""
			}
		}
		if strings.TrimSpace(joined) != "" {
			out.WriteString("<p>" + inlineRST(joined) + "</p>\n")
		}
		para = nil
	}
	indented := func(l string) bool { return strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") }
	// block gathers the indented block starting at i (after blank lines).
	block := func(i int) ([]string, int) {
		for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
			i++
		}
		var b []string
		for i < len(lines) && (indented(lines[i]) || strings.TrimSpace(lines[i]) == "") {
			b = append(b, lines[i])
			i++
		}
		for len(b) > 0 && strings.TrimSpace(b[len(b)-1]) == "" {
			b = b[:len(b)-1]
		}
		return dedent(b), i
	}
	inList := false
	closeList := func() {
		if inList {
			out.WriteString("</ul>\n")
			inList = false
		}
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		t := strings.TrimSpace(l)
		switch {
		case t == "":
			wasLiteral := len(para) > 0 && strings.HasSuffix(strings.TrimSpace(para[len(para)-1]), "::")
			flush()
			if wasLiteral {
				b, next := block(i)
				if len(b) > 0 {
					out.WriteString("<pre>" + html.EscapeString(strings.Join(b, "\n")) + "</pre>\n")
					i = next - 1
				}
			}
		case i+1 < len(lines) && isUnderline(lines[i+1]) && len(strings.TrimSpace(lines[i+1])) >= len([]rune(t)) && !indented(l):
			flush()
			closeList()
			ch := strings.TrimSpace(lines[i+1])[:1]
			if _, ok := level[ch]; !ok {
				level[ch] = len(level) + 1
			}
			h := level[ch] + 1 // the document title is the page's h1
			if h > 6 {
				h = 6
			}
			out.WriteString("<h" + string(rune('0'+h)) + ">" + inlineRST(t) + "</h" + string(rune('0'+h)) + ">\n")
			i++
		case isUnderline(l) && i+2 < len(lines) && isUnderline(lines[i+2]):
			// An overlined title: the text is the next line.
			flush()
			closeList()
			out.WriteString("<h2>" + inlineRST(strings.TrimSpace(lines[i+1])) + "</h2>\n")
			i += 2
		case rstDirective().MatchString(t) && !indented(l):
			flush()
			closeList()
			m := rstDirective().FindStringSubmatch(t)
			b, next := block(i + 1)
			switch m[1] {
			case "code", "code-block", "sourcecode":
				var body []string
				for _, bl := range b {
					if !strings.HasPrefix(bl, ":") {
						body = append(body, bl)
					}
				}
				out.WriteString("<pre><code>" + html.EscapeString(strings.TrimSpace(strings.Join(body, "\n"))) + "</code></pre>\n")
			case "note", "warning", "tip", "important", "caution", "attention", "hint", "danger", "error", "admonition":
				body := strings.TrimSpace(m[2] + " " + strings.Join(b, " "))
				out.WriteString("<div class=\"card\"><strong>" + html.EscapeString(strings.ToUpper(m[1][:1])+m[1][1:]) + ".</strong> " + inlineRST(body) + "</div>\n")
			}
			i = next - 1
		case strings.HasPrefix(t, "..") && !indented(l):
			// A comment or a hyperlink target: not shown.
			flush()
			_, next := block(i + 1)
			i = next - 1
		case rstBullet().MatchString(t) && !indented(l) && len(para) == 0:
			if !inList {
				out.WriteString("<ul>\n")
				inList = true
			}
			item := rstBullet().ReplaceAllString(t, "")
			for i+1 < len(lines) && indented(lines[i+1]) && strings.TrimSpace(lines[i+1]) != "" {
				i++
				item += " " + strings.TrimSpace(lines[i])
			}
			out.WriteString("<li>" + inlineRST(item) + "</li>\n")
		case indented(l) && len(para) == 0:
			// A block quote.
			closeList()
			b, next := block(i)
			out.WriteString("<blockquote><p>" + inlineRST(strings.Join(b, " ")) + "</p></blockquote>\n")
			i = next - 1
		default:
			closeList()
			para = append(para, t)
		}
	}
	flush()
	closeList()
	return template.HTML(out.String())
}

func dedent(b []string) []string {
	min := -1
	for _, l := range b {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if min < 0 || n < min {
			min = n
		}
	}
	out := make([]string, len(b))
	for i, l := range b {
		if len(l) >= min && min > 0 {
			out[i] = l[min:]
		} else {
			out[i] = strings.TrimLeft(l, " \t")
		}
	}
	return out
}

// inlineRST renders inline markup of one paragraph. Literals are cut out
// first so that nothing inside them is interpreted.
func inlineRST(s string) string {
	var lits []string
	s = rstLiteral().ReplaceAllStringFunc(s, func(m string) string {
		lits = append(lits, rstLiteral().FindStringSubmatch(m)[1])
		return "\x00" + string(rune('A'+len(lits)-1)) + "\x00"
	})
	type link struct{ text, url string }
	var links []link
	s = rstLink().ReplaceAllStringFunc(s, func(m string) string {
		g := rstLink().FindStringSubmatch(m)
		links = append(links, link{g[1], g[2]})
		return "\x01" + string(rune('A'+len(links)-1)) + "\x01"
	})
	s = html.EscapeString(s)
	s = rstURL().ReplaceAllString(s, `$1<a href="$2" rel="nofollow">$2</a>`)
	s = rstStrong().ReplaceAllString(s, "<strong>$1</strong>")
	s = rstEmph().ReplaceAllString(s, "<em>$1</em>")
	s = rstRole().ReplaceAllString(s, "<code>$1</code>")
	for i, l := range links {
		a := html.EscapeString(l.text)
		if safeURL(l.url) {
			a = `<a href="` + html.EscapeString(l.url) + `" rel="nofollow">` + a + `</a>`
		}
		s = strings.Replace(s, "\x01"+string(rune('A'+i))+"\x01", a, 1)
	}
	for i, l := range lits {
		s = strings.Replace(s, "\x00"+string(rune('A'+i))+"\x00", "<code>"+html.EscapeString(l)+"</code>", 1)
	}
	return s
}

// safeURL lets through the link targets a README may have: web and mail
// links, relative paths and fragments, never javascript: or data:.
func safeURL(u string) bool {
	l := strings.ToLower(strings.TrimSpace(u))
	for _, p := range []string{"http://", "https://", "mailto:", "#", "/"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return !strings.Contains(l, ":")
}

// isUnderline reports a section adornment: three or more of one
// punctuation character.
func isUnderline(l string) bool {
	t := strings.TrimRight(l, " \t")
	if len(t) < 3 || !strings.ContainsRune("=-~^\"'`#*+.:_", rune(t[0])) {
		return false
	}
	return strings.Count(t, t[:1]) == len(t)
}
