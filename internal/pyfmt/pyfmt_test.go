package pyfmt

import "testing"

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
