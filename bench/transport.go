package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/pgsctp/pgsctp/sctp"
)

// PPIDs of the bench protocol's messages over SCTP. They are private to
// the bench ("pgbc", "pgbd"): nothing else on an association uses them.
const (
	PPIDControl uint32 = 0x7067_6263
	PPIDData    uint32 = 0x7067_6264
)

// Kinds of message in the TCP framing.
const (
	tcpKindControl = 1
	tcpKindData    = 2
	tcpHeaderLen   = 7
)

// maxControl bounds a control message: they are a few hundred bytes of
// JSON, and a larger one means the peer does not speak this protocol.
const maxControl = 64 << 10

// message is one received message. data is valid until the next recv on
// the same conn.
type message struct {
	stream  uint16
	control bool
	data    []byte
}

// conn is the bench protocol's view of a transport: messages with a stream
// and a kind. One goroutine uses a conn at a time.
type conn interface {
	send(ctx context.Context, stream uint16, control bool, p []byte) error
	recv(ctx context.Context) (message, error)
	// stats are the transport's counters so far.
	stats() transportStats
	// finish closes gracefully: for SCTP a SHUTDOWN exchange, for TCP a
	// FIN after everything written.
	finish(ctx context.Context) error
	// abort closes at once.
	abort()
	remote() string
}

// transportStats are a transport's counters: retransmitted data, smoothed
// round-trip time (zero if unknown) and packets.
type transportStats struct {
	retransmissions              uint64
	t3Expiries, fastRetransmits  uint64
	srtt                         time.Duration
	packetsSent, packetsReceived uint64
}

// sctpConn carries the protocol over an association's message API.
type sctpConn struct {
	a    *sctp.Association
	last []byte // the last message's data, recycled at the next recv
}

func (c *sctpConn) send(ctx context.Context, stream uint16, control bool, p []byte) error {
	ppid := PPIDData
	if control {
		ppid = PPIDControl
	}
	return c.a.SendMessage(ctx, stream, ppid, p, false)
}

func (c *sctpConn) recv(ctx context.Context) (message, error) {
	if c.last != nil {
		// A message's data is valid until the next recv: give it back,
		// as the TCP framing reuses its buffer.
		c.a.Recycle(c.last)
		c.last = nil
	}
	m, err := c.a.ReceiveMessage(ctx)
	if err != nil {
		return message{}, err
	}
	c.last = m.Data
	switch m.PPID {
	case PPIDControl:
		if len(m.Data) > maxControl {
			return message{}, fmt.Errorf("bench: control message of %d bytes", len(m.Data))
		}
		return message{stream: m.StreamID, control: true, data: m.Data}, nil
	case PPIDData:
		return message{stream: m.StreamID, data: m.Data}, nil
	}
	return message{}, fmt.Errorf("bench: message with PPID %#x on stream %d is not part of the bench protocol", m.PPID, m.StreamID)
}

func (c *sctpConn) stats() transportStats {
	st := c.a.Stats()
	s := transportStats{
		retransmissions: st.Retransmissions,
		t3Expiries:      st.T3Expiries,
		fastRetransmits: st.FastRetransmits,
		packetsSent:     st.PacketsSent,
		packetsReceived: st.PacketsReceived,
	}
	for _, p := range st.Paths {
		if p.Primary {
			s.srtt = p.SRTT
		}
	}
	return s
}

func (c *sctpConn) finish(ctx context.Context) error {
	if err := c.a.Shutdown(ctx); err != nil {
		c.a.Abort("bench: shutdown failed")
		return fmt.Errorf("bench: shutdown: %w", err)
	}
	return nil
}

func (c *sctpConn) abort()         { c.a.Abort("bench: session over") }
func (c *sctpConn) remote() string { return c.a.RemoteAddr().String() }

// tcpConn carries the protocol over a TCP connection with a 7-byte header
// per message. Writes go out as one writev of header and payload, so TCP
// and SCTP both get one system call per message from this code.
type tcpConn struct {
	c    *net.TCPConn
	r    *bufio.Reader
	rbuf []byte // reused for received payloads
	hdr  [tcpHeaderLen]byte
	bufs net.Buffers
	// A TCP socket takes no context: a deadline in the past unblocks
	// whatever waits when the context ends. The session's context is
	// watched once (no cost per message); calls with another context
	// (a timeout for a control message) watch theirs for the call.
	session context.Context
	stop    func() bool
}

func newTCPConn(ctx context.Context, c *net.TCPConn) *tcpConn {
	t := &tcpConn{c: c, r: bufio.NewReaderSize(c, 256<<10), session: ctx}
	t.stop = context.AfterFunc(ctx, t.unblock)
	return t
}

func (t *tcpConn) unblock() { t.c.SetDeadline(time.Unix(1, 0)) }

// watch makes ctx unblock the conn if it is not the session's context; the
// caller calls the returned func when done.
func (t *tcpConn) watch(ctx context.Context) func() bool {
	if ctx == t.session {
		return func() bool { return true }
	}
	return context.AfterFunc(ctx, t.unblock)
}

func (t *tcpConn) send(ctx context.Context, stream uint16, control bool, p []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	defer t.watch(ctx)()
	t.hdr[0] = tcpKindData
	if control {
		t.hdr[0] = tcpKindControl
	}
	binary.BigEndian.PutUint16(t.hdr[1:3], stream)
	binary.BigEndian.PutUint32(t.hdr[3:7], uint32(len(p)))
	t.bufs = append(t.bufs[:0], t.hdr[:], p)
	bufs := t.bufs // WriteTo consumes its receiver
	_, err := bufs.WriteTo(t.c)
	return t.ctxErr(ctx, err)
}

func (t *tcpConn) recv(ctx context.Context) (message, error) {
	if err := ctx.Err(); err != nil {
		return message{}, err
	}
	defer t.watch(ctx)()
	var hdr [tcpHeaderLen]byte
	if _, err := io.ReadFull(t.r, hdr[:]); err != nil {
		return message{}, t.ctxErr(ctx, err)
	}
	m := message{stream: binary.BigEndian.Uint16(hdr[1:3])}
	n := binary.BigEndian.Uint32(hdr[3:7])
	switch hdr[0] {
	case tcpKindControl:
		m.control = true
		if n > maxControl {
			return message{}, fmt.Errorf("bench: control message of %d bytes", n)
		}
	case tcpKindData:
		if n > MaxSize {
			return message{}, fmt.Errorf("bench: data message of %d bytes exceeds %d", n, MaxSize)
		}
	default:
		return message{}, fmt.Errorf("bench: message kind %d is not part of the bench protocol", hdr[0])
	}
	if cap(t.rbuf) < int(n) {
		t.rbuf = make([]byte, n)
	}
	m.data = t.rbuf[:n]
	if _, err := io.ReadFull(t.r, m.data); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return message{}, t.ctxErr(ctx, err)
	}
	return m, nil
}

// ctxErr reports the context's error rather than the deadline it caused.
func (t *tcpConn) ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (t *tcpConn) stats() transportStats { return tcpInfo(t.c) }

func (t *tcpConn) finish(ctx context.Context) error {
	defer t.abort()
	if err := t.c.CloseWrite(); err != nil {
		return fmt.Errorf("bench: close write: %w", err)
	}
	// Wait for the peer's FIN so that the close is mutual, as SCTP's
	// SHUTDOWN exchange is.
	if d, ok := ctx.Deadline(); ok {
		t.c.SetReadDeadline(d)
	}
	if _, err := io.Copy(io.Discard, t.r); err != nil && !errors.Is(err, net.ErrClosed) {
		return t.ctxErr(ctx, fmt.Errorf("bench: waiting for the peer's close: %w", err))
	}
	return nil
}

func (t *tcpConn) abort() {
	t.stop()
	t.c.Close()
}

func (t *tcpConn) remote() string { return t.c.RemoteAddr().String() }
