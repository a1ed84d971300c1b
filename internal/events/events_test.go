package events

import "testing"

func TestLogBoundAndFilter(t *testing.T) {
	l := New(3)
	var seen int
	l.Subscribe(func(Event) { seen++ })
	for i := 0; i < 5; i++ {
		kind := KindMint
		if i%2 == 1 {
			kind = KindUpload
		}
		l.Add(Event{Kind: kind, Verdict: "ok"})
	}
	all := l.List(Filter{})
	if len(all) != 3 || all[0].Seq != 3 || all[2].Seq != 5 {
		t.Fatalf("bounded log = %+v", all)
	}
	if got := l.List(Filter{Kind: KindUpload}); len(got) != 1 || got[0].Seq != 4 {
		t.Fatalf("upload filter = %+v", got)
	}
	if got := l.List(Filter{Since: 4}); len(got) != 1 || got[0].Seq != 5 {
		t.Fatalf("since filter = %+v", got)
	}
	if e, ok := l.Last(KindUpload); !ok || e.Seq != 4 {
		t.Fatalf("Last = %+v %v", e, ok)
	}
	if seen != 5 {
		t.Fatalf("subscriber saw %d events, want 5", seen)
	}
	l.Reset()
	if got := l.List(Filter{}); len(got) != 0 {
		t.Fatalf("after Reset: %+v", got)
	}
}
