package assoctest

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/chunk"
)

// Event is an event with the virtual time it was polled and the
// generation of the association that reported it (1 for the first
// association of a Peer, incremented by Connect and by each association an
// endpoint accepts).
type Event struct {
	At  time.Time
	Gen int
	assoc.Event
}

// Peer is one end of a Pair: its endpoint, its current association, what
// it received and what happened to it.
type Peer struct {
	Name   string         // "A" or "Z"
	Addr   netip.AddrPort // first IP address and the UDP encapsulation port
	Addrs  []netip.Addr   // every IP address (Options.AAddrs, ZAddrs)
	Config assoc.Config   // as given to the core (after the Pair's defaults)

	// Assoc is the current association: nil on a server before a COOKIE
	// ECHO was accepted. Packets go to it while it is not CLOSED, and to
	// Endpoint otherwise.
	Assoc    *assoc.Association
	Endpoint *assoc.Endpoint

	// Events are all events polled, in order; Messages the Message events.
	Events   []Event
	Messages []assoc.Message

	// AutoRelease releases each message's bytes to the receive window as
	// soon as it is polled, like an application that reads promptly.
	AutoRelease bool

	// SendErrors collects errors (other than ErrWouldBlock) met while
	// sending the Enqueue backlog; those messages are dropped.
	SendErrors []error

	p    *Pair
	peer *Peer
	out  *Link
	buf  []byte
	gen  int
	res  resolved

	unreleased int
	received   int
	recv       map[uint16][]byte
	backlog    []pending
	traces     map[*assoc.Association]*trace
	connected  map[int]assoc.Connected // first Connected of each generation
	closed     map[int]assoc.Closed    // Closed of each generation
}

type pending struct {
	sid  uint16
	ppid uint32
	msg  []byte
	o    assoc.SendOptions
}

// resolved are the Config values the invariants need, defaults applied.
type resolved struct {
	mtu, sendBuffer int
	rtoMin, rtoMax  time.Duration
}

func newPeer(p *Pair, name string, addr netip.AddrPort, cfg assoc.Config, out *Link) *Peer {
	r := resolved{mtu: cfg.MTU, sendBuffer: cfg.SendBuffer, rtoMin: cfg.RTOMin, rtoMax: cfg.RTOMax}
	if r.mtu == 0 {
		r.mtu = 1200
	}
	// With path MTU discovery a packet may be as large as the search
	// goes (wireCheck); rule B takes each path's own PLPMTU.
	r.mtu = max(r.mtu, cfg.MaxMTU)
	if r.sendBuffer == 0 {
		r.sendBuffer = 1 << 20
	}
	if r.rtoMin == 0 {
		r.rtoMin = time.Second
	}
	if r.rtoMax == 0 {
		r.rtoMax = 60 * time.Second
	}
	return &Peer{
		Name: name, Addr: addr, Config: cfg, p: p, out: out, res: r,
		buf:       make([]byte, 1<<16),
		recv:      make(map[uint16][]byte),
		traces:    make(map[*assoc.Association]*trace),
		connected: make(map[int]assoc.Connected),
		closed:    make(map[int]assoc.Closed),
	}
}

// Gen is the generation of the current association (0: none yet).
func (s *Peer) Gen() int { return s.gen }

func (s *Peer) setAssoc(a *assoc.Association, why string) {
	s.Assoc = a
	s.gen++
	s.unreleased = 0
	s.traces[a] = &trace{gen: s.gen}
	s.p.Note("%s: association %d (%s)", s.Name, s.gen, why)
}

// Connect starts a new client association towards the other end (a
// restart if one exists: the old association is forgotten, as after a
// crash), with the INIT waiting in PollTransmit.
func (s *Peer) Connect() {
	s.p.TB.Helper()
	now := s.p.Now()
	var a *assoc.Association
	var err error
	s.p.guard(s.Name+": NewClient", func() {
		a, err = assoc.NewClient(now, s.Config, []netip.AddrPort{s.peer.Addr}, s.peer.Config.LocalPort)
	})
	if err != nil {
		s.p.Fatalf("assoctest: %s: NewClient: %v", s.Name, err)
	}
	s.setAssoc(a, "NewClient")
	s.check("NewClient")
}

// Crash forgets the current association without a word on the wire, as
// a process that died would: later packets for it reach the Endpoint,
// which sees them as out of the blue. The endpoint keeps its cookie
// secret; replace Endpoint for a fresh one.
func (s *Peer) Crash() {
	s.p.Note("%s: crash (association %d forgotten)", s.Name, s.gen)
	s.Assoc = nil
	s.gen++
	s.unreleased = 0
	s.backlog = nil
}

// State is the current association's state (CLOSED if there is none).
func (s *Peer) State() assoc.State {
	if s.Assoc == nil {
		return assoc.StateClosed
	}
	return s.Assoc.State()
}

// Stats is the current association's Stats (zero if there is none).
func (s *Peer) Stats() assoc.Stats {
	if s.Assoc == nil {
		return assoc.Stats{}
	}
	var st assoc.Stats
	s.p.guard(s.Name+".Stats", func() { st = s.Assoc.Stats() })
	return st
}

// Send hands one message to the current association now. The harness
// passes a copy and overwrites it after the call: the core must copy.
func (s *Peer) Send(sid uint16, ppid uint32, msg []byte, o assoc.SendOptions) error {
	if s.Assoc == nil {
		return assoc.ErrNotEstablished
	}
	cp := append([]byte(nil), msg...)
	var err error
	a := s.Assoc
	s.p.guard(s.Name+".Send", func() { err = a.Send(s.p.Now(), sid, ppid, cp, o) })
	scribble(cp)
	s.check("Send")
	return err
}

// Enqueue queues a message in the harness, sent as soon as the
// association takes it (retried after ErrWouldBlock and before the
// association is established), like an application blocked in write.
func (s *Peer) Enqueue(sid uint16, ppid uint32, msg []byte, o assoc.SendOptions) {
	s.backlog = append(s.backlog, pending{sid, ppid, msg, o})
}

// Backlog is the number of enqueued messages the association has not yet
// taken.
func (s *Peer) Backlog() int { return len(s.backlog) }

func (s *Peer) flushBacklog() {
	for len(s.backlog) > 0 && s.Assoc != nil {
		st := s.Assoc.State()
		if st == assoc.StateCookieWait || st == assoc.StateCookieEchoed {
			return
		}
		m := s.backlog[0]
		err := s.Send(m.sid, m.ppid, m.msg, m.o)
		if errors.Is(err, assoc.ErrWouldBlock) {
			return
		}
		if err != nil {
			s.SendErrors = append(s.SendErrors, fmt.Errorf("send %d bytes on stream %d: %w", len(m.msg), m.sid, err))
		}
		s.backlog = s.backlog[1:]
	}
}

// Shutdown starts a graceful shutdown of the current association.
func (s *Peer) Shutdown() {
	s.p.TB.Helper()
	a := s.Assoc
	s.p.Note("%s: Shutdown()", s.Name)
	s.p.guard(s.Name+".Shutdown", func() { a.Shutdown(s.p.Now()) })
	s.check("Shutdown")
}

// Abort aborts the current association with reason.
func (s *Peer) Abort(reason string) {
	s.p.TB.Helper()
	a := s.Assoc
	s.p.Note("%s: Abort(%q)", s.Name, reason)
	s.p.guard(s.Name+".Abort", func() { a.Abort(s.p.Now(), reason) })
	s.check("Abort")
}

// Release returns n delivered bytes to the receive window.
func (s *Peer) Release(n int) {
	s.p.TB.Helper()
	if n <= 0 || s.Assoc == nil {
		return
	}
	if n > s.unreleased {
		n = s.unreleased
	}
	s.unreleased -= n
	a := s.Assoc
	s.p.guard(s.Name+".Release", func() { a.Release(n) })
	s.check("Release")
}

// ReleaseAll releases every delivered byte not yet released.
func (s *Peer) ReleaseAll() { s.Release(s.unreleased) }

// Unreleased is the number of delivered bytes not yet released.
func (s *Peer) Unreleased() int { return s.unreleased }

// Received is every byte delivered on stream sid, messages concatenated in
// the order they were delivered.
func (s *Peer) Received(sid uint16) []byte { return s.recv[sid] }

// BytesReceived is the number of user bytes delivered on all streams.
func (s *Peer) BytesReceived() int { return s.received }

// Connected returns the current association's Connected event.
func (s *Peer) Connected() (assoc.Connected, bool) {
	c, ok := s.connected[s.gen]
	return c, ok
}

// IsConnected: the current association reported Connected and not Closed.
func (s *Peer) IsConnected() bool {
	_, ok := s.Connected()
	return ok && !s.IsClosed()
}

// Closed returns the current association's Closed event.
func (s *Peer) Closed() (assoc.Closed, bool) {
	c, ok := s.closed[s.gen]
	return c, ok
}

// IsClosed: the current association reported Closed.
func (s *Peer) IsClosed() bool {
	_, ok := s.Closed()
	return ok
}

// EventsOf returns the events of type T a peer polled, all generations.
func EventsOf[T assoc.Event](s *Peer) []T {
	var out []T
	for _, e := range s.Events {
		if v, ok := e.Event.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// Inject delivers pkt to this end now, as if it came from the other end's
// address: to the association if there is a live one, else the endpoint.
func (s *Peer) Inject(pkt []byte) {
	s.p.TB.Helper()
	s.injectEntry(pkt)
	s.receive(append([]byte(nil), pkt...), s.peer.Addr, s.Addr, false)
}

// InjectFrom delivers pkt to this end now as if it came from the address
// from (any address: an attacker's, or one the peer does not have) to this
// end's address to.
func (s *Peer) InjectFrom(pkt []byte, from, to netip.AddrPort) {
	s.p.TB.Helper()
	s.injectEntry(pkt)
	s.receive(append([]byte(nil), pkt...), from, to, false)
}

// InjectEndpoint delivers pkt to this end's Endpoint now, even if an
// association is live (the endpoint is the demultiplexer's fallback).
func (s *Peer) InjectEndpoint(pkt []byte) {
	s.p.TB.Helper()
	s.injectEntry(pkt)
	s.receive(append([]byte(nil), pkt...), s.peer.Addr, s.Addr, true)
}

func (s *Peer) injectEntry(pkt []byte) {
	dir := AtoZ
	if s == s.p.A {
		dir = ZtoA
	}
	s.p.Ladder.add(Entry{Kind: KindPacket, At: s.p.Now(), Dir: dir, Data: append([]byte(nil), pkt...), Fate: fateInjected})
}

// receive hands a packet (owned by the call) to the association or the
// endpoint, then overwrites it and polls.
func (s *Peer) receive(pkt []byte, from, to netip.AddrPort, endpoint bool) {
	now := s.p.Now()
	if a := s.Assoc; !endpoint && a != nil && a.State() != assoc.StateClosed {
		s.p.guard(s.Name+".HandlePacket", func() { a.HandlePacket(now, from, to, pkt) })
		scribble(pkt)
		s.check("HandlePacket")
		s.poll()
		return
	}
	var reply assoc.Transmit
	var ok bool
	var na *assoc.Association
	s.p.guard(s.Name+": Endpoint.HandlePacket", func() { reply, ok, na = s.Endpoint.HandlePacket(now, from, to, pkt, s.buf) })
	scribble(pkt)
	if ok {
		s.emit(reply, false)
	}
	if na != nil {
		if s.Assoc != nil && s.Assoc.State() != assoc.StateClosed {
			s.p.Fatalf("assoctest: %s: the endpoint created an association while association %d is live", s.Name, s.gen)
		}
		s.setAssoc(na, "accepted from COOKIE ECHO")
		s.check("Endpoint.HandlePacket")
	}
	s.poll()
}

// poll drains events, the send backlog and transmits of the current
// association. It reports whether anything came out.
func (s *Peer) poll() bool {
	a := s.Assoc
	if a == nil {
		return false
	}
	progress := s.drainEvents()
	s.flushBacklog()
	now := s.p.Now()
	for n := 0; ; n++ {
		if n > maxPolls {
			s.p.Fatalf("assoctest: %s: PollTransmit returned more than %d packets in a row", s.Name, maxPolls)
		}
		loads := s.flightCwnd(a)
		var tx assoc.Transmit
		var ok bool
		s.p.guard(s.Name+".PollTransmit", func() { tx, ok = a.PollTransmit(now, s.buf) })
		if !ok {
			break
		}
		progress = true
		s.emit(tx, true)
		s.checkRuleB(a, loads)
	}
	if s.drainEvents() {
		progress = true
	}
	s.check("poll")
	s.checkDelivered()
	return progress
}

func (s *Peer) drainEvents() bool {
	a := s.Assoc
	got := false
	for {
		var ev assoc.Event
		var ok bool
		s.p.guard(s.Name+".PollEvent", func() { ev, ok = a.PollEvent() })
		if !ok {
			return got
		}
		got = true
		s.event(a, ev)
	}
}

func (s *Peer) event(a *assoc.Association, ev assoc.Event) {
	now := s.p.Now()
	tr := s.traces[a]
	s.Events = append(s.Events, Event{At: now, Gen: tr.gen, Event: ev})
	s.p.Ladder.add(Entry{Kind: KindEvent, At: now, Side: s.Name, Event: ev})
	if tr.closed {
		s.p.Fatalf("assoctest: %s: event %s after Closed (RFC 9260 has nothing after CLOSED; the API promises no further events)", s.Name, describeEvent(ev))
	}
	switch ev := ev.(type) {
	case assoc.Connected:
		if tr.connected {
			s.p.Fatalf("assoctest: %s: a second Connected", s.Name)
		}
		tr.connected = true
		if _, ok := s.connected[tr.gen]; !ok {
			s.connected[tr.gen] = ev
		}
	case assoc.Restarted:
		// The association is re-established with new tags; a new
		// Connected (with the renegotiated stream counts) may follow.
		tr.tagsKnown = false
		tr.connected = false
	case assoc.Closed:
		tr.closed = true
		s.closed[tr.gen] = ev
		if st := a.State(); st != assoc.StateClosed {
			s.p.Fatalf("assoctest: %s: Closed event while State() is %s", s.Name, st)
		}
	case assoc.Message:
		tr.delivered += uint64(len(ev.Data))
		s.Messages = append(s.Messages, ev)
		s.received += len(ev.Data)
		s.recv[ev.StreamID] = append(s.recv[ev.StreamID], ev.Data...)
		s.unreleased += len(ev.Data)
		if s.AutoRelease {
			s.Release(len(ev.Data))
		}
	}
}

// emit puts a packet the core produced on the outgoing link after
// checking it on the wire.
func (s *Peer) emit(tx assoc.Transmit, fromAssoc bool) {
	if !aliases(tx.Packet, s.buf) {
		s.p.Fatalf("assoctest: %s: Transmit.Packet (%d bytes) is not a slice of the buffer passed in", s.Name, len(tx.Packet))
	}
	data := append([]byte(nil), tx.Packet...)
	scribble(tx.Packet)
	if tx.To.Port() == s.peer.Addr.Port() && !slices.Contains(s.peer.Addrs, tx.To.Addr()) && (len(s.Addrs) > 1 || len(s.peer.Addrs) > 1) {
		// A multihomed end may be told of addresses that lead nowhere
		// (a peer's stale or bogus list): the network drops the packet.
		s.p.Ladder.add(Entry{Kind: KindPacket, At: s.p.Now(), Dir: s.out.Dir, Src: netip.AddrPortFrom(tx.From, s.Addr.Port()), Dst: tx.To, Data: data, Fate: fateMisaddr})
		return
	}
	if tx.To.Port() != s.peer.Addr.Port() || !slices.Contains(s.peer.Addrs, tx.To.Addr()) {
		s.p.Ladder.add(Entry{Kind: KindPacket, At: s.p.Now(), Dir: s.out.Dir, Data: data, Fate: fateMisaddr})
		s.p.Fatalf("assoctest: %s sent a packet to %v; the peer is at %v port %d", s.Name, tx.To, s.peer.Addrs, s.peer.Addr.Port())
	}
	src := s.Addr
	if tx.From.IsValid() {
		if !slices.Contains(s.Addrs, tx.From) {
			s.p.Fatalf("assoctest: %s sent a packet from %v; its addresses are %v", s.Name, tx.From, s.Addrs)
		}
		src = netip.AddrPortFrom(tx.From, s.Addr.Port())
	}
	if err := wireCheck(data, s.res.mtu); err != nil {
		s.p.Ladder.add(Entry{Kind: KindPacket, At: s.p.Now(), Dir: s.out.Dir, Data: data, Fate: "rejected by the wire check"})
		s.p.Fatalf("assoctest: %s emitted a bad packet: %v\n% x", s.Name, err, data)
	}
	if fromAssoc {
		h := Header(data)
		if h.SrcPort != s.Config.LocalPort || h.DstPort != s.peer.Config.LocalPort {
			s.p.Fatalf("assoctest: %s sent SCTP ports %d->%d, want %d->%d", s.Name, h.SrcPort, h.DstPort, s.Config.LocalPort, s.peer.Config.LocalPort)
		}
		s.checkTag(data)
	}
	s.p.linkFor(s.out, src.Addr(), tx.To.Addr()).send(s.p.Now(), data, tx.Fragment, s.peer, src, tx.To)
}

// checkTag: RFC 9260 section 8.5: "When sending an SCTP packet, the
// endpoint MUST fill in the Verification Tag field of the outbound packet
// with the tag value in the Initiate Tag parameter of the INIT or INIT ACK
// received from its peer", with the exceptions of section 8.5.1 (INIT: 0;
// T bit set: its own tag).
func (s *Peer) checkTag(pkt []byte) {
	a := s.Assoc
	st := a.State()
	if st < assoc.StateEstablished {
		return
	}
	cs, _ := Chunks(pkt)
	for _, c := range cs {
		switch c.Type {
		case chunk.TypeInit, chunk.TypeInitAck, chunk.TypeCookieEcho:
			return // collision and restart handling use other tags
		case chunk.TypeAbort, chunk.TypeShutdownComplete:
			if c.Flags&FlagT != 0 {
				return
			}
			if c.Type == chunk.TypeAbort && HasCause(pkt, chunk.TypeAbort, chunk.CauseRestartWithNewAddresses) {
				return // the answer to an INIT carries its Initiate Tag (5.2.2)
			}
		}
	}
	var peerTag uint32
	s.p.guard(s.Name+".PeerTag", func() { peerTag = a.PeerTag() })
	if vt := Header(pkt).VerificationTag; vt != peerTag {
		s.p.Fatalf("assoctest: %s in %s sent %s with verification tag %#x, its PeerTag is %#x", s.Name, st, Describe(pkt), vt, peerTag)
	}
}

// scribble overwrites memory whose ownership went back to the harness, so
// that a core keeping a reference to it reads garbage and fails visibly.
func scribble(b []byte) {
	if len(b) == 0 {
		return
	}
	b[0] = 0xA5
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}
