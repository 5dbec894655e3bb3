package netrelay_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/chunk"
	"github.com/pgsctp/pgsctp/internal/netrelay"
	"github.com/pgsctp/pgsctp/internal/pcapwriter"
	"github.com/pgsctp/pgsctp/udpencap"
)

func listen(t *testing.T) net.PacketConn {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func addrPort(c net.PacketConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

func dataPacket(tsn uint32, n int) []byte {
	return assoctest.BuildPacket(5000, 5001, 1, assoctest.RawChunk{Type: chunk.TypeData, Flags: 3,
		Value: assoctest.DataValue(tsn, 0, uint16(tsn), 0, bytes.Repeat([]byte{byte(tsn)}, n))})
}

// A client's UDP GSO batch (udpencap sends runs of equal-size datagrams as
// one UDP_SEGMENT send on Linux, which a capture on lo shows as one
// super-datagram) crosses the relay as separate datagrams and lands in
// the capture as one SCTP packet per record; the filter drops the second
// DATA and forwards the rest, then counts the TSN as recovered when it
// crosses again, but not a dropped copy of a TSN that already crossed.
func TestRelayCaptureAndFilter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	server := listen(t)
	defer server.Close()
	front, back := listen(t), listen(t)
	capPath := filepath.Join(t.TempDir(), "relay.pcap")
	w, err := pcapwriter.Create(capPath)
	if err != nil {
		t.Fatal(err)
	}
	f := &netrelay.Filter{Drop: netrelay.DropNth(netrelay.ToServer, netrelay.TypeData, 2, 6)}
	r := netrelay.NewRelay(front, back, addrPort(server), netrelay.Options{Inspect: f.Inspect, Capture: w})

	client, err := udpencap.Listen(ctx, netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// Four equal-size packets in one batch: one GSO send where supported.
	var msgs []udpencap.Message
	for tsn := uint32(1); tsn <= 4; tsn++ {
		p := dataPacket(tsn, 500)
		msgs = append(msgs, udpencap.Message{Buf: p, N: len(p), Addr: addrPort(front)})
	}
	if _, err := client.WriteBatch(msgs); err != nil {
		t.Fatal(err)
	}
	// TSN 2 again (recovers the drop), then TSN 3 again, dropped: a
	// spurious retransmission's loss needs no recovery.
	for _, tsn := range []uint32{2, 3} {
		p := dataPacket(tsn, 500)
		if _, err := client.WriteBatch([]udpencap.Message{{Buf: p, N: len(p), Addr: addrPort(front)}}); err != nil {
			t.Fatal(err)
		}
	}
	got := map[uint32]int{}
	buf := make([]byte, 65536)
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	for n := 0; n < 4; n++ { // 1, 3, 4 and the second 2
		k, _, err := server.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d datagrams at the server: %v", n, err)
		}
		pk, err := netrelay.ParsePacket(buf[:k])
		if err != nil || len(pk.Chunks) != 1 {
			t.Fatalf("server got %x: %v", buf[:k], err)
		}
		c := pk.Chunks[0]
		got[uint32(c.Value[0])<<24|uint32(c.Value[1])<<16|uint32(c.Value[2])<<8|uint32(c.Value[3])]++
	}
	// The last datagram (TSN 3 again) is dropped, so the server cannot
	// tell when the relay has seen it: wait for the filter to count it
	// (a bounded poll, not a timing assertion) before closing.
	for i := 0; i < 500 && len(f.Dropped()) < 2; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	r.Close()
	w.Close()
	if got[1] != 1 || got[2] != 1 || got[3] != 1 || got[4] != 1 {
		t.Errorf("server got TSNs %v; want 1, 2, 3, 4 once each", got)
	}
	if u := f.Unrecovered(); len(u) != 0 {
		t.Errorf("unrecovered %v; want none", u)
	}
	if d := f.Dropped(); len(d) != 2 {
		t.Errorf("dropped %v; want 2", d)
	}

	fh, err := os.Open(capPath)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	pr, err := pcapgo.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	records := 0
	for {
		data, _, err := pr.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		records++
		udp, _ := gopacket.NewPacket(data, layers.LayerTypeIPv4, gopacket.Default).Layer(layers.LayerTypeUDP).(*layers.UDP)
		if udp == nil || len(udp.Payload) != len(dataPacket(1, 500)) {
			t.Errorf("record %d is not one SCTP packet of %d bytes: %x", records, len(dataPacket(1, 500)), data)
		}
	}
	if records != 6 {
		t.Errorf("%d records; want 6, one per datagram sent (dropped ones included)", records)
	}
	pcapwriter.Check(t, capPath, int(addrPort(front).Port()))
}
