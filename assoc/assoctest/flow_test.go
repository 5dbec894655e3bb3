package assoctest_test

import (
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/chunk"
)

// RFC 9260 section 6.1, rule A: "At any given time, the data sender MUST
// NOT transmit new data to any destination transport address if its
// peer's rwnd indicates that the peer has no buffer space (i.e., rwnd is
// smaller than the size of the data chunk; see Section 6.2.1). However,
// regardless of the value of rwnd (including if it is 0), the data sender
// can always have one DATA chunk in flight to the receiver if allowed by
// cwnd (see rule B). This rule allows the sender to probe for a change in
// rwnd that the sender missed due to the SACK chunk having been lost in
// transit from the data receiver to the data sender."
//
// Z's application never reads: the sender fills the window, then only
// probes, one DATA chunk at a time; when the application reads, the
// transfer resumes and completes.
func TestFlowControlZeroWindow(t *testing.T) {
	const window = 16384
	const mtu = 1200
	p := assoctest.New(t, assoctest.Options{
		Z:              assoc.Config{RecvWindow: window},
		ManualReleaseZ: true,
		AZ:             assoctest.LinkConfig{Delay: 10 * ms},
		ZA:             assoctest.LinkConfig{Delay: 10 * ms},
	})
	p.Check = func() {
		if a := p.A.Assoc; a != nil {
			flight := 0
			for _, ps := range a.Stats().Paths {
				flight += ps.Flight
			}
			if flight > window+mtu {
				p.Fatalf("A has %d bytes in flight; Z's window is %d", flight, window)
			}
		}
	}
	connect(t, p)
	msgs := makeMessages(newRand(p.Seed), 40, 2, []int{2000}, 0)
	enqueue(p.A, msgs)
	start := p.Now()
	p.Advance(60 * time.Second)

	held := p.Z.Unreleased()
	if held > window+mtu {
		t.Errorf("Z holds %d unread bytes, more than its window %d plus one probe", held, window)
	}
	if held < window/2 {
		t.Errorf("Z holds only %d bytes of a %d window: the sender stopped early", held, window)
	}
	probes := 0
	for _, e := range sentAfter(p, assoctest.AtoZ, start.Add(30*time.Second)) {
		n := 0
		cs, _ := assoctest.Chunks(e.Data)
		for _, c := range cs {
			if c.Type == chunk.TypeData {
				n++
			}
		}
		if n > 1 {
			t.Errorf("a packet with %d DATA chunks into a closed window: %s", n, e.String())
		}
		if n == 1 {
			probes++
		}
	}
	if probes == 0 {
		t.Error("no zero-window probe in 30 s with a closed window")
	}
	sacks := p.Ladder.Packets(assoctest.ZtoA, chunk.TypeSack)
	if len(sacks) == 0 {
		t.Fatal("no SACK")
	}
	if s, _ := assoctest.ParseSack(chunkValue(sacks[len(sacks)-1].Data, chunk.TypeSack)); s.AdvRecvWindow >= mtu {
		t.Errorf("last SACK advertises a_rwnd %d with %d bytes unread of %d", s.AdvRecvWindow, held, window)
	}

	// The application reads: the transfer resumes.
	resume := p.Now()
	p.Z.AutoRelease = true
	p.Z.ReleaseAll()
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == len(msgs) }, 10*time.Minute) {
		t.Fatalf("after release: %d of %d messages", len(p.Z.Messages), len(msgs))
	}
	verifyDelivery(t, msgs, p.Z.Messages)
	t.Logf("transfer resumed and completed %v after the release", p.Now().Sub(resume))
}

// A receiver that reads in bursts, slower than the sender: the window
// fills again and again, and opens when the application reads (every
// 50 ms here). The window update SACK comes well within an RTO, so no
// zero window probe is sent into the full window, none is dropped, and
// nothing is retransmitted: a probe sent at once was dropped by the full
// receiver (6.2), the data sent when the window opened went past it, and
// it came back as a fast retransmission that halved cwnd, with no packet
// lost (canSendNew's persist timer).
func TestFlowControlSlowReaderNoRetransmission(t *testing.T) {
	const window = 16384
	p := slowReaderPair(t, window)
	msgs := makeMessages(newRand(p.Seed), 100, 1, []int{3000}, 0)
	enqueue(p.A, msgs)
	for range 2000 {
		if len(p.Z.Messages) == len(msgs) {
			break
		}
		p.Advance(50 * ms)
		p.Z.ReleaseAll()
	}
	verifyDelivery(t, msgs, p.Z.Messages)
	if st := p.A.Stats(); st.Retransmissions != 0 || st.FastRetransmits != 0 || st.T3Expiries != 0 {
		t.Errorf("A retransmitted %d chunks (%d fast, %d T3 expiries) on a lossless link to a slow reader", st.Retransmissions, st.FastRetransmits, st.T3Expiries)
	}
}

// RFC 9260 6.2: a receiver whose window is closed drops a zero window
// probe and at once sends a SACK without it. When the window opens, the
// dropped probe is sent again first: new data sent past it would leave a
// gap, and three SACKs later a fast retransmission would halve cwnd for a
// chunk that was never lost to congestion (seen against usrsctp, whose
// window closes while its application is busy).
func TestZeroWindowProbeResentFirst(t *testing.T) {
	const window = 16384
	p := slowReaderPair(t, window)
	msgs := makeMessages(newRand(p.Seed), 60, 1, []int{1000}, 0)
	enqueue(p.A, msgs)
	p.Advance(2 * time.Second) // the window fills; probes go and are dropped
	if st := p.A.Stats(); st.Retransmissions == 0 && p.Z.Unreleased() < window-1000 {
		t.Fatalf("the window never closed: %d bytes unread", p.Z.Unreleased())
	}
	p.Z.AutoRelease = true
	p.Z.ReleaseAll()
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == len(msgs) }, time.Minute) {
		t.Fatalf("%d of %d messages", len(p.Z.Messages), len(msgs))
	}
	verifyDelivery(t, msgs, p.Z.Messages)
	// T3-rtx expiries while the window is closed are how probes repeat
	// (6.1 rule A); a fast retransmission means a gap behind a probe.
	if st := p.A.Stats(); st.FastRetransmits != 0 {
		t.Errorf("%d fast retransmissions on a lossless link: a dropped probe was left behind new data", st.FastRetransmits)
	}
}

// slowReaderPair is a connected pair on a 5 ms lossless link whose Z has
// a receive window of window bytes and reads only when the test releases.
func slowReaderPair(t *testing.T, window uint32) *assoctest.Pair {
	p := assoctest.New(t, assoctest.Options{
		A: mhConfig(), Z: func() assoc.Config { c := mhConfig(); c.RecvWindow = window; return c }(),
		ManualReleaseZ: true,
		AZ:             assoctest.LinkConfig{Delay: 5 * ms},
		ZA:             assoctest.LinkConfig{Delay: 5 * ms},
	})
	connect(t, p)
	return p
}
