package readme

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/internal/testenv"
)

// rstCase is one document; refuse is the detector's expected verdict.
// undetected marks documents docutils refuses that the detector
// deliberately lets through (see docs/upload.md).
type rstCase struct {
	name       string
	doc        string
	refuse     bool
	undetected bool
}

var refused = []rstCase{
	{name: "unknown directive", doc: "Intro\n\n.. foo:: bar\n"},
	{name: "sphinx toctree", doc: "Title\n=====\n\n.. toctree::\n   :maxdepth: 2\n\n   install\n"},
	{name: "sphinx versionadded uppercase", doc: ".. VersionAdded:: 1.0\n"},
	{name: "unknown substitution directive", doc: "A |b| c.\n\n.. |b| foo:: x\n"},
	{name: "raw html", doc: "Intro\n\n.. raw:: html\n\n   <b>x</b>\n"},
	{name: "include", doc: "Intro\n\n.. include:: CHANGES.rst\n"},
	{name: "unknown role", doc: "See :ref:`install` for details.\n"},
	{name: "sphinx domain role", doc: "Use :py:class:`Foo`.\n"},
	{name: "unknown role in title", doc: "The :func:`run` call\n====================\n\ntext\n"},
	{name: "underline too short", doc: "My Project\n=======\n\nText.\n"},
	{name: "overline too short", doc: "======\nMy Project\n======\n\nText.\n"},
	{name: "inconsistent title levels", doc: "A\n=\n\nB\n-\n\nC\n~\n\nD\n=\n\nE\n~\n"},
	{name: "new style not at deepest level", doc: "A\n=\n\nB\n-\n\nC\n=\n\nD\n~\n"},
	{name: "unexpected indentation", doc: "First line\nsecond line\n    indented\n"},
	{name: "block quote ends", doc: "Para.\n\n    quoted\nText\n"},
	{name: "literal block ends", doc: "Example::\n\n    code\nText\n"},
	{name: "literal block expected at end", doc: "Example::\n"},
	{name: "literal block expected", doc: "Example::\n\nNot indented.\n"},
	{name: "definition list ends", doc: "term\n  definition\nnext\n"},
	{name: "bullet list ends", doc: "- one\n- two\ncontinued\n"},
	{name: "bullet list lazy continuation", doc: "* item\n  more\nlazy\n"},
	{name: "explicit markup ends", doc: ".. image:: logo.png\nText\n"},
	{name: "target ends", doc: "x\n\n.. _home: https://example.org\nText\n"},
	{name: "duplicate target", doc: "x\n\n.. _docs: https://a.example\n.. _docs: https://b.example\n"},
	{name: "emphasis without end", doc: "Pass *args and **kwargs through.\n"},
	{name: "strong without end", doc: "This is **bold.\n"},
	{name: "literal without end", doc: "Run ``pip install foo to install.\n"},
	{name: "interpreted without end", doc: "A `phrase that never ends.\n"},
	{name: "phrase reference without end", doc: "See `the docs <https://example.org>_ here.\n"},
	{name: "unknown target", doc: "See `missing`_.\n"},
	{name: "unknown target, simple reference", doc: "See the_docs_ for more.\n"},
	{name: "unknown target, python name", doc: "Set my_var_ to 1.\n"},
	{name: "unknown directive in note", doc: ".. note::\n\n   .. foo::\n"},
	{name: "unknown role in list item", doc: "- See :ref:`x`.\n"},
	{name: "unexpected indentation in list item", doc: "- one\n  two\n    three\n"},
	{name: "undefined substitution", doc: "Version |release| is out.\n"},
	{name: "escaped star then unterminated", doc: "a \\* b *c\n"},
	{name: "empty", doc: "\n\n"},
	{name: "whitespace", doc: "   \n"},
	{name: "only a comment", doc: ".. This is a comment\n   spanning lines\n"},
	{name: "only a title", doc: "My Project\n==========\n"},
	{name: "tab-indented after paragraph", doc: "line one\nline two\n\tindented\n"},
	// Block quotes, enumerated lists, grid tables, image directives.
	{name: "nested section title", doc: "Text.\n\n    Quoted\n    ======\n"},
	{name: "unknown role in block quote", doc: "Text.\n\n    See :ref:`x`.\n"},
	{name: "unknown directive in block quote", doc: "Text.\n\n    .. foo::\n"},
	{name: "title in list item", doc: "- item\n\n  Sub\n  ===\n"},
	{name: "enumerated list ends", doc: "1. one\n2. two\nnext\n"},
	{name: "enumerated list ends, parens", doc: "(1) one\n(2) two\nnext\n"},
	{name: "enumerated list ends after blank", doc: "1. one\n\n2. two\n   more\nnext\n"},
	{name: "auto-enumerated list ends", doc: "#. one\n#. two\nnext\n"},
	{name: "unknown role in enumerated item", doc: "1. See :ref:`x`.\n"},
	{name: "malformed grid table", doc: "+---+---+\n| a | b\n+---+---+\n"},
	{name: "grid table without bottom", doc: "+---+---+\n| a | b |\n| c | d |\n"},
	{name: "text right after a grid table", doc: "+---+\n| a |\n+---+\nText\n"},
	{name: "image without URI", doc: "Logo:\n\n.. image::\n"},
	{name: "image with options but no URI", doc: ".. image::\n   :alt: logo\n"},
	{name: "image with unknown option", doc: ".. image:: logo.png\n   :colour: red\n"},
	{name: "image with content", doc: ".. image:: logo.png\n\n   caption\n"},
	{name: "figure without URI", doc: ".. figure::\n\n   Caption.\n"},
}

var accepted = []rstCase{
	{name: "typical readme (testdata/typical.rst)", doc: typicalReadme},
	{name: "plain paragraph", doc: "Just some text.\n"},
	{name: "known roles", doc: "Use :code:`x`, :emphasis:`y`, :sub:`2` and :PEP:`8`.\n"},
	{name: "custom role", doc: ".. role:: red\n\nThis is :red:`red`.\n"},
	{name: "role suffix", doc: "This is `x`:strong: text.\n"},
	{name: "quoted star", doc: "Multiply with '*' or \"*\" or (*) or [*].\n"},
	{name: "star after letter", doc: "a*b*c and 2*3 = 6\n"},
	{name: "star before space", doc: "5 * 3 = 15\n"},
	{name: "escaped star", doc: "Pass \\*args through.\n"},
	{name: "literal holds stars", doc: "Call ``f(*args)`` now.\n"},
	{name: "emphasis across lines", doc: "This *spans\nlines* fine.\n"},
	{name: "short underline is text", doc: "Long title text\n==\n\nmore\n"},
	{name: "title levels ok", doc: "A\n=\n\nB\n-\n\nC\n~\n\nD\n=\n\nE\n-\n"},
	{name: "title right after title", doc: "A\n=\nB\n-\ntext\n"},
	{name: "directives in literal", doc: "Example::\n\n    .. foo::\n    :ref:`x`\n\nDone.\n"},
	{name: "expanded literal", doc: "Example:\n\n::\n\n    *stars\n\nDone.\n"},
	{name: "quoted literal", doc: "Example::\n\n> quoted *stars\n> more\n\nDone.\n"},
	{name: "comment with star", doc: "Text.\n\n.. a *comment\n   .. foo::\n"},
	{name: "substitution defined", doc: "Version |release| is out.\n\n.. |release| replace:: 1.0\n"},
	{name: "duplicate target same uri", doc: "x\n\n.. _a: https://a.example\n.. _a: https://a.example\n"},
	{name: "consecutive explicit", doc: ".. _a: https://a.example\n.. _b: https://b.example\n.. note:: x\n"},
	{name: "definition lists", doc: "term\n  def\nterm2\n  def2\n\nafter\n"},
	{name: "field list", doc: ":Author: me\n:Version: 1\n\nText.\n"},
	{name: "anonymous reference", doc: "See `here <https://x.example>`__ and __init__.\n"},
	{name: "email and url", doc: "Mail me@example.org or https://example.org/*path*.\n"},
	{name: "bullet then blank", doc: "- a\n- b\n\nText\n"},
	{name: "doctest", doc: ">>> print(*args)\n1\n\nText.\n"},
	{name: "math", doc: ".. math::\n\n   a*b\n\nInline :math:`x^2`.\n"},
	{name: "figure", doc: ".. figure:: a.png\n   :width: 100\n\n   Caption *here*.\n"},
	{name: "csv table", doc: ".. csv-table:: T\n   :header: a, b\n\n   1, 2\n"},
	{name: "unicode title", doc: "Ünïcödé\n=======\n\nText.\n"},
	{name: "wide title", doc: "日本語\n======\n\nText.\n"},
	{name: "line block", doc: "| line one\n| line two\n\nText.\n"},
	{name: "transition", doc: "Text.\n\n----\n\nMore.\n"},
	{name: "lone :: then quoted literal", doc: "::\n\n.. raw:: html\n"},
	{name: "footnote", doc: "Text [1]_.\n\n.. [1] Note.\n"},
	{name: "sourcecode", doc: ".. sourcecode:: bash\n\n   $ pip install *\n"},
	{name: "reference to a title", doc: "Install\n=======\n\nSee Install_ and `install`_.\n"},
	{name: "reference to a target", doc: "See docs_ and `The Docs`_.\n\n.. _docs: https://a.example\n.. _the docs: https://b.example\n"},
	{name: "reference to an inline target", doc: "A _`spot` here; see spot_.\n"},
	{name: "reference by embedded alias", doc: "See `Docs <https://a.example>`_ and Docs_.\n"},
	{name: "anonymous reference not judged", doc: "See `here`__.\n\n__ https://a.example\n"},
	{name: "reference in a title", doc: "`x`_\n----\n\ntext\n"},
	{name: "role paragraph announcing a quoted literal", doc: ":code:`y`\n::\n\n|sub|\n"},
	{name: "lone line block", doc: "Text.\n\n|\n\nMore.\n"},
	{name: "substitution reference with link", doc: "Use the |twine check|_ command.\n\n.. |twine check| replace:: ``twine check``\n.. _twine check: https://a.example\n"},
	{name: "literal block in list item", doc: "* b ::\n\n    code\n\nText.\n"},
	{name: "literal block in note", doc: ".. note::\n   :class: x\n\n   Example::\n\n      code\n"},
	{name: "short overline reparsed as a paragraph", doc: "::\n----     code\n::\n.. image:: a.png\n| a |\n"},
	{name: "title and text", doc: "My Project\n==========\n\nText.\n"},
	{name: "enumerated list", doc: "1. one\n2. two\n\nText.\n"},
	{name: "enumerated item is a paragraph", doc: "1. one\nnext\n"},
	{name: "enumerated list then a new list", doc: "1. one\n3. three\n"},
	{name: "enumerated title", doc: "1. Title\n========\n\nText.\n"},
	{name: "enumerated list with bodies", doc: "1. one\n   more\n2. two\n\nText.\n"},
	{name: "block quote", doc: "Text.\n\n    *quoted* text\n\n    more\n\nAfter.\n"},
	{name: "grid table", doc: "+---+---+\n| a | b |\n+---+---+\n\nText.\n"},
	{name: "image with options", doc: ".. image:: logo.png\n   :alt: Logo\n   :width: 100\n   :target: https://x.example\n"},
	{name: "image URI on the next line", doc: ".. image::\n   logo.png\n   :alt: Logo\n"},
	{name: "figure with caption", doc: ".. figure:: a.png\n\n   Caption.\n"},
}

// undetected documents docutils refuses that the detector lets through.
var undetected = []rstCase{
	{name: "unknown role in bare bullet item", doc: "-\n  See :ref:`x`.\n"},
	{name: "unknown role in admonition with text on its first line", doc: ".. note:: See :ref:`x`.\n"},
	{name: "block quote with attribution (not judged)", doc: "Text.\n\n    Quote.\n\n    -- Author :ref:`x`\n"},
	{name: "unknown role in a grid table cell", doc: "+------------+\n| :ref:`x`   |\n+------------+\n"},
	{name: "alphabetic enumerated list ends", doc: "a. one\nb. two\nnext\n"},
	{name: "image with a bad width", doc: ".. image:: logo.png\n   :width: wide\n"},
}

var typicalReadme = func() string {
	b, err := os.ReadFile("testdata/typical.rst")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

func allCases() []rstCase {
	var out []rstCase
	for _, c := range refused {
		c.refuse = true
		out = append(out, c)
	}
	out = append(out, accepted...)
	for _, c := range undetected {
		c.undetected = true
		out = append(out, c)
	}
	return out
}

func TestProblem(t *testing.T) {
	for _, c := range allCases() {
		got := Problem(c.doc)
		if (got != "") != c.refuse {
			t.Errorf("%s: Problem(%q) = %q, want refuse=%v", c.name, c.doc, got, c.refuse)
		}
	}
}

// TestOracle runs every case through readme_renderer's rst.render with
// Debian's python3-readme-renderer and python3-docutils (skipped when
// they are missing): every refusal of the detector must be a refusal of
// docutils, every accepted case must render, and every undetected case
// must really be refused.
func TestOracle(t *testing.T) {
	py := requireOracle(t)
	cases := allCases()
	docs := make([]string, len(cases))
	for i, c := range cases {
		docs[i] = c.doc
	}
	in, _ := json.Marshal(docs)
	cmd := exec.Command(py, "testdata/oracle.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v\n%s", err, stderr.String())
	}
	var res [][2]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	agree := 0
	for i, c := range cases {
		docutilsRefuses := res[i][0].(bool)
		warn := strings.TrimSpace(res[i][1].(string))
		ours := Problem(c.doc)
		switch {
		case c.undetected:
			if !docutilsRefuses {
				t.Errorf("%s: listed as undetected but readme_renderer renders it", c.name)
			}
			if ours != "" {
				t.Errorf("%s: listed as undetected but the detector refuses it: %s", c.name, ours)
			}
		case (ours != "") != docutilsRefuses:
			t.Errorf("%s: detector %q, readme_renderer refused=%v %q", c.name, ours, docutilsRefuses, warn)
		default:
			agree++
			if ours != "" && !strings.Contains(warn, strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(ours, "WARNING: "), "ERROR: "), "SEVERE: ")) {
				t.Logf("%s: same verdict, different first message: ours %q, docutils %q", c.name, ours, warn)
			}
		}
	}
	t.Logf("oracle agreement: %d of %d judged cases, %d undetected cases confirmed refused", agree, len(cases)-len(undetected), len(undetected))
}

// requireOracle returns Debian's python3 when it can import
// readme_renderer. Without it the oracle tests skip on a laptop, but fail
// under CI=true, where .ci/run installs python3-readme-renderer: a skip
// there would hide that the detector is no longer checked.
func requireOracle(t *testing.T) string {
	t.Helper()
	return testenv.NeedPython(t, "apt-get install python3-readme-renderer", "readme_renderer.rst")
}
