package assoc

import (
	"net/netip"
	"time"
)

// path is the per-destination state of RFC 9260 sections 6.3, 7.2 and 8.2:
// one per peer transport address. A single-homed association has a path
// table of length one; multihoming adds rows, not code.
type path struct {
	addr  netip.AddrPort // peer IP address and UDP encapsulation port (RFC 6951 5.4)
	local netip.Addr     // our address the peer reached us on; source of what we send

	active bool
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
	hbNonce       uint64
	lastData      time.Time // last DATA sent here, for idleness
}

func (a *Association) newPath(addr netip.AddrPort, local netip.Addr, now time.Time) *path {
	p := &path{
		addr:   addr,
		local:  local,
		active: true,
		rto:    a.cfg.RTOInitial,
	}
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

// pathError counts one unanswered retransmission or HEARTBEAT on p
// (section 8.2) and one on the association (section 8.1), and reports
// whether the association has failed.
func (a *Association) pathError(p *path) (failed bool) {
	p.errors++
	if p.active && p.errors > a.cfg.PathMaxRetrans {
		// Section 8.2: "When the value of this counter exceeds the
		// protocol parameter 'Path.Max.Retrans', the endpoint SHOULD mark
		// the destination transport address as inactive".
		p.active = false
		a.pushEvent(PathChange{Addr: p.addr, Active: false})
	}
	a.errors++
	// Section 8.1: "If the value of this counter exceeds the limit
	// indicated in the protocol parameter 'Association.Max.Retrans', the
	// endpoint SHOULD consider the peer endpoint unreachable".
	return a.errors > a.cfg.AssocMaxRetrans
}

// pathHeard clears the error counters after an acknowledgement arrived from
// the peer through p (section 8.2 and 8.3).
func (a *Association) pathHeard(p *path) {
	p.errors = 0
	a.errors = 0
	if !p.active {
		p.active = true
		a.pushEvent(PathChange{Addr: p.addr, Active: true})
	}
}

// pathFor returns the path of a peer address, matching the IP address only:
// RFC 6951 5.4 says the UDP port is learned, not part of the identity.
func (a *Association) pathFor(ip netip.Addr) *path {
	for _, p := range a.paths {
		if p.addr.Addr() == ip {
			return p
		}
	}
	return nil
}

// primaryPath is where new data goes: the primary if active, else the
// first active path, else the primary anyway (a single-homed association
// keeps trying its only path until Association.Max.Retrans).
func (a *Association) primaryPath() *path {
	if p := a.paths[a.primary]; p.active {
		return p
	}
	for _, p := range a.paths {
		if p.active {
			return p
		}
	}
	return a.paths[a.primary]
}
