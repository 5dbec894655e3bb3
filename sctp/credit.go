package sctp

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
)

// Per-stream credit flow control (see "Per-stream flow control" in the
// package documentation).
//
// SCTP's receive window (a_rwnd) belongs to the association: bytes a Stream
// has received and its reader has not taken count against it. One stream
// whose reader stops would, without more, fill the window and stall every
// other stream of the association. Streams of two ends that both set
// Config.StreamWindow therefore limit each direction to a window of their
// own, with credit messages on the stream itself, like HTTP/2's
// WINDOW_UPDATE frames.

// PPIDStreamWindow is the PPID of the message by which an end announces,
// on one stream and before any data of its own there, that it does
// per-stream flow control. Its payload is the sender's initial window in
// bytes, a 4-byte big-endian unsigned integer: the peer may send that many
// data bytes on the stream, counted from the stream's first data byte.
const PPIDStreamWindow uint32 = 0xFFFF_FFFD

// PPIDCredit is the PPID of a credit message: its payload, a 4-byte
// big-endian unsigned integer, is how many more data bytes the peer may
// send on the stream (the reader's application has taken that many).
const PPIDCredit uint32 = 0xFFFF_FFFE

// DefaultStreamWindow is the stream window multiplexing users of this
// package (pgfront) choose: 256 KiB per stream and direction.
const DefaultStreamWindow = 256 << 10

// maxStreamWindow bounds Config.StreamWindow so that grants fit in 32 bits.
const maxStreamWindow = 1 << 30

// ErrStreamInUse is returned by OpenStream for a stream number whose
// earlier Stream has not ended in both directions yet: the number may be
// reused once this end's Stream is closed and the peer's CloseWrite marker
// has arrived.
var ErrStreamInUse = errors.New("sctp: stream is in use")

// ErrPeerClosed is returned by Stream.Write on a stream with per-stream
// flow control once the peer has closed its Stream (its reader is gone,
// so no credit will come): the counterpart of writing to a TCP connection
// the peer closed.
var ErrPeerClosed = errors.New("sctp: the peer closed the stream")

// ctrlMsg is a control message waiting to be handed to the core.
type ctrlMsg struct {
	sid  uint16
	ppid uint32
	n    uint32
}

// creditOnLocked reports whether credits are in use on the stream: this
// end announced its window and the peer announced its own. Caller holds
// a.mu.
func (s *Stream) creditOnLocked() bool { return s.announced && s.peerOn }

// announceLocked queues this end's PPIDStreamWindow message for s. Caller
// holds a.mu.
func (s *Stream) announceLocked() {
	w := s.a.cfg.StreamWindow
	if w <= 0 || s.announced {
		return
	}
	s.wnd = w
	s.announced = true
	s.granted = uint64(w)
	s.a.queueCtrlLocked(ctrlMsg{sid: s.id, ppid: PPIDStreamWindow, n: uint32(w)})
	if pw := s.a.peerWnd; pw > 0 && !s.peerOn {
		// The peer answered on an earlier stream, so it answers this one
		// too, with the same window (its configuration is fixed for the
		// association): use the window now rather than write unlimited
		// until the answer arrives.
		s.peerOn = true
		s.assumed = pw
		s.limit = pw
	}
}

// grantLocked returns credit to the peer once half the window has been
// taken by the application since the last grant: batching keeps the credit
// messages few (one per half window) while the writer, with half a window
// still to go, never waits for them on a busy stream. Caller holds a.mu.
func (s *Stream) grantLocked() {
	if !s.creditOnLocked() || s.closed {
		return
	}
	left := int64(s.granted) - int64(s.consumed)
	if left > int64(s.wnd)/2 {
		return
	}
	inc := uint64(int64(s.wnd) - left) // back to a full window past what was taken
	s.granted += inc
	s.a.queueCtrlLocked(ctrlMsg{sid: s.id, ppid: PPIDCredit, n: uint32(inc)})
}

// readerGoneLocked tells the peer, as Close discards this end's reader,
// that no more credit will come: a credit of zero. Nothing is said when the
// peer's writer has ended anyway (its CloseWrite arrived) or the number
// already carries a new stream. Caller holds a.mu.
func (s *Stream) readerGoneLocked() {
	if !s.creditOnLocked() || s.closed || s.eof || s.retired {
		return
	}
	s.a.queueCtrlLocked(ctrlMsg{sid: s.id, ppid: PPIDCredit, n: 0})
}

// queueCtrlLocked queues a control message for the core, merging a credit
// with one for the same stream still waiting (credits add up). Caller
// holds a.mu, then calls tryService once it holds no lock (or holds
// coreMu, whose unlock takes it).
func (a *Association) queueCtrlLocked(m ctrlMsg) {
	if m.ppid == PPIDCredit {
		for i := len(a.ctrl) - 1; i >= 0; i-- {
			if a.ctrl[i].sid != m.sid {
				continue
			}
			if a.ctrl[i].ppid == PPIDCredit && m.n > 0 && a.ctrl[i].n > 0 && uint64(a.ctrl[i].n)+uint64(m.n) <= 1<<32-1 {
				a.ctrl[i].n += m.n
				return
			}
			break
		}
	}
	a.ctrl = append(a.ctrl, m)
	a.ctrlWaiting.Store(true)
	a.pending.Store(true)
}

// sendCtrlLocked hands the waiting control messages to the core, in order.
// It reports whether some are still waiting for room in the send buffer:
// then no data may be sent either, so that a stream's announcement always
// precedes its data. Caller holds coreMu and a.mu.
func (a *Association) sendCtrlLocked(now time.Time) (blocked bool) {
	var b [4]byte
	for len(a.ctrl) > 0 {
		m := a.ctrl[0]
		binary.BigEndian.PutUint32(b[:], m.n)
		err := a.core.Send(now, m.sid, m.ppid, b[:], assoc.SendOptions{})
		if errors.Is(err, assoc.ErrWouldBlock) {
			return true
		}
		if err != nil {
			// The association is shutting down or the stream number is
			// beyond what the peer accepts: nobody is left to tell.
			a.log.Debug("sctp: control message not sent", "stream", m.sid, "ppid", m.ppid, "err", err)
		}
		a.ctrl = a.ctrl[1:]
	}
	a.ctrl = nil
	a.ctrlWaiting.Store(false)
	return false
}

// routeLocked delivers one received message: to its Stream, to the inbox,
// or, for control messages, to the flow-control state. It reports whether
// goroutines waiting on the association must look (pushLocked). Caller
// holds coreMu and a.mu.
func (a *Association) routeLocked(ev assoc.Message) (wake bool) {
	st := a.streams[ev.StreamID]
	switch ev.PPID {
	case PPIDCredit, PPIDStreamWindow:
		a.controlLocked(st, ev)
		a.recycle(ev.Data)
		return true
	}
	if st != nil && st.eof {
		// Data after the peer's CloseWrite starts a new session on a
		// reused stream number.
		a.retireLocked(st)
		st = nil
	}
	if st != nil {
		return st.pushLocked(ev.PPID, ev.Data)
	}
	a.inbox = append(a.inbox, Message{StreamID: ev.StreamID, PPID: ev.PPID, Unordered: ev.Unordered, Data: ev.Data})
	return true
}

// controlLocked applies a flow-control message (PPIDCredit,
// PPIDStreamWindow) for stream st (nil: it has no Stream). Caller holds
// coreMu and a.mu.
func (a *Association) controlLocked(st *Stream, ev assoc.Message) {
	switch ev.PPID {
	case PPIDCredit:
		// An increment: for the stream's current session (or, after the
		// peer's CloseWrite, the session still reading). Without a
		// Stream it belongs to one that has ended; a stream that never
		// saw the peer's announcement ignores it.
		a.released(len(ev.Data))
		if st != nil && st.peerOn && len(ev.Data) == 4 {
			n := binary.BigEndian.Uint32(ev.Data)
			st.limit += uint64(n)
			if n == 0 {
				st.peerGone = true
			}
		}
	case PPIDStreamWindow:
		a.released(len(ev.Data))
		if a.cfg.StreamWindow <= 0 || len(ev.Data) != 4 {
			return // this end does no per-stream flow control: stay plain
		}
		if st != nil && st.eof {
			// The peer ended its previous session on this number and
			// starts a new one.
			a.retireLocked(st)
			st = nil
		}
		w := uint64(binary.BigEndian.Uint32(ev.Data))
		a.peerWnd = w
		if st != nil && st.assumed > 0 {
			// The answer to our announcement, whose window we assumed.
			st.limit = st.limit - st.assumed + w
			st.assumed = 0
			return
		}
		if st != nil && st.peerOn {
			return // a second announcement in one session: ignore it
		}
		if st == nil {
			// The peer opened the stream: it appears now (AcceptStream),
			// and the answer goes out before the application has looked,
			// so that the peer's data is held to our window from the start.
			st = &Stream{a: a, id: ev.StreamID, pending: true}
			a.streams[ev.StreamID] = st
			a.accepts = append(a.accepts, st)
		}
		st.peerOn = true
		st.limit += w
		st.announceLocked()
		st.grantLocked()
	}
}

// retireLocked removes st from the stream table, so that the number may
// carry a new Stream: st has ended (closed here, CloseWrite received) or
// the peer has started a new session on the number. st stays readable up
// to its end but may send nothing more. Caller holds a.mu.
func (a *Association) retireLocked(st *Stream) {
	if a.streams[st.id] == st {
		delete(a.streams, st.id)
	}
	st.retired = true
	st.wclosed = true
}
