package assoctest_test

import (
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
)

// BenchmarkPairTransfer moves 1 MiB from A to Z over a clean 1 ms link,
// in 16 KiB messages: the CPU cost of the core plus the harness (which
// checks invariants and the wire after every input, so this is an upper
// bound on the core's own cost, not a throughput figure).
func BenchmarkPairTransfer(b *testing.B) {
	const total, size = 1 << 20, 16 << 10
	msg := make([]byte, size)
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		p := assoctest.New(b, assoctest.Options{Seed: 1, AZ: assoctest.LinkConfig{Delay: time.Millisecond}, ZA: assoctest.LinkConfig{Delay: time.Millisecond}})
		for range total / size {
			p.A.Enqueue(0, 0, msg, assoc.SendOptions{})
		}
		if !p.RunUntil(func() bool { return p.Z.BytesReceived() == total }, time.Hour) {
			b.Fatalf("%d of %d bytes", p.Z.BytesReceived(), total)
		}
	}
}
