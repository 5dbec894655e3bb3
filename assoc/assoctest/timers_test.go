package assoctest_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/chunk"
)

// RFC 9260 section 6.3.3: "E1) For the destination address for which the
// timer expires, adjust its ssthresh ... E3) Determine how many of the
// earliest (i.e., lowest TSN) outstanding DATA chunks for the address for
// which the T3-rtx has expired will fit into a single packet ... and
// retransmit those".
func TestT3Retransmission(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{
		AZ: assoctest.LinkConfig{Delay: 10 * ms},
		ZA: assoctest.LinkConfig{Delay: 10 * ms},
	})
	connect(t, p)
	p.AZ.Hooks = []assoctest.Hook{assoctest.DropFirst(chunk.TypeData, 1)}
	if err := p.A.Send(0, 0, []byte("lost once"), assoc.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == 1 }, time.Minute) {
		t.Fatal("message not delivered after a minute")
	}
	data := p.Ladder.Packets(assoctest.AtoZ, chunk.TypeData)
	if len(data) != 2 {
		t.Fatalf("%d DATA packets, want the lost one and its retransmission", len(data))
	}
	if !bytes.Equal(chunkValue(data[0].Data, chunk.TypeData), chunkValue(data[1].Data, chunk.TypeData)) {
		t.Error("the retransmission is not the same DATA chunk (TSN, stream, SSN, data)")
	}
	// RTO >= RTO.Min (1 s): T3-rtx cannot fire earlier.
	if gap := data[1].At.Sub(data[0].At); gap < time.Second {
		t.Errorf("retransmitted after %v, before RTO.Min", gap)
	}
	st := p.A.Stats()
	if st.T3Expiries < 1 || st.Retransmissions < 1 {
		t.Errorf("stats: T3Expiries %d, Retransmissions %d", st.T3Expiries, st.Retransmissions)
	}
	if p.Z.Stats().BytesReceived != uint64(len("lost once")) {
		t.Errorf("Z BytesReceived %d", p.Z.Stats().BytesReceived)
	}
}

// RFC 9260 section 7.2.4: "Whenever an endpoint receives a SACK chunk
// that indicates that some TSNs are missing, it SHOULD wait for two
// further miss indications (via subsequent SACK chunks for a total of
// three missing reports) on the same TSNs before taking action with
// regard to Fast Retransmit." Exactly one DATA packet is lost, amid
// enough traffic for three reports: the gap is repaired by fast
// retransmit, long before T3-rtx.
func TestFastRetransmit(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{
		AZ: assoctest.LinkConfig{Delay: 10 * ms},
		ZA: assoctest.LinkConfig{Delay: 10 * ms},
	})
	connect(t, p)
	p.AZ.Hooks = []assoctest.Hook{assoctest.DropNth(chunk.TypeData, 2)}
	msgs := makeMessages(newRand(p.Seed), 40, 1, []int{1000}, 0)
	enqueue(p.A, msgs)
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == len(msgs) }, time.Minute) {
		t.Fatalf("%d of %d messages delivered", len(p.Z.Messages), len(msgs))
	}
	verifyDelivery(t, msgs, p.Z.Messages)
	st := p.A.Stats()
	if st.FastRetransmits == 0 {
		t.Error("no fast retransmit")
	}
	if st.T3Expiries != 0 {
		t.Errorf("%d T3-rtx expiries: the loss should have been repaired by fast retransmit", st.T3Expiries)
	}
	// The retransmission follows the third SACK reporting the gap.
	gaps := 0
	for _, e := range p.Ladder.Packets(assoctest.ZtoA, chunk.TypeSack) {
		if s, ok := assoctest.ParseSack(chunkValue(e.Data, chunk.TypeSack)); ok && s.GapBlocks > 0 {
			gaps++
		}
	}
	if gaps < 3 {
		t.Errorf("only %d SACKs reported a gap; fast retransmit needs three", gaps)
	}
}

// RFC 9260 section 6.2: "... an acknowledgement SHOULD be generated for at
// least every second packet (not every second DATA chunk) received and
// SHOULD be generated within 200 ms of the arrival of any unacknowledged
// DATA chunk." Section 3.3.1: "I bit: The (I)mmediate bit MAY be set by
// the sender whenever the sender of a DATA chunk can benefit from the
// corresponding SACK chunk being sent back without delay."
func TestDelayedSack(t *testing.T) {
	const delay = 200 * time.Millisecond
	p := assoctest.New(t, assoctest.Options{
		AZ: assoctest.LinkConfig{Delay: 10 * ms},
		ZA: assoctest.LinkConfig{Delay: 10 * ms},
		Z:  assoc.Config{DelayedAckTime: delay},
	})
	connect(t, p)
	settle(t, p)

	sackAfter := func(arrive time.Time) time.Duration {
		t.Helper()
		for _, e := range sentAfter(p, assoctest.ZtoA, arrive) {
			if e.Has(chunk.TypeSack) {
				return e.At.Sub(arrive)
			}
		}
		t.Fatal("no SACK")
		return 0
	}

	if err := p.A.Send(0, 0, []byte("one"), assoc.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	settle(t, p)
	d := p.Ladder.Packets(assoctest.AtoZ, chunk.TypeData)
	if len(d) != 1 {
		t.Fatalf("%d DATA packets", len(d))
	}
	if got := sackAfter(d[0].Arrive); got <= 0 || got > delay {
		t.Errorf("single DATA acknowledged %v after arrival, want within (0, %v]", got, delay)
	} else {
		t.Logf("single DATA acknowledged after %v", got)
	}

	p.AZ.Hooks = []assoctest.Hook{assoctest.Rewrite(chunk.TypeData, 1, func(c *assoctest.RawChunk) { c.Flags |= assoctest.FlagImmediate })}
	if err := p.A.Send(0, 0, []byte("two"), assoc.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	settle(t, p)
	d = p.Ladder.Packets(assoctest.AtoZ, chunk.TypeData)
	if got := sackAfter(d[1].Arrive); got != 0 {
		t.Errorf("DATA with the I bit acknowledged after %v, want at once", got)
	}
}

// RFC 9260 section 8.3: "An endpoint SHOULD send a HEARTBEAT chunk to ...
// [an] idle destination transport address ... every RTO + HB.interval,
// with jitter of +/- 50% of the RTO value" and "The receiver of the
// HEARTBEAT chunk SHOULD immediately respond with a HEARTBEAT ACK chunk
// that contains the Heartbeat Information TLV, together with any other
// received TLVs, copied unchanged from the received HEARTBEAT chunk."
func TestHeartbeatOnIdle(t *testing.T) {
	const interval = 10 * time.Second
	p := assoctest.New(t, assoctest.Options{
		A:  assoc.Config{HBInterval: interval},
		Z:  assoc.Config{HBInterval: interval},
		AZ: assoctest.LinkConfig{Delay: 10 * ms},
		ZA: assoctest.LinkConfig{Delay: 10 * ms},
	})
	connect(t, p)
	up := p.Now()
	p.Advance(2 * time.Minute)
	for _, dir := range []assoctest.Direction{assoctest.AtoZ, assoctest.ZtoA} {
		hbs := p.Ladder.Packets(dir, chunk.TypeHeartbeat)
		if len(hbs) < 2 {
			t.Errorf("%s: %d HEARTBEATs in 2 idle minutes with HB.interval %v", dir, len(hbs), interval)
			continue
		}
		if first := hbs[0].At.Sub(up); first < interval {
			t.Errorf("%s: first HEARTBEAT %v after the association came up, before HB.interval", dir, first)
		}
		acks := p.Ladder.Packets(1-dir, chunk.TypeHeartbeatAck)
		if len(acks) < len(hbs)-1 {
			t.Errorf("%s: %d HEARTBEATs, %d HEARTBEAT ACKs", dir, len(hbs), len(acks))
			continue
		}
		if !bytes.Equal(chunkValue(hbs[0].Data, chunk.TypeHeartbeat), chunkValue(acks[0].Data, chunk.TypeHeartbeatAck)) {
			t.Errorf("%s: HEARTBEAT ACK does not echo the HEARTBEAT's information", dir)
		}
	}
	if !p.Connected() {
		t.Error("association did not stay up")
	}
}

// A negative HB.interval disables heartbeats (package assoc's Config).
func TestHeartbeatDisabled(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{A: assoc.Config{HBInterval: -1}, Z: assoc.Config{HBInterval: -1}})
	connect(t, p)
	p.Advance(10 * time.Minute)
	if n := p.Ladder.Count(assoctest.AtoZ, chunk.TypeHeartbeat) + p.Ladder.Count(assoctest.ZtoA, chunk.TypeHeartbeat); n != 0 {
		t.Errorf("%d HEARTBEATs with heartbeats disabled", n)
	}
}

// RFC 9260 section 9.2: "If the timer expires, the endpoint MUST resend
// the SHUTDOWN chunk with the updated last sequential TSN received from
// its peer." (T2-shutdown).
func TestT2ShutdownRetransmission(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{
		AZ: assoctest.LinkConfig{Delay: 10 * ms, Hooks: []assoctest.Hook{assoctest.DropFirst(chunk.TypeShutdown, 1)}},
		ZA: assoctest.LinkConfig{Delay: 10 * ms},
	})
	connect(t, p)
	p.A.Shutdown()
	if !p.RunUntil(p.Closed, 5*time.Minute) {
		t.Fatalf("not closed: A %s, Z %s", p.A.State(), p.Z.State())
	}
	sh := p.Ladder.Packets(assoctest.AtoZ, chunk.TypeShutdown)
	if len(sh) != 2 {
		t.Fatalf("%d SHUTDOWNs, want the lost one and one retransmission", len(sh))
	}
	if gap := sh[1].At.Sub(sh[0].At); gap < time.Second {
		t.Errorf("SHUTDOWN retransmitted after %v, before RTO.Min", gap)
	}
	for _, s := range []*assoctest.Peer{p.A, p.Z} {
		if c, _ := s.Closed(); c.Err != nil {
			t.Errorf("%s: Closed.Err = %v", s.Name, c.Err)
		}
	}
}

// RFC 9260 section 9.2: "The sender of the SHUTDOWN chunk MAY also start
// an overall guard timer T5-shutdown-guard to bound the overall time for
// the shutdown sequence. At the expiration of this timer, the sender
// SHOULD abort the association by sending an ABORT chunk." Every SHUTDOWN
// ACK is lost; retransmissions are allowed for longer than the guard.
func TestT5ShutdownGuard(t *testing.T) {
	const guard = 20 * time.Second
	p := assoctest.New(t, assoctest.Options{
		A:  assoc.Config{ShutdownGuard: guard, AssocMaxRetrans: 100, RTOMax: 4 * time.Second},
		Z:  assoc.Config{AssocMaxRetrans: 100, RTOMax: 4 * time.Second},
		AZ: assoctest.LinkConfig{Delay: 10 * ms},
		ZA: assoctest.LinkConfig{Delay: 10 * ms, Hooks: []assoctest.Hook{assoctest.DropAll(chunk.TypeShutdownAck)}},
	})
	connect(t, p)
	start := p.Now()
	p.A.Shutdown()
	if !p.RunUntil(p.A.IsClosed, 10*time.Minute) {
		t.Fatalf("A still %s 10 minutes after Shutdown", p.A.State())
	}
	took := p.Now().Sub(start)
	if took < guard || took > guard+5*time.Second {
		t.Errorf("A closed %v after Shutdown, want at T5-shutdown-guard (%v)", took, guard)
	}
	c, _ := p.A.Closed()
	if c.Err == nil {
		t.Error("A closed gracefully though no SHUTDOWN ACK ever arrived")
	} else if !errors.Is(c.Err, assoc.ErrTimeout) && !errors.Is(c.Err, assoc.ErrAborted) {
		t.Errorf("A: Closed.Err = %v, want ErrTimeout or ErrAborted", c.Err)
	}
	if len(p.Ladder.Packets(assoctest.AtoZ, chunk.TypeShutdown)) < 2 {
		t.Error("SHUTDOWN never retransmitted")
	}
	if len(sentAfter(p, assoctest.AtoZ, start)) == 0 || !sentAfter(p, assoctest.AtoZ, start)[len(sentAfter(p, assoctest.AtoZ, start))-1].Has(chunk.TypeAbort) {
		t.Error("A's last packet is not an ABORT")
	}
	if !p.RunUntil(p.Z.IsClosed, time.Minute) {
		t.Fatalf("Z still %s after A's ABORT", p.Z.State())
	}
	if c, _ := p.Z.Closed(); !errors.Is(c.Err, assoc.ErrAborted) {
		t.Errorf("Z: Closed.Err = %v, want ErrAborted", c.Err)
	}
}

// RFC 9260 section 8.2: "When the value of this counter exceeds the
// protocol parameter 'Path.Max.Retrans' of that destination address, the
// endpoint SHOULD mark the destination transport address as inactive ...
// and SHOULD notify the upper layer" and "... when an outstanding
// HEARTBEAT chunk ... [or] outstanding DATA chunk sent to that address is
// acknowledged, ... the endpoint SHOULD clear the error counter of the
// destination transport address ... [and] ... indicate to the upper
// layer that the destination transport address is active again." A short
// outage: the path goes inactive and comes back; the association (whose
// limit is higher) survives and delivers everything.
func TestPathDownAndUp(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{
		A:  assoc.Config{PathMaxRetrans: 2, AssocMaxRetrans: 10},
		AZ: assoctest.LinkConfig{Delay: 10 * ms},
		ZA: assoctest.LinkConfig{Delay: 10 * ms},
	})
	connect(t, p)
	p.AZ.Down, p.ZA.Down = true, true
	msgs := makeMessages(newRand(p.Seed), 10, 2, []int{500, 3000}, 0)
	enqueue(p.A, msgs)
	down := func() bool {
		for _, c := range assoctest.EventsOf[assoc.PathChange](p.A) {
			if !c.Active {
				return true
			}
		}
		return false
	}
	if !p.RunUntil(down, 5*time.Minute) {
		t.Fatalf("no PathChange{Active: false} after Path.Max.Retrans; A %s, stats %+v", p.A.State(), p.A.Stats().Paths)
	}
	p.AZ.Down, p.ZA.Down = false, false
	up := func() bool {
		cs := assoctest.EventsOf[assoc.PathChange](p.A)
		return len(cs) > 0 && cs[len(cs)-1].Active && len(p.Z.Messages) == len(msgs)
	}
	if !p.RunUntil(up, 10*time.Minute) {
		t.Fatalf("path not back or data not delivered: %d of %d messages, events %v", len(p.Z.Messages), len(msgs), assoctest.EventsOf[assoc.PathChange](p.A))
	}
	verifyDelivery(t, msgs, p.Z.Messages)
	if !p.Connected() {
		t.Error("association lost")
	}
	if ps := p.A.Stats().Paths; len(ps) != 1 || !ps[0].Active {
		t.Errorf("paths after recovery: %+v", ps)
	}
}
