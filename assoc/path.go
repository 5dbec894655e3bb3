package assoc

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// PathState is the state of one path (RFC 9260 sections 5.4 and 8.2, and
// the Potentially Failed state of RFC 7829).
type PathState uint8

// Path states.
const (
	// PathUnconfirmed: not yet shown to reach the peer; only HEARTBEATs
	// go there (RFC 9260 section 5.4).
	PathUnconfirmed PathState = iota
	// PathActive: in use.
	PathActive
	// PathPF: Potentially Failed (RFC 7829): a timeout was seen; data
	// avoids it and HEARTBEATs probe it every RTO.
	PathPF
	// PathInactive: more than Path.Max.Retrans consecutive timeouts
	// (RFC 9260 section 8.2).
	PathInactive
)

var pathStateNames = [...]string{"unconfirmed", "active", "potentially-failed", "inactive"}

func (s PathState) String() string {
	if int(s) < len(pathStateNames) {
		return pathStateNames[s]
	}
	return "unknown"
}

// maxPaths bounds the path table: at most this many (local address, peer
// address) pairs are probed and used, whatever the peers list.
const maxPaths = 32

// path is one (local address, peer address) pair with its own state: RFC
// 9260 keeps state per destination (sections 6.3, 7.2, 8.2) and leaves the
// source to the host, but a client with four links and a server with one
// address has a single destination, and only another source address gets
// it around a dead link. So a path here is a pair, as an MPTCP subflow
// is, and the per-destination rules of the RFC apply per pair.
type path struct {
	id    int            // stable for the association's life; PathStats.ID
	addr  netip.AddrPort // peer IP address and UDP encapsulation port (RFC 6951 5.4)
	local netip.Addr     // our address, the source of what we send; zero: the host picks

	state  PathState
	errors int // error counter (RFC 9260 8.2)

	// RTO calculation (section 6.3.1).
	srtt, rttvar time.Duration
	rto          time.Duration
	measured     bool // first RTT measurement done

	// Congestion control (section 7.2).
	cwnd              int
	ssthresh          int
	partialBytesAcked int
	flight            int      // bytes of DATA outstanding on this path
	ackedBytes        int      // bytes newly acked by the SACK being processed
	flightBefore      int      // flight when that SACK arrived (7.2.1 "fully utilized")
	probe             *txChunk // the chunk timed for an RTT measurement (6.3.1 C4)

	t3 time.Time // T3-rtx deadline; zero: stopped

	hbDeadline    time.Time // next HEARTBEAT; zero: none
	hbOutstanding bool      // a HEARTBEAT is unanswered
	hbNonce       uint64    // the nonce it carries (5.4: "a 64-bit random nonce")
	hbSent        time.Time // when it was sent: kept here, never trusted from the wire
	lastData      time.Time // last DATA sent here, for idleness
	lastHeard     time.Time // last packet of this association that arrived over this path
	gone          bool      // its local address is being deleted (ASCONF): out of use for good

	mtu int     // PLPMTU: the largest packet sent here (Config.MTU until discovery raises it)
	plp plpmtud // path MTU discovery (plpmtud.go)
}

// usable reports whether data may go to p: active, or potentially failed
// as a last resort (RFC 7829 section 3, "the sender MUST choose one of PF
// destinations" when all are PF or inactive).
func (p *path) usable() bool { return !p.gone && (p.state == PathActive || p.state == PathPF) }

func (a *Association) newPath(addr netip.AddrPort, local netip.Addr, state PathState, now time.Time) *path {
	p := &path{
		id:    a.nextPathID,
		addr:  netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port()),
		local: local.Unmap(),
		state: state,
		rto:   a.cfg.RTOInitial,
		mtu:   a.cfg.MTU,
	}
	a.nextPathID++
	// Section 7.2.1: "The initial cwnd before data transmission or after a
	// sufficiently long idle period MUST be set to min(4*MTU, max (2*MTU,
	// 4380 bytes))." and "The initial value of ssthresh MAY be arbitrarily
	// high (e.g., implementations MAY use the size of the receiver
	// advertised window)."
	p.cwnd = min(4*a.cfg.MTU, max(2*a.cfg.MTU, 4380))
	p.ssthresh = int(a.tx.peerRwnd)
	if p.ssthresh == 0 {
		p.ssthresh = 1 << 30
	}
	a.scheduleHeartbeat(p, now)
	a.plpStart(p, now)
	return p
}

// measureRTT applies section 6.3.1 rules C2 and C3 to a new measurement r.
func (a *Association) measureRTT(p *path, r time.Duration) {
	if r < 0 {
		r = 0
	}
	if !p.measured {
		// C2: SRTT <- R, RTTVAR <- R/2, RTO <- SRTT + 4 * RTTVAR
		p.srtt, p.rttvar, p.measured = r, r/2, true
	} else {
		// C3: RTTVAR <- (1 - RTO.Beta) * RTTVAR + RTO.Beta * |SRTT - R'|
		//     SRTT <- (1 - RTO.Alpha) * SRTT + RTO.Alpha * R'
		// with RTO.Alpha = 1/8 and RTO.Beta = 1/4.
		d := p.srtt - r
		if d < 0 {
			d = -d
		}
		p.rttvar = p.rttvar - p.rttvar/4 + d/4
		p.srtt = p.srtt - p.srtt/8 + r/8
	}
	// "When the calculated RTTVAR is 0, it is set to the clock granularity G"
	// (we use 1ms as G).
	if p.rttvar == 0 {
		p.rttvar = time.Millisecond
	}
	p.rto = a.clampRTO(p.srtt + 4*p.rttvar)
}

// backoffRTO doubles a path's RTO (section 6.3.3 E2, "back off the timer").
func (a *Association) backoffRTO(p *path) { p.rto = a.clampRTO(2 * p.rto) }

func (a *Association) clampRTO(d time.Duration) time.Duration {
	return min(max(d, a.cfg.RTOMin), a.cfg.RTOMax)
}

// setPathState moves p to s, reschedules its HEARTBEAT for the new state
// and reports the change.
func (a *Association) setPathState(now time.Time, p *path, s PathState, why string) {
	if p.state == s {
		return
	}
	old := p.state
	p.state = s
	if !p.hbOutstanding {
		a.scheduleHeartbeat(p, now)
	}
	a.pushEvent(PathChange{ID: p.id, Local: p.local, Addr: p.addr, State: s, Old: old, Active: s == PathActive, Reason: why})
	if s == PathActive && len(a.asconf.ops) > 0 {
		a.sendAsconf(now) // a request may have waited for a path
	}
}

// pathError counts one unanswered retransmission or HEARTBEAT on p
// (section 8.2) and, unless p was never confirmed, one on the association
// (section 8.1); it reports whether the association has failed.
func (a *Association) pathError(now time.Time, p *path, why string) (failed bool) {
	p.errors++
	switch {
	case p.state == PathUnconfirmed:
		// An address that never answered says nothing about the peer's
		// reachability: only its own counter grows, as a backoff.
		return false
	case p.state != PathInactive && p.errors > a.cfg.PathMaxRetrans:
		// Section 8.2: "When the value of this counter exceeds the
		// protocol parameter 'Path.Max.Retrans', the endpoint SHOULD mark
		// the destination transport address as inactive".
		a.setPathState(now, p, PathInactive, why)
	case p.state == PathActive && p.errors > a.cfg.PFMaxRetrans:
		// RFC 7829 section 3, rule 2: "when the error counter of an active
		// destination exceeds PFMR, the destination moves to PF".
		a.setPathState(now, p, PathPF, why)
	}
	a.errors++
	// Section 8.1: "If the value of this counter exceeds the limit
	// indicated in the protocol parameter 'Association.Max.Retrans', the
	// endpoint SHOULD consider the peer endpoint unreachable". With
	// several paths the association lives on while any path is still in
	// use: 8.2 warns that Association.Max.Retrans below the sum of the
	// paths' limits could end it while paths are still reachable.
	if a.errors <= a.cfg.AssocMaxRetrans {
		return false
	}
	for _, q := range a.paths {
		if q.usable() {
			return false
		}
	}
	return true
}

// pathHeard clears the error counters after an acknowledgement arrived for
// something sent over p (sections 8.2 and 8.3; RFC 7829 section 3, rule 5:
// a PF destination that answers becomes active again).
func (a *Association) pathHeard(now time.Time, p *path, why string) {
	p.errors = 0
	a.errors = 0
	if p.state != PathActive {
		a.setPathState(now, p, PathActive, why)
	}
}

// pathFor returns the path that a packet from the peer's address from to
// our address to belongs to. The peer's UDP port is not part of the
// identity (RFC 6951 5.4: it is learned). A packet to a local address we
// do not know (or that the driver did not report) falls back to any path
// from that peer address.
func (a *Association) pathFor(from, to netip.Addr) *path {
	from, to = from.Unmap(), to.Unmap()
	var any *path
	for _, p := range a.paths {
		if p.addr.Addr() != from {
			continue
		}
		if p.local == to {
			return p
		}
		if any == nil {
			any = p
		}
	}
	return any
}

// dataPath is where new data (and control chunks without a path of their
// own) go now:
//
//   - the path the peer's latest new DATA came in on, while it is active
//     and nothing arrived over the primary since the peer moved there: a
//     peer that left the primary did so because it saw it fail, and a
//     request's answer then takes the way the request came (evidence of
//     a failure before any timer of ours could show it: traffic arriving
//     on another path while nothing comes back on this one);
//   - else the primary, while it is active (RFC 7829 section 5: the
//     sender returns to the primary once it is active again);
//   - else the best active path (see better);
//   - else, all being PF or inactive, the PF path with the fewest errors,
//     the most recently heard on ties (RFC 7829 section 3, rule 3);
//   - else the primary, so a single-homed association keeps trying its
//     only path until Association.Max.Retrans.
func (a *Association) dataPath() *path {
	prim := a.paths[a.primary]
	if p := a.peerPath; p != nil && p.state == PathActive && (prim.state != PathActive || prim.lastHeard.Before(a.peerPathSince)) {
		return p
	}
	if prim.state == PathActive {
		return prim
	}
	var best *path
	for _, p := range a.paths {
		if p.state == PathActive && (best == nil || a.better(p, best)) {
			best = p
		}
	}
	if best != nil {
		return best
	}
	for _, p := range a.paths {
		if p.state == PathPF && (best == nil || p.errors < best.errors ||
			(p.errors == best.errors && p.lastHeard.After(best.lastHeard))) {
			best = p
		}
	}
	if best != nil {
		return best
	}
	return prim
}

// alternatePath is an active path other than p, for a retransmission
// (section 6.4: "the endpoint SHOULD try to retransmit a chunk that
// timed out to an active destination transport address that is different
// from the last destination address to which the DATA chunk was sent");
// nil if there is none.
func (a *Association) alternatePath(p *path) *path {
	var best *path
	for _, q := range a.paths {
		if q != p && q.state == PathActive && (best == nil || a.better(q, best)) {
			best = q
		}
	}
	return best
}

// better reports whether active path p is a better choice than q: the one
// that shares fewer addresses with paths that failed, then the one with
// the lower smoothed RTT. Paths that share a local address share a link,
// and paths to one peer address share the peer's: when (a1, z1) has
// failed, (a1, z2) and (a2, z1) may well have too, and (a2, z2) is the
// one to try first.
func (a *Association) better(p, q *path) bool {
	if sp, sq := a.suspicion(p), a.suspicion(q); sp != sq {
		return sp < sq
	}
	return p.srtt < q.srtt
}

// suspicion counts the addresses p shares with failed (PF or inactive)
// paths.
func (a *Association) suspicion(p *path) int {
	n := 0
	for _, f := range a.paths {
		if f.state != PathPF && f.state != PathInactive {
			continue
		}
		if f.local == p.local {
			n++
		}
		if f.addr.Addr() == p.addr.Addr() {
			n++
		}
	}
	return n
}

// setupPaths builds the path table once the peer's addresses are known
// (INIT ACK, COOKIE ECHO, restart): hs, the path the handshake used, first,
// active and primary; then a path for every other (local, peer) pair that
// can carry packets (one address family; loopback only with loopback),
// unconfirmed until a HEARTBEAT confirms it (section 5.4), at most
// maxPaths in all. A new peer address starts with the UDP port of the
// handshake packet (RFC 6951 section 5.4).
func (a *Association) setupPaths(now time.Time, hs *path, udpPort uint16) {
	hs.state = PathActive
	paths := []*path{hs}
	locals := a.cfg.LocalAddrs
	if len(locals) == 0 || (hs.local.IsValid() && !slices.Contains(locals, hs.local)) {
		locals = append([]netip.Addr{hs.local}, locals...)
	}
	for _, peer := range a.peerAddrs {
		for _, local := range locals {
			if len(paths) == maxPaths {
				break
			}
			if !pairable(local, peer) || slices.ContainsFunc(paths, func(p *path) bool {
				return p.local == local && p.addr.Addr() == peer
			}) {
				continue
			}
			paths = append(paths, a.newPath(netip.AddrPortFrom(peer, udpPort), local, PathUnconfirmed, now))
		}
	}
	a.paths = paths
	a.primary, a.initPath, a.peerPath = 0, 0, nil
}

// pairable reports whether a packet from local can reach peer: the same
// address family, and loopback only to loopback. A zero local (the host
// picks) pairs with anything.
func pairable(local, peer netip.Addr) bool {
	if !local.IsValid() {
		return true
	}
	return local.Is4() == peer.Is4() && local.IsLoopback() == peer.IsLoopback()
}

// learnPort records the UDP port a packet from the peer came from as the
// encapsulation port of that peer address, on every path to it (RFC 6951
// section 5.4).
func (a *Association) learnPort(from netip.AddrPort) {
	ip := from.Addr().Unmap()
	for _, p := range a.paths {
		if p.addr.Addr() == ip {
			p.addr = netip.AddrPortFrom(ip, from.Port())
		}
	}
}

// MarshalText gives the state's name (JSON status reports).
func (s PathState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a name MarshalText wrote.
func (s *PathState) UnmarshalText(b []byte) error {
	for i, n := range pathStateNames {
		if n == string(b) {
			*s = PathState(i)
			return nil
		}
	}
	return fmt.Errorf("sctp: unknown path state %q", b)
}

// ReasonSharedFate is the PathChange reason of SuspectPath: drivers that
// pass path failures between associations do not pass these on again.
const ReasonSharedFate = "another association over these addresses timed out"

// SuspectPath tells the association that another association between the
// same two addresses saw its path time out. Associations of one host to
// one peer share links, so that is evidence for this one too: if its path
// from local to peer is active and another path is, the path becomes
// Potentially Failed at once (RFC 7829: data moves off it and HEARTBEATs
// probe it every RTO until it answers), and the DATA outstanding on it is
// retransmitted elsewhere without waiting for this association's own
// T3-rtx. Nothing is counted against the path or the association: the
// timeout was not ours. It reports whether the path changed.
func (a *Association) SuspectPath(now time.Time, local, peer netip.Addr) bool {
	a.inputDone()
	switch a.state {
	case StateEstablished, StateShutdownPending, StateShutdownReceived, StateShutdownSent:
	default:
		return false
	}
	if a.cfg.PFMaxRetrans >= a.cfg.PathMaxRetrans {
		return false // SCTP-PF is off
	}
	local, peer = local.Unmap(), peer.Unmap()
	var p *path
	for _, q := range a.paths {
		if q.local == local && q.addr.Addr() == peer {
			p = q
		}
	}
	if p == nil || p.state != PathActive || a.alternatePath(p) == nil {
		return false
	}
	p.errors = max(p.errors, a.cfg.PFMaxRetrans+1)
	a.setPathState(now, p, PathPF, ReasonSharedFate)
	a.moveOutstanding(p)
	return true
}
