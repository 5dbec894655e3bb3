package assoc

import (
	"time"

	"github.com/pgsctp/pgsctp/assoc/serial"
	"github.com/pgsctp/pgsctp/chunk"
)

// The sending side: the queue of user data, outstanding DATA chunks,
// SACK processing (RFC 9260 section 6.2.1), retransmission (6.3, 7.2.4)
// and congestion control (7.2).

// txChunk is one DATA chunk from the moment Send fragments a message until
// the peer acknowledges it cumulatively.
type txChunk struct {
	d   chunk.DataChunk // UserData is a slice of the message's private copy
	msg []byte          // that copy, on the message's last chunk only

	path          *path     // where it was last sent
	sentAt        time.Time // last transmission
	transmissions int

	inFlight          bool // counted in path.flight
	gapAcked          bool // reported in a Gap Ack Block
	retransmit        bool // marked for retransmission
	fastRetransmitted bool // already fast-retransmitted once (7.2.4)
	missing           int  // miss indications (7.2.4)
}

type txState struct {
	nextTSN  uint32 // TSN of the next new chunk
	cumAcked uint32 // Cumulative TSN Ack Point: highest TSN acked in sequence
	ssn      []uint16

	queue       []*txChunk // messages not yet sent, the first maybe in part; no TSN yet
	qHead       int
	outstanding []*txChunk // sent, not cumulatively acked, ascending TSN
	outArr      []*txChunk // the array outstanding is a window of (pushOutstanding)

	buffered     int // user bytes in queue and outstanding
	peerRwnd     uint32
	windowClosed time.Time // when the next chunk stopped fitting peerRwnd, or the last probe; zero: it fits
	// zwp is the zero window probe outstanding (6.1 rule A) until it is
	// acknowledged, or found dropped when the window opens (processSack).
	zwp          *txChunk
	wantWritable bool
	rtxPending   int  // chunks with retransmit set
	gapped       int  // outstanding chunks with gapAcked set
	fastRtxNow   bool // send fast retransmissions ignoring cwnd (7.2.4 (3))

	fastRecovery bool
	recoverTSN   uint32 // fast recovery exit point

	burst int // new-data packets sent since the last input (Max.Burst)

	// spare are the queue entries of acknowledged chunks, for the next
	// chunks: a steady flow of messages then allocates none. While data
	// flows as many are kept as it has had chunks queued and outstanding
	// at once (a bulk sender frees a window's worth in a burst of SACKs
	// and fragments a 64 KiB message at once); an idle association keeps
	// at most maxSpare (trimSpare).
	spare []*txChunk
	// inUse is the most entries queued and outstanding at once since the
	// last trimSpare: how many spare entries are worth keeping.
	inUse int
	// bufs lends the private copies of messages (Config.Buffers); a copy
	// goes back when its message's last chunk is acknowledged.
	bufs Buffers
}

const maxSpare = 32

// smallCopies is the Buffers of an association whose Config has none
// (newAssociation): it keeps up to 4 buffers of up to 1 KiB, so a steady
// exchange of small messages allocates no copies and an idle association
// holds 4 KiB.
type smallCopies struct{ spare [][]byte }

const (
	maxSpareMsgs = 4
	maxSpareMsg  = 1024
)

func (c *smallCopies) Get(n int) []byte {
	for i := len(c.spare) - 1; i >= 0; i-- {
		if b := c.spare[i]; cap(b) >= n {
			last := len(c.spare) - 1
			c.spare[i] = c.spare[last]
			c.spare[last] = nil
			c.spare = c.spare[:last]
			return b[:n]
		}
	}
	return make([]byte, n)
}

func (c *smallCopies) Put(b []byte) {
	if cap(b) <= maxSpareMsg && len(c.spare) < maxSpareMsgs {
		c.spare = append(c.spare, b[:0])
	}
}

// msgCopy returns a private copy of msg.
func (t *txState) msgCopy(msg []byte) []byte {
	b := t.bufs.Get(len(msg))
	copy(b, msg)
	return b
}

// newChunk is an entry for a new chunk, recycled if one is spare.
func (t *txState) newChunk(d chunk.DataChunk) *txChunk {
	if n := len(t.spare); n > 0 {
		ch := t.spare[n-1]
		t.spare[n-1] = nil
		t.spare = t.spare[:n-1]
		*ch = txChunk{d: d}
		return ch
	}
	return &txChunk{d: d}
}

// recycle keeps the entry of a cumulatively acknowledged chunk, which
// nothing refers to any more (processSack's acked has cleared its path's
// RTT probe), for newChunk; and the message's copy with its last chunk,
// since TSNs are acknowledged in order and a message's chunks have
// consecutive TSNs (packets hold copies of chunks, never the chunks).
func (t *txState) recycle(ch *txChunk) {
	if t.zwp == ch {
		t.zwp = nil
	}
	if ch.msg != nil {
		t.bufs.Put(ch.msg)
	}
	if len(t.spare) < max(maxSpare, t.inUse) {
		*ch = txChunk{} // drops the message's data
		t.spare = append(t.spare, ch)
	}
}

// trimSpare drops the spare entries beyond maxSpare if nothing is queued
// or outstanding: what a bulk transfer needed, an idle association does
// not keep. It runs with the heartbeat timer, not whenever the queues
// empty: a bulk sender on a fast path empties them between two writes,
// and would allocate its entries anew each time.
func (t *txState) trimSpare() {
	if len(t.outstanding) > 0 || t.queued() > 0 {
		return
	}
	t.inUse = 0
	if len(t.spare) > maxSpare {
		t.spare = append(make([]*txChunk, 0, maxSpare), t.spare[:maxSpare]...)
	}
}

// init resets the sending side for a new initial TSN. bufs lends the
// messages' copies.
func (t *txState) init(initialTSN uint32, streams uint16, bufs Buffers) {
	peer := t.peerRwnd
	*t = txState{nextTSN: initialTSN, cumAcked: initialTSN - 1, ssn: make([]uint16, streams), peerRwnd: peer, bufs: bufs}
}

// enqueue queues msg as one entry, a DATA chunk that may be too large to
// send: appendData cuts it into fragments (section 6.9) when they are
// first sent, each as large as the path then carries (its PLPMTU), and
// they get consecutive TSNs because the queue is sent in order.
func (t *txState) enqueue(sid uint16, ppid uint32, msg []byte, unordered bool) {
	data := t.msgCopy(msg)
	var ssn uint16
	if !unordered {
		ssn = t.ssn[sid]
		t.ssn[sid]++
	}
	ch := t.newChunk(chunk.DataChunk{
		Unordered: unordered,
		Beginning: true,
		Ending:    true,
		StreamID:  sid,
		SSN:       ssn,
		PPID:      ppid,
		UserData:  data,
	})
	ch.msg = data
	t.pushQueue(ch)
	t.buffered += len(data)
}

// popChunk takes the first size bytes of the queue's head entry off as a
// chunk of their own (the message's next fragment), or the whole entry
// when it holds no more than size. The rest stays at the head, and the
// message's copy stays with the fragment that ends it.
func (t *txState) popChunk(size int) *txChunk {
	ch := t.queue[t.qHead]
	if len(ch.d.UserData) <= size {
		return t.popQueue()
	}
	first := t.newChunk(ch.d)
	first.d.UserData = ch.d.UserData[:size:size]
	first.d.Ending = false
	ch.d.UserData = ch.d.UserData[size:]
	ch.d.Beginning = false
	return first
}

func (t *txState) queued() int { return len(t.queue) - t.qHead }

// pushQueue appends ch to the queue. popQueue leaves the slots of sent
// entries empty at the front; when the array is full and they are at least
// half of it, the rest moves back to the start instead of the array
// growing, so a queue that never empties (a bulk sender's) keeps its
// array.
func (t *txState) pushQueue(ch *txChunk) {
	if len(t.queue) == cap(t.queue) && t.qHead > 0 && t.qHead >= len(t.queue)/2 {
		n := copy(t.queue, t.queue[t.qHead:])
		clear(t.queue[n:])
		t.queue, t.qHead = t.queue[:n], 0
	}
	t.queue = append(t.queue, ch)
	t.inUse = max(t.inUse, len(t.outstanding)+t.queued())
}

// pushOutstanding appends ch to outstanding. Cumulatively acknowledged
// chunks leave its front by reslicing (processSack), so outstanding is a
// window that moves along outArr; when it reaches the array's end, it
// moves back to the start if at least half of the array is free, and to
// an array twice its size otherwise. An acknowledgement then costs no
// shift of what is still outstanding, and a steady flow no allocation.
func (t *txState) pushOutstanding(ch *txChunk) {
	if n := len(t.outstanding); n == cap(t.outstanding) {
		arr := t.outArr
		if len(arr) < max(2*n, 1) {
			arr = make([]*txChunk, max(2*n, 64))
		}
		copy(arr, t.outstanding)
		clear(arr[n:])
		t.outstanding, t.outArr = arr[:n], arr
	}
	t.outstanding = append(t.outstanding, ch)
	t.inUse = max(t.inUse, len(t.outstanding)+t.queued())
}

func (t *txState) popQueue() *txChunk {
	c := t.queue[t.qHead]
	t.queue[t.qHead] = nil
	t.qHead++
	if t.qHead == len(t.queue) {
		t.queue, t.qHead = t.queue[:0], 0
	}
	return c
}

// limitStreams drops queued messages for streams the negotiation did not
// grant (section 5.1.1), before any was sent.
func (t *txState) limitStreams(a *Association, n uint16) {
	if int(n) < len(t.ssn) {
		t.ssn = t.ssn[:n]
	}
	kept := t.queue[:t.qHead]
	failed := map[uint16]int{}
	for _, c := range t.queue[t.qHead:] {
		if c.d.StreamID >= n {
			failed[c.d.StreamID] += len(c.d.UserData)
			t.buffered -= len(c.d.UserData)
			continue
		}
		kept = append(kept, c)
	}
	t.queue = kept
	for sid, b := range failed {
		a.pushEvent(SendFailed{StreamID: sid, Bytes: b})
	}
}

// unsentByStream sums, per stream, the bytes never acknowledged.
func (t *txState) unsentByStream() map[uint16]int {
	m := map[uint16]int{}
	for _, c := range t.outstanding {
		m[c.d.StreamID] += len(c.d.UserData)
	}
	for _, c := range t.queue[t.qHead:] {
		m[c.d.StreamID] += len(c.d.UserData)
	}
	return m
}

func (t *txState) clear() {
	t.queue, t.qHead, t.outstanding, t.outArr, t.spare, t.zwp = nil, 0, nil, nil, nil, nil
	t.buffered, t.rtxPending, t.gapped = 0, 0, 0
}

// flight is the number of bytes in flight on all paths.
func (a *Association) flight() int {
	n := 0
	for _, p := range a.paths {
		n += p.flight
	}
	return n
}

func (a *Association) takeOutOfFlight(c *txChunk) {
	if c.inFlight {
		c.inFlight = false
		c.path.flight -= len(c.d.UserData)
	}
}

// handleSack processes a SACK: section 6.2.1 for the acknowledgements and
// the peer's window, 7.2.1 to 7.2.4 for congestion control and fast
// retransmit, 6.3.2 for the T3-rtx timers.
func (a *Association) handleSack(now time.Time, c chunk.Raw) {
	s := &a.rx.sackIn
	if err := s.Unmarshal(c); err != nil {
		return
	}
	a.processSack(now, s)
}

// processSack applies an acknowledgement: a SACK's, or a SHUTDOWN's
// Cumulative TSN Ack (with no gap blocks).
func (a *Association) processSack(now time.Time, s *chunk.SackChunk) {
	switch a.state {
	case StateEstablished, StateShutdownPending, StateShutdownReceived, StateShutdownSent:
	default:
		return
	}
	t := &a.tx
	cum := s.CumTSNAck
	// 6.2.1 D i): "If Cumulative TSN Ack is less than the Cumulative TSN
	// Ack Point, drop the SACK chunk."
	if serial.Less32(cum, t.cumAcked) {
		return
	}
	// A SACK for a TSN never sent is a protocol violation.
	if !serial.Less32(cum, t.nextTSN) {
		a.abortWith(now, ErrAborted, "SACK acknowledges TSN never sent",
			&chunk.ProtocolViolationCause{Info: []byte("cumulative TSN ack beyond last TSN sent")})
		return
	}
	for _, p := range a.paths {
		p.flightBefore = p.flight
	}
	cumAdvanced := cum != t.cumAcked
	var htna uint32 // highest TSN newly acknowledged
	newlyAcked := false
	acked := func(ch *txChunk) {
		// A chunk acknowledged for the first time, by the cumulative point
		// or a gap block.
		newlyAcked = true
		if serial.Less32(htna, ch.d.TSN) || htna == 0 {
			htna = ch.d.TSN
		}
		a.takeOutOfFlight(ch)
		if ch.retransmit {
			ch.retransmit = false
			t.rtxPending--
		}
		ch.path.ackedBytes += len(ch.d.UserData)
		ch.path.plp.blackHole = 0
		if ch.path.probe == ch {
			// 6.3.1 C4, C5: one measurement per round trip, and (Karn)
			// never from a retransmitted chunk; a retransmission clears
			// the probe.
			ch.path.probe = nil
			a.measureRTT(ch.path, now.Sub(ch.sentAt))
		}
	}
	n := 0
	for n < len(t.outstanding) && serial.LessEq32(t.outstanding[n].d.TSN, cum) {
		ch := t.outstanding[n]
		if ch.gapAcked {
			t.gapped--
		} else {
			acked(ch)
		}
		t.buffered -= len(ch.d.UserData)
		t.outstanding[n] = nil
		t.recycle(ch)
		n++
	}
	t.outstanding = t.outstanding[n:] // pushOutstanding reuses the front
	t.cumAcked = cum

	// Gap Ack Blocks: acknowledged out of order; chunks once gap-acked and
	// no longer reported were reneged (6.2.1 D iv).
	// Without blocks and with nothing gap-acked (no loss, the usual case)
	// there is nothing to do: the walk is skipped, as it was most of a
	// bulk sender's SACK processing.
	blocks := s.GapBlocks
	bi := 0
	for _, ch := range t.outstanding {
		if len(blocks) == 0 && t.gapped == 0 {
			break
		}
		off := ch.d.TSN - cum
		for bi < len(blocks) && uint32(blocks[bi].End) < off {
			bi++
		}
		in := bi < len(blocks) && uint32(blocks[bi].Start) <= off && off <= uint32(blocks[bi].End)
		switch {
		case in && !ch.gapAcked:
			ch.gapAcked = true
			t.gapped++
			acked(ch)
		case !in && ch.gapAcked:
			ch.gapAcked = false
			t.gapped--
			if ch.path.t3.IsZero() {
				ch.path.t3 = now.Add(ch.path.rto)
			}
		}
	}

	// Fast retransmit, 7.2.4: miss indications follow the HTNA algorithm;
	// in Fast Recovery a SACK that advances the cumulative point counts
	// for every missing TSN.
	if newlyAcked && len(blocks) > 0 {
		// A TSN is reported missing only below the end of the last gap
		// block: above it, chunks are simply still in flight.
		lastReported := cum + uint32(blocks[len(blocks)-1].End)
		for _, ch := range t.outstanding {
			if ch.gapAcked || ch.retransmit || ch.fastRetransmitted {
				continue
			}
			if !serial.Less32(ch.d.TSN, lastReported) {
				break
			}
			if !serial.Less32(ch.d.TSN, htna) && !(t.fastRecovery && cumAdvanced) {
				continue
			}
			ch.missing++
			if ch.missing < 3 {
				continue
			}
			// "Mark the DATA chunk(s) with three miss indications for
			// retransmission." and, unless in Fast Recovery already,
			// "ssthresh = max(cwnd/2, 4*MTU), cwnd = ssthresh,
			// partial_bytes_acked = 0".
			ch.retransmit, ch.fastRetransmitted = true, true
			t.rtxPending++
			a.unprobe(ch)
			a.takeOutOfFlight(ch)
			t.fastRtxNow = true
			a.stats.FastRetransmits++
			if !t.fastRecovery {
				t.fastRecovery = true
				t.recoverTSN = t.nextTSN - 1
				p := ch.path
				p.ssthresh = max(p.cwnd/2, 4*p.mtu)
				p.cwnd = p.ssthresh
				p.partialBytesAcked = 0
			}
		}
	}
	if t.fastRecovery && serial.LessEq32(t.recoverTSN, cum) {
		t.fastRecovery = false
	}

	// Congestion window growth, 7.2.1 and 7.2.2, per path.
	for _, p := range a.paths {
		if p.ackedBytes == 0 {
			if p.flight == 0 {
				p.t3 = time.Time{}
			}
			continue
		}
		ackd := p.ackedBytes
		p.ackedBytes = 0
		a.pathHeard(now, p, "data acknowledged")
		if cumAdvanced && !t.fastRecovery {
			full := p.flightBefore >= p.cwnd
			if p.cwnd <= p.ssthresh {
				// Slow start: "cwnd MUST be increased by, at most, the
				// lesser of (1) the total size of the previously
				// outstanding DATA chunk(s) acknowledged and (2) the
				// destination's path MTU", and only when fully using cwnd.
				if full {
					p.cwnd += min(ackd, p.mtu)
				}
			} else {
				// Congestion avoidance: one MTU per cwnd of acked bytes.
				p.partialBytesAcked += ackd
				if p.partialBytesAcked >= p.cwnd && full {
					p.partialBytesAcked -= p.cwnd
					p.cwnd += p.mtu
				}
			}
		}
		// 6.3.2 R2 and R3: stop T3 when nothing is outstanding on the
		// path, restart it when the earliest outstanding was acked.
		if p.flight == 0 {
			p.partialBytesAcked = 0
			p.t3 = time.Time{}
		} else {
			p.t3 = now.Add(p.rto)
		}
	}

	// 6.2.1 D iii: "Set rwnd equal to the newly received a_rwnd minus the
	// number of bytes still outstanding after processing the Cumulative
	// TSN Ack and the Gap Ack Blocks."
	if s.AdvRecvWindow == 0 {
		// The peer answers but its window is closed: our zero window
		// probes are not lost, so they must not count towards
		// Path.Max.Retrans and Association.Max.Retrans (section 6.1, rule
		// A: probing continues "until the receiver's window opens").
		if p := a.rx.lastPath; p != nil {
			a.pathHeard(now, p, "SACK with a closed window")
		}
	}
	a.probeDropped(now, s.AdvRecvWindow)
	fl := uint32(a.flight())
	if s.AdvRecvWindow > fl {
		t.peerRwnd = s.AdvRecvWindow - fl
	} else {
		t.peerRwnd = 0
	}
	a.maybeWritable()
	a.shutdownProgress(now)
}

// probeDropped resends the zero window probe first when a SACK opens the
// window without acknowledging it. A receiver whose window is closed
// drops the probe and at once sends a SACK without it (6.2); the window
// update that follows does not cover it either. Sent after the new data
// the open window lets go, it would leave a gap, and three SACKs later a
// fast retransmission would halve cwnd for a chunk no congestion lost
// (seen against usrsctp, whose window closes while its application is
// busy). A SACK that left the peer before the probe arrived (younger
// than an SRTT) proves nothing: the probe may still be on its way, so it
// is left alone. Caller: processSack, before peerRwnd is set from awnd.
func (a *Association) probeDropped(now time.Time, awnd uint32) {
	t := &a.tx
	ch := t.zwp
	if ch == nil {
		return
	}
	if ch.gapAcked {
		t.zwp = nil // it got in
		return
	}
	if ch.retransmit || awnd < uint32(a.flight()) || now.Sub(ch.sentAt) < ch.path.srtt {
		return
	}
	t.zwp = nil
	ch.retransmit = true
	t.rtxPending++
	a.unprobe(ch)
	a.takeOutOfFlight(ch)
}

func (a *Association) maybeWritable() {
	t := &a.tx
	if t.wantWritable && (t.buffered == 0 || t.buffered <= a.cfg.SendBuffer/2) {
		t.wantWritable = false
		a.pushEvent(Writable{})
	}
}

// onT3Timeout: section 6.3.3.
func (a *Association) onT3Timeout(p *path, now time.Time) {
	t := &a.tx
	marked := false
	for _, ch := range t.outstanding {
		if ch.path == p && !ch.gapAcked && !ch.retransmit {
			// E3: mark for retransmission, no longer in flight.
			ch.retransmit = true
			a.unprobe(ch)
			t.rtxPending++
			a.takeOutOfFlight(ch)
			marked = true
		}
	}
	if !marked {
		return
	}
	a.stats.T3Expiries++
	if a.pathError(now, p, "T3-rtx expired") {
		a.abortWith(now, ErrTimeout, "peer unreachable: retransmissions exhausted", nil)
		return
	}
	// E1: "ssthresh = max(cwnd/2, 4*MTU), cwnd = 1*MTU".
	p.ssthresh = max(p.cwnd/2, 4*p.mtu)
	p.cwnd = p.mtu
	p.partialBytesAcked = 0
	// E2: back off the timer.
	a.backoffRTO(p)
	t.fastRecovery = false
	a.plpT3(p, now)
}

// fragmentSize is how many of the n bytes left of the queue's first
// message the next DATA chunk carries, in a packet with free bytes left:
// as many as fit, in multiples of 4 (so that no fragment but the last
// needs padding), so that the tail of one message and the head of the
// next share a packet. It is 0 when fewer than minFragment bytes would
// fit: the next packet takes them. When the peer's window is smaller than
// that, the fragment is cut to the window if the window holds a chunk of
// the base size (Config.MTU), and to the base size otherwise: a zero
// window probe (6.1 rule A).
func (a *Association) fragmentSize(free, n int) int {
	size := (free - chunk.DataHeaderLen) &^ 3
	if w := int(a.tx.peerRwnd) &^ 3; w < size {
		// A window too small for a base-sized chunk is probed with one
		// of the base size at most (6.1 rule A), as before chunks
		// followed the PLPMTU: a larger probe is larger waste when the
		// window is still closed.
		size = max(w, min(size, a.cfg.MTU-chunk.HeaderLen-chunk.DataHeaderLen))
	}
	switch {
	case size >= n:
		return n
	case size < minFragment:
		return 0
	}
	return size
}

// minFragment is the smallest fragment cut to fill a packet's end: below
// it, the 16-byte header and a chunk more to reassemble are not worth it.
const minFragment = 256

// canSendNew says whether a new DATA chunk of n bytes may go to p now:
// rule A of section 6.1 (the peer's window, with one chunk allowed when
// nothing is in flight: zero window probing) and rule B (cwnd).
//
// A zero window probe waits until the window has stayed too small for
// the chunk one RTO (a persist timer, as TCP's), and as long again after
// each probe. Rule A allows one at once, but the probe is for a window
// update SACK that was lost; the update usually comes first. Sent at once,
// the probe reached a receiver whose window was still full and was
// dropped (6.2), and the data sent when the window opened went past it:
// a gap, and three SACKs later a fast retransmission that halved cwnd
// (bulk to a slower reader: 5 to 20 in every 5 s, with no packet lost).
//
// It starts the persist clock and spends the probe's turn, so only
// appendData, which sends what it allows, calls it.
func (a *Association) canSendNew(now time.Time, p *path, n int) bool {
	if !a.newDataTurn() {
		return false
	}
	t := &a.tx
	if uint32(n) <= t.peerRwnd {
		t.windowClosed = time.Time{}
		return p.flight < p.cwnd
	}
	if a.flight() > 0 {
		return false
	}
	if t.windowClosed.IsZero() || now.Before(t.windowClosed.Add(p.rto)) {
		if t.windowClosed.IsZero() {
			t.windowClosed = now
		}
		a.timers.start(timerPersist, t.windowClosed, p.rto)
		return false
	}
	if p.flight >= p.cwnd {
		return false
	}
	t.windowClosed = now // the next probe one RTO after this one
	return true
}

// newDataTurn says whether the association may send new DATA at all: in a
// state that allows it (9.2 stops new data once SHUTDOWN is sent), and
// within Max.Burst.
func (a *Association) newDataTurn() bool {
	switch a.state {
	case StateEstablished, StateShutdownPending, StateShutdownReceived:
	default:
		return false
	}
	return a.tx.burst < a.cfg.MaxBurst
}

// appendData appends DATA chunks to the packet b for path p: marked
// retransmissions first, then new data, as cwnd, rwnd and room allow.
func (a *Association) appendData(now time.Time, p *path, b []byte, room int) []byte {
	if p.state == PathUnconfirmed {
		// Section 5.4: no DATA to an unconfirmed address. The data path
		// is one only when no other is left (the peer deleted the rest
		// with ASCONF); the data waits for its HEARTBEAT ACK.
		return b
	}
	t := &a.tx
	sentAny := false
	mark := func(ch *txChunk) {
		ch.path = p
		ch.sentAt = now
		ch.transmissions++
		ch.inFlight = true
		p.flight += len(ch.d.UserData)
		sentAny = true
	}
	if t.rtxPending > 0 {
		ignoreCwnd := t.fastRtxNow
		for _, ch := range t.outstanding {
			if !ch.retransmit {
				continue
			}
			n := (ch.d.Len() + 3) &^ 3
			if n > room-len(b) {
				// A chunk cut for a larger PLPMTU than the path has now
				// (after a black hole, or on another path) fits no packet
				// of this path, and cannot be cut again, having a TSN
				// (6.9): it goes as the packet's only DATA (control
				// chunks may ride along, so that a SACK bundled first
				// cannot hold it back for ever), in a packet the host may
				// fragment (Transmit.Fragment), if the buffer holds it
				// with the AUTH room kept.
				tooBig := n > room-chunk.HeaderLen
				authRoom := min(p.mtu, cap(b)) - room
				if !tooBig || sentAny || n > cap(b)-len(b)-authRoom {
					break
				}
			}
			if !ignoreCwnd && p.flight >= p.cwnd {
				break
			}
			b = ch.d.Append(b)
			ch.retransmit = false
			t.rtxPending--
			mark(ch)
			a.stats.Retransmissions++
		}
		t.fastRtxNow = false
	}
	if t.rtxPending == 0 {
		for t.queued() > 0 {
			size := a.fragmentSize(room-len(b), len(t.queue[t.qHead].d.UserData))
			if size == 0 || !a.canSendNew(now, p, size) {
				break
			}
			ch := t.popChunk(size)
			ch.d.TSN = t.nextTSN
			t.nextTSN++
			if uint32(size) > t.peerRwnd {
				t.zwp = ch // let through with the window short: a probe
			}
			if p.probe == nil {
				p.probe = ch
			}
			b = ch.d.Append(b)
			mark(ch)
			t.pushOutstanding(ch)
			a.stats.BytesSent += uint64(len(ch.d.UserData))
			n32 := uint32(len(ch.d.UserData))
			if t.peerRwnd > n32 {
				t.peerRwnd -= n32
			} else {
				t.peerRwnd = 0
			}
		}
	}
	if sentAny {
		p.lastData = now
		if p.t3.IsZero() {
			// 6.3.2 R1: start T3 when a DATA chunk is sent and it is not
			// running.
			p.t3 = now.Add(p.rto)
		}
	}
	return b
}

// firstRetransmit is the earliest chunk marked for retransmission, if any.
func (t *txState) firstRetransmit() *txChunk {
	for _, ch := range t.outstanding {
		if ch.retransmit {
			return ch
		}
	}
	return nil
}

// unprobe stops timing ch: Karn's rule, a retransmitted chunk's
// acknowledgement is ambiguous.
func (a *Association) unprobe(ch *txChunk) {
	if ch.path != nil && ch.path.probe == ch {
		ch.path.probe = nil
	}
}

// wantsToSend says whether appendData would add something to a packet for
// p now, so a pending SACK can ride along. It only asks: a zero window
// probe, which canSendNew would let go, is not counted (the SACK then
// keeps its own timer).
func (a *Association) wantsToSend(p *path) bool {
	t := &a.tx
	if t.rtxPending > 0 {
		return t.fastRtxNow || p.flight < p.cwnd
	}
	if t.queued() == 0 || !a.newDataTurn() {
		return false
	}
	size := a.fragmentSize(p.mtu-chunk.HeaderLen, len(t.queue[t.qHead].d.UserData))
	return size > 0 && uint32(size) <= t.peerRwnd && p.flight < p.cwnd
}
