package lazyregexp

import "testing"

func TestNew(t *testing.T) {
	re := New(`^a+$`)
	first := re()
	if !first.MatchString("aaa") || first.MatchString("b") {
		t.Fatal("wrong pattern")
	}
	if re() != first {
		t.Fatal("compiled twice")
	}
}

func TestBadExpressionPanicsAtFirstUse(t *testing.T) {
	re := New(`(`) // no panic yet
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a bad expression")
		}
	}()
	re()
}
