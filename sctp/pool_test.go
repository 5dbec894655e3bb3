package sctp

import (
	"bytes"
	"testing"
)

// The packet pool hands out copies of the right size, takes back only its
// own buffers, and costs no allocation in steady state.
func TestPacketPool(t *testing.T) {
	var p packetPool
	for _, n := range []int{1, smallPacket, smallPacket + 1, maxDatagram} {
		src := bytes.Repeat([]byte{byte(n)}, n)
		got := p.copy(src)
		if !bytes.Equal(got, src) {
			t.Fatalf("copy of %d bytes differs", n)
		}
		p.put(got)
	}
	p.put(make([]byte, 10)) // not ours: ignored, no panic
	pkt := bytes.Repeat([]byte{7}, 1200)
	if n := testing.AllocsPerRun(100, func() { p.put(p.copy(pkt)) }); n != 0 {
		t.Errorf("%v allocations per copy and put in steady state", n)
	}
}
