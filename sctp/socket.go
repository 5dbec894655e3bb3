package sctp

import (
	"cmp"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/chunk"
	"github.com/pgsctp/pgsctp/udpencap"
)

const (
	ioBatch     = 16
	maxDatagram = 9216 // a jumbo frame; larger datagrams are dropped
)

// socket is one UDP socket and the associations it carries. Whoever holds
// its lead (a blocked call, or its background reader: see lead) reads it
// and demultiplexes the datagrams: by verification tag, then by (peer
// address, peer SCTP port, local SCTP port); what matches no association
// goes to the endpoint, which answers INITs (listeners), creates
// associations from valid COOKIE ECHOs and handles out-of-the-blue packets.
//
// A listener's socket may have a second UDP socket on the same port,
// inits, to which the kernel steers the datagrams with a zero
// verification tag (udpencap.ListenSplit), read by a goroutine of its own
// (readInits):
// an INIT flood then fills only that queue, and established associations
// and COOKIE ECHOs go on through conn.
type socket struct {
	// Constant after creation.
	conn    *udpencap.Conn
	inits   *udpencap.Conn // nil: conn receives everything
	cfg     *settings
	log     *slog.Logger
	lingers bool           // a dialer's socket on a port the system picked (Config.ShutdownLinger)
	readers sync.WaitGroup // the background and INIT readers, done once the sockets are closed
	// locals, if set, are the only local addresses this socket serves:
	// a listener on explicit addresses binds the wildcard and ignores
	// datagrams to others. Replaced whole by Listener.SetLocalAddrs.
	locals atomic.Pointer[[]netip.Addr]
	// epLocals is a new address set for ep, applied by the reader.
	epLocals atomic.Pointer[[]netip.Addr]

	// epMu guards ep, used by the socket's readers (the lead's holder
	// and the INIT reader); only a split listener has two, so it is
	// rarely contended.
	epMu sync.Mutex
	ep   *assoc.Endpoint
	// epConfig is a configuration for ep waiting to be applied by a
	// reader (Listener.SetConfig).
	epConfig atomic.Pointer[assoc.Config]

	// lead is the right to read conn, taken by blocked calls and the
	// background reader in turn.
	lead lead

	// batches recycles the buffers associations fill with packets to
	// send (txBatch): one is in use per association being worked on, not
	// one per association. Safe for concurrent use.
	batches   sync.Pool
	batchSize int // packets per batch; 0: ioBatch (tests make it small)

	mu       sync.Mutex // guards the fields below
	byTag    map[uint32]*Association
	byAddr   map[addrKey]*Association
	listener *Listener // nil: new associations are not accepted
	refs     int       // the listener and each live association
	closed   bool
}

type addrKey struct {
	peer                netip.Addr
	peerPort, localPort uint16
}

func newSocket(conn *udpencap.Conn, cfg *settings, ep *assoc.Endpoint) *socket {
	s := &socket{
		conn:   conn,
		cfg:    cfg,
		log:    cfg.log.With("udp", conn.LocalAddr().String()),
		ep:     ep,
		byTag:  make(map[uint32]*Association),
		byAddr: make(map[addrKey]*Association),
	}
	s.lead.init()
	s.lead.rd = newReader()
	return s
}

// release drops one reference; the last one closes the socket, which ends
// its readers.
func (s *socket) release() { s.releaseAfter(0) }

// releaseAfter drops one reference; the last one closes the socket after
// linger (at once if linger <= 0). Meanwhile the socket takes no new
// association, and its reader hands every datagram to the endpoint, which
// answers what comes late (a SHUTDOWN ACK whose SHUTDOWN COMPLETE was
// lost) as out of the blue.
func (s *socket) releaseAfter(linger time.Duration) {
	s.mu.Lock()
	s.refs--
	last := s.refs == 0 && !s.closed
	if last {
		s.closed = true
	}
	s.mu.Unlock()
	switch {
	case !last:
	case linger > 0 && s.lingers:
		time.AfterFunc(linger, s.close)
	default:
		s.close()
	}
}

// close closes the UDP sockets, which ends their readers.
func (s *socket) close() {
	s.conn.Close()
	s.lead.end()
	if s.inits != nil {
		s.inits.Close()
	}
}

// start starts the reader goroutines: conn's background reader (see
// lead) and the INIT socket's.
func (s *socket) start() {
	s.readers.Go(s.background)
	if s.inits != nil {
		s.readers.Go(s.readInits)
	}
}

// register adds the association's demultiplexing keys; the caller holds
// s.mu.
func (s *socket) registerLocked(a *Association, tag uint32, keys []addrKey) {
	s.byTag[tag] = a
	for _, k := range keys {
		s.byAddr[k] = a
	}
}

// unregister removes every key that still points at a.
func (s *socket) unregister(a *Association) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, x := range s.byTag {
		if x == a {
			delete(s.byTag, t)
		}
	}
	for k, x := range s.byAddr {
		if x == a {
			delete(s.byAddr, k)
		}
	}
}

// rekey replaces a's keys (after the peer's addresses or tag changed).
func (s *socket) rekey(a *Association, tag uint32, keys []addrKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, x := range s.byTag {
		if x == a && t != tag {
			delete(s.byTag, t)
		}
	}
	for k, x := range s.byAddr {
		if x == a {
			delete(s.byAddr, k)
		}
	}
	s.registerLocked(a, tag, keys)
}

// readInits is the INIT socket's reader: it reads until the socket is
// closed. It never waits for an association's lock while holding one
// (hold false), so it cannot deadlock with the lead's holder.
func (s *socket) readInits() {
	r := newReader()
	for {
		n, err := s.read(s.inits, &r, time.Time{})
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err == nil {
			s.process(r.msgs[:n], r.ep, false)
		}
	}
}

// process handles one read batch to completion: each datagram's
// association handles it on this goroutine, and with hold a run of
// datagrams for one association shares one lock and one write of the
// replies.
//
// INITs go last: packets of associations that exist and COOKIE ECHOs (a
// handshake nearly done) are worth more than new handshakes, which a
// flood is made of.
func (s *socket) process(msgs []udpencap.Message, ep *epReplies, hold bool) {
	now := time.Now()
	var held *Association
	for pass := range 2 {
		for i := range msgs {
			if isInit(&msgs[i]) == (pass == 1) {
				held = s.dispatch(now, &msgs[i], ep, held)
				if held != nil && !hold {
					held.unlock(now)
					held = nil
				}
			}
		}
	}
	if held != nil {
		held.unlock(now)
	}
	if len(ep.out) > 0 {
		s.write(ep.out)
		ep.out = ep.out[:0]
	}
}

// epReplies collects the endpoint's answers to one read batch.
type epReplies struct {
	out  []udpencap.Message
	bufs [][]byte // out[i] is written into bufs[i], made when first needed
}

// next is the buffer for the next answer. An answer may be as large as
// its packet; a dialer's socket, which rarely answers anything, makes
// none.
func (ep *epReplies) next() []byte {
	i := len(ep.out)
	if ep.bufs[i] == nil {
		ep.bufs[i] = make([]byte, maxDatagram)
	}
	return ep.bufs[i]
}

// isInit reports whether a datagram holds an INIT: its first chunk's type
// (an INIT is never bundled, RFC 9260 6.10).
func isInit(m *udpencap.Message) bool {
	return m.N > chunk.HeaderLen && m.Buf[chunk.HeaderLen] == byte(chunk.TypeInit)
}

// dispatch hands one datagram to its association or to the endpoint.
// held is the association whose coreMu the reader holds (nil: none); it
// returns the one it holds afterwards.
func (s *socket) dispatch(now time.Time, m *udpencap.Message, ep *epReplies, held *Association) *Association {
	pkt := m.Buf[:m.N]
	h, _, err := chunk.ParseHeader(pkt)
	if err != nil {
		return held
	}
	srcPort, dstPort, vtag := h.SrcPort, h.DstPort, h.VerificationTag
	local := s.conn.LocalAddr().Addr()
	if m.Local.IsValid() {
		local = m.Local
		if ls := s.locals.Load(); ls != nil && !slices.Contains(*ls, local) {
			return held
		}
	}
	to := netip.AddrPortFrom(local, s.conn.LocalAddr().Port())
	if c := s.cfg.Capture; c != nil {
		c(now, m.Addr, to, pkt)
	}

	s.mu.Lock()
	a := s.byTag[vtag]
	if a == nil || a.localPort != dstPort || a.peerPort != srcPort {
		a = s.byAddr[addrKey{m.Addr.Addr(), srcPort, dstPort}]
	}
	s.mu.Unlock()
	if a != nil {
		if a != held {
			if held != nil {
				held.unlock(now)
			}
			held = nil
			if !a.lock() {
				return nil // ended meanwhile
			}
			held = a
		}
		a.input(now, m.Addr, to, pkt)
		return held
	}
	if s.ep == nil {
		return held
	}
	s.epMu.Lock()
	if c := s.epConfig.Swap(nil); c != nil {
		s.ep.SetConfig(*c)
	}
	if ls := s.epLocals.Swap(nil); ls != nil {
		s.ep.SetLocalAddrs(*ls)
	}
	reply, ok, na := s.ep.HandlePacket(now, m.Addr, to, pkt, ep.next())
	s.epMu.Unlock()
	if ok {
		ep.out = append(ep.out, udpencap.Message{Buf: reply.Packet, N: len(reply.Packet), Addr: reply.To, Local: reply.From})
	}
	if na != nil {
		s.adopt(now, na, m.Addr, to.Addr())
	}
	return held
}

// adopt takes an association the endpoint created from a COOKIE ECHO.
func (s *socket) adopt(now time.Time, core *assoc.Association, peer netip.AddrPort, local netip.Addr) {
	s.mu.Lock()
	l := s.listener
	if l == nil || s.closed {
		s.mu.Unlock()
		core.Abort(now, "not accepting associations")
		s.flushCore(now, core)
		return
	}
	a := newAssociation(s, core, peer, local, l)
	s.refs++
	s.registerLocked(a, core.LocalTag(), a.keys())
	s.mu.Unlock()
	a.log.Debug("sctp: association from COOKIE ECHO")
	a.start()
}

// flushCore sends what a core that has no goroutine queued (an ABORT).
func (s *socket) flushCore(now time.Time, core *assoc.Association) {
	buf := make([]byte, max(s.cfg.mtu(), 2048))
	for {
		t, ok := core.PollTransmit(now, buf)
		if !ok {
			return
		}
		s.write([]udpencap.Message{{Buf: t.Packet, N: len(t.Packet), Addr: t.To, Local: t.From}})
	}
}

// write sends msgs, skipping any the socket refuses; UDP loses packets
// anyway, and SCTP retransmits.
func (s *socket) write(msgs []udpencap.Message) {
	if c := s.cfg.Capture; c != nil {
		now := time.Now()
		for _, m := range msgs {
			src := s.conn.LocalAddr()
			if m.Local.IsValid() {
				src = netip.AddrPortFrom(m.Local, src.Port())
			}
			c(now, src, m.Addr, m.Buf[:m.N])
		}
	}
	for len(msgs) > 0 {
		n, err := s.conn.WriteBatch(msgs)
		if err == nil || errors.Is(err, net.ErrClosed) {
			return
		}
		// The host refused msgs[n] (no route to a dead link's address,
		// a blackhole route, port 0): the rest may go to paths that work,
		// so only that one is dropped.
		s.log.Debug("sctp: write error", "err", err)
		msgs = msgs[n+1:]
	}
}

// getBatch returns an empty txBatch, from the pool or new.
func (s *socket) getBatch() *txBatch {
	if b, _ := s.batches.Get().(*txBatch); b != nil {
		return b
	}
	n := cmp.Or(s.batchSize, ioBatch)
	b := &txBatch{bufs: make([][]byte, n), out: make([]udpencap.Message, n)}
	size := max(s.cfg.mtu(), 2048)
	for i := range b.bufs {
		b.bufs[i] = make([]byte, size)
	}
	return b
}

// putBatch gives back a batch whose packets have been written.
func (s *socket) putBatch(b *txBatch) { s.batches.Put(b) }
