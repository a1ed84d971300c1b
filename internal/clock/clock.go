// Package clock is the harness's notion of "now".
//
// PyPI decides several things by the wall clock: a minted token lives 900 s,
// a JWT's jti is remembered until exp + 35 s, and files may only be added to
// releases younger than 14 days. Scenarios need to cross those lines without
// waiting, so every component takes a Clock instead of calling time.Now.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Real is the system clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Fake is a clock that only moves when told to. Its zero value is not
// usable; make one with NewFake. It is safe for concurrent use.
type Fake struct {
	mu  sync.Mutex
	now time.Time
}

// NewFake returns a Fake clock reading t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Set moves the clock to t (backwards too).
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t
}

// Advance moves the clock forward by d and returns the new time.
func (f *Fake) Advance(d time.Duration) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	return f.now
}

// Offset is a clock that runs with real time but shifted by a settable
// amount. It is what the servers use by default, so that /_fake/clock can
// jump ahead ("15 minutes later") while time keeps flowing for clients.
type Offset struct {
	mu     sync.Mutex
	base   Clock
	offset time.Duration
	frozen *time.Time
}

// NewOffset returns a clock equal to base until shifted.
func NewOffset(base Clock) *Offset {
	if base == nil {
		base = Real{}
	}
	return &Offset{base: base}
}

// Now returns base time plus the offset, or the frozen time.
func (o *Offset) Now() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.frozen != nil {
		return *o.frozen
	}
	return o.base.Now().Add(o.offset)
}

// Advance shifts the clock forward by d (negative d shifts it back).
func (o *Offset) Advance(d time.Duration) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.frozen != nil {
		t := o.frozen.Add(d)
		o.frozen = &t
		return t
	}
	o.offset += d
	return o.base.Now().Add(o.offset)
}

// Set makes the clock read t now; it keeps running from there unless frozen.
func (o *Offset) Set(t time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.frozen != nil {
		o.frozen = &t
		return
	}
	o.offset = t.Sub(o.base.Now())
}

// Freeze stops the clock at its current reading; Unfreeze lets it run again
// from that reading.
func (o *Offset) Freeze() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.frozen == nil {
		t := o.base.Now().Add(o.offset)
		o.frozen = &t
	}
}

// Unfreeze lets a frozen clock run again from where it stopped.
func (o *Offset) Unfreeze() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.frozen != nil {
		o.offset = o.frozen.Sub(o.base.Now())
		o.frozen = nil
	}
}

// Frozen reports whether the clock is stopped.
func (o *Offset) Frozen() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.frozen != nil
}
