package events

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"
)

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
	if got := l.List(Filter{}); len(got) != 0 || l.Len() != 0 {
		t.Fatalf("after Reset: %+v", got)
	}
	if _, ok := l.Last(""); ok {
		t.Fatal("Last after Reset found an event")
	}
	// Sequence numbers keep growing after a reset, and the ring refills.
	for range 4 {
		l.Add(Event{Kind: KindMint})
	}
	if got := l.List(Filter{}); len(got) != 3 || got[0].Seq != 7 || got[2].Seq != 9 {
		t.Fatalf("after Reset and 4 adds: %+v", got)
	}
}

// TestRingOrder walks the ring through several wraps and checks every
// window and every Since against a plain slice.
func TestRingOrder(t *testing.T) {
	const max = 7
	l := New(max)
	var want []int64
	for i := 1; i <= 40; i++ {
		kind := KindMint
		if i%3 == 0 {
			kind = KindUpload
		}
		l.Add(Event{Kind: kind, Why: fmt.Sprint(i)})
		want = append(want, int64(i))
		if len(want) > max {
			want = want[1:]
		}
		got := l.List(Filter{})
		if len(got) != len(want) {
			t.Fatalf("after %d adds: %d events, want %d", i, len(got), len(want))
		}
		for j := range got {
			if got[j].Seq != want[j] || got[j].Why != fmt.Sprint(want[j]) {
				t.Fatalf("after %d adds: event %d = #%d %q, want #%d", i, j, got[j].Seq, got[j].Why, want[j])
			}
		}
		for since := int64(-1); since <= int64(i)+1; since++ {
			var n int
			for _, s := range want {
				if s > since {
					n++
				}
			}
			got := l.List(Filter{Since: since})
			if len(got) != n || (n > 0 && got[0].Seq != max64(since+1, want[0])) {
				t.Fatalf("after %d adds, since %d: %d events starting %+v, want %d", i, since, len(got), got, n)
			}
		}
		if e, _ := l.Last(KindUpload); i >= 3 && e.Seq != int64(i-i%3) && int64(i-i%3) >= want[0] {
			t.Fatalf("after %d adds: Last(upload) = #%d", i, e.Seq)
		}
	}
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func TestExcerpt(t *testing.T) {
	if got := Excerpt("short", 10); got != "short" {
		t.Fatalf("Excerpt(short) = %q", got)
	}
	if got := Excerpt("abcdefgh", 3); got != "abc…" {
		t.Fatalf("Excerpt = %q", got)
	}
	// Cut at a rune boundary: "é" is two bytes.
	if got := Excerpt("aé", 2); got != "a…" {
		t.Fatalf("Excerpt across a rune = %q", got)
	}
	big := strings.Repeat("x", 1<<20)
	ex := Excerpt(big, 8)
	if unsafe.StringData(ex) == unsafe.StringData(big) {
		t.Fatal("Excerpt shares memory with its argument")
	}
}

func TestBound(t *testing.T) {
	var v any
	raw := `{"sub":"` + strings.Repeat("s", 5000) + `","list":[` + strings.Repeat(`1,`, 99) + `1],"nested":{"a":{"b":"` + strings.Repeat("n", 300) + `"}}}`
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	b := Bound(v, 100, 10).(map[string]any)
	if s := b["sub"].(string); len(s) != 100+len("…") {
		t.Fatalf("sub kept %d bytes", len(s))
	}
	if l := b["list"].([]any); len(l) != 11 || l[10] != "… 90 more" {
		t.Fatalf("list = %v", l)
	}
	if s := b["nested"].(map[string]any)["a"].(map[string]any)["b"].(string); !strings.HasSuffix(s, "…") {
		t.Fatalf("nested string not cut: %d bytes", len(s))
	}
	m := map[string]any{}
	for i := range 50 {
		m[fmt.Sprintf("k%02d", i)] = i
	}
	bm := Bound(m, 100, 10).(map[string]any)
	if len(bm) != 11 || bm["…"] != 40 || bm["k00"] != 0 || bm["k09"] != 9 {
		t.Fatalf("bounded map = %v", bm)
	}
}

func TestAddBoundsEvent(t *testing.T) {
	l := New(0)
	huge := strings.Repeat("y", 1<<20)
	e := l.Add(Event{Kind: KindUpload, Message: huge, Why: huge, Code: huge,
		Details: map[string]any{"fields": []string{huge}}})
	for name, s := range map[string]string{"code": e.Code, "message": e.Message, "why": e.Why} {
		if len(s) > MaxText+len("…") {
			t.Errorf("%s kept %d bytes", name, len(s))
		}
	}
	tr, ok := e.Details.(Truncated)
	if !ok || !tr.Truncated || tr.Bytes <= MaxDetails || tr.Type != "map[string]interface {}" || len(tr.Excerpt) > MaxText+len("…") {
		t.Fatalf("details = %T %+v", e.Details, tr)
	}
	// Small details are kept as they are, with their type.
	type small struct{ A string }
	if e := l.Add(Event{Kind: KindMint, Details: &small{"a"}}); e.Details.(*small).A != "a" {
		t.Fatalf("small details = %#v", e.Details)
	}
	// Details that do not marshal are replaced, not kept.
	if e := l.Add(Event{Kind: KindMint, Details: map[string]any{"f": func() {}}}); !e.Details.(Truncated).Truncated {
		t.Fatalf("unmarshalable details = %#v", e.Details)
	}
}

// TestMemoryBounded fills a log with events built from huge request
// values and checks that the heap does not keep them: what an event keeps
// is bounded whatever the request.
func TestMemoryBounded(t *testing.T) {
	l := New(200)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 400 {
		body := strings.Repeat(string(rune('a'+i%26)), 1<<20) // a 1 MiB request value
		l.Add(Event{Kind: KindUpload, Why: body[:2000], Message: body, Details: map[string]any{"v": body[:100]}})
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	// 200 events × (a few KiB) is well under 4 MiB; pinning the bodies
	// would hold 200 MiB.
	if grew > 4<<20 {
		t.Fatalf("heap grew %d KiB for 200 kept events", grew>>10)
	}
	if l.Len() != 200 {
		t.Fatalf("Len = %d", l.Len())
	}
}

// BenchmarkAdd measures Add on a fresh log and on a full one: a ring costs
// the same in both (the old log copied all 10,000 events on every add once
// it was full).
func BenchmarkAdd(b *testing.B) {
	d := map[string]any{"claims": map[string]any{"sub": "repo:octo-org/octo-repo:ref:refs/heads/main", "jti": "x"}}
	for _, full := range []bool{false, true} {
		b.Run(fmt.Sprintf("full=%v", full), func(b *testing.B) {
			l := New(DefaultMax)
			if full {
				for range DefaultMax {
					l.Add(Event{Kind: KindMint, Details: d})
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				l.Add(Event{Kind: KindMint, Verdict: "ok", Why: "matched", Details: d})
			}
		})
	}
}

// TestDetach checks that the copy Add keeps is equal to the original and
// shares no string memory with it.
func TestDetach(t *testing.T) {
	type inner struct {
		S    []string
		M    map[string]any
		Raw  json.RawMessage
		When time.Time
		hid  string
	}
	type outer struct {
		Name  string
		P     *inner
		Arr   [2]string
		Any   any
		Nums  []int
		Named myString
	}
	big := strings.Repeat("z", 1<<16)
	o := &outer{Name: big[:10], P: &inner{S: []string{big[10:20]}, M: map[string]any{big[:3]: []any{big[:4], 1.5}},
		Raw: json.RawMessage(`{"a":1}`), When: time.Unix(1700000000, 5).UTC(), hid: "h"},
		Arr: [2]string{big[:1], "b"}, Any: map[string]string{"k": big[:6]}, Nums: []int{1, 2}, Named: myString(big[:7])}
	c := (&copier{unbounded: true}).detach(reflect.ValueOf(o), 0).Interface().(*outer)
	if c == o || c.P == o.P || !reflect.DeepEqual(c, o) {
		t.Fatalf("copy %+v differs from %+v (or is the same pointer)", c, o)
	}
	big0 := unsafe.StringData(big)
	for _, s := range []string{c.Name, c.P.S[0], c.Arr[0], c.Any.(map[string]string)["k"], string(c.Named)} {
		if p := unsafe.StringData(s); uintptr(unsafe.Pointer(p)) >= uintptr(unsafe.Pointer(big0)) && uintptr(unsafe.Pointer(p)) < uintptr(unsafe.Pointer(big0))+uintptr(len(big)) {
			t.Fatalf("%q still points into the original", s)
		}
	}
	for k, v := range c.P.M {
		if unsafe.StringData(k) == big0 || unsafe.StringData(v.([]any)[0].(string)) == big0 {
			t.Fatal("map key or value still points into the original")
		}
	}
	if &c.P.Raw[0] == &o.P.Raw[0] {
		t.Fatal("byte slice shared")
	}
}

type myString string
