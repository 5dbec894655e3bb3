package pcapwriter_test

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/chunk"
	"github.com/pgsctp/pgsctp/internal/pcapwriter"
)

// samples returns SCTP packets with valid CRC32c: a DATA and a SACK.
func samples() [][]byte {
	data := assoctest.BuildPacket(5000, 5432, 0x01020304,
		assoctest.RawChunk{Type: chunk.TypeData, Flags: 3, Value: assoctest.DataValue(7, 1, 0, 51, []byte("hello, wireshark"))})
	sack := assoctest.BuildPacket(5432, 5000, 0x0a0b0c0d,
		assoctest.RawChunk{Type: chunk.TypeSack, Value: []byte{0, 0, 0, 7, 0, 1, 0, 0, 0, 0, 0, 0}})
	return [][]byte{data, sack}
}

// Records read back with gopacket hold one IP datagram each, with a UDP
// checksum that verifies and the SCTP packet unchanged as payload, for
// IPv4 and IPv6.
func TestRecords(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcapwriter.New(&buf)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1700000000, 123456789)
	pkts := samples()
	pairs := [][2]netip.AddrPort{
		{netip.MustParseAddrPort("10.0.2.1:9899"), netip.MustParseAddrPort("10.0.2.15:9899")},
		{netip.MustParseAddrPort("[::1]:40000"), netip.MustParseAddrPort("[::1]:9899")},
	}
	for i, pr := range pairs {
		if err := w.WritePacket(at.Add(time.Duration(i)), pr[0], pr[1], pkts[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WritePacket(at, pairs[0][0], pairs[1][1], pkts[0]); err == nil {
		t.Error("mixed IPv4/IPv6 addresses accepted")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeRaw {
		t.Errorf("link type %v", r.LinkType())
	}
	for i, pr := range pairs {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !ci.Timestamp.Equal(at.Add(time.Duration(i))) {
			t.Errorf("record %d: time %v", i, ci.Timestamp)
		}
		first := layers.LayerTypeIPv4
		if pr[0].Addr().Is6() {
			first = layers.LayerTypeIPv6
		}
		p := gopacket.NewPacket(data, first, gopacket.Default)
		udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if udp == nil {
			t.Fatalf("record %d: no UDP layer: %v", i, p)
		}
		if int(udp.SrcPort) != int(pr[0].Port()) || int(udp.DstPort) != int(pr[1].Port()) {
			t.Errorf("record %d: ports %d -> %d", i, udp.SrcPort, udp.DstPort)
		}
		if !bytes.Equal(udp.Payload, pkts[i]) {
			t.Errorf("record %d: payload differs", i)
		}
		// Recompute the UDP checksum over the record as gopacket sees it.
		var nl gopacket.NetworkLayer
		if ip4, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			nl = ip4
		} else if ip6, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
			nl = ip6
		}
		got := udp.Checksum
		if err := udp.SetNetworkLayerForChecksum(nl); err != nil {
			t.Fatal(err)
		}
		sb := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}, udp, gopacket.Payload(udp.Payload)); err != nil {
			t.Fatal(err)
		}
		if want := uint16(sb.Bytes()[6])<<8 | uint16(sb.Bytes()[7]); got == 0 || got != want {
			t.Errorf("record %d: UDP checksum %#04x, want %#04x", i, got, want)
		}
	}
	if _, _, err := r.ReadPacketData(); err == nil {
		t.Error("more records than written")
	}
}

// tshark decodes a capture of good packets without a problem, and flags a
// UDP GSO super-datagram (two SCTP packets in one record, as tcpdump on lo
// shows a batched send) and a corrupted packet. Skipped without tshark,
// except on CI.
func TestTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("tshark missing on CI (scripts/install-deps.sh installs it): %v", err)
		}
		t.Skipf("tshark not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, z := netip.MustParseAddrPort("127.0.0.1:31002"), netip.MustParseAddrPort("127.0.0.1:31001")
	pkts := samples()
	write := func(name string, recs ...[]byte) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), name)
		w, err := pcapwriter.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range recs {
			if err := w.WritePacket(time.Unix(1700000000, int64(i)), a, z, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return path
	}

	good := write("good.pcap", pkts...)
	rep, err := pcapwriter.Tshark(ctx, good, 31001, 31002)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Frames != 2 || rep.SCTP != 2 || len(rep.Problems) != 0 {
		t.Errorf("good capture: %+v; want 2 SCTP frames, no problem", rep)
	}

	super := append(append([]byte(nil), pkts[0]...), pkts[1]...)
	corrupt := append([]byte(nil), pkts[0]...)
	corrupt[len(corrupt)-1] ^= 0xff
	bad := write("bad.pcap", super, corrupt)
	rep, err = pcapwriter.Tshark(ctx, bad, 31001, 31002)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) < 2 {
		t.Errorf("super-datagram and corrupted packet: %+v; want both reported", rep)
	}
	t.Logf("tshark on the bad capture: %q", rep.Problems)
}
