package sctp

import (
	"context"
	"os"
	"slices"
	"sync/atomic"
	"time"
)

// waiter is a blocked call's seat on its association's wait list: a
// channel that holds at most one token, put there by broadcastLocked.
// Waiters are kept for the next blocked call, so waking a blocked Read
// allocates nothing. (A channel closed and made anew on every change, the
// usual broadcast, cost an allocation for every message received.) Each
// blocked call has a waiter of its own, so concurrent Reads of one Stream
// all wake.
type waiter struct {
	ch     chan struct{}
	listed bool // on a.waiters: broadcastLocked will put a token
	// reading: the call holds the socket's lead and may be blocked
	// reading it; a token must also interrupt the read.
	reading atomic.Bool
	// The context whose end interrupts the reads (watch), and how to
	// stop that.
	ctxDone   <-chan struct{}
	stopWatch func() bool
}

// unwatch stops the interruption by a context's end (watch).
func (w *waiter) unwatch() {
	if w.stopWatch != nil {
		w.stopWatch()
	}
	w.ctxDone, w.stopWatch = nil, nil
}

// waitLocked blocks until something waiters care about changes
// (broadcastLocked), ctx is done, the deadline passes or the association
// ends. Caller holds a.mu, which is released meanwhile and held again on
// return; it looks again at what it waits for, as a wake-up means only
// that something changed. The waiter is listed under a.mu, so a change
// made after the caller's last look wakes it.
func (a *Association) waitLocked(ctx context.Context, deadline time.Time) error {
	var w *waiter
	if n := len(a.idle); n > 0 {
		w = a.idle[n-1]
		a.idle[n-1] = nil
		a.idle = a.idle[:n-1]
	} else {
		w = &waiter{ch: make(chan struct{}, 1)}
	}
	w.listed = true
	a.waiters = append(a.waiters, w)
	a.mu.Unlock()
	err := a.block(ctx, w, deadline)
	a.mu.Lock()
	if w.listed {
		// Woken otherwise (deadline, ctx, the end): no token coming.
		if i := slices.Index(a.waiters, w); i >= 0 {
			a.waiters = slices.Delete(a.waiters, i, i+1)
		}
		w.listed = false
	}
	select {
	case <-w.ch: // a token that came after the wait ended
	default:
	}
	if a.ended {
		w.unwatch() // finish has unwatched the idle ones
	}
	a.idle = append(a.idle, w)
	return err
}

// wait blocks until w is woken, ctx is done, the deadline passes, the
// association ends or free has a token (errLeadFree; nil: never).
func (a *Association) wait(ctx context.Context, w *waiter, deadline time.Time, free chan struct{}) error {
	var tc <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return os.ErrDeadlineExceeded
		}
		t := time.NewTimer(d)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-w.ch:
		return nil
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-tc:
		return os.ErrDeadlineExceeded
	case <-free:
		return errLeadFree
	}
}

func (a *Association) broadcast() {
	a.mu.Lock()
	a.broadcastLocked()
	a.mu.Unlock()
}

// broadcastLocked wakes every blocked call; caller holds a.mu.
func (a *Association) broadcastLocked() {
	a.gen++
	for i, w := range a.waiters {
		w.listed = false
		select {
		case w.ch <- struct{}{}:
		default: // a token is there already
		}
		if w.reading.Load() {
			a.sock.interrupt()
		}
		a.waiters[i] = nil
	}
	a.waiters = a.waiters[:0]
}
