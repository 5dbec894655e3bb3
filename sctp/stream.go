package sctp

import (
	"context"
	"io"
	"net"
	"os"
	"time"
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
}

// ID is the stream identifier.
func (s *Stream) ID() uint16 { return s.id }

// Association is the association the stream belongs to.
func (s *Stream) Association() *Association { return s.a }

// pushLocked adds a received message; caller holds a.mu.
func (s *Stream) pushLocked(ppid uint32, data []byte) {
	if s.closed || s.eof {
		// Nobody will read it: give the window back now.
		s.a.released(len(data))
		return
	}
	if ppid == PPIDCloseWrite {
		s.eof = true
		s.a.released(len(data))
		return
	}
	s.queue = append(s.queue, data)
}

// dropLocked discards what was received and not read; caller holds a.mu.
func (s *Stream) dropLocked() {
	n := -s.off
	for _, b := range s.queue {
		n += len(b)
	}
	s.queue, s.off = nil, 0
	s.closed, s.wclosed = true, true
	s.a.released(n)
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
				if s.off == len(s.queue[0]) {
					s.queue[0] = nil
					s.queue = s.queue[1:]
					s.off = 0
				}
			}
			a.mu.Unlock()
			a.released(n)
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
		ch := a.changed
		a.mu.Unlock()
		_ = a.wait(context.Background(), ch, dl) // every outcome is re-checked above
		a.mu.Lock()
	}
}

// Write sends p, blocking while the send buffer is full. It returns how
// many bytes were queued for sending; on error, the bytes of whole
// messages before it were.
func (s *Stream) Write(p []byte) (int, error) {
	a := s.a
	a.mu.Lock()
	closed, wclosed := s.closed, s.wclosed
	a.mu.Unlock()
	if closed || wclosed {
		return 0, a.opError("write", net.ErrClosed)
	}
	n := 0
	for n < len(p) {
		m := p[n:min(len(p), n+a.cfg.MaxWriteMessage)]
		if err := a.send(context.Background(), s, s.id, PPIDStream, m, false); err != nil {
			return n, err
		}
		n += len(m)
	}
	return n, nil
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
	s.dropLocked()
	a.broadcastLocked()
	a.mu.Unlock()
	if !sendEOF {
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
