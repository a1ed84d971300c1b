package upload_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/fakepypi/fakepypi/internal/events"
)

// TestEventKeepsBoundedForm: what an upload event keeps of the form is a
// few KiB whatever the request (issue 11: a body of a million empty fields
// pinned gigabytes through the event log), and a kept excerpt does not
// keep the request's memory alive.
func TestEventKeepsBoundedForm(t *testing.T) {
	s, _ := newIndex(t, testSetup)
	f := uploadForm("demo", "1.0", "demo-1.0-py3-none-any.whl", wheel("demo", "1.0"))
	for i := range 3000 {
		f = append(f, part{name: fmt.Sprintf("field-%d", i)})
	}
	// Under the form's 10,000-part limit (upload.DefaultMaxFields), so
	// the body is read and the event is what bounds it.
	for range 6000 {
		f = append(f, part{name: "empty"})
	}
	f = append(f, part{name: strings.Repeat("n", 5000), value: strings.Repeat("v", 5000)})
	st, _ := send(t, s.URL()+"/legacy/", "", f)
	if !strings.HasPrefix(st, "403 ") {
		t.Fatalf("unauthenticated upload: %s", st)
	}
	ev, ok := s.Events.Last(events.KindUpload)
	if !ok {
		t.Fatal("no upload event")
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 6<<10 {
		t.Fatalf("event is %d bytes of JSON: %.300s", len(b), b)
	}
	var got struct {
		Details struct{ Fields map[string][]string }
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	fields := got.Details.Fields
	if fields["name"][0] != "demo" || fields["version"][0] != "1.0" {
		t.Fatalf("the first fields are not kept: %v", fields)
	}
	if o := fields["…"]; len(o) != 1 || !strings.HasSuffix(o[0], " more values not kept in the event log") {
		t.Fatalf("omitted count = %v", o)
	}

	// Twenty refused uploads with a 2 MiB description each: the log keeps
	// 256 bytes of each, not the 40 MiB.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 20 {
		v := fmt.Sprintf("1.%d", i)
		fn := "demo-" + v + "-py3-none-any.whl"
		f := uploadForm("demo", v, fn, wheel("demo", v)).set("description", strings.Repeat(string(rune('a'+i)), 2<<20))
		if st, _ := send(t, s.URL()+"/legacy/", "", f); !strings.HasPrefix(st, "403 ") {
			t.Fatalf("unauthenticated upload: %s", st)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 8<<20 {
		t.Fatalf("heap grew %d KiB after 20 uploads with 2 MiB descriptions", grew>>10)
	}
	if evs := s.Events.List(events.Filter{Kind: events.KindUpload}); len(evs) != 21 {
		t.Fatalf("%d upload events, want 21", len(evs))
	}
}
