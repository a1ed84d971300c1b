package pyfmt

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestRepr(t *testing.T) {
	for in, want := range map[string]string{
		"foo": "'foo'", "it's": `"it's"`, `a'b"c`: `'a\'b"c'`, "a\nb": `'a\nb'`, "a\x00b": `'a\x00b'`,
		`back\slash`: `'back\\slash'`, "é": "'é'", "\u200b": `'\u200b'`, "\x7f": `'\x7f'`, "\ufffd": "'\ufffd'",
	} {
		if got := Repr(in); got != want {
			t.Errorf("Repr(%q) = %s, want %s", in, got, want)
		}
	}
	if got := ReprList([]string{"Natural Language :: Ukrainian"}); got != "['Natural Language :: Ukrainian']" {
		t.Errorf("ReprList = %s", got)
	}
}

func TestJSON(t *testing.T) {
	got := string(JSON(Object{{Key: "message", Value: "Token request failed"}, {Key: "n", Value: 1}, {Key: "s", Value: "é\"\n"}}))
	want := `{"message": "Token request failed", "n": 1, "s": "\u00e9\"\n"}`
	if got != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
}

func TestDumps(t *testing.T) {
	compact := Style{Compact: true}
	got := string(compact.Dumps(map[string]any{"b": []any{1, nil, true}, "a": "é\u2028<&>\"\\\n\x01\x7f😀"}))
	if want := "{\"a\":\"é\u2028<&>\\\"\\\\\\n\\u0001\x7f😀\",\"b\":[1,null,true]}"; got != want {
		t.Errorf("compact:\n got %s\nwant %s", got, want)
	}
	got = string(JSON(map[string]any{"a": "é😀", "b": 1, "c": []map[string]any{{"x": 1.5}}}))
	if want := `{"a": "\u00e9\ud83d\ude00", "b": 1, "c": [{"x": 1.5}]}`; got != want {
		t.Errorf("ascii: %s", got)
	}
	got = string(JSON(Object{{Key: "z", Value: Object{}}, {Key: "a", Value: []string{"\b\f\t"}}}))
	if want := `{"z": {}, "a": ["\b\f\t"]}`; got != want {
		t.Errorf("ordered: %s", got)
	}
}

// TestStrRuns: str copies runs of plain ASCII at once; on random strings
// (control characters, quotes, backslashes, non-ASCII, invalid UTF-8) it
// writes what escaping every rune in turn writes, in both ASCII modes.
func TestStrRuns(t *testing.T) {
	pieces := []string{"a", "Z", " ", "~", "\x7f", "\"", "\\", "\n", "\x00", "\x1f", "é", "€", "😀", "\xff", "\xe2\x82", "/"}
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := b.String()
		for _, ascii := range []bool{false, true} {
			got := encoder{Style: Style{ASCII: ascii}}
			got.str(s)
			want := encoder{Style: Style{ASCII: ascii}}
			want.b = append(want.b, '"')
			for _, c := range s {
				want.rune(c)
			}
			want.b = append(want.b, '"')
			if string(got.b) != string(want.b) {
				t.Fatalf("str(%q) ascii=%v = %s, want %s", s, ascii, got.b, want.b)
			}
		}
	}
}

// TestEncodeStreams: Encode writes exactly what Dumps returns, in pieces
// (a document of 1,000 objects is not gathered whole), and reports a
// failing writer.
func TestEncodeStreams(t *testing.T) {
	files := make([]Object, 1000)
	for i := range files {
		files[i] = Object{{Key: "filename", Value: strings.Repeat("f", 100)}, {Key: "size", Value: i}, {Key: "yanked", Value: i%2 == 0}}
	}
	doc := map[string]any{"b": files, "a": []any{"x", 1.5, nil, map[string]any{"z": Object{{Key: "k", Value: "é"}}}}}
	for _, st := range []Style{Defaults, Renderer, RendererNewline, WebOb} {
		var w chunks
		if err := st.Encode(&w, doc); err != nil {
			t.Fatal(err)
		}
		if got, want := w.buf.String(), string(st.Dumps(doc)); got != want {
			t.Fatalf("%+v: Encode wrote %d bytes, Dumps %d", st, len(got), len(want))
		}
		if w.n < 3 || w.max > 2*spillSize {
			t.Fatalf("%+v: %d writes, the largest %d bytes", st, w.n, w.max)
		}
	}
	if err := Renderer.Encode(failing{}, doc); err == nil || err.Error() != "closed" {
		t.Fatalf("failing writer: %v", err)
	}
}

type chunks struct {
	buf    strings.Builder
	n, max int
}

func (c *chunks) Write(p []byte) (int, error) {
	c.n++
	c.max = max(c.max, len(p))
	return c.buf.Write(p)
}

type failing struct{}

func (failing) Write(p []byte) (int, error) { return 0, errors.New("closed") }
func TestReprBytes(t *testing.T) {
	for in, want := range map[string]string{
		"abc":          `b'abc'`,
		"a'b":          `b"a'b"`,
		"a'b\"":        `b'a\'b"'`,
		"\x00\n\xff\\": `b'\x00\n\xff\\'`,
	} {
		if got := ReprBytes([]byte(in)); got != want {
			t.Errorf("ReprBytes(%q) = %s, want %s", in, got, want)
		}
	}
}
