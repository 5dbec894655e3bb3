package assoctest

import "time"

// Epoch is where every Clock starts: a fixed instant, so that ladders of
// two runs compare line by line.
var Epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Clock is a virtual clock: it moves only when told to. The zero value
// reads as Epoch.
type Clock struct {
	now time.Time
}

// NewClock returns a clock at Epoch.
func NewClock() *Clock { return &Clock{now: Epoch} }

// Now is the current virtual time.
func (c *Clock) Now() time.Time {
	if c.now.IsZero() {
		c.now = Epoch
	}
	return c.now
}

// Advance moves the clock forward by d (negative d is ignored). It runs
// nothing: Pair.Advance is the one that fires timers on the way.
func (c *Clock) Advance(d time.Duration) {
	if d > 0 {
		c.now = c.Now().Add(d)
	}
}

// Set moves the clock to t if t is later than now; time never goes back.
func (c *Clock) Set(t time.Time) {
	if t.After(c.Now()) {
		c.now = t
	}
}

// Since is the virtual time elapsed since Epoch, the form ladders print.
func (c *Clock) Since() time.Duration { return c.Now().Sub(Epoch) }
