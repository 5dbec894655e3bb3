//go:build linux

package udpencap

import "testing"

// BenchmarkGSO compares one round of 32 datagrams of 1200 bytes over IPv4
// loopback with UDP GSO (where the kernel has it) and without.
func BenchmarkGSO(b *testing.B) {
	for _, gso := range []bool{true, false} {
		name := "off"
		if gso {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			p := newAllocPair(b, "127.0.0.1:0", "127.0.0.1", "", 32)
			if gso && !p.x.sys.gso.Load() {
				b.Skip("the kernel has no UDP GSO")
			}
			p.x.sys.gso.Store(gso)
			b.SetBytes(int64(len(p.out) * 1200))
			b.ReportAllocs()
			for b.Loop() {
				p.round(b)
			}
		})
	}
}
