package assoc

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// Path heartbeats, RFC 9260 sections 5.4 and 8.3, and the probing of
// Potentially Failed paths of RFC 7829.

// scheduleHeartbeat sets p's next HEARTBEAT. An active or inactive path is
// probed "once per RTO of that destination address plus the protocol
// parameter 'HB.interval', with jittering of +/- 50% of the RTO value"
// (8.3; a negative HB.interval turns that off). An unconfirmed path is
// probed every RTO until it answers (5.4), and so is a potentially failed
// one (RFC 7829 section 3, rule 4: "HEARTBEATs ... sent to a PF
// destination ... once per RTO"); the RTO backs off with each timeout.
func (a *Association) scheduleHeartbeat(p *path, now time.Time) {
	switch {
	case a.state < StateEstablished || p.gone:
		p.hbDeadline = time.Time{}
	case p.state == PathUnconfirmed || p.state == PathPF:
		p.hbDeadline = now.Add(p.rto)
	case a.cfg.HBInterval < 0:
		p.hbDeadline = time.Time{}
	default:
		jitter := time.Duration(0)
		if p.rto > 0 {
			jitter = time.Duration(a.rand32()%uint32(max(p.rto/time.Microsecond, 1)))*time.Microsecond - p.rto/2
		}
		p.hbDeadline = now.Add(p.rto + a.cfg.HBInterval + jitter)
	}
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
		if a.pathError(now, p, "HEARTBEAT unanswered") {
			a.abortWith(now, ErrTimeout, "peer unreachable: heartbeats unanswered", nil)
			return
		}
		a.backoffRTO(p)
	}
	// Heartbeats probe idle paths only; data in flight has T3-rtx.
	if p.flight == 0 && (p.state != PathActive || a.tx.rtxPending == 0) {
		a.sendHeartbeat(p, now)
		a.tx.trimSpare()
	}
	a.scheduleHeartbeat(p, now)
}

// sendHeartbeat queues a HEARTBEAT for p. Its information is a 64-bit
// random nonce (5.4) and the path's ID; the send time stays here, so a
// peer that alters what it echoes gets neither an RTT sample nor a
// confirmed path out of it.
func (a *Association) sendHeartbeat(p *path, now time.Time) {
	p.hbNonce = uint64(a.rand32())<<32 | uint64(a.rand32())
	p.hbSent = now
	p.hbOutstanding = true
	var info [16]byte
	binary.BigEndian.PutUint64(info[:8], p.hbNonce)
	binary.BigEndian.PutUint64(info[8:], uint64(p.id))
	a.queuePacket(p, a.peerTag, &chunk.HeartbeatChunk{Info: info[:]})
}

// handleHeartbeat: 8.3, "The receiver of the HEARTBEAT chunk SHOULD
// immediately respond with a HEARTBEAT ACK chunk", to the address the
// HEARTBEAT came from (6.4).
func (a *Association) handleHeartbeat(from, to netip.AddrPort, c chunk.Raw) {
	var hb chunk.HeartbeatChunk
	if err := hb.Unmarshal(c); err != nil {
		return
	}
	a.queuePacketTo(a.replySource(to.Addr()), from, a.peerTag, &chunk.HeartbeatAckChunk{Info: clone(hb.Info)})
}

// replySource is the source of an answer to a packet that came to local:
// local itself, unless an ASCONF is deleting it (its paths are gone),
// since the peer may have applied the Delete by the time the answer
// arrives and would take it for out of the blue (RFC 9260 8.4); then the
// data path's.
func (a *Association) replySource(local netip.Addr) netip.Addr {
	for _, p := range a.paths {
		if p.gone && p.local == local {
			return a.dataPath().local
		}
	}
	return local
}

func (a *Association) handleHeartbeatAck(now time.Time, c chunk.Raw) {
	var ack chunk.HeartbeatAckChunk
	if err := ack.Unmarshal(c); err != nil {
		return
	}
	if len(ack.Info) == plpInfoLen {
		a.handlePLPAck(now, ack.Info)
		return
	}
	if len(ack.Info) != 16 {
		return
	}
	nonce := binary.BigEndian.Uint64(ack.Info[:8])
	id := binary.BigEndian.Uint64(ack.Info[8:])
	for _, p := range a.paths {
		if p.hbOutstanding && p.hbNonce == nonce && uint64(p.id) == id {
			// 8.3: clear the error counters, and "the sender SHOULD also
			// perform an RTT measurement for that destination"; 5.4: the
			// nonce confirms the path.
			p.hbOutstanding = false
			a.pathHeard(now, p, "HEARTBEAT answered")
			a.measureRTT(p, now.Sub(p.hbSent))
			return
		}
	}
}
