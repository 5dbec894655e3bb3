package udpencap

import (
	"context"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// allocPair is two connected sockets and the batches that move datagrams
// between them, for the allocation checks and benchmarks: one round is a
// WriteBatch of len(out) messages and the ReadBatch calls that take them.
type allocPair struct {
	x, y    *Conn
	out, in []Message
}

func newAllocPair(tb testing.TB, listen, dst string, local string, batch int) *allocPair {
	tb.Helper()
	ctx := context.Background()
	x, err := Listen(ctx, netip.MustParseAddrPort(listen))
	if err != nil {
		tb.Skipf("cannot listen on %s: %v", listen, err)
	}
	y, err := Listen(ctx, netip.MustParseAddrPort(listen))
	if err != nil {
		x.Close()
		tb.Skipf("cannot listen on %s: %v", listen, err)
	}
	tb.Cleanup(func() { x.Close(); y.Close() })
	to := netip.AddrPortFrom(netip.MustParseAddr(dst), y.LocalAddr().Port())
	p := &allocPair{x: x, y: y, out: make([]Message, batch), in: newBufs(batch, 2048)}
	var src netip.Addr
	if local != "" {
		src = netip.MustParseAddr(local)
	}
	for i := range p.out {
		p.out[i] = Message{Buf: make([]byte, 1200), N: 1200, Addr: to, Local: src}
	}
	return p
}

func (p *allocPair) round(tb testing.TB) {
	if n, err := p.x.WriteBatch(p.out); err != nil || n != len(p.out) {
		tb.Fatalf("WriteBatch = %d, %v", n, err)
	}
	for got := 0; got < len(p.out); {
		n, err := p.y.ReadBatch(p.in)
		if err != nil {
			tb.Fatal(err)
		}
		got += n
	}
}

var allocCases = []struct{ name, listen, dst, local string }{
	{"ipv4", "127.0.0.1:0", "127.0.0.1", ""},
	{"ipv4-any-src", "0.0.0.0:0", "127.0.0.1", "127.0.0.1"},
	{"ipv6", "[::1]:0", "::1", "::1"},
	{"dualstack-v4", "[::]:0", "127.0.0.1", "127.0.0.1"},
}

// TestBatchAllocs guards the per-packet cost on Linux (STYLE.md 11): once
// a Conn has seen a batch of a size, WriteBatch and ReadBatch allocate
// nothing, whatever the address family and with or without a chosen source
// address.
func TestBatchAllocs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the allocation-free batch path is Linux's")
	}
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	for _, tc := range allocCases {
		t.Run(tc.name, func(t *testing.T) {
			p := newAllocPair(t, tc.listen, tc.dst, tc.local, 8)
			p.y.uc.SetReadDeadline(time.Now().Add(30 * time.Second))
			p.round(t) // warm up: scratch buffers are sized on first use
			if a := testing.AllocsPerRun(50, func() { p.round(t) }); a != 0 {
				t.Errorf("%.1f allocations per round of %d datagrams, want 0", a, len(p.out))
			}
		})
	}
}

// BenchmarkBatchAllocs reports allocations per round of 32 datagrams of
// 1200 bytes (one WriteBatch, the ReadBatch calls that take them).
func BenchmarkBatchAllocs(b *testing.B) {
	for _, tc := range allocCases {
		b.Run(tc.name, func(b *testing.B) {
			p := newAllocPair(b, tc.listen, tc.dst, tc.local, 32)
			b.SetBytes(int64(len(p.out) * 1200))
			b.ReportAllocs()
			for b.Loop() {
				p.round(b)
			}
			b.ReportMetric(float64(testing.AllocsPerRun(20, func() { p.round(b) }))/float64(len(p.out)), "allocs/datagram")
		})
	}
}
