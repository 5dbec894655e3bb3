package assoctest_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/chunk"
)

// plpConfig turns on path MTU discovery from the 1200-byte base up to a
// jumbo frame.
func plpConfig() assoc.Config {
	c := mhConfig()
	c.MTU, c.MaxMTU = 1200, 9000
	return c
}

// dataPackets returns the sizes of the packets in direction dir that
// carry DATA, and how many of them the link refused as too large.
func dataPackets(p *assoctest.Pair, dir assoctest.Direction) (sizes []int, tooBig int) {
	for _, e := range p.Ladder.Packets(dir, chunk.TypeData) {
		if e.Fate == "dropped: larger than link MTU" {
			tooBig++
			continue
		}
		sizes = append(sizes, len(e.Data))
	}
	return sizes, tooBig
}

// RFC 8899 section 6.2 for SCTP: probes are HEARTBEATs padded with a PAD
// chunk (RFC 4820) to the size under test. A network that carries 4000
// bytes, under hosts that could send 9000: the binary search from the
// 1200-byte base ends at exactly 4000 (a probe of 4000 passes, 4012 does
// not, and the bounds are within 16 bytes), each failed size costing
// MAX_PROBES = 3 lost probes and no path error. Then a 64 KiB message
// goes in fragments cut for the PLPMTU, one DATA chunk filling each
// 4000-byte packet, none refused by the link.
func TestPLPMTUDSearch(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{
		A: plpConfig(), Z: plpConfig(),
		AZ: assoctest.LinkConfig{Delay: 10 * ms, MTU: 4000}, ZA: assoctest.LinkConfig{Delay: 10 * ms, MTU: 4000},
	})
	connect(t, p)
	done := func() bool {
		return p.A.Stats().Paths[0].MTU == 4000 && p.Z.Stats().Paths[0].MTU == 4000
	}
	if !p.RunUntil(done, time.Minute) {
		t.Fatalf("no PLPMTU of 4000 after a minute: A %d, Z %d", p.A.Stats().Paths[0].MTU, p.Z.Stats().Paths[0].MTU)
	}
	p.Advance(10 * time.Second) // the search ends; nothing may move it
	for _, side := range []*assoctest.Peer{p.A, p.Z} {
		ps := side.Stats().Paths[0]
		if ps.MTU != 4000 || ps.State != assoc.PathActive || ps.Errors != 0 {
			t.Errorf("%s's path after the search: MTU %d, %v, %d errors; want 4000, active, 0", side.Name, ps.MTU, ps.State, ps.Errors)
		}
	}
	probes, lost := 0, 0
	for _, e := range p.Ladder.Packets(assoctest.AtoZ, chunk.TypePad) {
		probes++
		if n := len(e.Data); n%4 != 0 || n < 1200 || n > 9000 {
			t.Errorf("probe of %d bytes: want a multiple of 4 in [1200, 9000]", n)
		}
		if !e.Has(chunk.TypeHeartbeat) {
			t.Errorf("a PAD chunk without a HEARTBEAT: %v", e.Types())
		}
		if !e.Delivered() {
			lost++
		}
	}
	// Sizes tried: 9000 and 5100 (refused, 3 probes each), 3148 and
	// 3636 and 3880 and 4000 (pass), 4124, 4060, 4028 and 4012 (refused).
	if lost != 3*6 || probes != lost+4 {
		t.Errorf("A sent %d probes, %d lost; want 22 and 18", probes, lost)
	}

	msg := bytes.Repeat([]byte("plpmtud "), 8192)
	if err := p.A.Send(1, 0, msg, assoc.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if !p.RunUntil(func() bool { return len(p.Z.Received(1)) == len(msg) }, time.Minute) {
		t.Fatalf("Z received %d of %d bytes", len(p.Z.Received(1)), len(msg))
	}
	sizes, tooBig := dataPackets(p, assoctest.AtoZ)
	if tooBig != 0 {
		t.Errorf("%d DATA packets larger than the link's 4000 bytes", tooBig)
	}
	// 65536 bytes: 16 fragments of 3972 and the last 2000.
	want := append(slices.Repeat([]int{4000}, 16), 2012)
	if !slices.Equal(sizes, want) {
		t.Errorf("DATA packets of %v bytes, want %v (one fragment cut for the PLPMTU each)", sizes, want)
	}
	for _, e := range p.Ladder.Packets(assoctest.AtoZ, chunk.TypeData) {
		n := 0
		for _, ty := range e.Types() {
			if ty == chunk.TypeData {
				n++
			}
		}
		if n != 1 || e.Frag {
			t.Errorf("a DATA packet with %d DATA chunks (want 1), DF clear %v", n, e.Frag)
		}
	}
}

// RFC 8899 section 4.3, black holes: the network stops carrying the
// PLPMTU mid-transfer (a link's MTU drops from 9000 to 1300 without a
// word). The DATA packets above 1300 vanish; after two T3-rtx expiries the
// path falls back to the 1200-byte base, the data goes through, and a new
// search settles within 16 bytes below 1300.
func TestPLPMTUDBlackHole(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{
		A: plpConfig(), Z: plpConfig(),
		AZ: assoctest.LinkConfig{Delay: 10 * ms}, ZA: assoctest.LinkConfig{Delay: 10 * ms},
	})
	connect(t, p)
	if !p.RunUntil(func() bool { return p.A.Stats().Paths[0].MTU == 9000 }, time.Minute) {
		t.Fatalf("A's PLPMTU %d, want the ceiling 9000 on a link without a limit", p.A.Stats().Paths[0].MTU)
	}
	p.AZ.MTU = 1300
	msg := bytes.Repeat([]byte("black hole "), 20000)
	if err := p.A.Send(1, 0, msg, assoc.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if !p.RunUntil(func() bool { return len(p.Z.Received(1)) == len(msg) }, 5*time.Minute) {
		t.Fatalf("Z received %d of %d bytes through the black hole", len(p.Z.Received(1)), len(msg))
	}
	st := p.A.Stats()
	if st.PMTUBlackHoles != 1 {
		t.Errorf("PMTUBlackHoles %d, want 1", st.PMTUBlackHoles)
	}
	// The fragments cut for 9000 went again alone with DF clear, through
	// the 1300-byte link in IP fragments; those cut after the fallback fit
	// the base, with DF set.
	frag := 0
	for _, e := range p.Ladder.Packets(assoctest.AtoZ, chunk.TypeData) {
		switch {
		case e.Frag && (len(e.Data) <= 1200 || !e.Delivered()):
			t.Errorf("a %d-byte packet with DF clear, %q: only larger ones need it, and they pass", len(e.Data), e.Fate)
		case e.Frag:
			frag++
		case e.Delivered() && len(e.Data) > 1300:
			t.Errorf("a %d-byte packet with DF set passed the 1300-byte link", len(e.Data))
		}
	}
	if frag == 0 {
		t.Error("no packet went with DF clear: the chunks cut for 9000 were lost, or never cut so large")
	}
	if st.State != assoc.StateEstablished {
		t.Fatalf("association %v after the black hole", st.State)
	}
	p.Advance(time.Minute)
	if m := p.A.Stats().Paths[0].MTU; m > 1300 || m < 1300-16 {
		t.Errorf("PLPMTU %d after the new search, want within 16 bytes below 1300", m)
	}
}

// Without MaxMTU nothing changes: no probe, every packet within the MTU.
func TestPLPMTUDOff(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{A: mhConfig(), Z: mhConfig(),
		AZ: assoctest.LinkConfig{Delay: 10 * ms}, ZA: assoctest.LinkConfig{Delay: 10 * ms}})
	connect(t, p)
	p.Advance(time.Minute)
	if n := p.Ladder.Count(assoctest.AtoZ, chunk.TypePad) + p.Ladder.Count(assoctest.ZtoA, chunk.TypePad); n != 0 {
		t.Errorf("%d PAD chunks without MaxMTU", n)
	}
	if m := p.A.Stats().Paths[0].MTU; m != 1200 {
		t.Errorf("PLPMTU %d without MaxMTU, want the 1200 default", m)
	}
}

// Fragments are cut to fill the packet they go in (RFC 9260 6.9 leaves the
// sizes to the sender): with two 3000-byte messages queued at once on a
// 4000-byte path (within the initial cwnd), the second message's head
// fills the first packet: 3988 bytes of chunks, 3000 and 956, then the
// remaining 2044. Fragments cut for whole packets would send two packets
// of 3028 bytes.
func TestFragmentsFillPackets(t *testing.T) {
	c := mhConfig()
	c.MTU = 4000
	p := assoctest.New(t, assoctest.Options{A: c, Z: c,
		AZ: assoctest.LinkConfig{Delay: 10 * ms, MTU: 4000}, ZA: assoctest.LinkConfig{Delay: 10 * ms, MTU: 4000}})
	connect(t, p)
	var want []byte
	for i := range 2 {
		msg := bytes.Repeat([]byte{byte('a' + i)}, 3000)
		want = append(want, msg...)
		if err := p.A.Send(1, 0, msg, assoc.SendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if !p.RunUntil(func() bool { return len(p.Z.Received(1)) == len(want) }, time.Minute) {
		t.Fatalf("Z received %d of %d bytes", len(p.Z.Received(1)), len(want))
	}
	if !bytes.Equal(p.Z.Received(1), want) {
		t.Fatal("the messages arrived altered")
	}
	sizes, _ := dataPackets(p, assoctest.AtoZ)
	if want := []int{4000, 2072}; !slices.Equal(sizes, want) {
		t.Errorf("DATA packets of %v bytes, want %v", sizes, want)
	}
}

// A closed window is probed with a chunk of the base size at most (RFC
// 9260 6.1 rule A allows one DATA chunk in flight), though chunks follow
// the 9000-byte PLPMTU otherwise: the probe meets a window that is
// usually still closed, and a 9000-byte one would be that much more waste.
func TestZeroWindowProbeBaseSized(t *testing.T) {
	z := plpConfig()
	z.RecvWindow = 16384
	p := assoctest.New(t, assoctest.Options{A: plpConfig(), Z: z, ManualReleaseZ: true,
		AZ: assoctest.LinkConfig{Delay: 10 * ms}, ZA: assoctest.LinkConfig{Delay: 10 * ms}})
	connect(t, p)
	if !p.RunUntil(func() bool { return p.A.Stats().Paths[0].MTU == 9000 }, time.Minute) {
		t.Fatalf("A's PLPMTU %d, want 9000", p.A.Stats().Paths[0].MTU)
	}
	msgs := makeMessages(newRand(p.Seed), 20, 1, []int{6000}, 0)
	enqueue(p.A, msgs)
	start := p.Now()
	p.Advance(60 * time.Second)
	big, probes := 0, 0
	for _, e := range sentAfter(p, assoctest.AtoZ, start) {
		cs, _ := assoctest.Chunks(e.Data)
		for _, c := range cs {
			if c.Type != chunk.TypeData {
				continue
			}
			if e.At.Before(start.Add(30 * time.Second)) {
				big = max(big, len(e.Data))
				continue
			}
			probes++
			if n := len(c.Value) - (chunk.DataHeaderLen - 4); n > 1200-chunk.HeaderLen-chunk.DataHeaderLen {
				t.Errorf("a probe of %d bytes of user data into a closed window; want at most the base size's 1172", n)
			}
		}
	}
	if probes == 0 || big <= 1200 {
		t.Errorf("%d probes after the window closed; largest DATA packet before %d bytes (want probes, and packets above the base)", probes, big)
	}
	p.Z.AutoRelease = true
	p.Z.ReleaseAll()
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == len(msgs) }, 10*time.Minute) {
		t.Fatalf("after release: %d of %d messages", len(p.Z.Messages), len(msgs))
	}
	verifyDelivery(t, msgs, p.Z.Messages)
}

// A black hole both ways at once: each end has SACKs to send while it
// resends the chunks cut for 9000 bytes in IP fragments, and both
// transfers complete.
func TestPLPMTUDBlackHoleBothWays(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{
		A: plpConfig(), Z: plpConfig(),
		AZ: assoctest.LinkConfig{Delay: 10 * ms}, ZA: assoctest.LinkConfig{Delay: 10 * ms},
	})
	connect(t, p)
	if !p.RunUntil(func() bool { return p.A.Stats().Paths[0].MTU == 9000 && p.Z.Stats().Paths[0].MTU == 9000 }, time.Minute) {
		t.Fatalf("PLPMTU A %d, Z %d, want 9000", p.A.Stats().Paths[0].MTU, p.Z.Stats().Paths[0].MTU)
	}
	p.AZ.MTU, p.ZA.MTU = 1300, 1300
	msg := bytes.Repeat([]byte("both ways "), 22000)
	for _, side := range []*assoctest.Peer{p.A, p.Z} {
		if err := side.Send(1, 0, msg, assoc.SendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	done := func() bool { return len(p.Z.Received(1)) == len(msg) && len(p.A.Received(1)) == len(msg) }
	if !p.RunUntil(done, 5*time.Minute) {
		t.Fatalf("received %d (Z) and %d (A) of %d bytes", len(p.Z.Received(1)), len(p.A.Received(1)), len(msg))
	}
	for _, side := range []*assoctest.Peer{p.A, p.Z} {
		if st := side.Stats(); st.PMTUBlackHoles != 1 || st.State != assoc.StateEstablished {
			t.Errorf("%s: %d black holes, %v; want 1, established", side.Name, st.PMTUBlackHoles, st.State)
		}
	}
}
