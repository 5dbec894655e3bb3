package assoc

import "time"

// timerKind names the association-wide timers. Per-path timers (T3-rtx,
// HEARTBEAT) live in path.
type timerKind int

const (
	timerInit       timerKind = iota // T1-init (section 5.1)
	timerCookie                      // T1-cookie (section 5.1)
	timerShutdown                    // T2-shutdown (section 9.2)
	timerGuard                       // T5-shutdown-guard (section 9.2)
	timerDelayedAck                  // delayed SACK (section 6.2)
	timerAsconf                      // T4-RTO (RFC 5061 section 5.1)
	timerPersist                     // the next zero window probe (canSendNew)
	numTimers
)

// timers is a table of deadlines; zero means stopped. An expiry only acts
// if its deadline is still set and due, so stale wake-ups are no-ops.
type timers [numTimers]time.Time

func (t *timers) start(k timerKind, now time.Time, d time.Duration) { t[k] = now.Add(d) }
func (t *timers) stop(k timerKind)                                  { t[k] = time.Time{} }
func (t *timers) running(k timerKind) bool                          { return !t[k].IsZero() }

// due reports whether timer k is set and expired at now, and stops it.
func (t *timers) due(k timerKind, now time.Time) bool {
	if t[k].IsZero() || t[k].After(now) {
		return false
	}
	t[k] = time.Time{}
	return true
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// NextTimeout is when HandleTimeout should next be called; zero: no timer.
func (a *Association) NextTimeout() time.Time {
	var next time.Time
	for _, d := range a.timers {
		next = earliest(next, d)
	}
	for _, p := range a.paths {
		next = earliest(next, p.t3)
		next = earliest(next, p.hbDeadline)
		next = earliest(next, p.plp.deadline)
	}
	return next
}

// HandleTimeout runs the timers that are due at now. Early or repeated
// calls are harmless.
func (a *Association) HandleTimeout(now time.Time) {
	if a.state == StateClosed {
		return
	}
	a.inputDone()
	if a.timers.due(timerInit, now) {
		a.onInitTimeout(now)
	}
	if a.timers.due(timerCookie, now) {
		a.onCookieTimeout(now)
	}
	if a.timers.due(timerShutdown, now) {
		a.onShutdownTimeout(now)
	}
	if a.timers.due(timerGuard, now) {
		// Section 9.2: "If the timer expires, the endpoint MUST send an
		// ABORT chunk and enter the CLOSED state."
		a.abortWith(now, ErrTimeout, "T5-shutdown-guard expired", nil)
	}
	if a.timers.due(timerDelayedAck, now) {
		a.rx.sackNow = true
	}
	if a.timers.due(timerAsconf, now) {
		a.onAsconfTimeout(now)
	}
	a.timers.due(timerPersist, now) // PollTransmit sends the probe
	for _, p := range a.paths {
		if a.state == StateClosed {
			return
		}
		if !p.t3.IsZero() && !p.t3.After(now) {
			p.t3 = time.Time{}
			a.onT3Timeout(p, now)
		}
		if !p.hbDeadline.IsZero() && !p.hbDeadline.After(now) {
			p.hbDeadline = time.Time{}
			a.onHeartbeatTimer(p, now)
		}
		if !p.plp.deadline.IsZero() && !p.plp.deadline.After(now) && a.state != StateClosed {
			p.plp.deadline = time.Time{}
			a.onPLPTimer(p, now)
		}
	}

}
