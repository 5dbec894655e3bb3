package assoc

import (
	"fmt"
	"slices"

	"github.com/pgsctp/pgsctp/assoc/serial"
)

// Invariants checks the association's internal consistency and returns the
// first violation found. Tests call it after every input (as dcsctp's
// IsConsistent); it costs a walk over the outstanding chunks.
func (a *Association) Invariants() error {
	t := &a.tx
	if len(a.paths) == 0 || a.primary >= len(a.paths) || a.initPath >= len(a.paths) {
		return fmt.Errorf("primary %d, INIT path %d, of %d paths", a.primary, a.initPath, len(a.paths))
	}
	if a.peerPath != nil && !slices.Contains(a.paths, a.peerPath) {
		return fmt.Errorf("the peer's path %v is not in the path table", a.peerPath.addr)
	}
	flight := make(map[*path]int)
	inQueue := 0
	rtx, gapped := 0, 0
	prev := t.cumAcked
	for i, ch := range t.outstanding {
		if !serial.Less32(prev, ch.d.TSN) {
			return fmt.Errorf("outstanding[%d] TSN %d not above %d", i, ch.d.TSN, prev)
		}
		prev = ch.d.TSN
		if ch.path != nil && !slices.Contains(a.paths, ch.path) {
			// Every outstanding chunk belongs to one path of the table.
			return fmt.Errorf("TSN %d was sent on path %v, not in the path table", ch.d.TSN, ch.path.addr)
		}
		if ch.inFlight {
			flight[ch.path] += len(ch.d.UserData)
			if ch.gapAcked || ch.retransmit {
				return fmt.Errorf("TSN %d in flight but acked or marked", ch.d.TSN)
			}
		}
		if ch.retransmit {
			rtx++
		}
		if ch.gapAcked {
			gapped++
		}
		inQueue += len(ch.d.UserData)
	}
	if len(t.outstanding) > 0 && !serial.Less32(prev, t.nextTSN) {
		return fmt.Errorf("outstanding TSN %d not below next TSN %d", prev, t.nextTSN)
	}
	for _, ch := range t.queue[t.qHead:] {
		inQueue += len(ch.d.UserData)
	}
	if a.state != StateClosed && inQueue != t.buffered {
		return fmt.Errorf("buffered %d, queue and outstanding hold %d", t.buffered, inQueue)
	}
	if gapped != t.gapped {
		return fmt.Errorf("gapped %d, %d chunks gap-acked", t.gapped, gapped)
	}
	if rtx != t.rtxPending {
		return fmt.Errorf("rtxPending %d, %d chunks marked", t.rtxPending, rtx)
	}
	if t.zwp != nil && !slices.Contains(t.outstanding, t.zwp) {
		// A recycled entry carries another chunk: the probe must leave
		// with its acknowledgement.
		return fmt.Errorf("the zero window probe (TSN %d) is not outstanding", t.zwp.d.TSN)
	}
	ids := make(map[int]bool, len(a.paths))
	for _, p := range a.paths {
		if ids[p.id] {
			return fmt.Errorf("path ID %d used twice", p.id)
		}
		ids[p.id] = true
		if p.state == PathUnconfirmed && p.flight > 0 {
			// RFC 9260 section 5.4: "An endpoint MUST NOT send any chunks
			// to an unconfirmed address", but HEARTBEATs.
			return fmt.Errorf("unconfirmed path %d (%v) has %d bytes in flight", p.id, p.addr, p.flight)
		}
		if flight[p] != p.flight {
			return fmt.Errorf("path %v flight %d, chunks say %d", p.addr, p.flight, flight[p])
		}
		if p.flight < 0 || p.cwnd <= 0 {
			return fmt.Errorf("path %v flight %d cwnd %d", p.addr, p.flight, p.cwnd)
		}
		if p.rto < a.cfg.RTOMin || p.rto > a.cfg.RTOMax {
			return fmt.Errorf("path %v RTO %v outside [%v, %v]", p.addr, p.rto, a.cfg.RTOMin, a.cfg.RTOMax)
		}
	}
	if a.rx.delivered < 0 {
		return fmt.Errorf("delivered bytes %d", a.rx.delivered)
	}
	if a.state >= StateEstablished && a.state != StateClosed && a.peerTag == 0 {
		return fmt.Errorf("state %v with no peer tag", a.state)
	}
	return nil
}
