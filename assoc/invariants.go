package assoc

import (
	"fmt"

	"github.com/pgsctp/pgsctp/assoc/serial"
)

// Invariants checks the association's internal consistency and returns the
// first violation found. Tests call it after every input (as dcsctp's
// IsConsistent); it costs a walk over the outstanding chunks.
func (a *Association) Invariants() error {
	t := &a.tx
	flight := make(map[*path]int)
	inQueue := 0
	rtx := 0
	prev := t.cumAcked
	for i, ch := range t.outstanding {
		if !serial.Less32(prev, ch.d.TSN) {
			return fmt.Errorf("outstanding[%d] TSN %d not above %d", i, ch.d.TSN, prev)
		}
		prev = ch.d.TSN
		if ch.inFlight {
			flight[ch.path] += len(ch.d.UserData)
			if ch.gapAcked || ch.retransmit {
				return fmt.Errorf("TSN %d in flight but acked or marked", ch.d.TSN)
			}
		}
		if ch.retransmit {
			rtx++
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
	if rtx != t.rtxPending {
		return fmt.Errorf("rtxPending %d, %d chunks marked", t.rtxPending, rtx)
	}
	for _, p := range a.paths {
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
