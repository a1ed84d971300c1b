package readme

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fakepypi/fakepypi/internal/testenv"
)

// fragments are pieces of README text, valid and broken, that
// TestOracleRandom strings together.
var fragments = []string{
	"Title", "=====", "-----", "~~~", "==", "Some text with *emphasis* here.", "A *b", "**bold** and ``lit``",
	"Run ``pip`` or `link <https://x.example>`_.", ":ref:`x`", ":code:`y`", "- item", "* item", "1. item",
	"  indented", "    code", ".. note::", ".. code-block:: python", ".. foo::", ".. raw:: html", ".. image:: a.png",
	"   :alt: x", ".. _t: https://a.example", ".. _t: https://b.example", ".. comment", "Example::", "::",
	"term", "  definition", ":Field: value", ">>> 1 + 1", "| line", "+---+", "| a |", "=====  =====",
	"a | b", "|sub|", "x_", "`x`_", "\\*escaped", "(*)", "5 * 3", "*", "``", "`", "--option", "----",
	"日本語テキスト", "«*quoted*»", "Ünïcödé", "\t tabbed", "",
	"`missing`_", "word_", "Install_", "_`spot`", "spot_", "`Docs <https://a.example>`_", "Docs_", "Install", "my_var_ = 1",
	"- item ::", "  - sub", "   text::", ".. note:: text", "     deeper", "  :ref:`y`", "  *open", "|",
	"|twine check|_", ".. |twine check| replace:: x", "`GObject", "<https://x.example>`__", "::", "| a |",
	// Enumerated lists, block quotes, grid tables, images.
	"2. item", "3. item", "(1) item", "(2) item", "1) item", "#. item", "10. item", "a. item", "    quoted",
	"    -- Author", "    Quoted", "    ======", ".. image::", ".. image:: logo.png", "   :colour: x", "   :width: 10",
	".. figure::", "+---+---+", "| a | b |", "| a | b", "+===+===+", "-- Author",
}

// TestOracleRandom checks the detector's soundness on random documents:
// whatever it refuses, readme_renderer must refuse.
//
// It takes about 16 s (6000 documents through readme_renderer), so it runs
// under CI=true or FAKEPYPI_SLOW=1 only.
func TestOracleRandom(t *testing.T) {
	testenv.Slow(t)
	py := requireOracle(t)
	// README_ORACLE_SEEDS=N runs N rounds of 3000 (default 2).
	seeds := int64(2)
	if v, err := strconv.Atoi(os.Getenv("README_ORACLE_SEEDS")); err == nil && v > 0 {
		seeds = int64(v)
	}
	for seed := int64(1); seed <= seeds; seed++ {
		randomRound(t, py, seed)
	}
}

func randomRound(t *testing.T, py string, seed int64) {
	rng := rand.New(rand.NewSource(seed))
	const n = 3000
	docs := make([]string, n)
	for i := range docs {
		var lines []string
		for k := rng.Intn(8) + 1; k > 0; k-- {
			f := fragments[rng.Intn(len(fragments))]
			if rng.Intn(3) == 0 {
				f += " " + fragments[rng.Intn(len(fragments))]
			}
			lines = append(lines, f)
			if rng.Intn(2) == 0 {
				lines = append(lines, "")
			}
		}
		docs[i] = strings.Join(lines, "\n") + "\n"
	}
	in, _ := json.Marshal(docs)
	cmd := exec.Command(py, "testdata/oracle.py")
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	var res [][2]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	refusedBoth, refusedOracleOnly, acceptedBoth, bad := 0, 0, 0, 0
	for i, doc := range docs {
		ours := Problem(doc)
		theirs := res[i][0].(bool)
		switch {
		case ours != "" && !theirs:
			bad++
			if bad <= 10 {
				t.Errorf("false refusal %q: %s", doc, ours)
			}
		case ours != "":
			refusedBoth++
		case theirs:
			refusedOracleOnly++
		default:
			acceptedBoth++
		}
	}
	t.Logf("seed %d, %d random documents: %d refused by both, %d refused by readme_renderer only, %d accepted by both, %d false refusals",
		seed, n, refusedBoth, refusedOracleOnly, acceptedBoth, bad)
}

// TestOracleInstalled judges the reStructuredText long descriptions of
// the distributions installed for /usr/bin/python3, real READMEs, and
// compares with readme_renderer's verdict: no false refusal allowed.
// A slow test (a few seconds, more on a machine with many packages).
func TestOracleInstalled(t *testing.T) {
	testenv.Slow(t)
	py := requireOracle(t)
	out, err := exec.Command(py, "testdata/installed.py").Output()
	if err != nil {
		t.Fatalf("installed.py: %v", err)
	}
	var res [][4]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	both, oracleOnly, accepted := 0, 0, 0
	for _, r := range res {
		name, doc, theirs := r[0].(string), r[1].(string), r[2].(bool)
		ours := Problem(doc)
		switch {
		case ours != "" && !theirs:
			t.Errorf("false refusal of %s's description: %s", name, ours)
		case ours != "":
			both++
		case theirs:
			oracleOnly++
			t.Logf("%s: refused by readme_renderer only: %s", name, strings.TrimSpace(r[3].(string)))
		default:
			accepted++
		}
	}
	t.Logf("%d installed descriptions: %d refused by both, %d by readme_renderer only, %d accepted by both", len(res), both, oracleOnly, accepted)
}

// TestOracleFiles judges the files listed one a line in the file named by
// README_ORACLE_FILES (for instance every *.rst on a machine) against
// readme_renderer: no false refusal allowed. Skipped without it.
func TestOracleFiles(t *testing.T) {
	list := os.Getenv("README_ORACLE_FILES")
	if list == "" {
		t.Skip("README_ORACLE_FILES not set")
	}
	py := "/usr/bin/python3"
	b, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	var names, docs []string
	for _, name := range strings.Fields(string(b)) {
		data, err := os.ReadFile(name)
		if err != nil || len(data) > 200000 || !utf8.Valid(data) {
			continue
		}
		names = append(names, name)
		docs = append(docs, string(data))
	}
	in, _ := json.Marshal(docs)
	cmd := exec.Command(py, "testdata/oracle.py")
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	var res [][2]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	both, oracleOnly, accepted := 0, 0, 0
	for i, doc := range docs {
		ours := Problem(doc)
		theirs := res[i][0].(bool)
		switch {
		case ours != "" && !theirs:
			t.Errorf("false refusal of %s: %s", names[i], ours)
		case ours != "":
			both++
		case theirs:
			oracleOnly++
		default:
			accepted++
		}
	}
	t.Logf("%d files: %d refused by both, %d by readme_renderer only, %d accepted by both", len(docs), both, oracleOnly, accepted)
}
