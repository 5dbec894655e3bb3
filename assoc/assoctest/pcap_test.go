package assoctest_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
)

// The pcap file reads back through gopacket: every packet of the ladder,
// in order, as IPv4/UDP between the two addresses, with an SCTP payload
// whose ports are the associations'.
func TestWritePcap(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{AZ: assoctest.LinkConfig{Delay: 10 * ms}, ZA: assoctest.LinkConfig{Delay: 10 * ms}})
	connect(t, p)
	p.A.Send(0, 0, make([]byte, 3000), assoc.SendOptions{})
	p.Advance(time.Second)
	var buf bytes.Buffer
	if err := p.Ladder.WritePcap(&buf, p.A.Addr, p.Z.Addr); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range p.Ladder.Entries {
		if e.Kind != assoctest.KindPacket {
			continue
		}
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("packet %d: %v", n, err)
		}
		n++
		if !ci.Timestamp.Equal(e.At) {
			t.Errorf("packet %d at %v, ladder says %v", n, ci.Timestamp, e.At)
		}
		pkt := gopacket.NewPacket(data, layers.LayerTypeIPv4, gopacket.Default)
		ip, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		udp, _ := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if ip == nil || udp == nil {
			t.Fatalf("packet %d does not decode as IPv4/UDP: %v", n, pkt.ErrorLayer())
		}
		src, dst := p.A.Addr, p.Z.Addr
		if e.Dir == assoctest.ZtoA {
			src, dst = dst, src
		}
		if ip.SrcIP.String() != src.Addr().String() || ip.DstIP.String() != dst.Addr().String() ||
			uint16(udp.SrcPort) != src.Port() || uint16(udp.DstPort) != dst.Port() {
			t.Errorf("packet %d: %v:%d -> %v:%d, want %v -> %v", n, ip.SrcIP, udp.SrcPort, ip.DstIP, udp.DstPort, src, dst)
		}
		if !bytes.Equal(udp.Payload, e.Data) {
			t.Fatalf("packet %d: payload differs from the ladder", n)
		}
		sp := gopacket.NewPacket(udp.Payload, layers.LayerTypeSCTP, gopacket.Default)
		sctp, _ := sp.Layer(layers.LayerTypeSCTP).(*layers.SCTP)
		if sctp == nil {
			t.Fatalf("packet %d: no SCTP layer", n)
		}
		want := [2]uint16{p.A.Config.LocalPort, p.Z.Config.LocalPort}
		if e.Dir == assoctest.ZtoA {
			want[0], want[1] = want[1], want[0]
		}
		if uint16(sctp.SrcPort) != want[0] || uint16(sctp.DstPort) != want[1] {
			t.Errorf("packet %d: SCTP ports %d -> %d, want %d -> %d", n, sctp.SrcPort, sctp.DstPort, want[0], want[1])
		}
	}
	if _, _, err := r.ReadPacketData(); err == nil {
		t.Error("more packets in the file than in the ladder")
	}
	if n < 6 {
		t.Errorf("only %d packets", n)
	}
}
