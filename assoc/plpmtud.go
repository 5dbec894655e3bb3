package assoc

import (
	"encoding/binary"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// Packetization Layer Path MTU Discovery (RFC 8899, section 6.2 for
// SCTP), per path.
//
// A path starts at Config.MTU, the BASE_PLPMTU that every network of
// interest carries, and searches up to Config.MaxMTU with probe packets:
// a HEARTBEAT whose information names the probe, padded to the size under
// test with a PAD chunk (RFC 4820), so the peer's HEARTBEAT ACK is small
// whatever the size. A probe the peer answers raises the path's PLPMTU to
// its size; a size whose MAX_PROBES probes go unanswered, one PROBE_TIMER
// (the path's RTO) each, is too large. The search is a binary one between
// the largest size that passed and the smallest that did not, and ends
// when they are plpStep apart (SEARCH_COMPLETE); PMTU_RAISE_TIMER later
// it looks for a larger PMTU again. Probes are not data: they are never
// retransmitted, their loss is neither congestion nor a path error, and
// they do not count against cwnd (section 4.1 allows either).
//
// Black holes (section 4.3): a path whose PLPMTU is above the base and
// whose T3-rtx expires twice in a row with no data acknowledged on it in
// between falls back to the base and searches again, so data that the
// network stopped carrying at the larger size goes through at the base
// size (DATA chunks are cut to fit Config.MTU, so every chunk in flight
// fits a base-sized packet).
//
// Only packets grow: messages are still fragmented for Config.MTU, and a
// larger PLPMTU lets more chunks share a packet, which is what costs per
// packet (system calls, datagrams, checksums). That keeps every chunk
// sendable after a black hole (a chunk cut for a larger PLPMTU could not
// be cut again once it has a TSN, and UDP gives us no IP fragmentation to
// fall back on), at a price: a PLPMTU below two base-sized chunks (2388
// bytes with the default 1200) carries no more than the base does, so a
// 1500-byte network gains nothing; raise Config.MTU there.

const (
	plpMaxProbes = 3                 // MAX_PROBES (RFC 8899 section 5.1.2)
	plpRaise     = 600 * time.Second // PMTU_RAISE_TIMER (section 5.1.1)
	plpStep      = 16                // the search ends when its bounds are this close
	plpBlackHole = 2                 // consecutive T3-rtx expiries that mean a black hole
)

// plpState is a path's PLPMTUD state.
type plpState uint8

const (
	plpOff      plpState = iota // Config.MaxMTU is not above Config.MTU
	plpSearch                   // SEARCHING
	plpComplete                 // SEARCH_COMPLETE, until the raise timer
)

// plpmtud is one path's search.
type plpmtud struct {
	state       plpState
	hi          int       // the smallest size known not to pass (MaxMTU+4 at first)
	size        int       // the size being probed
	count       int       // probes sent at size
	outstanding bool      // a probe of size is unanswered
	nonce       uint64    // that probe's
	deadline    time.Time // PROBE_TIMER, or PMTU_RAISE_TIMER when complete; zero: none
	blackHole   int       // consecutive T3-rtx expiries above the base
}

// plpInfoLen is the length of a probe's Heartbeat Information: the nonce,
// the path's ID and the size (a plain HEARTBEAT's has 16 bytes).
const plpInfoLen = 20

// align4 rounds n down to a multiple of 4, as SCTP packets are.
func align4(n int) int { return n &^ 3 }

// plpStart (re)starts p's search from its PLPMTU, the first probe once
// the path may carry one.
func (a *Association) plpStart(p *path, now time.Time) {
	if a.cfg.MaxMTU <= a.cfg.MTU {
		p.plp = plpmtud{}
		return
	}
	p.plp = plpmtud{state: plpSearch, hi: align4(a.cfg.MaxMTU) + 4, deadline: now}
	p.plp.size = p.plp.hi - 4 // the ceiling first: on most paths it passes
	if p.plp.size <= p.mtu {
		a.plpComplete(p, now)
	}
}

// plpComplete ends a search until PMTU_RAISE_TIMER.
func (a *Association) plpComplete(p *path, now time.Time) {
	p.plp.state, p.plp.outstanding = plpComplete, false
	p.plp.deadline = now.Add(plpRaise)
	a.log.Debug("sctp: path MTU search complete", "path", p.id, "plpmtu", p.mtu)
}

// plpNext moves the search to the next size between p.mtu and hi.
func (a *Association) plpNext(p *path, now time.Time) {
	pr := &p.plp
	pr.count, pr.outstanding = 0, false
	if pr.hi-p.mtu <= plpStep {
		a.plpComplete(p, now)
		return
	}
	pr.size = max(align4((p.mtu+pr.hi)/2), p.mtu+4)
	pr.deadline = now
}

// onPLPTimer runs p's PROBE_TIMER or PMTU_RAISE_TIMER.
func (a *Association) onPLPTimer(p *path, now time.Time) {
	pr := &p.plp
	switch {
	case a.state != StateEstablished || p.gone:
		if a.state < StateEstablished && !p.gone {
			pr.deadline = now.Add(p.rto) // not yet: try again
		}
		return
	case pr.state == plpComplete:
		a.plpStart(p, now)
		return
	case p.state != PathActive || !p.measured:
		// A probe lost on a failing path would say nothing of its
		// MTU: wait until the path is back. And not before the path
		// has a round trip measured (a SACK or HEARTBEAT ACK): then
		// the peer is surely established, and a HEARTBEAT cannot stand
		// in for a lost COOKIE ACK at a peer that takes any packet as
		// one (usrsctp does).
		pr.outstanding, pr.count = false, 0
		pr.deadline = now.Add(p.rto)
		return
	}
	if pr.outstanding && pr.count >= plpMaxProbes {
		// MAX_PROBES unanswered: size does not pass.
		pr.hi = pr.size
		a.plpNext(p, now)
		if pr.state != plpSearch {
			return
		}
	}
	a.sendPLPProbe(p, now)
}

// sendPLPProbe queues a probe of pr.size bytes and starts PROBE_TIMER.
func (a *Association) sendPLPProbe(p *path, now time.Time) {
	pr := &p.plp
	pr.nonce = uint64(a.rand32())<<32 | uint64(a.rand32())
	pr.outstanding = true
	pr.count++
	var info [plpInfoLen]byte
	binary.BigEndian.PutUint64(info[:8], pr.nonce)
	binary.BigEndian.PutUint64(info[8:16], uint64(p.id))
	binary.BigEndian.PutUint32(info[16:], uint32(pr.size))
	hb := &chunk.HeartbeatChunk{Info: info[:]}
	n := pr.size - chunk.HeaderLen - hb.Len() - chunk.ChunkHeaderLen
	if a.auth.on && (a.auth.peerNeeds[chunk.TypeHeartbeat] || a.auth.peerNeeds[chunk.TypePad]) {
		n -= a.authLen()
	}
	a.queuePacket(p, a.peerTag, hb, &chunk.PadChunk{N: n})
	pr.deadline = now.Add(p.rto)
}

// handlePLPAck takes a HEARTBEAT ACK echoing a probe's information.
func (a *Association) handlePLPAck(now time.Time, info []byte) {
	nonce := binary.BigEndian.Uint64(info[:8])
	id := binary.BigEndian.Uint64(info[8:16])
	size := int(binary.BigEndian.Uint32(info[16:]))
	for _, p := range a.paths {
		pr := &p.plp
		if !pr.outstanding || pr.nonce != nonce || uint64(p.id) != id || pr.size != size {
			continue
		}
		// The probe crossed the path both ways: it is a reachable path
		// too (no RTT sample: a large packet's delay is not the path's).
		a.pathHeard(now, p, "PMTU probe answered")
		if size > p.mtu {
			p.mtu = size
			a.log.Debug("sctp: path MTU raised", "path", p.id, "plpmtu", size)
		}
		a.plpNext(p, now)
		return
	}
}

// plpT3 counts a T3-rtx expiry on p toward black-hole detection.
func (a *Association) plpT3(p *path, now time.Time) {
	if p.mtu <= a.cfg.MTU {
		return
	}
	p.plp.blackHole++
	if p.plp.blackHole < plpBlackHole {
		return
	}
	a.log.Debug("sctp: path MTU black hole: back to the base", "path", p.id, "plpmtu", p.mtu, "base", a.cfg.MTU)
	a.stats.PMTUBlackHoles++
	p.mtu = a.cfg.MTU
	p.cwnd = min(p.cwnd, p.mtu) // what E1 left is one of the old packets
	a.plpStart(p, now)
}
