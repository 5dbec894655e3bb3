package assoctest

import (
	"cmp"
	"unsafe"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/chunk"
)

// trace is what the invariants remember about one association.
type trace struct {
	gen       int
	connected bool
	closed    bool
	delivered uint64 // bytes of Message events polled

	have bool
	last assoc.Stats

	tagsKnown         bool
	localTag, peerTag uint32

	tsnKnown   bool
	highestTSN uint32 // highest DATA TSN this association sent
}

// invariantChecker is the optional self-check of the core: if
// *assoc.Association grows an Invariants method, it runs after every
// input.
type invariantChecker interface{ Invariants() error }

// check runs the invariants of the current association after an input
// (where names the input), then the Pair's Check hook.
func (s *Peer) check(where string) {
	a := s.Assoc
	if a == nil {
		return
	}
	tr := s.traces[a]
	fail := func(format string, args ...any) {
		s.p.Fatalf("assoctest: invariant after %s.%s at %s: "+format,
			append([]any{s.Name, where, fmtDur(s.p.Clock.Since())}, args...)...)
	}
	var (
		st       assoc.State
		stats    assoc.Stats
		buffered int
	)
	s.p.guard(s.Name+".Stats", func() {
		st = a.State()
		stats = a.Stats()
		buffered = a.Buffered()
	})
	if st > assoc.StateShutdownAckSent {
		fail("State() = %d is not a state", st)
	}
	if stats.State != st {
		fail("Stats().State = %s, State() = %s", stats.State, st)
	}
	if tr.closed && st != assoc.StateClosed {
		fail("state %s after the Closed event", st)
	}
	if buffered < 0 {
		fail("Buffered() = %d", buffered)
	}
	if buffered > s.res.sendBuffer {
		fail("Buffered() = %d exceeds SendBuffer %d (Send past it must fail with ErrWouldBlock)", buffered, s.res.sendBuffer)
	}
	flight := 0
	for _, ps := range stats.Paths {
		if ps.Flight < 0 {
			fail("path %v: Flight = %d", ps.Addr, ps.Flight)
		}
		flight += ps.Flight
		if st >= assoc.StateEstablished {
			if ps.Cwnd <= 0 {
				fail("path %v: cwnd = %d in %s", ps.Addr, ps.Cwnd, st)
			}
			// RFC 9260 section 6.3.1 C6/C7: RTO is kept within
			// [RTO.Min, RTO.Max].
			if ps.RTO < s.res.rtoMin || ps.RTO > s.res.rtoMax {
				fail("path %v: RTO = %v outside [%v, %v]", ps.Addr, ps.RTO, s.res.rtoMin, s.res.rtoMax)
			}
		}
		if ps.Errors < 0 {
			fail("path %v: error count %d", ps.Addr, ps.Errors)
		}
	}
	// (A closed association's per-path leftovers are not held to this.)
	if buffered == 0 && flight > 0 && st != assoc.StateClosed {
		fail("%d bytes in flight with nothing buffered", flight)
	}
	if tr.have {
		prev := tr.last
		mono := func(name string, was, is uint64) {
			if is < was {
				fail("Stats().%s went down from %d to %d", name, was, is)
			}
		}
		mono("BytesSent", prev.BytesSent, stats.BytesSent)
		mono("BytesReceived", prev.BytesReceived, stats.BytesReceived)
		mono("PacketsSent", prev.PacketsSent, stats.PacketsSent)
		mono("PacketsReceived", prev.PacketsReceived, stats.PacketsReceived)
		mono("Retransmissions", prev.Retransmissions, stats.Retransmissions)
		mono("FastRetransmits", prev.FastRetransmits, stats.FastRetransmits)
		mono("T3Expiries", prev.T3Expiries, stats.T3Expiries)
	}
	tr.have, tr.last = true, stats

	if ic, ok := any(a).(invariantChecker); ok {
		var err error
		s.p.guard(s.Name+".Invariants", func() { err = ic.Invariants() })
		if err != nil {
			fail("Invariants(): %v", err)
		}
	}
	if s.p.Check != nil {
		s.p.Check()
	}
}

// checkDelivered runs once events are drained: the core's count of
// delivered bytes matches the Message events the user got, and the tags
// have not moved.
func (s *Peer) checkDelivered() {
	a := s.Assoc
	tr := s.traces[a]
	if tr.have && tr.last.BytesReceived != tr.delivered {
		s.p.Fatalf("assoctest: %s: Stats().BytesReceived = %d but Message events carried %d bytes", s.Name, tr.last.BytesReceived, tr.delivered)
	}
	// Tags are fixed once established, until a restart (RFC 9260 section
	// 5.2.4) replaces them: checked once events are drained, so that a
	// Restarted event is seen first.
	if st := tr.last.State; st >= assoc.StateEstablished && tr.connected {
		var lt, pt uint32
		s.p.guard(s.Name+".LocalTag", func() { lt, pt = a.LocalTag(), a.PeerTag() })
		if lt == 0 || pt == 0 {
			s.p.Fatalf("assoctest: %s: a zero verification tag (local %#x, peer %#x); RFC 9260 section 3.3.2: the Initiate Tag MUST NOT be 0", s.Name, lt, pt)
		}
		if !tr.tagsKnown {
			tr.tagsKnown, tr.localTag, tr.peerTag = true, lt, pt
		} else if lt != tr.localTag || pt != tr.peerTag {
			s.p.Fatalf("assoctest: %s: tags changed from %#x/%#x to %#x/%#x without a Restarted event", s.Name, tr.localTag, tr.peerTag, lt, pt)
		}
	}
}

// aliases reports whether b lies inside buf.
func aliases(b, buf []byte) bool {
	if len(b) == 0 || len(buf) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	return p >= lo && p+uintptr(len(b)) <= lo+uintptr(len(buf))
}

// pathLoad is a path's bytes in flight, congestion window and PLPMTU.
type pathLoad struct{ flight, cwnd, mtu int }

// flightCwnd is each path's load, keyed by "local>peer", and the sums
// over the paths (key ""), for a single path whose ladder entries carry no
// addresses.
func (s *Peer) flightCwnd(a *assoc.Association) map[string]pathLoad {
	var st assoc.Stats
	s.p.guard(s.Name+".Stats", func() { st = a.Stats() })
	m := make(map[string]pathLoad, len(st.Paths)+1)
	var sum pathLoad
	for _, ps := range st.Paths {
		m[ps.Local.String()+">"+ps.Addr.Addr().String()] = pathLoad{ps.Flight, ps.Cwnd, ps.MTU}
		sum.flight += ps.Flight
		sum.cwnd += ps.Cwnd
		sum.mtu = max(sum.mtu, ps.MTU)
	}
	m[""] = sum
	return m
}

// checkRuleB looks at the packet just emitted (the last ladder entry):
// if it carries new DATA (a TSN above any sent before), the flight of its
// path before it must have been below that path's cwnd + PMTU - 1. RFC
// 9260 section 6.1, rule B: "At any given time, the sender MUST NOT
// transmit new data to a given transport address if it has cwnd + (PMTU -
// 1) or more bytes of data outstanding to that transport address."
func (s *Peer) checkRuleB(a *assoc.Association, loads map[string]pathLoad) {
	tr := s.traces[a]
	es := s.p.Ladder.Entries
	if len(es) == 0 {
		return
	}
	e := es[len(es)-1]
	if e.Kind != KindPacket || e.Dir != s.out.Dir {
		return
	}
	cs, _ := Chunks(e.Data)
	fresh := false
	for _, c := range cs {
		if c.Type != chunk.TypeData {
			continue
		}
		d, ok := ParseData(c.Value)
		if !ok {
			continue
		}
		if !tr.tsnKnown || int32(d.TSN-tr.highestTSN) > 0 {
			fresh = true
			tr.tsnKnown, tr.highestTSN = true, d.TSN
		}
	}
	key := ""
	if e.Src.IsValid() {
		src := e.Src.Addr().String()
		if _, ok := loads[src+">"+e.Dst.Addr().String()]; !ok {
			src = "invalid IP" // a path whose source the host picks
		}
		key = src + ">" + e.Dst.Addr().String()
	}
	l, ok := loads[key]
	if !ok {
		l = loads[""]
	}
	flight, cwnd, mtu := l.flight, l.cwnd, cmp.Or(l.mtu, s.res.mtu)
	if fresh && flight >= cwnd+mtu-1 {
		s.p.Fatalf("assoctest: %s sent new DATA with %d bytes outstanding and cwnd %d (RFC 9260 6.1 rule B: not with cwnd + PMTU - 1 = %d or more)",
			s.Name, flight, cwnd, cwnd+mtu-1)
	}
}
