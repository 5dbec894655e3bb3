package assoctest_test

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/chunk"
)

// Once A's ASCONF deleting a1 is on the wire, nothing of A's may leave
// from a1: Z may apply the Delete (RFC 5061 section 5.2) before the packet
// arrives, and then a packet from an address the association no longer
// has is out of the blue (RFC 9260 section 8.4), which Linux answers with
// an ABORT (T bit) that ends the association. Seen against the Linux
// kernel (internal/kernelsctp, TestKernelAsconfDial): the SACK for the
// kernel's DATA, which had come to the address being deleted, left from
// it right after the ASCONF, and the kernel aborted. Here Z's DATA reaches
// a1 after the ASCONF went out and before its ASCONF-ACK is back (the
// link from A is slow), so the SACK is due in between.
func TestAsconfNothingFromDeletedAddress(t *testing.T) {
	o := assoctest.Options{AAddrs: []netip.Addr{a1, a2}, ZAddrs: []netip.Addr{z1}}
	o.A.RTOMin, o.Z.RTOMin = 100*ms, 100*ms
	o.A.DelayedAckTime, o.Z.DelayedAckTime = 20*ms, 20*ms
	o.AZ.Delay, o.ZA.Delay = 50*ms, 5*ms
	p := assoctest.New(t, o)
	connect(t, p)
	if !p.RunUntil(func() bool { return allActive(p.A) && allActive(p.Z) }, 2*time.Second) {
		t.Fatal("paths not confirmed")
	}
	p.Z.Enqueue(0, 0, []byte("to a1, A's primary"), assoc.SendOptions{})
	p.Advance(time.Millisecond) // Z's DATA is on its way to a1
	if err := p.A.Assoc.SetLocalAddrs(p.Now(), []netip.Addr{a2}); err != nil {
		t.Fatal(err)
	}
	// And a HEARTBEAT to a1 that Z sent before it had the ASCONF: its
	// HEARTBEAT ACK must not leave from a1 either.
	var first *assoctest.Entry
	for i, e := range p.Ladder.Entries {
		if e.Kind == assoctest.KindPacket && e.Dir == assoctest.ZtoA && e.Dst.Addr() == a1 {
			first = &p.Ladder.Entries[i]
			break
		}
	}
	if first == nil {
		t.Fatal("no packet from Z to a1")
	}
	hb := chunk.AppendHeader(nil, chunk.Header{
		SrcPort: binary.BigEndian.Uint16(first.Data), DstPort: binary.BigEndian.Uint16(first.Data[2:]),
		VerificationTag: p.A.Stats().LocalTag,
	})
	hb = (&chunk.HeartbeatChunk{Info: []byte("sixteen bytes...")}).Append(hb)
	chunk.SetChecksum(hb)
	p.A.InjectFrom(hb, first.Src, first.Dst)
	if !p.RunUntil(func() bool { return len(changesOf(p.A)) == 1 && len(p.A.Messages) == 1 && len(p.A.Stats().Paths) == 1 }, 2*time.Second) {
		t.Fatalf("changes %+v, A paths %+v, messages %d", changesOf(p.A), p.A.Stats().Paths, len(p.A.Messages))
	}
	p.Advance(200 * ms)
	asconfSent, hbAck := false, false
	for _, e := range p.Ladder.Entries {
		if e.Kind != assoctest.KindPacket || e.Dir != assoctest.AtoZ {
			continue
		}
		if e.Has(chunk.TypeAsconf) {
			asconfSent = true
			continue
		}
		hbAck = hbAck || e.Has(chunk.TypeHeartbeatAck)
		if asconfSent && e.Src.Addr() == a1 {
			t.Errorf("A sent %v from %v after its ASCONF deleting it", e.Types(), a1)
		}
	}
	if !asconfSent || !hbAck {
		t.Fatalf("ASCONF sent: %v; HEARTBEAT ACK sent: %v; want both", asconfSent, hbAck)
	}
	if p.Z.IsClosed() || p.A.IsClosed() {
		t.Error("the association ended")
	}
}
