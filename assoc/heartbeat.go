package assoc

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// Path heartbeats, RFC 9260 section 8.3.

// scheduleHeartbeat sets p's next HEARTBEAT: "once per RTO of that
// destination address plus the protocol parameter 'HB.interval', with
// jittering of +/- 50% of the RTO value".
func (a *Association) scheduleHeartbeat(p *path, now time.Time) {
	if a.cfg.HBInterval < 0 || a.state < StateEstablished {
		p.hbDeadline = time.Time{}
		return
	}
	jitter := time.Duration(0)
	if p.rto > 0 {
		jitter = time.Duration(a.rand32()%uint32(max(p.rto/time.Microsecond, 1)))*time.Microsecond - p.rto/2
	}
	p.hbDeadline = now.Add(p.rto + a.cfg.HBInterval + jitter)
}

func (a *Association) onHeartbeatTimer(p *path, now time.Time) {
	switch a.state {
	case StateEstablished, StateShutdownPending, StateShutdownReceived:
	default:
		return
	}
	if p.hbOutstanding {
		// 8.3: "When a HEARTBEAT chunk is not acknowledged within the RTO
		// ... the sender SHOULD increment the respective error counter of
		// the destination transport address ... and the association".
		p.hbOutstanding = false
		if a.pathError(p) {
			a.abortWith(now, ErrTimeout, "peer unreachable: heartbeats unanswered", nil)
			return
		}
		a.backoffRTO(p)
	}
	// Heartbeats probe idle paths only; data in flight has T3-rtx.
	if p.flight == 0 && a.tx.rtxPending == 0 {
		p.hbNonce = uint64(a.rand32())<<32 | uint64(a.rand32())
		var info [16]byte
		binary.BigEndian.PutUint64(info[:8], p.hbNonce)
		binary.BigEndian.PutUint64(info[8:], uint64(now.UnixNano()))
		a.queuePacket(p, a.peerTag, &chunk.HeartbeatChunk{Info: info[:]})
		p.hbOutstanding = true
	}
	a.scheduleHeartbeat(p, now)
}

// handleHeartbeat: 8.3, "The receiver of the HEARTBEAT chunk SHOULD
// immediately respond with a HEARTBEAT ACK chunk", to the address the
// HEARTBEAT came from (6.4).
func (a *Association) handleHeartbeat(from, to netip.AddrPort, c chunk.Raw) {
	var hb chunk.HeartbeatChunk
	if err := hb.Unmarshal(c); err != nil {
		return
	}
	a.queuePacketTo(to.Addr(), from, a.peerTag, &chunk.HeartbeatAckChunk{Info: clone(hb.Info)})
}

func (a *Association) handleHeartbeatAck(now time.Time, c chunk.Raw) {
	var ack chunk.HeartbeatAckChunk
	if err := ack.Unmarshal(c); err != nil || len(ack.Info) != 16 {
		return
	}
	nonce := binary.BigEndian.Uint64(ack.Info[:8])
	sent := time.Unix(0, int64(binary.BigEndian.Uint64(ack.Info[8:])))
	for _, p := range a.paths {
		if p.hbOutstanding && p.hbNonce == nonce {
			// 8.3: clear the error counters, and "the sender SHOULD also
			// perform an RTT measurement for that destination".
			p.hbOutstanding = false
			a.pathHeard(p)
			a.measureRTT(p, now.Sub(sent))
			return
		}
	}
}
