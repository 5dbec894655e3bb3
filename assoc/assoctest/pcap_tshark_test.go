package assoctest_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/internal/pcapwriter"
)

// The harness's pcap output (ASSOCTEST_PCAP) is what Wireshark reads: an
// exchange with loss, retransmissions, fragmentation and a shutdown,
// written with Ladder.WritePcap, decodes in tshark as one SCTP packet per
// record, none malformed, every CRC32c right (pcapwriter.Check; skipped
// without tshark except on CI).
func TestWritePcapTshark(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{
		AZ: assoctest.LinkConfig{Delay: 10 * ms, Loss: 0.1},
		ZA: assoctest.LinkConfig{Delay: 10 * ms, Loss: 0.1},
	})
	connect(t, p)
	for i := range 20 {
		if err := p.A.Send(uint16(i%3), uint32(i), make([]byte, 100+i*700), assoc.SendOptions{Unordered: i%2 == 0}); err != nil {
			t.Fatal(err)
		}
	}
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == 20 }, time.Minute) {
		t.Fatalf("%d of 20 messages arrived", len(p.Z.Messages))
	}
	p.A.Shutdown()
	p.RunUntil(p.Closed, time.Minute)
	name := filepath.Join(t.TempDir(), "harness.pcap")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ladder.WritePcap(f, p.A.Addr, p.Z.Addr); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	pcapwriter.Check(t, name, int(p.A.Addr.Port()), int(p.Z.Addr.Port()))
}
