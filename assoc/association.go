package assoc

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// Association is one SCTP association's state machine. Not safe for
// concurrent use. All time enters as now.
type Association struct {
	// Constant after construction.
	cfg    Config
	signer *cookieSigner
	log    *slog.Logger

	state               State
	localTag, peerTag   uint32
	localPort, peerPort uint16
	outStreams          uint16 // negotiated; before that, what we asked for
	inStreams           uint16

	paths         []*path
	primary       int       // index in paths of the primary path
	peerPath      *path     // where the peer's latest new DATA came in; see dataPath
	peerPathSince time.Time // when the peer moved to peerPath
	nextPathID    int
	initPath      int          // index in paths of the path the INIT goes to next
	peerAddrs     []netip.Addr // every address the peer presented (INIT, INIT ACK)
	errors        int          // association error counter (section 8.1)

	timers timers

	// Handshake.
	initialTSN  uint32 // our first TSN, repeated in INIT ACKs of a collision
	initRetries int    // T1-init and T1-cookie expiries so far
	cookieEcho  []byte // the State Cookie to echo while COOKIE-ECHOED
	preserve    uint32 // Cookie Preservative to ask for after a stale cookie, ms
	initAckTAT  int64  // rate of INIT ACKs answering INITs (replyInitAck), a GCRA state

	// AUTH (auth.go): our RANDOM, and the association key once both
	// ends offered it.
	ourRandom []byte
	auth      authState
	asconf    asconfState // asconf.go

	// Transmit side; see data_tx.go.
	tx txState

	// Receive side; see data_rx.go.
	rx rxState

	// Control chunks waiting for PollTransmit.
	ready           []outPacket   // complete packets (replies with their own tags or addresses)
	sendCookieEcho  bool          // COOKIE ECHO due
	sendCookieAck   bool          // COOKIE ACK due
	sendShutdown    bool          // SHUTDOWN due
	sendShutdownAck bool          // SHUTDOWN ACK due
	errCauses       []chunk.Cause // to send in one ERROR chunk

	events   []Event
	evHead   int
	msgs     []Message // the Message events, in order; events holds a MessageReady for each
	msgHead  int
	closeErr error
	// answerLate: the last packet was our SHUTDOWN COMPLETE (Closed).
	answerLate bool

	stats Stats
}

// outPacket is a finished packet waiting in the ready queue.
type outPacket struct {
	from netip.Addr
	to   netip.AddrPort
	b    []byte
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defi := func(d *int, v int) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.RTOInitial, time.Second)
	def(&c.RTOMin, time.Second)
	def(&c.RTOMax, 60*time.Second)
	if c.RTOMin > c.RTOMax {
		c.RTOMin = c.RTOMax
	}
	defi(&c.MaxBurst, 4)
	defi(&c.AssocMaxRetrans, 10)
	defi(&c.PathMaxRetrans, 5)
	if c.PFMaxRetrans < 0 || c.PFMaxRetrans > c.PathMaxRetrans {
		c.PFMaxRetrans = c.PathMaxRetrans // RFC 7829: PFMR = PMR turns SCTP-PF off
	}
	c.LocalAddrs = cleanAddrs(c.LocalAddrs)
	defi(&c.MaxInitRetransmits, 8)
	def(&c.HBInterval, 30*time.Second)
	def(&c.ValidCookieLife, 60*time.Second)
	def(&c.DelayedAckTime, 200*time.Millisecond)
	def(&c.ShutdownGuard, 5*c.RTOMax)
	def(&c.CookieSecretRotation, time.Hour)
	if c.OutboundStreams == 0 {
		c.OutboundStreams = 16
	}
	if c.MaxInboundStreams == 0 {
		c.MaxInboundStreams = 65535
	}
	if c.RecvWindow == 0 {
		c.RecvWindow = 1 << 20
	}
	if c.RecvWindow < 1500 {
		// RFC 9260 section 6: "the advertised receiver window credit ...
		// SHOULD be at least 1500 bytes".
		c.RecvWindow = 1500
	}
	defi(&c.SendBuffer, 1<<20)
	defi(&c.MTU, 1200)
	c.MTU = max(c.MTU, 508) // room for headers and a useful DATA chunk
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	return c
}

func newAssociation(cfg Config, signer *cookieSigner) *Association {
	a := &Association{cfg: cfg, signer: signer, log: cfg.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.cfg.Buffers == nil {
		// One of its own: an association runs on one goroutine at a time.
		a.cfg.Buffers = &smallCopies{}
	}
	return a
}

// cleanAddrs returns addrs unmapped, without invalid and unspecified
// addresses and duplicates, in a slice of its own.
func cleanAddrs(addrs []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, ip := range addrs {
		ip = ip.Unmap()
		if ip.IsValid() && !ip.IsUnspecified() && !slices.Contains(out, ip) {
			out = append(out, ip)
		}
	}
	return out
}

// NewClient starts an association towards a peer reachable at any of
// peers (IP addresses with their UDP encapsulation ports; peerPort is its
// SCTP port): the INIT is queued for PollTransmit, to the first address,
// and T1-init is armed; each retransmission tries the next address.
func NewClient(now time.Time, cfg Config, peers []netip.AddrPort, peerPort uint16) (*Association, error) {
	cfg = cfg.withDefaults()
	if len(peers) == 0 {
		return nil, errors.New("sctp: no peer address")
	}
	for _, peer := range peers {
		if !peer.IsValid() || peer.Port() == 0 {
			return nil, fmt.Errorf("sctp: invalid peer address %v", peer)
		}
	}
	if peerPort == 0 {
		return nil, errors.New("sctp: peer SCTP port 0")
	}
	signer, err := newSigner(cfg)
	if err != nil {
		return nil, err
	}
	a := newAssociation(cfg, signer)
	a.peerPort = peerPort
	a.localPort = cfg.LocalPort
	if a.localPort == 0 {
		// An ephemeral SCTP port from the dynamic range (RFC 6335).
		a.localPort = 49152 + uint16(a.rand32()%16384)
	}
	a.localTag = a.nonzeroRand32()
	a.initialTSN = a.rand32()
	if !cfg.NoASCONF {
		a.ourRandom = authRandom(cfg.Rand)
	}
	a.tx.init(a.initialTSN, cfg.OutboundStreams, a.cfg.Buffers)
	a.outStreams = cfg.OutboundStreams
	for _, peer := range peers[:min(len(peers), maxPaths)] {
		if a.pathFor(peer.Addr(), netip.Addr{}) == nil {
			// Section 5.4: addresses the upper layer gave are confirmed.
			a.paths = append(a.paths, a.newPath(peer, netip.Addr{}, PathActive, now))
		}
	}
	a.state = StateCookieWait
	a.sendInit(now)
	return a, nil
}

func newSigner(cfg Config) (*cookieSigner, error) {
	s := &cookieSigner{rotation: cfg.CookieSecretRotation}
	if _, err := io.ReadFull(cfg.Rand, s.master[:]); err != nil {
		return nil, fmt.Errorf("sctp: cookie secret: %w", err)
	}
	return s, nil
}

func (a *Association) rand32() uint32        { return rand32(a.cfg.Rand) }
func (a *Association) nonzeroRand32() uint32 { return nonzeroRand32(a.cfg.Rand) }

func rand32(r io.Reader) uint32 {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		// A broken entropy source must not yield predictable tags.
		panic(fmt.Sprintf("sctp: random source failed: %v", err))
	}
	return binary.BigEndian.Uint32(b[:])
}

// nonzeroRand32 is a random verification tag: zero is reserved for INIT.
func nonzeroRand32(r io.Reader) uint32 {
	for {
		if v := rand32(r); v != 0 {
			return v
		}
	}
}

// HandlePacket processes one received SCTP packet (the UDP payload).
// from is the peer's IP address and UDP port, to the local one. pkt is not
// retained: the caller may reuse it as soon as HandlePacket returns.
func (a *Association) HandlePacket(now time.Time, from, to netip.AddrPort, pkt []byte) {
	if a.state == StateClosed {
		return
	}
	h, chunks, err := chunk.ParseHeader(pkt)
	if err != nil || !chunk.VerifyChecksum(pkt) {
		// Section 6.8: "If the calculated checksum value does not match
		// the received checksum, the receiver MUST drop the packet".
		return
	}
	if h.SrcPort != a.peerPort || h.DstPort != a.localPort {
		return
	}
	r := chunk.NewReader(chunks)
	if !r.Next() {
		return
	}
	first := r.Chunk()
	// Verification tag rules, section 8.5 and the exceptions of 8.5.1.
	switch first.Type {
	case chunk.TypeInit:
		// 8.5.1 (A): the INIT's packet carries tag 0, and an INIT is never
		// bundled (section 6.10).
		if h.VerificationTag != 0 || r.Next() {
			return
		}
		// Counted, as the RFC has us answer it (5.2.1, 5.2.2), but no
		// Max.Burst allowance: an INIT carries no tag, anyone may send
		// it, and it acknowledges nothing.
		a.stats.PacketsReceived++
		a.handleInit(now, from, to, first)
		return
	case chunk.TypeAbort, chunk.TypeShutdownComplete:
		// 8.5.1 (B), (C): our tag with T clear, or the peer's with T set.
		want := a.localTag
		if first.Flags&1 != 0 {
			want = a.peerTag
		}
		if h.VerificationTag != want {
			return
		}
	case chunk.TypeCookieEcho:
		// 5.2.4: the tag is checked against the cookie, which may belong
		// to a restarted association; handleCookieEcho counts the packet
		// as input once the cookie proves to be ours.
	default:
		if h.VerificationTag != a.localTag {
			return
		}
	}
	if first.Type != chunk.TypeCookieEcho {
		a.accepted()
	}
	p := a.pathFor(from.Addr(), to.Addr())
	if p != nil && h.VerificationTag == a.localTag {
		// RFC 6951 section 5.4: "After finding the SCTP association (which
		// includes checking the verification tag), the UDP source port
		// MUST be stored as the encapsulation port for the destination
		// address the SCTP packet is received from".
		a.learnPort(from)
		p.lastHeard = now
	}
	a.rx.beginPacket(p)
	verdict := authNone
	for {
		c := r.Chunk()
		switch {
		case c.Type == chunk.TypeAuth:
			// RFC 4895 section 6.3: the AUTH is checked over the rest of
			// the packet before any chunk after it is acted on.
			verdict = a.checkAuth(c, r.FromChunk())
		case a.auth.on && (c.Type == chunk.TypeAsconf || c.Type == chunk.TypeAsconfAck) && verdict != authGood:
			// Chunks we listed in CHUNKS count only when authenticated:
			// "the receiver MUST silently discard these chunks" otherwise.
			a.stats.AuthDropped++
		default:
			if a.handleChunk(now, h, p, from, to, c) {
				verdict = authBad // stop: the rest of the packet is ignored
			}
		}
		if verdict == authBad || a.state == StateClosed || !r.Next() {
			break
		}
	}
	a.rx.endPacket(a, now, p)
}

// accepted counts a packet that passed the verification tag rules (or
// carried a cookie we signed) and opens a new Max.Burst allowance for it.
// Only such packets are input: a packet an off-path attacker forged must
// change nothing, not even a counter or the burst allowance (RFC 9260
// section 8.5: the receiver "MUST silently discard the packet and MUST NOT
// process it any further"); otherwise every forged packet would release
// another Max.Burst packets of data (assoctest's TestBlindInjection).
func (a *Association) accepted() {
	a.stats.PacketsReceived++
	a.inputDone()
}

// handleChunk dispatches one chunk; it returns true when the rest of the
// packet must be ignored.
func (a *Association) handleChunk(now time.Time, h chunk.Header, p *path, from, to netip.AddrPort, c chunk.Raw) (stop bool) {
	switch c.Type {
	case chunk.TypeData:
		return a.handleData(now, c)
	case chunk.TypeSack:
		a.handleSack(now, c)
	case chunk.TypeHeartbeat:
		a.handleHeartbeat(from, to, c)
	case chunk.TypeHeartbeatAck:
		a.handleHeartbeatAck(now, c)
	case chunk.TypeInit:
		// Section 6.10: "An INIT chunk MUST NOT be bundled with any other
		// chunk"; a packet that does is discarded.
		return true
	case chunk.TypeInitAck:
		return a.handleInitAck(now, h, from, to, c)
	case chunk.TypeCookieEcho:
		return a.handleCookieEcho(now, h, from, to, c)
	case chunk.TypeCookieAck:
		a.handleCookieAck(now)
	case chunk.TypeAbort:
		a.handleAbort(c)
		return true
	case chunk.TypeShutdown:
		a.handleShutdown(now, c)
	case chunk.TypeShutdownAck:
		a.handleShutdownAck(now, h, from, to)
	case chunk.TypeShutdownComplete:
		a.handleShutdownComplete()
		return true
	case chunk.TypeError:
		a.handleError(now, c)
	case chunk.TypeAsconf, chunk.TypeAsconfAck:
		if !a.auth.on {
			// Not negotiated: an unrecognised chunk, by its high bits.
			return a.unknownChunk(c)
		}
		if a.state != StateEstablished && a.state != StateShutdownPending && a.state != StateShutdownReceived && a.state != StateShutdownSent {
			return false
		}
		if c.Type == chunk.TypeAsconf {
			a.handleAsconf(now, from, to, c)
		} else {
			a.handleAsconfAck(now, c)
		}
	default:
		return a.unknownChunk(c)
	}
	return false
}

// unknownChunk handles a chunk we do not process. Section 3.2: the upper
// two bits of an unrecognised type say whether to stop or skip, and
// whether to report it.
func (a *Association) unknownChunk(c chunk.Raw) (stop bool) {
	act := c.Type.Action()
	if act.Report() {
		a.errCauses = append(a.errCauses, &chunk.UnrecognizedChunkTypeCause{Chunk: clone(c.Bytes)})
	}
	return act.Stop()
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// Send queues one user message on stream sid. msg is copied.
func (a *Association) Send(now time.Time, sid uint16, ppid uint32, msg []byte, o SendOptions) error {
	a.inputDone()
	switch a.state {
	case StateClosed:
		return ErrClosed
	case StateShutdownPending, StateShutdownSent, StateShutdownReceived, StateShutdownAckSent:
		return ErrShuttingDown
	}
	if len(msg) == 0 {
		// Section 6.2: a DATA chunk without user data is a protocol
		// violation, so an empty message cannot be sent.
		return ErrEmptyMessage
	}
	if sid >= a.outStreams {
		return ErrInvalidStream
	}
	if len(msg) > a.cfg.SendBuffer {
		return ErrMessageTooBig
	}
	if a.tx.buffered > 0 && a.tx.buffered+len(msg) > a.cfg.SendBuffer {
		a.tx.wantWritable = true
		return ErrWouldBlock
	}
	a.tx.enqueue(sid, ppid, msg, o.Unordered)
	return nil
}

// Release returns n bytes of delivered Message data to the receive window.
func (a *Association) Release(n int) {
	a.inputDone()
	a.rx.release(a, n)
}

// Shutdown starts a graceful shutdown (RFC 9260 section 9.2): queued data
// is still delivered, then SHUTDOWN is sent.
func (a *Association) Shutdown(now time.Time) {
	switch a.state {
	case StateCookieWait:
		a.close(ErrClosed)
	case StateCookieEchoed:
		a.Abort(now, "shutdown before the association was established")
	case StateEstablished:
		// Section 9.2: "Upon receipt of the SHUTDOWN primitive from its
		// upper layer, the endpoint enters the SHUTDOWN-PENDING state and
		// remains there until all outstanding data has been acknowledged
		// by its peer."
		a.state = StateShutdownPending
		a.shutdownProgress(now)
	}
}

// Abort ends the association at once with an ABORT carrying a User-Initiated
// Abort cause with reason.
func (a *Association) Abort(now time.Time, reason string) {
	if a.state == StateClosed {
		return
	}
	if a.state != StateCookieWait {
		a.queueAbort(&chunk.UserInitiatedAbortCause{Reason: []byte(reason)})
	}
	a.close(fmt.Errorf("%w locally: %s", ErrAborted, reason))
}

// abortWith sends an ABORT with cause (if any) and closes with err.
func (a *Association) abortWith(now time.Time, err error, why string, cause chunk.Cause) {
	if a.state == StateClosed {
		return
	}
	if a.state != StateCookieWait {
		a.queueAbort(cause)
	}
	a.log.Debug("sctp: aborting association", "why", why)
	a.close(fmt.Errorf("%w: %s", err, why))
}

func (a *Association) queueAbort(cause chunk.Cause) {
	ab := &chunk.AbortChunk{}
	if cause != nil {
		ab.Causes = []chunk.Cause{cause}
	}
	a.queuePacket(a.dataPath(), a.peerTag, ab)
}

// queuePacket builds a packet of the given chunks with tag vtag for path
// p and puts it in the ready queue.
func (a *Association) queuePacket(p *path, vtag uint32, chunks ...chunk.Chunk) {
	a.queuePacketTo(p.local, p.addr, vtag, chunks...)
}

func (a *Association) queuePacketTo(from netip.Addr, to netip.AddrPort, vtag uint32, chunks ...chunk.Chunk) {
	b := chunk.AppendHeader(make([]byte, 0, 128), chunk.Header{SrcPort: a.localPort, DstPort: a.peerPort, VerificationTag: vtag})
	for _, c := range chunks {
		b = c.Append(b)
	}
	b = a.sealAuth(b)
	chunk.SetChecksum(b)
	a.ready = append(a.ready, outPacket{from: from, to: to, b: b})
}

// close enters CLOSED and reports why. Data never acknowledged is reported
// as SendFailed, per stream.
func (a *Association) close(err error) {
	if a.state == StateClosed {
		return
	}
	a.state = StateClosed
	a.closeErr = err
	a.timers = timers{}
	for _, p := range a.paths {
		p.t3, p.hbDeadline, p.plp.deadline = time.Time{}, time.Time{}, time.Time{}
		p.flight, p.probe = 0, nil // the outstanding chunks go with tx.clear
	}
	a.failUnsent()
	a.tx.clear()
	a.pushEvent(Closed{Err: err, AnswerLate: a.answerLate})
}

// failUnsent reports, per stream, the data the peer never acknowledged.
func (a *Association) failUnsent() {
	for sid, n := range a.tx.unsentByStream() {
		a.pushEvent(SendFailed{StreamID: sid, Bytes: n})
	}
}

func (a *Association) pushEvent(e Event) { a.events = append(a.events, e) }

// pushMessage queues a Message event without boxing it in an Event, which
// would cost an allocation per message: the event queue holds a
// MessageReady (no fields, so no allocation) in its place.
func (a *Association) pushMessage(m Message) {
	a.msgs = append(a.msgs, m)
	a.pushEvent(MessageReady{})
}

// PollEvent returns the next event, if any.
func (a *Association) PollEvent() (Event, bool) {
	var m Message
	e, ok := a.PollEventTo(&m)
	if _, msg := e.(MessageReady); msg {
		return m, true
	}
	return e, ok
}

// PollEventTo is PollEvent without an allocation per message: when the
// next event is a Message it writes it to *m and returns MessageReady.
func (a *Association) PollEventTo(m *Message) (Event, bool) {
	if a.evHead == len(a.events) {
		return nil, false
	}
	e := a.events[a.evHead]
	a.events[a.evHead] = nil
	a.evHead++
	if a.evHead == len(a.events) {
		a.events, a.evHead = a.events[:0], 0
	}
	if _, msg := e.(MessageReady); msg {
		*m = a.msgs[a.msgHead]
		a.msgs[a.msgHead] = Message{}
		a.msgHead++
		if a.msgHead == len(a.msgs) {
			a.msgs, a.msgHead = a.msgs[:0], 0
		}
	}
	return e, true
}

// State is the association's state.
func (a *Association) State() State { return a.state }

// LocalTag is this end's verification tag: packets for this association
// carry it (except INIT, and T-bit ABORT and SHUTDOWN COMPLETE, which carry
// PeerTag). It changes when the peer restarts the association.
func (a *Association) LocalTag() uint32 { return a.localTag }

// PeerTag is the peer's verification tag.
func (a *Association) PeerTag() uint32 { return a.peerTag }

// LocalPort is this end's SCTP port.
func (a *Association) LocalPort() uint16 { return a.localPort }

// PeerPort is the peer's SCTP port.
func (a *Association) PeerPort() uint16 { return a.peerPort }

// PeerAddrs lists the peer's transport addresses (IP and UDP port) that
// paths lead to, each once.
func (a *Association) PeerAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, p := range a.paths {
		if !slices.Contains(out, p.addr) {
			out = append(out, p.addr)
		}
	}
	return out
}

// PeerAddresses lists every IP address the peer presented when the
// association was set up: the source of its INIT (or INIT ACK) and the
// addresses it listed. Access control checks all of them; paths are made
// only to addresses pgsctp has reason to use.
func (a *Association) PeerAddresses() []netip.Addr { return slices.Clone(a.peerAddrs) }

// Buffered is the number of user bytes queued or in flight, not yet
// acknowledged by the peer.
func (a *Association) Buffered() int { return a.tx.buffered }

// Err is why the association closed: nil while open and after a graceful
// shutdown.
func (a *Association) Err() error { return a.closeErr }

// Stats returns a snapshot of counters and per-path state.
func (a *Association) Stats() Stats {
	s := a.stats
	s.State = a.state
	s.LocalTag, s.PeerTag = a.localTag, a.peerTag
	s.PeerRecvWindow = a.tx.peerRwnd
	s.Paths = make([]PathStats, len(a.paths))
	var data *path
	if len(a.paths) > 0 {
		data = a.dataPath()
	}
	for i, p := range a.paths {
		s.Paths[i] = PathStats{
			ID: p.id, Local: p.local, Addr: p.addr, State: p.state, Heard: p.lastHeard,
			Active: p.state == PathActive, Primary: i == a.primary, Data: p == data,
			SRTT: p.srtt, RTO: p.rto, Cwnd: p.cwnd, Ssthresh: p.ssthresh,
			Flight: p.flight, Errors: p.errors, MTU: p.mtu,
		}
	}
	return s
}

// Streams returns the negotiated stream counts: how many streams this end
// may send on and how many the peer may.
func (a *Association) Streams() (outbound, inbound uint16) { return a.outStreams, a.inStreams }

// UpdateTimers applies the protocol settings of c that may change while
// an association runs (a configuration reload): RTO.Initial, RTO.Min and
// RTO.Max (each path's RTO is brought within the new bounds), Max.Burst,
// Association.Max.Retrans, Path.Max.Retrans, PotentiallyFailed.Max.Retrans,
// HB.interval (from each path's next heartbeat on) and the SACK delay.
// Everything negotiated or sized at the handshake (streams, windows, MTU,
// addresses, AUTH) stays.
func (a *Association) UpdateTimers(c Config) {
	c = c.withDefaults()
	a.cfg.RTOInitial, a.cfg.RTOMin, a.cfg.RTOMax = c.RTOInitial, c.RTOMin, c.RTOMax
	a.cfg.MaxBurst = c.MaxBurst
	a.cfg.AssocMaxRetrans, a.cfg.PathMaxRetrans, a.cfg.PFMaxRetrans = c.AssocMaxRetrans, c.PathMaxRetrans, c.PFMaxRetrans
	a.cfg.HBInterval = c.HBInterval
	a.cfg.DelayedAckTime = c.DelayedAckTime
	for _, p := range a.paths {
		p.rto = a.clampRTO(p.rto)
	}
}
