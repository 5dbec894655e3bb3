package assoctest

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// The harness parses and builds packets on its own; these tests hold it to
// the codec of package chunk, so that the two are independent opinions
// that agree.

func TestChecksumAgreesWithCodec(t *testing.T) {
	pkt := BuildPacket(5001, 5432, 0xdeadbeef,
		RawChunk{Type: chunk.TypeData, Flags: FlagBeginning | FlagEnding, Value: DataValue(7, 1, 0, 51, []byte("hello"))},
		RawChunk{Type: chunk.TypeCookieAck})
	if !chunk.VerifyChecksum(pkt) {
		t.Fatalf("chunk.VerifyChecksum rejects a packet summed by the harness: % x", pkt)
	}
	cp := append([]byte(nil), pkt...)
	cp[8], cp[9], cp[10], cp[11] = 0, 0, 0, 0
	chunk.SetChecksum(cp)
	if !bytes.Equal(cp, pkt) {
		t.Fatalf("checksums differ: harness % x, codec % x", pkt[8:12], cp[8:12])
	}
	if !ChecksumOK(pkt) {
		t.Fatal("ChecksumOK rejects its own packet")
	}
	pkt[len(pkt)-1] ^= 1
	if ChecksumOK(pkt) || chunk.VerifyChecksum(pkt) {
		t.Fatal("a flipped bit passes the checksum")
	}
}

func TestChunksAgreeWithCodec(t *testing.T) {
	pkt := BuildPacket(1, 2, 3,
		RawChunk{Type: chunk.TypeSack, Value: make([]byte, 12)},
		RawChunk{Type: chunk.TypeData, Flags: FlagUnordered | FlagBeginning | FlagEnding, Value: DataValue(9, 2, 0, 0, []byte("odd"))},
		RawChunk{Type: chunk.TypeData, Flags: FlagBeginning, Value: DataValue(10, 2, 1, 0, []byte("x"))})
	mine, err := Chunks(pkt)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, err := chunk.ParseHeader(pkt)
	if err != nil {
		t.Fatal(err)
	}
	r := chunk.NewReader(rest)
	i := 0
	for r.Next() {
		c := r.Chunk()
		if i >= len(mine) || c.Type != mine[i].Type || c.Flags != mine[i].Flags || !bytes.Equal(c.Value, mine[i].Value) {
			t.Fatalf("chunk %d: codec %+v, harness %+v", i, c, mine)
		}
		i++
	}
	if r.Err() != nil || i != len(mine) {
		t.Fatalf("codec read %d chunks (err %v), harness %d", i, r.Err(), len(mine))
	}
	if err := wireCheck(pkt, 1200); err != nil {
		t.Fatalf("wireCheck of a good packet: %v", err)
	}
	if got := Describe(pkt); got != "SACK[cum=0 a_rwnd=0 gaps=0 dups=0] DATA[tsn=9 sid=2 ssn=0 UBE len=3] DATA[tsn=10 sid=2 ssn=1 B len=1]" {
		t.Errorf("Describe = %q", got)
	}
	// Every truncation is reported, never a panic.
	for n := range len(pkt) {
		Chunks(pkt[:n])
		Describe(pkt[:n])
		if wireCheck(pkt[:n], 0) == nil && n != len(pkt) {
			// A cut at a chunk boundary is a valid packet, but its
			// checksum no longer matches.
			t.Errorf("wireCheck accepts a truncation to %d bytes", n)
		}
	}
}

func TestWireCheckRules(t *testing.T) {
	data := RawChunk{Type: chunk.TypeData, Flags: 3, Value: DataValue(1, 0, 0, 0, []byte("a"))}
	for name, pkt := range map[string][]byte{
		"INIT bundled":       BuildPacket(1, 2, 0, RawChunk{Type: chunk.TypeInit, Value: make([]byte, 16)}, data),
		"control after DATA": BuildPacket(1, 2, 5, data, RawChunk{Type: chunk.TypeSack, Value: make([]byte, 12)}),
		"empty DATA":         BuildPacket(1, 2, 5, RawChunk{Type: chunk.TypeData, Flags: 3, Value: DataValue(1, 0, 0, 0, nil)}),
		"INIT with a tag":    BuildPacket(1, 2, 5, RawChunk{Type: chunk.TypeInit, Value: make([]byte, 16)}),
		"too big":            BuildPacket(1, 2, 5, RawChunk{Type: chunk.TypeData, Flags: 3, Value: DataValue(1, 0, 0, 0, make([]byte, 1300))}),
	} {
		if wireCheck(pkt, 1200) == nil {
			t.Errorf("%s: wireCheck accepts it", name)
		}
	}
}

func TestRewrite(t *testing.T) {
	pkt := BuildPacket(1, 2, 3,
		RawChunk{Type: chunk.TypeSack, Value: make([]byte, 12)},
		RawChunk{Type: chunk.TypeData, Flags: 3, Value: DataValue(9, 2, 0, 0, []byte("payload"))})
	h := Rewrite(chunk.TypeData, 1, func(c *RawChunk) {
		c.Flags |= FlagImmediate
		c.Value = c.Value[:12]
	})
	p := &Packet{Data: pkt, Chunks: ChunkTypes(pkt)}
	if v := h(p); v != Pass {
		t.Fatalf("verdict %v", v)
	}
	if got := Describe(p.Data); got != "SACK[cum=0 a_rwnd=0 gaps=0 dups=0] DATA[tsn=9 sid=2 ssn=0 BEI len=0]" {
		t.Errorf("rewritten: %s", got)
	}
	if !ChecksumOK(p.Data) {
		t.Error("rewritten packet has a bad checksum")
	}
	p2 := &Packet{Data: pkt, Chunks: ChunkTypes(pkt)}
	h(p2)
	if !bytes.Equal(p2.Data, pkt) {
		t.Error("Rewrite(n=1) changed a second packet")
	}
}

func newTestLink(cfg LinkConfig, seed uint64) (*Link, *Pair) {
	p := &Pair{Ladder: &Ladder{}}
	return &Link{LinkConfig: cfg, pair: p, rng: rand.New(rand.NewPCG(seed, 1))}, p
}

func TestLinkLossAndOrder(t *testing.T) {
	pkt := BuildPacket(1, 2, 3, RawChunk{Type: chunk.TypeSack, Value: make([]byte, 12)})
	l, p := newTestLink(LinkConfig{Loss: 0.3, Delay: 10 * time.Millisecond, Jitter: 5 * time.Millisecond, Duplicate: 0.1}, 42)
	now := Epoch
	for range 1000 {
		l.send(now, pkt, false, nil, netip.AddrPort{}, netip.AddrPort{})
		now = now.Add(time.Millisecond)
	}
	lost, dups := 0, 0
	for _, e := range p.Ladder.Entries {
		if e.Fate == fateLost {
			lost++
		}
		if e.Dup {
			dups++
		}
	}
	if lost < 240 || lost > 360 {
		t.Errorf("lost %d of 1000 at 30%%", lost)
	}
	if dups < 40 || dups > 100 {
		t.Errorf("%d duplicates of ~700 at 10%%", dups)
	}
	if l.InFlight() != 1000-lost+dups {
		t.Errorf("in flight %d, want %d", l.InFlight(), 1000-lost+dups)
	}
	for i := 1; i < len(l.queue); i++ {
		if l.queue[i].at.Before(l.queue[i-1].at) {
			t.Fatal("link queue not sorted by arrival")
		}
	}
	// The same seed makes the same fates.
	l2, p2 := newTestLink(l.LinkConfig, 42)
	now = Epoch
	for range 1000 {
		l2.send(now, pkt, false, nil, netip.AddrPort{}, netip.AddrPort{})
		now = now.Add(time.Millisecond)
	}
	if p2.Ladder.String() != p.Ladder.String() {
		t.Error("same seed, different ladder")
	}
}

func TestLinkHooks(t *testing.T) {
	data := BuildPacket(1, 2, 3, RawChunk{Type: chunk.TypeData, Flags: 3, Value: DataValue(1, 0, 0, 0, []byte("a"))})
	sack := BuildPacket(1, 2, 3, RawChunk{Type: chunk.TypeSack, Value: make([]byte, 12)})
	l, p := newTestLink(LinkConfig{Hooks: []Hook{DropFirst(chunk.TypeData, 2), DelayFirst(chunk.TypeSack, 1, time.Second)}, MTU: 40}, 1)
	for _, pkt := range [][]byte{data, sack, data, sack, data, BuildPacket(1, 2, 3, RawChunk{Type: chunk.TypePad, Value: make([]byte, 40)})} {
		l.send(Epoch, pkt, false, nil, netip.AddrPort{}, netip.AddrPort{})
	}
	var fates []string
	for _, e := range p.Ladder.Entries {
		fates = append(fates, e.Fate)
	}
	want := []string{fateHook, "", fateHook, "", "", fateTooBig}
	if len(fates) != len(want) {
		t.Fatalf("fates %q", fates)
	}
	for i := range want {
		if fates[i] != want[i] {
			t.Fatalf("fates %q, want %q", fates, want)
		}
	}
	if got := p.Ladder.Entries[1].Arrive.Sub(Epoch); got != time.Second {
		t.Errorf("delayed SACK arrives at %v", got)
	}
	if got := p.Ladder.Entries[3].Arrive.Sub(Epoch); got != 0 {
		t.Errorf("second SACK arrives at %v", got)
	}
	if f := p.Ladder.Flow(); len(f) != 3 || f[2].Dir != AtoZ || f[2].Chunks[0] != chunk.TypeSack {
		t.Errorf("flow %v", f)
	}
}
