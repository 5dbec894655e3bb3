package assoc

import (
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// PollTransmit fills buf (at least max(Config.MTU, Config.MaxMTU) bytes)
// with the next packet to send, if any. Control chunks go first, as
// section 6.10 asks ("control chunks MUST be placed first in the
// packet"), then a SACK, then DATA.
func (a *Association) PollTransmit(now time.Time, buf []byte) (Transmit, bool) {
	if len(a.ready) > 0 {
		o := a.ready[0]
		a.ready[0] = outPacket{}
		a.ready = a.ready[1:]
		if len(a.ready) == 0 {
			a.ready = nil
		}
		n := copy(buf[:cap(buf)], o.b)
		a.stats.PacketsSent++
		return Transmit{From: o.from, To: o.to, Packet: buf[:n]}, true
	}
	if a.state == StateClosed || len(a.paths) == 0 {
		return Transmit{}, false
	}
	// A SACK goes where the DATA it acknowledges came from (6.4); if
	// that is not where data goes now, it gets a packet of its own.
	r := &a.rx
	p := a.dataPath()
	if a.tx.rtxPending > 0 && !a.tx.fastRtxNow {
		// A chunk that timed out goes to another active path if there
		// is one (section 6.4); new data may ride along.
		if ch := a.tx.firstRetransmit(); ch != nil && ch.path == p {
			if alt := a.alternatePath(p); alt != nil {
				p = alt
			}
		}
	}
	// Not from a local address being deleted, though (a gone path): the
	// peer may have applied the Delete when the SACK arrives, and a packet
	// from an address the association no longer has is out of the blue
	// to it (RFC 9260 8.4; Linux answers with ABORT). It rides with p.
	if r.sackNow && r.sackPath != nil && r.sackPath != p && !r.sackPath.gone {
		b := a.header(buf)
		b = a.appendSack(b, a.room(r.sackPath, buf))
		return a.finish(r.sackPath, b), true
	}
	room := a.room(p, buf)
	b := a.header(buf)
	empty := len(b)
	if a.sendCookieEcho && a.state == StateCookieEchoed {
		// Section 5.1 (C): the COOKIE ECHO is the first chunk.
		b = (&chunk.CookieEchoChunk{Cookie: a.cookieEcho}).Append(b)
		a.sendCookieEcho = false
	}
	if a.sendCookieAck {
		b = (&chunk.CookieAckChunk{}).Append(b)
		a.sendCookieAck = false
	}
	if len(a.errCauses) > 0 {
		e := &chunk.ErrorChunk{Causes: a.errCauses}
		if len(b)+e.Len() <= room {
			b = e.Append(b)
		}
		a.errCauses = nil
	}
	if a.sendShutdownAck {
		b = (&chunk.ShutdownAckChunk{}).Append(b)
		a.sendShutdownAck = false
	}
	if r.tracker != nil && (r.sackNow || (r.sackPending && a.wantsToSend(p))) {
		b = a.appendSack(b, room)
	}
	if a.sendShutdown {
		b = (&chunk.ShutdownChunk{CumTSNAck: r.tracker.CumTSN()}).Append(b)
		a.sendShutdown = false
	}
	newBefore := a.tx.nextTSN
	b = a.appendData(now, p, b, room)
	if a.tx.nextTSN != newBefore {
		a.tx.burst++
	}
	if len(b) == empty {
		return Transmit{}, false
	}
	return a.finish(p, b), true
}

// room is how many bytes a packet for p may take in buf: the path's
// PLPMTU, less an AUTH chunk if the peer wants chunks we bundle
// authenticated.
func (a *Association) room(p *path, buf []byte) int {
	room := min(p.mtu, cap(buf))
	if a.auth.bundleAuth {
		room -= a.authLen()
	}
	return room
}

func (a *Association) header(buf []byte) []byte {
	return chunk.AppendHeader(buf[:0], chunk.Header{SrcPort: a.localPort, DstPort: a.peerPort, VerificationTag: a.peerTag})
}

func (a *Association) finish(p *path, b []byte) Transmit {
	if a.auth.bundleAuth {
		// Only a peer that wants a chunk PollTransmit bundles
		// authenticated costs this pass (PollTransmit left the room);
		// ASCONF and its ACK travel in packets of their own.
		b = a.sealAuth(b)
	}
	chunk.SetChecksum(b)
	a.stats.PacketsSent++
	return Transmit{From: p.local, To: p.addr, Packet: b, Fragment: len(b) > p.mtu}
}

// inputDone resets the per-input burst allowance: Max.Burst limits how
// many packets of new data one event may release.
func (a *Association) inputDone() { a.tx.burst = 0 }
