//go:build linux

package udpencap

import "testing"

// BenchmarkGSO compares one round of 32 datagrams of 1200 bytes over IPv4
// loopback with UDP GSO on the sender and GRO on the receiver (where the
// kernel has them), GSO alone, and neither.
func BenchmarkGSO(b *testing.B) {
	for _, tc := range []struct {
		name     string
		gso, gro bool
	}{{"gso+gro", true, true}, {"gso", true, false}, {"off", false, false}} {
		b.Run(tc.name, func(b *testing.B) {
			p := newAllocPair(b, "127.0.0.1:0", "127.0.0.1", "", 32)
			if (tc.gso && !p.x.sys.gso.Load()) || (tc.gro && !p.y.sys.gro) {
				b.Skip("the kernel has no UDP GSO or GRO")
			}
			p.x.sys.gso.Store(tc.gso)
			if !tc.gro && p.y.sys.gro {
				setGRO(b, p.y, false)
			}
			b.SetBytes(int64(len(p.out) * 1200))
			b.ReportAllocs()
			for b.Loop() {
				p.round(b)
			}
		})
	}
}
