package sctp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/udpencap"
)

// Message is one received user message.
type Message struct {
	StreamID  uint16
	PPID      uint32
	Unordered bool
	// Data is owned by the caller.
	Data []byte
}

// Association is one SCTP association. Its methods are safe for concurrent
// use.
//
// The protocol has no goroutine of its own. The core (assoc.Association)
// is guarded by coreMu, and whoever has work for it runs it there and
// then: the socket's reader (the lead's holder) with a received batch, a
// writer with its message, the timer when a deadline passes. Whoever holds
// coreMu last writes what the core has to send, delivers its events and
// re-arms the timer (unlock). Goroutines that must not wait for coreMu (they hold
// a.mu, or another association's core) leave their work in pending fields
// and set pending; the holder of coreMu takes it before letting go, or
// they take coreMu themselves when it is free (tryService). A message thus
// crosses no goroutine inside pgsctp: a received one is read by the call
// blocked waiting for it, when that call holds the socket's lead, and
// otherwise wakes only that call; a sent one leaves on the writer's own
// system call.
type Association struct {
	// Constant after creation.
	sock                *socket
	cfg                 *settings
	log                 *slog.Logger
	localPort, peerPort uint16
	localAddr           *Addr
	remoteAddr          *Addr

	done  chan struct{} // closed when the association has ended
	up    chan struct{} // closed at Connected
	timer *time.Timer   // runs onTimer at the core's next deadline
	once  sync.Once     // Close

	// Work left for the holder of coreMu by goroutines that could not
	// take it; pending says some is waiting.
	pending     atomic.Bool
	rel         atomic.Int64 // bytes the application consumed, not yet released
	ctrlWaiting atomic.Bool  // ctrl is not empty (looked at without a.mu)
	hintWaiting atomic.Bool  // hints is not empty

	coreMu   sync.Mutex // guards the fields below; taken before a.mu, never after
	core     *assoc.Association
	coreDone bool      // the core closed: nothing may touch it any more
	listener *Listener // offered to at Connected, then nil
	tx       *txBatch  // the batch being filled, while coreMu is held
	armed    time.Time // the deadline timer is set for (zero: stopped)
	linger   bool      // Closed.AnswerLate: keep the socket answering a while

	mu         sync.Mutex // guards the fields below
	waiters    []*waiter  // blocked calls, woken by broadcastLocked
	idle       []*waiter  // waiters kept for the next blocked call
	gen        uint64     // broadcasts so far
	inbox      []Message
	streams    map[uint16]*Stream
	accepts    []*Stream       // opened by the peer's announcement, for AcceptStream
	ctrl       []ctrlMsg       // control messages for the core to send, in order
	hints      []pathHint      // paths other associations saw fail (PathHealth)
	changes    []AddressChange // the latest address changes, at most maxChanges
	peerWnd    uint64          // the window of the peer's latest PPIDStreamWindow
	outStreams uint16
	ended      bool  // the core reported Closed
	err        error // the core's Closed error (nil: graceful)
	userClosed bool
	final      assoc.Stats
}

// newAssociation wraps core. local is the local IP address the peer
// reaches (zero: the socket's).
func newAssociation(s *socket, core *assoc.Association, peer netip.AddrPort, local netip.Addr, l *Listener) *Association {
	la := s.conn.LocalAddr()
	if !local.IsValid() {
		local = la.Addr()
	}
	a := &Association{
		sock:      s,
		cfg:       s.cfg,
		localPort: core.LocalPort(),
		peerPort:  core.PeerPort(),
		done:      make(chan struct{}),
		up:        make(chan struct{}),
		core:      core,
		listener:  l,
		streams:   make(map[uint16]*Stream),
	}
	a.localAddr = &Addr{IP: local, Port: a.localPort, UDPPort: la.Port()}
	a.remoteAddr = &Addr{IP: peer.Addr(), Port: a.peerPort, UDPPort: peer.Port()}
	a.log = s.cfg.log.With("local", a.localAddr.String(), "remote", a.remoteAddr.String())
	if h := s.cfg.PathHealth; h != nil {
		h.add(a) // removed by finish
	}
	a.timer = time.AfterFunc(time.Hour, a.onTimer)
	a.timer.Stop() // armed by the first unlock
	return a
}

// keys are the (peer address, peer port, local port) keys of the core's
// peer addresses. Caller holds coreMu (or the association is not shared
// yet).
func (a *Association) keys() []addrKey {
	var ks []addrKey
	for _, p := range a.core.PeerAddrs() {
		ks = append(ks, addrKey{p.Addr().Unmap(), a.peerPort, a.localPort})
	}
	if len(ks) == 0 {
		ks = append(ks, addrKey{a.remoteAddr.IP, a.peerPort, a.localPort})
	}
	return ks
}

// start sends what a new core has queued (an INIT, or a COOKIE ACK) and
// arms its timer.
func (a *Association) start() {
	if a.lock() {
		a.unlock(time.Now())
	}
}

// lock takes the core for a piece of work. It reports false, holding
// nothing, once the association has ended.
func (a *Association) lock() bool {
	a.coreMu.Lock()
	if a.coreDone {
		a.coreMu.Unlock()
		return false
	}
	return true
}

// unlock ends a piece of work on the core: it takes the work others left
// pending, writes what the core has to send, delivers the events, re-arms
// the timer and releases coreMu. Work left pending while it let go is
// taken by coming round again, unless another goroutine holds coreMu by
// then (that one will).
func (a *Association) unlock(now time.Time) {
	for {
		closed := a.service(now)
		if closed {
			a.coreDone = true
		} else {
			a.rearm()
		}
		a.coreMu.Unlock()
		if closed {
			a.finish()
			return
		}
		if !a.pending.Load() || !a.coreMu.TryLock() {
			return
		}
		if a.coreDone {
			a.coreMu.Unlock()
			return
		}
		now = time.Now()
	}
}

// tryService takes the work left pending when coreMu is free; when it is
// not, its holder takes it. The caller holds neither coreMu nor a.mu.
func (a *Association) tryService() {
	if !a.coreMu.TryLock() {
		return
	}
	if a.coreDone {
		a.coreMu.Unlock()
		return
	}
	a.unlock(time.Now())
}

// service applies the pending work and flushes, until nothing is pending
// (event handling can leave more: released bytes of control messages). It
// reports whether the core has closed. Caller holds coreMu.
func (a *Association) service(now time.Time) (closed bool) {
	for range 4 {
		a.pending.Store(false) // before the work is read: a new one sets it again
		if n := a.rel.Swap(0); n > 0 {
			a.core.Release(int(n))
		}
		if a.ctrlWaiting.Load() {
			// Retried on every piece of work while the send buffer is
			// full: an acknowledgement makes room.
			a.mu.Lock()
			a.sendCtrlLocked(now)
			a.mu.Unlock()
		}
		if a.hintWaiting.Load() {
			a.mu.Lock()
			hints := a.hints
			a.hints = nil
			a.hintWaiting.Store(false)
			a.mu.Unlock()
			for _, h := range hints {
				a.core.SuspectPath(now, h.local, h.peer)
			}
		}
		if a.flush(now) {
			return true
		}
		if !a.pending.Load() {
			break
		}
	}
	return false
}

// rearm points the timer at the core's next deadline. Caller holds coreMu.
// The delay is taken from the clock, not from the piece of work's now,
// which may be older (a batch's time, taken before waiting for coreMu).
func (a *Association) rearm() {
	next := a.core.NextTimeout()
	if next.Equal(a.armed) {
		return
	}
	a.armed = next
	if next.IsZero() {
		a.timer.Stop()
		return
	}
	a.timer.Reset(max(time.Until(next), 0))
}

// onTimer runs on the timer's goroutine when the core's deadline passes.
func (a *Association) onTimer() {
	if !a.lock() {
		return
	}
	now := time.Now()
	a.armed = time.Time{} // fired: the next unlock sets it again
	a.core.HandleTimeout(now)
	a.unlock(now)
}

// input hands one received datagram to the core. The caller holds coreMu;
// pkt is not retained.
func (a *Association) input(now time.Time, from, to netip.AddrPort, pkt []byte) {
	a.core.HandlePacket(now, from, to, pkt)
	// Collect the replies after each packet, so that the core
	// acknowledges every second packet of a batch as RFC 9260 6.2 asks
	// (one SACK per batch would starve the sender's ack clock) and each
	// SACK releases its own Max.Burst of new data.
	a.collect(now)
}

// txBatch collects outgoing packets for one WriteBatch; bufs[:n] are in use.
type txBatch struct {
	bufs [][]byte
	out  []udpencap.Message
	n    int
}

// collect moves what the core has to send into the batch, writing the batch
// whenever it fills (and keeping it). Caller holds coreMu.
func (a *Association) collect(now time.Time) {
	if a.tx == nil {
		a.tx = a.sock.getBatch()
	}
	b := a.tx
	for {
		for b.n < len(b.bufs) {
			t, ok := a.core.PollTransmit(now, b.bufs[b.n])
			if !ok {
				return
			}
			b.out[b.n] = udpencap.Message{Buf: t.Packet, N: len(t.Packet), Addr: t.To, Local: t.From, Fragment: t.Fragment}
			b.n++
		}
		a.sendBatch()
	}
}

// sendBatch writes what the batch holds; the batch stays the
// association's.
func (a *Association) sendBatch() {
	if b := a.tx; b != nil && b.n > 0 {
		a.sock.write(b.out[:b.n])
		b.n = 0
	}
}

// writeBatch writes the batch and gives it back to the socket's pool.
func (a *Association) writeBatch() {
	if a.tx == nil {
		return
	}
	a.sendBatch()
	a.sock.putBatch(a.tx)
	a.tx = nil
}

// flush sends everything queued and handles the events. It reports whether
// the association has closed. Caller holds coreMu.
func (a *Association) flush(now time.Time) (closed bool) {
	a.collect(now)
	for {
		var m assoc.Message
		ev, ok := a.core.PollEventTo(&m)
		if !ok {
			break
		}
		if _, msg := ev.(assoc.MessageReady); msg {
			a.deliver(m)
		} else if a.handleEvent(ev) {
			closed = true
		}
	}
	if closed {
		a.collect(now) // a final ABORT or SHUTDOWN COMPLETE
	}
	a.writeBatch()
	return closed
}

func (a *Association) handleEvent(ev assoc.Event) (closed bool) {
	switch ev := ev.(type) {
	case assoc.Connected:
		a.mu.Lock()
		a.outStreams = ev.OutboundStreams
		a.broadcastLocked()
		a.mu.Unlock()
		a.sock.rekey(a, a.core.LocalTag(), a.keys())
		select {
		case <-a.up:
		default:
			close(a.up)
		}
		a.log.Debug("sctp: connected", "out", ev.OutboundStreams, "in", ev.InboundStreams)
		if l := a.listener; l != nil {
			a.listener = nil
			if !l.offer(a) {
				a.core.Abort(time.Now(), "accept backlog full")
			}
		}
	case assoc.Writable:
		a.broadcast()
	case assoc.PathChange:
		// One line per change. Confirmations of new paths at the start
		// are routine; failures and recoveries are what operators want.
		level := slog.LevelInfo
		if ev.Old == assoc.PathUnconfirmed && ev.State == assoc.PathActive {
			level = slog.LevelDebug
		}
		a.log.Log(context.Background(), level, "sctp: path state", "path", ev.ID, "local", ev.Local, "peer", ev.Addr,
			"from", ev.Old.String(), "to", ev.State.String(), "reason", ev.Reason)
		if h := a.cfg.PathHealth; h != nil && ev.Old == assoc.PathActive && ev.State != assoc.PathActive && ev.Reason != assoc.ReasonSharedFate {
			h.failed(a, ev.Local, ev.Addr.Addr())
		}
	case assoc.AddressChange:
		a.mu.Lock()
		if len(a.changes) == maxChanges {
			a.changes = append(a.changes[:0], a.changes[1:]...)
		}
		a.changes = append(a.changes, AddressChange{At: time.Now(), AddressChange: ev})
		a.mu.Unlock()
		// Who changed what, and whether it took (RFC 5061).
		who := "peer"
		if ev.Local {
			who = "local"
		}
		if ev.OK {
			a.log.Info("sctp: address change", "by", who, "op", ev.Op, "addr", ev.Addr, "result", "done")
		} else {
			a.log.Warn("sctp: address change", "by", who, "op", ev.Op, "addr", ev.Addr, "result", "refused", "reason", ev.Reason)
		}
		a.sock.rekey(a, a.core.LocalTag(), a.keys())
	case assoc.Restarted:
		a.log.Info("sctp: peer restarted the association")
		a.sock.rekey(a, a.core.LocalTag(), a.keys())
	case assoc.SendFailed:
		a.log.Debug("sctp: message not delivered", "stream", ev.StreamID, "bytes", ev.Bytes)
	case assoc.Closed:
		a.linger = ev.AnswerLate
		a.mu.Lock()
		a.ended = true
		a.err = ev.Err
		a.final = a.core.Stats()
		a.broadcastLocked()
		a.mu.Unlock()
		if ev.Err != nil {
			a.log.Info("sctp: association failed", "err", ev.Err)
		} else {
			a.log.Debug("sctp: association closed")
		}
		return true
	}
	return false
}

// recycle gives back the buffer of a received message once nothing refers
// to it any more (Config.Assoc.Buffers lent it).
func (a *Association) recycle(b []byte) { a.cfg.Assoc.Buffers.Put(b) }

// deliver hands a received message to its Stream or the inbox.
func (a *Association) deliver(m assoc.Message) {
	a.mu.Lock()
	if a.routeLocked(m) {
		a.broadcastLocked()
	}
	a.mu.Unlock()
}

// hint queues a path failure another association saw. The caller holds
// that association's coreMu, so this one's is taken on a goroutine of its
// own: two associations hinting each other must not wait for each other.
// Hints are rare (a path failed) and the goroutine ends at once.
func (a *Association) hint(h pathHint) {
	a.mu.Lock()
	if len(a.hints) < maxHints {
		a.hints = append(a.hints, h)
	}
	a.hintWaiting.Store(true)
	a.mu.Unlock()
	a.pending.Store(true)
	go a.poke()
}

// poke waits for coreMu and takes the pending work.
func (a *Association) poke() {
	if a.lock() {
		a.unlock(time.Now())
	}
}

// maxHints bounds the hints waiting to be applied; more are dropped
// (the association's own timers still see the failure).
const maxHints = 64

// finish runs once, when the core has closed: the association leaves the
// socket's maps and gives up its reference (a dialed association's socket
// closes).
func (a *Association) finish() {
	a.timer.Stop()
	if h := a.cfg.PathHealth; h != nil {
		h.remove(a)
	}
	a.sock.unregister(a)
	if a.linger {
		a.sock.releaseAfter(a.cfg.ShutdownLinger)
	} else {
		a.sock.release()
	}
	a.mu.Lock()
	if !a.ended { // the core cannot close otherwise, but be safe
		a.ended = true
		a.err = assoc.ErrClosed
	}
	for _, w := range a.idle {
		w.unwatch()
	}
	a.broadcastLocked()
	a.mu.Unlock()
	select {
	case <-a.up:
	default:
		close(a.up)
	}
	close(a.done)
}

// do runs fn on the core, then sends what it queued. ctx is checked first
// only: coreMu is held briefly by everyone.
func (a *Association) do(ctx context.Context, fn func(now time.Time)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !a.lock() {
		return errEnded
	}
	now := time.Now()
	fn(now)
	a.unlock(now)
	return nil
}

// errEnded: the core has closed; the caller reports the association's
// final state.
var errEnded = errors.New("sctp: association ended")

// released returns n consumed bytes to the receive window: it leaves them
// pending, for the holder of coreMu or the caller's tryService once it
// holds no lock.
func (a *Association) released(n int) {
	if n <= 0 {
		return
	}
	a.rel.Add(int64(n))
	a.pending.Store(true)
}

func (a *Association) opError(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, assoc.ErrClosed) || errors.Is(err, assoc.ErrShuttingDown) {
		// The association ended or is ending in order: to Go code that is
		// a closed connection (errors.Is(err, net.ErrClosed)), not a
		// failure worth a warning.
		err = fmt.Errorf("%w (%w)", err, net.ErrClosed)
	}
	return &net.OpError{Op: op, Net: "sctp", Source: a.localAddr, Addr: a.remoteAddr, Err: err}
}

// endErr is the error for an operation on an association that has ended:
// the failure, or closedErr after a graceful end. Caller holds a.mu.
func (a *Association) endErrLocked(op string, graceful error) error {
	if a.userClosed {
		return a.opError(op, net.ErrClosed)
	}
	if a.err != nil {
		return a.opError(op, a.err)
	}
	if graceful == io.EOF {
		return io.EOF
	}
	return a.opError(op, graceful)
}

// send queues one message, blocking while the send buffer is full. st is
// the Stream writing (nil for SendMessage): its Close ends the wait, its
// write deadline bounds it.
func (a *Association) send(ctx context.Context, st *Stream, sid uint16, ppid uint32, msg []byte, unordered bool) error {
	for {
		a.mu.Lock()
		var deadline time.Time
		if st != nil {
			if st.closed {
				a.mu.Unlock()
				return a.opError("write", net.ErrClosed)
			}
			deadline = st.wdl
		}
		if a.userClosed || a.ended {
			err := a.endErrLocked("write", assoc.ErrClosed)
			a.mu.Unlock()
			return err
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			a.mu.Unlock()
			return a.opError("write", os.ErrDeadlineExceeded)
		}
		// A change between the try and the wait (room made) shows as a
		// new generation.
		gen := a.gen
		a.mu.Unlock()
		var serr error
		if err := a.do(ctx, func(now time.Time) {
			// Control messages first: a stream's announcement must
			// precede its data.
			a.mu.Lock()
			blocked := a.sendCtrlLocked(now)
			a.mu.Unlock()
			if blocked {
				serr = assoc.ErrWouldBlock
				return
			}
			serr = a.core.Send(now, sid, ppid, msg, assoc.SendOptions{Unordered: unordered})
		}); err != nil {
			if err == errEnded {
				continue // report the association's end
			}
			return a.opError("write", err)
		}
		if !errors.Is(serr, assoc.ErrWouldBlock) {
			return a.opError("write", serr)
		}
		a.mu.Lock()
		var err error
		if a.gen == gen {
			err = a.waitLocked(ctx, deadline)
		}
		a.mu.Unlock()
		if err != nil && err != os.ErrDeadlineExceeded {
			return a.opError("write", err)
		}
	}
}

// SendMessage sends msg on stream sid with the given PPID, ordered or not.
// It blocks while the send buffer is full, until ctx is done. msg is
// copied; an empty msg is refused (SCTP cannot carry it).
func (a *Association) SendMessage(ctx context.Context, sid uint16, ppid uint32, msg []byte, unordered bool) error {
	if len(msg) == 0 {
		return a.opError("write", errors.New("sctp: empty message"))
	}
	return a.send(ctx, nil, sid, ppid, msg, unordered)
}

// ReceiveMessage returns the next message from the inbox (messages of
// streams that have no Stream; see the package documentation). After a
// graceful shutdown and once the inbox is empty it returns io.EOF.
func (a *Association) ReceiveMessage(ctx context.Context) (Message, error) {
	a.mu.Lock()
	for {
		if a.userClosed {
			a.mu.Unlock()
			return Message{}, a.opError("read", net.ErrClosed)
		}
		if len(a.inbox) > 0 {
			m := a.inbox[0]
			a.inbox = popFront(a.inbox)
			a.mu.Unlock()
			a.released(len(m.Data))
			a.tryService()
			return m, nil
		}
		if a.ended {
			err := a.endErrLocked("read", io.EOF)
			a.mu.Unlock()
			return Message{}, err
		}
		if err := a.waitLocked(ctx, time.Time{}); err != nil {
			a.mu.Unlock()
			return Message{}, a.opError("read", err)
		}
	}
}

// Recycle gives back the buffer of a message that ReceiveMessage
// returned, once the caller is done with it, for a later message to be
// assembled in: a loop that receives messages and recycles each one
// allocates nothing per message. It is optional (a message not recycled
// is left to the garbage collector), and data must not be used after the
// call.
func (a *Association) Recycle(data []byte) { a.recycle(data) }

// OpenStream returns the Stream for stream id. Messages already waiting
// in the inbox for that stream move to it. A number carries one Stream at
// a time: it can be opened again (for a new byte stream) once its Stream
// is closed and the peer's CloseWrite marker has arrived; before that
// OpenStream fails with an error wrapping ErrStreamInUse. With
// Config.StreamWindow set, the new Stream announces per-stream flow
// control to the peer before any data.
func (a *Association) OpenStream(id uint16) (*Stream, error) {
	st, err := a.openStream(id)
	a.tryService() // the announcement
	return st, err
}

func (a *Association) openStream(id uint16) (*Stream, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.userClosed {
		return nil, a.opError("open", net.ErrClosed)
	}
	if st, ok := a.streams[id]; ok {
		if st.pending {
			// The peer opened it and nobody accepted it yet: take it.
			st.pending = false
			for i, p := range a.accepts {
				if p == st {
					a.accepts = append(a.accepts[:i], a.accepts[i+1:]...)
					break
				}
			}
			return st, nil
		}
		return nil, a.opError("open", fmt.Errorf("%w: %d", ErrStreamInUse, id))
	}
	if a.outStreams != 0 && id >= a.outStreams {
		return nil, a.opError("open", fmt.Errorf("%w: %d, the peer accepts %d streams", assoc.ErrInvalidStream, id, a.outStreams))
	}
	st := a.newStreamLocked(id)
	st.announceLocked()
	return st, nil
}

// AcceptStream waits for a message on a stream that has no Stream yet and
// returns a new Stream for it (see the package documentation).
func (a *Association) AcceptStream(ctx context.Context) (*Stream, error) {
	a.mu.Lock()
	for {
		if a.userClosed {
			a.mu.Unlock()
			return nil, a.opError("accept", net.ErrClosed)
		}
		if len(a.accepts) > 0 {
			st := a.accepts[0]
			a.accepts[0] = nil
			a.accepts = a.accepts[1:]
			st.pending = false
			a.mu.Unlock()
			return st, nil
		}
		for _, m := range a.inbox {
			if _, ok := a.streams[m.StreamID]; !ok {
				st := a.newStreamLocked(m.StreamID)
				a.mu.Unlock()
				return st, nil
			}
		}
		if a.ended {
			err := a.endErrLocked("accept", io.EOF)
			a.mu.Unlock()
			return nil, err
		}
		if err := a.waitLocked(ctx, time.Time{}); err != nil {
			a.mu.Unlock()
			return nil, a.opError("accept", err)
		}
	}
}

func (a *Association) newStreamLocked(id uint16) *Stream {
	st := &Stream{a: a, id: id}
	a.streams[id] = st
	k := 0
	for _, m := range a.inbox {
		if m.StreamID == id {
			st.pushLocked(m.PPID, m.Data)
			continue
		}
		a.inbox[k] = m
		k++
	}
	clear(a.inbox[k:])
	a.inbox = a.inbox[:k]
	return st
}

// Shutdown shuts the association down gracefully (RFC 9260 section 9.2):
// everything sent is still delivered and acknowledged, then SHUTDOWN,
// SHUTDOWN ACK and SHUTDOWN COMPLETE are exchanged. It returns when that
// is done (nil), the association failed (its error), or ctx is done.
// Messages received meanwhile stay readable.
func (a *Association) Shutdown(ctx context.Context) error {
	err := a.do(ctx, func(now time.Time) { a.core.Shutdown(now) })
	if err != nil && err != errEnded {
		return a.opError("shutdown", err)
	}
	select {
	case <-a.done:
	case <-ctx.Done():
		return a.opError("shutdown", ctx.Err())
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.opError("shutdown", a.err)
}

// Abort ends the association at once with an ABORT carrying reason.
// Unsent and unacknowledged data is lost.
func (a *Association) Abort(reason string) {
	_ = a.do(context.Background(), func(now time.Time) { a.core.Abort(now, reason) })
}

// Close closes the association for the application: later calls return
// net.ErrClosed, and a graceful shutdown starts in the background (data
// already sent is still delivered; the association ends when the peer
// confirms or the core's timers give up). Use Shutdown to wait for it.
func (a *Association) Close() error {
	first := false
	a.once.Do(func() { first = true })
	if !first {
		return a.opError("close", net.ErrClosed)
	}
	a.mu.Lock()
	a.userClosed = true
	a.inbox = nil
	for _, st := range a.accepts {
		st.dropLocked()
	}
	a.accepts = nil
	for _, st := range a.streams {
		st.dropLocked()
	}
	a.broadcastLocked()
	a.mu.Unlock()
	_ = a.do(context.Background(), func(now time.Time) { a.core.Shutdown(now) })
	return nil
}

// Stats returns a snapshot of the association's counters.
func (a *Association) Stats() assoc.Stats {
	var st assoc.Stats
	if err := a.do(context.Background(), func(time.Time) { st = a.core.Stats() }); err != nil {
		a.mu.Lock()
		st = a.final
		a.mu.Unlock()
	}
	return st
}

// Buffered is the number of bytes sent and not yet acknowledged by the
// peer (queued or in flight); zero once the association has ended.
func (a *Association) Buffered() int {
	n := 0
	_ = a.do(context.Background(), func(time.Time) { n = a.core.Buffered() })
	return n
}

// LocalAddr is this end's address: IP, SCTP port and UDP port (*Addr).
func (a *Association) LocalAddr() net.Addr { return a.localAddr }

// RemoteAddr is the peer's primary address (*Addr).
func (a *Association) RemoteAddr() net.Addr { return a.remoteAddr }

// Done is closed when the association has ended and its goroutine exited.
func (a *Association) Done() <-chan struct{} { return a.done }

// Err is why the association ended: nil while it runs and after a graceful
// shutdown, else an error wrapping assoc.ErrAborted, assoc.ErrTimeout or
// another assoc error.
func (a *Association) Err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}
