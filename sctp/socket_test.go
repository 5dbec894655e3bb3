package sctp

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/udpencap"
)

// TestWriteSkipsRefused: a datagram the host refuses drops only itself;
// the datagrams after it in the batch, to paths that may work, still go.
// (Found against the Linux kernel with a link's route gone: sendmmsg stops
// at the refused datagram.) Here the refused one is an IPv6 destination
// on an IPv4 socket.
func TestWriteSkipsRefused(t *testing.T) {
	ctx := context.Background()
	conn, err := udpencap.Listen(ctx, netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	s := newSocket(conn, resolve(&Config{}), nil)
	defer conn.Close()
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	to := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	msg := func(b string, dst netip.AddrPort) udpencap.Message {
		return udpencap.Message{Buf: []byte(b), N: len(b), Addr: dst}
	}
	s.write([]udpencap.Message{
		msg("one", to),
		msg("refused", netip.MustParseAddrPort("[2001:db8::1]:9899")),
		msg("two", to),
		msg("three", to),
	})
	var got []string
	buf := make([]byte, 100)
	rx.SetReadDeadline(time.Now().Add(10 * time.Second)) // a bound, not a timing assertion
	for len(got) < 3 {
		n, _, err := rx.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, string(buf[:n]))
	}
	if got[0] != "one" || got[1] != "two" || got[2] != "three" {
		t.Errorf("received %q; want one, two, three", got)
	}
}
