package assoc

import (
	"time"

	"github.com/pgsctp/pgsctp/assoc/recvq"
	"github.com/pgsctp/pgsctp/assoc/serial"
	"github.com/pgsctp/pgsctp/chunk"
)

// The receiving side: DATA acceptance (RFC 9260 section 6.2), the receive
// window, reassembly and delivery (6.5, 6.6, 6.9), and when to SACK.

type rxState struct {
	tracker *recvq.Tracker
	reasm   *recvq.Reassembler

	delivered  int    // bytes delivered in Message events, not yet released
	highestTSN uint32 // highest TSN accepted
	lastAdv    uint32 // a_rwnd in the last SACK sent

	sackNow     bool // send a SACK at the next PollTransmit
	sackPending bool // DATA arrived that no SACK acknowledged yet
	dataPackets int  // packets with DATA since the last SACK
	sackPath    *path

	// Per packet, set by beginPacket.
	gotData, gotNew bool
	gotHighest      bool  // a DATA chunk above every TSN received before
	lastPath        *path // the path the packet came over; nil: unknown

	// Reused decode targets.
	dataIn  chunk.DataChunk
	sackIn  chunk.SackChunk
	sackOut chunk.SackChunk
}

// init sets up the receive side for a peer whose first TSN is peerTSN;
// window is the a_rwnd our INIT or INIT ACK advertised.
func (r *rxState) init(peerTSN uint32, inStreams uint16, window uint32, bufs Buffers) {
	*r = rxState{
		tracker:    recvq.NewTracker(peerTSN),
		reasm:      recvq.NewReassembler(inStreams),
		highestTSN: peerTSN - 1,
		lastAdv:    window,
		dataIn:     r.dataIn, sackIn: r.sackIn, sackOut: r.sackOut,
	}
	r.reasm.Buffers = bufs
}

func (r *rxState) beginPacket(p *path) {
	r.gotData, r.gotNew, r.gotHighest, r.lastPath = false, false, false, p
}

// rwnd is the receive window to advertise: what is left of RecvWindow after
// the bytes held for reassembly and delivered but not yet released.
func (a *Association) rwnd() uint32 {
	if a.rx.reasm == nil {
		return a.cfg.RecvWindow
	}
	held := a.rx.reasm.Buffered() + a.rx.delivered
	if held >= int(a.cfg.RecvWindow) {
		return 0
	}
	return a.cfg.RecvWindow - uint32(held)
}

// handleData accepts one DATA chunk.
func (a *Association) handleData(now time.Time, c chunk.Raw) (stop bool) {
	r := &a.rx
	switch a.state {
	case StateEstablished, StateShutdownPending, StateShutdownSent:
	default:
		// COOKIE-WAIT/ECHOED has no receive state yet; in SHUTDOWN-RECEIVED
		// and later the peer has promised no new data.
		return false
	}
	d := &r.dataIn
	if err := d.Unmarshal(c); err != nil {
		return false
	}
	if len(d.UserData) == 0 {
		// 6.2: "If an endpoint receives a DATA chunk with no user data
		// (i.e., the Length field is set to 16), it MUST send an ABORT
		// with an error cause set to 'No User Data'."
		a.abortWith(now, ErrAborted, "peer sent DATA without user data", &chunk.NoUserDataCause{TSN: d.TSN})
		return true
	}
	r.gotData = true
	tsn := d.TSN
	cum := r.tracker.CumTSN()
	if serial.LessEq32(tsn, cum) || r.tracker.Contains(tsn) {
		r.tracker.Add(tsn) // records the duplicate for the next SACK
		return false
	}
	// Bound what a peer can make us hold: nothing beyond the window in
	// TSN space, and nothing past the window in bytes unless it fills a
	// gap (6.2: "When the receiver's advertised window is 0, the receiver
	// MUST drop any new incoming DATA chunk with a TSN larger than the
	// largest TSN received so far").
	if tsn-cum > 1<<16 {
		return false
	}
	held := r.reasm.Buffered() + r.delivered
	if held+len(d.UserData) > int(a.cfg.RecvWindow) {
		if serial.Less32(r.highestTSN, tsn) || held+len(d.UserData) > 2*int(a.cfg.RecvWindow) {
			return false
		}
	}
	if d.StreamID >= a.inStreams {
		// 6.5: "the endpoint SHALL acknowledge the reception of the DATA
		// chunk following the normal procedure, immediately send an ERROR
		// chunk with cause set to 'Invalid Stream Identifier', and discard
		// the DATA chunk."
		if r.tracker.Add(tsn) {
			a.errCauses = append(a.errCauses, &chunk.InvalidStreamIDCause{StreamID: d.StreamID})
			r.sackNow = true
		}
		return false
	}
	if !r.tracker.Add(tsn) {
		return false // too many gaps to track: drop, the peer retransmits
	}
	if err := r.reasm.Add(d); err != nil {
		return false
	}
	r.gotNew = true
	if serial.Less32(r.highestTSN, tsn) {
		r.highestTSN = tsn
		r.gotHighest = true
	}
	if d.Immediate {
		// RFC 7053: the sender asks for a SACK without delay.
		r.sackNow = true
	}
	return false
}

// endPacket decides when to acknowledge the packet's DATA (6.2) and
// delivers completed messages.
func (r *rxState) endPacket(a *Association, now time.Time, p *path) {
	if !r.gotData || r.tracker == nil {
		return
	}
	if p != nil {
		r.sackPath = p
		if r.gotHighest && a.peerPath != p {
			// The peer's newest data came this way: see dataPath.
			a.peerPath, a.peerPathSince = p, now
		}
	}
	r.sackPending = true
	r.dataPackets++
	switch {
	case !r.gotNew:
		// 6.2: "When a packet arrives with duplicate DATA chunk(s) and
		// with no new DATA chunk(s), the endpoint MUST immediately send a
		// SACK with no delay."
		r.sackNow = true
	case r.tracker.HasGaps():
		// 6.7: "If the endpoint detects a gap in the received DATA chunk
		// sequence, it SHOULD send a SACK with Gap Ack Blocks immediately."
		r.sackNow = true
	case r.dataPackets >= 2:
		// 6.2: "an acknowledgement SHOULD be generated for at least every
		// second packet (not every second DATA chunk) received".
		r.sackNow = true
	case !a.timers.running(timerDelayedAck):
		a.timers.start(timerDelayedAck, now, a.cfg.DelayedAckTime)
	}
	if a.state == StateShutdownSent {
		// 9.2: "... SHOULD immediately respond to each received packet
		// containing one or more DATA chunks with a SHUTDOWN chunk and
		// restart the T2-shutdown timer."
		a.sendShutdown = true
		r.sackNow = true
		a.timers.start(timerShutdown, now, a.dataPath().rto)
	}
	for {
		m, ok := r.reasm.Pop()
		if !ok {
			break
		}
		r.delivered += len(m.Data)
		a.stats.BytesReceived += uint64(len(m.Data))
		a.pushMessage(Message{StreamID: m.StreamID, PPID: m.PPID, Unordered: m.Unordered, Data: m.Data})
	}
}

// release returns delivered bytes to the window, and sends a window update
// when the window has opened by a significant amount since the last SACK.
//
// Section 6.2 lets a receiver send SACKs beyond one per packet "to update
// the offered window as the receiving application consumes new data";
// without one, a sender that has nothing more in flight keeps the smaller
// window it last heard of. "Significant" is at least one MTU and 1/32 of
// the window (32 KiB of the default 1 MiB), between TCP's receiver rule
// (min(half the buffer, one MSS), RFC 9293 section 3.8.6.2.2) and Linux's
// (max(MTU, rcvbuf/16)), so one 64 KiB message read triggers an update
// but reads of a few bytes do not each cost a SACK. (This used to require
// the last advertised window to be below half: the 1 MiB window minus a
// 65,000-byte message never reopened, seen against the Linux kernel.)
func (r *rxState) release(a *Association, n int) {
	if n <= 0 {
		return
	}
	r.delivered = max(r.delivered-n, 0)
	if r.tracker == nil || a.state == StateClosed {
		return
	}
	if w := a.rwnd(); w >= r.lastAdv+max(uint32(a.cfg.MTU), a.cfg.RecvWindow/32) {
		r.sackNow = true
	}
}

// appendSack appends a SACK chunk describing what was received, as large
// as room allows (gap blocks and duplicates are trimmed to fit).
func (a *Association) appendSack(b []byte, room int) []byte {
	r := &a.rx
	s := &r.sackOut
	s.CumTSNAck = r.tracker.CumTSN()
	s.AdvRecvWindow = a.rwnd()
	space := room - len(b) - 16
	gaps := max(space/4, 0)
	s.GapBlocks = r.tracker.AppendGapBlocks(s.GapBlocks[:0], min(gaps, 256))
	space -= 4 * len(s.GapBlocks)
	s.DupTSNs = r.tracker.AppendDups(s.DupTSNs[:0], min(max(space/4, 0), 64))
	b = s.Append(b)
	r.lastAdv = s.AdvRecvWindow
	r.sackNow, r.sackPending, r.dataPackets = false, false, 0
	a.timers.stop(timerDelayedAck)
	return b
}
