package sctp

import (
	"context"
	"io"
	"net"
	"os"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
)

// Stream is one SCTP stream of an association as a net.Conn: a reliable,
// ordered byte stream. Write sends the bytes as messages of at most
// Config.MaxWriteMessage bytes (PPID PPIDStream); Read returns received
// bytes without regard to message boundaries. Both directions of a stream
// id belong to the one Stream.
//
// Deadlines behave as for net.Conn: a Read or Write past its deadline
// fails with an error wrapping os.ErrDeadlineExceeded (a net.Error whose
// Timeout is true), and a new deadline applies to calls already blocked.
type Stream struct {
	// Constant.
	a  *Association
	id uint16

	// Guarded by a.mu.
	queue   [][]byte // received message payloads; queue[0][off:] is next
	off     int
	eof     bool // the peer's PPIDCloseWrite marker arrived
	closed  bool // Close was called
	wclosed bool // CloseWrite was called (or Close)
	rdl     time.Time
	wdl     time.Time
	sink    *sink // the destination of a running CopyTo

	// Per-stream flow control (credit.go). Byte counts run from the
	// stream's first data byte in each direction.
	wnd       int    // this end's window, once announced
	announced bool   // this end sent its PPIDStreamWindow message
	peerOn    bool   // the peer's PPIDStreamWindow message arrived
	pending   bool   // opened by the peer, not yet returned by AcceptStream
	retired   bool   // removed from the stream table (retireLocked)
	peerGone  bool   // the peer's reader closed (a zero credit arrived)
	sent      uint64 // data bytes Write handed to the association
	limit     uint64 // the peer's window plus its credits
	assumed   uint64 // the peer's window taken from an earlier stream, until its answer
	consumed  uint64 // data bytes the application read
	granted   uint64 // this end's window plus the credits it sent
}

// ID is the stream identifier.
func (s *Stream) ID() uint16 { return s.id }

// Association is the association the stream belongs to.
func (s *Stream) Association() *Association { return s.a }

// pushLocked adds a received message. It reports whether a goroutine
// waiting on the association may have something to do: not when CopyTo's
// sink took the bytes directly. Caller holds a.mu.
func (s *Stream) pushLocked(ppid uint32, data []byte) (wake bool) {
	if ppid == PPIDCloseWrite && !s.eof {
		s.eof = true
		s.a.released(len(data))
		s.a.recycle(data)
		if s.closed {
			// Both directions have ended: the number is free again.
			s.a.retireLocked(s)
		}
		return true
	}
	if s.closed || s.eof {
		// Nobody will read it: give the window back now.
		s.a.released(len(data))
		s.a.recycle(data)
		return false
	}
	rest := s.pushDirectLocked(data)
	if len(rest) == 0 {
		s.a.recycle(data)
		return false
	}
	if n := len(data) - len(rest); n > 0 {
		// CopyTo's sink took the first n bytes; it writes only to an
		// empty queue, so data is the first entry. The whole buffer is
		// queued, to be recycled whole.
		s.off = n
	}
	s.queue = append(s.queue, data)
	return true
}

// popLocked removes the first queued payload (the caller recycles it
// once done with it).
func (s *Stream) popLocked() {
	s.queue = popFront(s.queue)
	s.off = 0
}

// popFront removes q[0] and keeps q's array: a queue of up to 16 moves
// down it, so a queue read about as fast as it fills appends to one array
// for ever; a longer one is resliced, and the next growth of its array
// leaves the space before it behind.
func popFront[T any](q []T) []T {
	var zero T
	n := len(q)
	if n <= 16 {
		copy(q, q[1:])
		q[n-1] = zero
		return q[:n-1]
	}
	q[0] = zero
	return q[1:]
}

// dropLocked discards what was received and not read; caller holds a.mu.
func (s *Stream) dropLocked() {
	n := -s.off
	for _, b := range s.queue {
		n += len(b)
		s.a.recycle(b)
	}
	s.queue, s.off = nil, 0
	s.closed, s.wclosed = true, true
	s.a.released(n)
	if s.eof {
		s.a.retireLocked(s)
	}
}

// Read reads received bytes. It returns io.EOF after the peer's CloseWrite
// or a graceful shutdown of the association, once every byte before it has
// been read.
func (s *Stream) Read(p []byte) (int, error) {
	a := s.a
	a.mu.Lock()
	for {
		if s.closed {
			a.mu.Unlock()
			return 0, a.opError("read", net.ErrClosed)
		}
		if len(s.queue) > 0 {
			n := 0
			for n < len(p) && len(s.queue) > 0 {
				c := copy(p[n:], s.queue[0][s.off:])
				n += c
				s.off += c
				if b := s.queue[0]; s.off == len(b) {
					s.popLocked()
					a.recycle(b)
				}
			}
			s.consumed += uint64(n)
			s.grantLocked()
			a.mu.Unlock()
			a.released(n)
			a.tryService()
			return n, nil
		}
		if len(p) == 0 {
			a.mu.Unlock()
			return 0, nil
		}
		if s.eof {
			a.mu.Unlock()
			return 0, io.EOF
		}
		if a.ended || a.userClosed {
			err := a.endErrLocked("read", io.EOF)
			a.mu.Unlock()
			return 0, err
		}
		dl := s.rdl
		if !dl.IsZero() && !time.Now().Before(dl) {
			a.mu.Unlock()
			return 0, a.opError("read", os.ErrDeadlineExceeded)
		}
		_ = a.waitLocked(context.Background(), dl) // every outcome is re-checked above
	}
}

// Write sends p, blocking while the send buffer is full or, when the
// stream uses per-stream flow control, while the peer has granted no
// credit. It returns how many bytes were queued for sending; on error, the
// bytes of whole messages before it were.
func (s *Stream) Write(p []byte) (int, error) {
	a := s.a
	n := 0
	for n == 0 || n < len(p) {
		size, err := s.reserve(len(p) - n)
		if err != nil {
			return n, err
		}
		if size == 0 {
			return 0, nil // an empty write on an open stream
		}
		if err := a.send(context.Background(), s, s.id, PPIDStream, p[n:n+size], false); err != nil {
			a.mu.Lock()
			s.sent -= uint64(size)
			a.mu.Unlock()
			return n, err
		}
		n += size
	}
	return n, nil
}

// reserve waits until the stream may send and returns how many of want
// bytes the next message carries, counting them as sent: at most
// MaxWriteMessage, and at most the credit left when credits are in use.
func (s *Stream) reserve(want int) (int, error) {
	a := s.a
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		if s.closed || s.wclosed {
			return 0, a.opError("write", net.ErrClosed)
		}
		if a.ended || a.userClosed {
			return 0, a.endErrLocked("write", assoc.ErrClosed)
		}
		if s.peerGone {
			return 0, a.opError("write", ErrPeerClosed)
		}
		size := min(want, a.cfg.MaxWriteMessage)
		if !s.creditOnLocked() || size == 0 {
			s.sent += uint64(size)
			return size, nil
		}
		if s.sent < s.limit {
			size = int(min(uint64(size), s.limit-s.sent))
			s.sent += uint64(size)
			return size, nil
		}
		dl := s.wdl
		if !dl.IsZero() && !time.Now().Before(dl) {
			return 0, a.opError("write", os.ErrDeadlineExceeded)
		}
		_ = a.waitLocked(context.Background(), dl) // every outcome is re-checked above
	}
}

// CloseWrite ends this side's data on the stream: the peer's Read returns
// io.EOF after the bytes written before. It sends a one-byte message with
// PPID PPIDCloseWrite (SCTP has no empty messages). Reading continues.
func (s *Stream) CloseWrite() error {
	a := s.a
	a.mu.Lock()
	if s.closed || s.wclosed {
		a.mu.Unlock()
		return a.opError("close", net.ErrClosed)
	}
	s.wclosed = true
	a.mu.Unlock()
	return a.send(context.Background(), s, s.id, PPIDCloseWrite, []byte{0}, false)
}

// Close closes the stream: unread data is discarded and data arriving
// later is dropped, blocked calls return net.ErrClosed, and, unless
// CloseWrite was called, the peer is sent the CloseWrite marker (waiting,
// within the write deadline, for room in the send buffer). The
// association stays open.
func (s *Stream) Close() error {
	a := s.a
	a.mu.Lock()
	if s.closed {
		a.mu.Unlock()
		return a.opError("close", net.ErrClosed)
	}
	sendEOF := !s.wclosed
	s.readerGoneLocked()
	s.dropLocked()
	a.broadcastLocked()
	a.mu.Unlock()
	if !sendEOF {
		a.tryService() // the window and the zero credit
		return nil
	}
	// send refuses a closed Stream: go through the message path, bounded
	// by the write deadline.
	ctx := context.Background()
	a.mu.Lock()
	dl := s.wdl
	a.mu.Unlock()
	if !dl.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	if err := a.send(ctx, nil, s.id, PPIDCloseWrite, []byte{0}, false); err != nil {
		a.mu.Lock()
		ended := a.ended || a.userClosed
		a.mu.Unlock()
		if !ended {
			return err
		}
	}
	return nil
}

// LocalAddr is the association's local address.
func (s *Stream) LocalAddr() net.Addr { return s.a.localAddr }

// RemoteAddr is the association's remote address.
func (s *Stream) RemoteAddr() net.Addr { return s.a.remoteAddr }

// SetDeadline sets the read and write deadlines.
func (s *Stream) SetDeadline(t time.Time) error {
	s.a.mu.Lock()
	s.rdl, s.wdl = t, t
	s.a.broadcastLocked()
	s.a.mu.Unlock()
	return nil
}

// SetReadDeadline sets the deadline for Read calls, current and future.
func (s *Stream) SetReadDeadline(t time.Time) error {
	s.a.mu.Lock()
	s.rdl = t
	s.a.broadcastLocked()
	s.a.mu.Unlock()
	return nil
}

// SetWriteDeadline sets the deadline for Write calls, current and future.
func (s *Stream) SetWriteDeadline(t time.Time) error {
	s.a.mu.Lock()
	s.wdl = t
	s.a.broadcastLocked()
	s.a.mu.Unlock()
	return nil
}

var _ net.Conn = (*Stream)(nil)
