package clock

import (
	"testing"
	"time"
)

func TestFake(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := NewFake(t0)
	if !f.Now().Equal(t0) {
		t.Fatalf("Now = %v, want %v", f.Now(), t0)
	}
	if got := f.Advance(15 * time.Minute); !got.Equal(t0.Add(15 * time.Minute)) {
		t.Fatalf("Advance = %v", got)
	}
}

func TestOffset(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	base := NewFake(t0)
	o := NewOffset(base)
	o.Advance(time.Hour)
	if got := o.Now(); !got.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after Advance: %v", got)
	}
	base.Advance(time.Minute)
	if got := o.Now(); !got.Equal(t0.Add(time.Hour + time.Minute)) {
		t.Fatalf("offset clock did not follow base: %v", got)
	}
	o.Freeze()
	base.Advance(time.Minute)
	if got := o.Now(); !got.Equal(t0.Add(time.Hour + time.Minute)) {
		t.Fatalf("frozen clock moved: %v", got)
	}
	o.Unfreeze()
	base.Advance(time.Minute)
	if got := o.Now(); !got.Equal(t0.Add(time.Hour + 2*time.Minute)) {
		t.Fatalf("unfrozen clock: %v", got)
	}
	want := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	o.Set(want)
	if got := o.Now(); !got.Equal(want) {
		t.Fatalf("Set: %v", got)
	}
}
