package sctp

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pgsctp/pgsctp/internal/rawio"
)

// A Stream relayed to a socket costs one goroutine wake-up per message
// with Read when another goroutine reads the socket (another association's
// blocked call, or the background reader: see lead): it queues the bytes
// and wakes the goroutine blocked in Read, which writes them on. CopyTo
// lets whoever reads the socket write them itself, with one non-blocking
// write, whenever nothing is queued ahead of them, as a relay with one
// goroutine per direction does (issue 7: a message should cross no
// goroutine). What the
// socket cannot take at once is queued for the CopyTo goroutine, which
// writes it blocking while later bytes queue behind it; the direct writes
// resume once the queue is empty. So a slow destination delays only its
// own stream, never the socket's reader, which serves every association
// of its socket.

// sink is the destination of a running CopyTo. Guarded by a.mu.
type sink struct {
	rc      syscall.RawConn
	count   *atomic.Int64
	direct  int64 // bytes the socket's reader wrote
	writing bool  // the CopyTo goroutine is writing: no direct write may overtake it

	// The arguments and results of try's write; fn is made once so that
	// a write allocates nothing.
	buf []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

// newSink returns a sink for w, or nil when w is not a socket this system
// can write to without blocking.
func newSink(w io.Writer, count *atomic.Int64) *sink {
	sc, ok := w.(syscall.Conn)
	if !ok || !rawio.CanWrite {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	k := &sink{rc: rc, count: count}
	k.fn = func(fd uintptr) bool {
		k.n, k.err = rawio.TryWrite(fd, k.buf)
		return true // one attempt: never wait for the socket
	}
	return k
}

// try writes what of b the socket takes at once.
func (k *sink) try(b []byte) (int, error) {
	k.buf = b
	err := k.rc.Write(k.fn)
	k.buf = nil
	if err == nil {
		err = k.err
	}
	return max(k.n, 0), err
}

// pushDirectLocked writes data to the stream's sink when nothing is queued
// ahead of it and returns what is left to queue. Caller holds a.mu.
func (s *Stream) pushDirectLocked(data []byte) []byte {
	k := s.sink
	if k == nil || k.writing || len(s.queue) > 0 || s.closed {
		return data
	}
	n, err := k.try(data)
	if n > 0 {
		k.direct += int64(n)
		if k.count != nil {
			k.count.Add(int64(n))
		}
		s.consumed += uint64(n)
		s.grantLocked()
		s.a.released(n)
	}
	if err != nil {
		// The CopyTo goroutine writes the rest and meets the error
		// itself.
		s.sink = nil
	}
	return data[n:]
}

// CopyTo writes the stream's bytes to w until the peer's CloseWrite (it
// then returns nil, as io.Copy does at EOF), an error, or the Stream's
// Close; it returns how many bytes it wrote. count, if not nil, grows by
// every byte as it is written. When w is a socket (a syscall.Conn: a TCP
// or Unix connection), bytes are written to it as they arrive, by the
// goroutine that receives the association's packets, whenever the socket
// takes them at once. Read must not be called while CopyTo runs.
func (s *Stream) CopyTo(w io.Writer, count *atomic.Int64) (int64, error) {
	a := s.a
	k := newSink(w, count)
	var total int64
	a.mu.Lock()
	s.sink = k
	defer func() {
		a.mu.Lock()
		s.sink = nil
		a.mu.Unlock()
	}()
	for {
		if k != nil {
			total += k.direct
			k.direct = 0
		}
		if s.closed {
			a.mu.Unlock()
			return total, a.opError("read", net.ErrClosed)
		}
		if len(s.queue) > 0 {
			q := s.queue[0]
			b := q[s.off:]
			s.popLocked()
			if k != nil {
				k.writing = true
			}
			a.mu.Unlock()
			n, err := w.Write(b)
			if count != nil {
				count.Add(int64(n))
			}
			total += int64(n)
			a.mu.Lock()
			a.recycle(q) // Write keeps no reference (io.Writer)
			if k != nil {
				k.writing = false
			}
			if err != nil {
				s.sink = nil // nothing more is written, directly or not
			}
			s.consumed += uint64(len(b))
			s.grantLocked()
			a.mu.Unlock()
			a.released(len(b))
			a.tryService()
			if err != nil {
				return total, err
			}
			a.mu.Lock()
			continue
		}
		if s.eof {
			a.mu.Unlock()
			return total, nil
		}
		if a.ended || a.userClosed {
			err := a.endErrLocked("read", io.EOF)
			a.mu.Unlock()
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return total, err
		}
		dl := s.rdl
		if !dl.IsZero() && !time.Now().Before(dl) {
			a.mu.Unlock()
			return total, a.opError("read", os.ErrDeadlineExceeded)
		}
		_ = a.waitLocked(context.Background(), dl) // every outcome is re-checked above
	}
}

// WriteTo is CopyTo without a counter, for io.Copy.
func (s *Stream) WriteTo(w io.Writer) (int64, error) { return s.CopyTo(w, nil) }
