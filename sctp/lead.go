package sctp

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgsctp/pgsctp/udpencap"
)

// The lead is the right to read a socket's conn. One goroutine at a time
// holds it: it reads a batch of datagrams and processes it to completion
// for every association of the socket (socket.process), then reads again.
//
// A call that blocks waiting for its association (a Read, a Write into a
// full window, an AcceptStream) takes the lead if it is free, and reads
// the socket itself until what it waits for has happened. A received
// message then wakes nobody: the goroutine that wants it read it, as a
// TCP reader does. Handing every datagram from a reader goroutine to the
// blocked one cost two thread wake-ups per message where TCP costs one,
// and on a machine whose context switches are dear that was half of a
// 64-byte round trip's CPU (docs/benchmarks.md, issue 7).
//
// Blocked calls that find the lead held park on their waiter; the holder
// wakes them when it processes their association's datagrams. When the
// holder's wait is over it lets the lead go: to a parked call at once
// (lead.free), or, when none is parked, it stays free for at least
// leadLinger, for the next blocked call to take: a request/response loop
// or a relay comes back well within it. If none does, the socket's
// background reader takes it, so that acknowledgements, heartbeats and
// handshakes are processed while no call is blocked. The background
// reader holds the lead only while no call is parked: one that parks
// interrupts it, and it lets the lead go to that call.
//
// A blocked call reading the socket must stop when what it waits for
// happens elsewhere (a deadline moved, Close, the timer ending the
// association, its context): broadcastLocked interrupts the read, by
// moving the conn's read deadline into the past, when the waiter it wakes
// is in one (waiter.reading).
type lead struct {
	mu     sync.Mutex
	held   bool
	bg     bool          // held by the background reader
	parked atomic.Int32  // blocked calls parked; changed under mu
	timer  *time.Timer   // fires when the lead may have been free for linger
	armed  bool          // timer is set
	taken  bool          // the lead was taken since the timer was set
	linger time.Duration // what the timer is set to: leadLinger to maxLinger
	// free holds a token while the lead is free for a parked call to
	// take; parked calls wait on it beside their waiter.
	free chan struct{}
	stop chan struct{}
	once sync.Once // closes stop
	rd   reader    // the holder's reading state
}

// leadLinger is how long a lead let go with no call parked stays free
// for the next blocked call before the background reader takes it: at
// least that, at most twice the timer's current period (below).
// Datagrams that arrive meanwhile wait in the socket: a call that comes
// back (a request/response loop, a relay writing what it read) reads them
// itself, a few tens of microseconds later; otherwise this bounds their
// wait, far below any retransmission timeout.
//
// The timer is not set and stopped on every hand-over: setting a timer
// earlier than every other one wakes the runtime's network poller, and a
// timer that fires wakes the background reader, each a thread wake-up. It
// is set when the lead is let go and not already set, and when it fires
// the background reader takes the lead only if no call took it since it
// was set; otherwise it is set again. While calls keep coming back in
// time the period doubles, up to maxLinger, so that a busy
// request/response loop sees a timer about every maxLinger instead of
// after every message; once the background reader has had to take the
// lead it is leadLinger again. (On this machine the fixed 0.5 ms cost a
// 64-byte round trip about a fifth more CPU than 5 ms.)
const (
	leadLinger = 500 * time.Microsecond
	maxLinger  = 8 * time.Millisecond
)

func (l *lead) init() {
	l.timer = time.NewTimer(time.Hour)
	l.timer.Stop()
	l.linger = leadLinger
	l.free = make(chan struct{}, 1)
	l.stop = make(chan struct{})
}

// takeOrPark takes the lead for a blocked call if it is free, and parks
// the call otherwise (until unpark). It reports whether it took the lead,
// and whether the background reader holds it (which the caller must then
// interrupt, for it to let the lead go to the parked call).
func (l *lead) takeOrPark() (took, interrupt bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.held {
		l.held, l.taken = true, true
		return true, false
	}
	l.parked.Add(1)
	return false, l.bg
}

// unpark undoes takeOrPark's parking.
func (l *lead) unpark() {
	l.mu.Lock()
	l.parked.Add(-1)
	l.mu.Unlock()
}

// take takes the lead for the background reader if it is free and no
// call is parked.
func (l *lead) take() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held || l.parked.Load() > 0 {
		return false
	}
	l.held, l.bg, l.taken = true, true, true
	return true
}

// release lets the lead go: to a parked call, or free for the next
// blocked call or, after leadLinger, the background reader.
func (l *lead) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held, l.bg = false, false
	if l.parked.Load() > 0 {
		select {
		case l.free <- struct{}{}:
		default:
		}
	}
	// Armed even with calls parked: they may all leave without taking it.
	l.arm()
}

// arm sets the timer unless it is set. Caller holds l.mu.
func (l *lead) arm() {
	if !l.armed {
		l.armed, l.taken = true, false
		l.timer.Reset(l.linger)
	}
}

// expired is the background reader's turn when the timer fires: it takes
// the lead if nobody took it since the timer was set (it has been free at
// least leadLinger) and no call is parked, and sets the timer again if it
// has been taken and let go since.
func (l *lead) expired() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armed = false
	switch {
	case l.held:
		l.lengthen()
		return false // its release sets the timer
	case l.parked.Load() > 0:
		select {
		case l.free <- struct{}{}: // again: the parked calls may have missed it
		default:
		}
		l.arm()
		return false
	case !l.taken:
		l.linger = leadLinger
		l.held, l.bg, l.taken = true, true, true
		return true
	default:
		l.lengthen()
		l.arm()
		return false
	}
}

// lengthen doubles the timer's period, up to maxLinger: a call took the
// lead in time. Caller holds l.mu.
func (l *lead) lengthen() { l.linger = min(2*l.linger, maxLinger) }

// end stops the background reader (the socket is closing).
func (l *lead) end() {
	l.once.Do(func() { close(l.stop) })
}

// reader is the state for reading one conn: its datagram buffers and the
// endpoint's replies to a batch. The lead's is used by its holder only.
type reader struct {
	msgs     []udpencap.Message
	ep       *epReplies
	deadline time.Time // the conn's read deadline as last set through this reader
	stale    bool      // the deadline may have been moved since (an interrupt)
	failures int       // read errors in a row
}

func newReader() reader {
	r := reader{
		msgs: make([]udpencap.Message, ioBatch),
		// The endpoint's answers to a batch (INIT ACKs, out-of-the-blue
		// replies) go out together, in one WriteBatch: under an INIT flood
		// a write per answer is what limits how fast the reader drains
		// its socket, and what it cannot drain the kernel drops,
		// legitimate packets with the rest.
		ep: &epReplies{out: make([]udpencap.Message, 0, ioBatch), bufs: make([][]byte, ioBatch)},
	}
	for i := range r.msgs {
		r.msgs[i].Buf = make([]byte, maxDatagram)
	}
	return r
}

// read reads one batch from conn into r.msgs, with conn's read deadline
// at deadline (zero: none). An error that wraps os.ErrDeadlineExceeded is
// the deadline or an interrupt; others than the socket's end are
// transient (ICMP reports on some systems): they are logged, and slow the
// reader down when they persist.
//
// The batch is processed after ReadBatch returns, never in a callback
// inside the raw read: there the goroutine holds a reference to the
// socket's descriptor, and an association that ends while its batch is
// processed closes the socket (Close waits for every reference) on that
// same goroutine.
func (s *socket) read(conn *udpencap.Conn, r *reader, deadline time.Time) (int, error) {
	if r.stale || !r.deadline.Equal(deadline) {
		if err := conn.SetReadDeadline(deadline); err != nil {
			return 0, err
		}
		r.deadline, r.stale = deadline, false
	}
	n, err := conn.ReadBatch(r.msgs)
	switch {
	case err == nil:
		r.failures = 0
	case errors.Is(err, os.ErrDeadlineExceeded):
		r.stale = true
	case errors.Is(err, net.ErrClosed):
	default:
		r.failures++
		s.log.Debug("sctp: read error", "err", err)
		if r.failures > 10 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return n, err
}

// interrupt makes a ReadBatch blocked on conn return, for its caller to
// look at what changed.
func (s *socket) interrupt() { _ = s.conn.SetReadDeadline(time.Unix(1, 0)) }

// background is the socket's own reader: it holds the lead while no
// blocked call does, and ends when the socket closes.
func (s *socket) background() {
	l := &s.lead
	took := l.take()
	for {
		if took {
			closed := s.readWhileNoneParked()
			l.release()
			if closed {
				return
			}
		}
		select {
		case <-l.timer.C:
			took = l.expired()
		case <-l.stop:
			return
		}
	}
}

// readWhileNoneParked reads and processes batches for the background
// reader until a blocked call parks (it interrupts the read). It reports
// whether the socket has closed.
func (s *socket) readWhileNoneParked() (closed bool) {
	r := &s.lead.rd
	for s.lead.parked.Load() == 0 {
		n, err := s.read(s.conn, r, time.Time{})
		switch {
		case err == nil:
			s.process(r.msgs[:n], r.ep, true)
		case errors.Is(err, net.ErrClosed):
			return true
		}
	}
	return false
}

// block waits, for waitLocked, reading the socket while it holds the
// lead and parked otherwise.
func (a *Association) block(ctx context.Context, w *waiter, deadline time.Time) error {
	l := &a.sock.lead
	for {
		took, interrupt := l.takeOrPark()
		if took {
			return a.lead(ctx, w, deadline)
		}
		if interrupt {
			a.sock.interrupt()
		}
		err := a.wait(ctx, w, deadline, l.free)
		l.unpark()
		if err != errLeadFree {
			return err
		}
	}
}

// errLeadFree: a parked call was told the lead is free, to take it.
var errLeadFree = errors.New("sctp: the socket's lead is free")

// lead reads the socket on a blocked call's goroutine, which took the
// lead, until w is woken, the association ends, ctx is done or the
// deadline passes; then it lets the lead go.
func (a *Association) lead(ctx context.Context, w *waiter, deadline time.Time) error {
	s := a.sock
	defer s.lead.release()
	a.watch(ctx, w)
	r := &s.lead.rd
	for {
		// From here on a wake-up interrupts the read; one that came
		// before is seen below.
		w.reading.Store(true)
		if done, err := a.waitOver(ctx, w, deadline); done {
			w.reading.Store(false)
			return err
		}
		n, err := s.read(s.conn, r, deadline)
		w.reading.Store(false)
		switch {
		case err == nil:
			s.process(r.msgs[:n], r.ep, true)
		case errors.Is(err, net.ErrClosed):
			// The socket closed as the association ended: finish
			// broadcasts once it has recorded how.
			return a.wait(ctx, w, deadline, nil)
		}
	}
}

// waitOver reports whether a blocked call's wait is over, and with what
// error, without blocking.
func (a *Association) waitOver(ctx context.Context, w *waiter, deadline time.Time) (bool, error) {
	select {
	case <-w.ch:
		return true, nil
	case <-a.done:
		return true, nil
	default:
	}
	if err := ctx.Err(); err != nil {
		return true, err
	}
	if !deadline.IsZero() && !time.Now().Before(deadline) {
		return true, os.ErrDeadlineExceeded
	}
	return false, nil
}

// watch makes the end of ctx interrupt w's reads. The registration stays
// with the waiter for its next call with the same context (making one
// allocates), until the association ends (unwatch).
func (a *Association) watch(ctx context.Context, w *waiter) {
	done := ctx.Done()
	if done == nil || done == w.ctxDone {
		return
	}
	w.unwatch()
	s := a.sock
	w.ctxDone = done
	w.stopWatch = context.AfterFunc(ctx, func() {
		if w.reading.Load() {
			s.interrupt()
		}
	})
}
