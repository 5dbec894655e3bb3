package udpencap

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestListenSplit sends datagrams with and without a verification tag to
// a split listener, on IPv4, IPv6 and a dual-stack socket: the kernel
// must hand the zero-tag ones (INITs) to inits and the rest, including a
// datagram too short to hold a tag, to main. The port is then refused to
// a second listener, split or not, and free again once both sockets close.
func TestListenSplit(t *testing.T) {
	for _, tc := range []struct{ name, listen, loop string }{
		{"ipv4", "127.0.0.1:0", "127.0.0.1"},
		{"ipv6", "[::1]:0", "::1"},
		{"dualstack-v4", "[::]:0", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			main, inits, err := ListenSplit(ctx, netip.MustParseAddrPort(tc.listen))
			if err != nil {
				t.Skipf("cannot listen on %s: %v", tc.listen, err)
			}
			if inits == nil {
				main.Close()
				t.Fatal("Linux refused to steer: SO_REUSEPORT or SO_ATTACH_REUSEPORT_CBPF")
			}
			closed := false
			closeBoth := func() {
				if !closed {
					main.Close()
					inits.Close()
					closed = true
				}
			}
			defer closeBoth()
			if os.Geteuid() == 0 {
				var got int
				inits.sys.rc.Control(func(fd uintptr) {
					got, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
				})
				// Linux reports twice what was set (its bookkeeping).
				if got < InitSocketBuffer {
					t.Errorf("INIT socket's receive buffer %d bytes as root, want at least %d", got, InitSocketBuffer)
				}
			}
			port := main.LocalAddr().Port()
			if inits.LocalAddr().Port() != port {
				t.Fatalf("inits on port %d, main on %d", inits.LocalAddr().Port(), port)
			}
			peer := listen(t, tc.listen)
			to := netip.AddrPortFrom(netip.MustParseAddr(tc.loop), port)
			packet := func(tag uint32, id byte) []byte {
				p := make([]byte, 16)
				binary.BigEndian.PutUint16(p[0:], 5000)
				binary.BigEndian.PutUint16(p[2:], 5432)
				binary.BigEndian.PutUint32(p[4:], tag)
				p[12] = id // stands in for a chunk type
				return p
			}
			out := []Message{
				{Buf: packet(0, 1), N: 16, Addr: to},
				{Buf: packet(7, 2), N: 16, Addr: to},
				{Buf: packet(0, 3), N: 16, Addr: to},
				{Buf: []byte{9, 9, 9}, N: 3, Addr: to},
				{Buf: packet(1<<31, 4), N: 16, Addr: to},
			}
			// One at a time: a batch of equal sizes would leave as one
			// GSO datagram, which the kernel steers by its first segment.
			for i := range out {
				if _, err := peer.WriteBatch(out[i : i+1]); err != nil {
					t.Fatal(err)
				}
			}
			ids := func(msgs []Message) (got []byte) {
				for _, m := range msgs {
					if m.N == 16 {
						got = append(got, m.Buf[12])
					} else {
						got = append(got, m.Buf[0])
					}
				}
				return got
			}
			if got := ids(readAll(t, inits, 2)); string(got) != "\x01\x03" {
				t.Errorf("inits received %v, want [1 3]", got)
			}
			if got := ids(readAll(t, main, 3)); string(got) != "\x02\x09\x04" {
				t.Errorf("main received %v, want [2 9 4]", got)
			}

			for name, f := range map[string]func() error{
				"Listen": func() error {
					c, err := Listen(ctx, main.LocalAddr())
					if err == nil {
						c.Close()
					}
					return err
				},
				"ListenSplit": func() error {
					c, i, err := ListenSplit(ctx, main.LocalAddr())
					if err == nil {
						c.Close()
						if i != nil {
							i.Close()
						}
					}
					return err
				},
			} {
				if err := f(); !errors.Is(err, syscall.EADDRINUSE) {
					t.Errorf("%s on the split listener's port: %v, want EADDRINUSE", name, err)
				}
			}
			closeBoth()
			c, err := Listen(ctx, main.LocalAddr())
			if err != nil {
				t.Fatalf("port not free after both sockets closed: %v", err)
			}
			c.Close()
		})
	}
}
