//go:build linux

package udpencap

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestGSORun(t *testing.T) {
	a := netip.MustParseAddrPort("127.0.0.1:1000")
	b := netip.MustParseAddrPort("127.0.0.1:1001")
	src := netip.MustParseAddr("127.0.0.2")
	msg := func(n int, to netip.AddrPort) Message { return Message{Buf: make([]byte, n), N: n, Addr: to} }
	many := func(k, n int) []Message {
		ms := make([]Message, k)
		for i := range ms {
			ms[i] = msg(n, a)
		}
		return ms
	}
	withSrc := many(3, 100)
	withSrc[2].Local = src
	for _, tc := range []struct {
		name string
		msgs []Message
		want int
	}{
		{"one", many(1, 100), 1},
		{"equal", many(5, 100), 5},
		{"shorter-last", []Message{msg(100, a), msg(100, a), msg(50, a), msg(50, a)}, 3},
		{"longer-second", []Message{msg(100, a), msg(101, a)}, 1},
		{"other-destination", []Message{msg(100, a), msg(100, a), msg(100, b)}, 2},
		{"other-source", withSrc, 2},
		{"empty-first", []Message{msg(0, a), msg(0, a)}, 1},
		{"empty-second", []Message{msg(100, a), msg(0, a)}, 1},
		{"max-segments", many(gsoMaxSegments+10, 10), gsoMaxSegments},
		{"max-bytes", many(60, 1200), gsoMaxBytes / 1200},
	} {
		if got := gsoRun(tc.msgs); got != tc.want {
			t.Errorf("%s: gsoRun = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// gsoBatch is 70 datagrams to one destination: runs of 1200 bytes (the
// first cut at gsoMaxBytes), a 700-byte end of a run, and a last one of
// 300; every one filled with its index.
func gsoBatch(to netip.AddrPort, local netip.Addr) []Message {
	var out []Message
	for i := range 70 {
		n := 1200
		switch i {
		case 45:
			n = 700
		case 69:
			n = 300
		}
		p := bytes.Repeat([]byte{byte(i)}, n)
		out = append(out, Message{Buf: p, N: n, Addr: to, Local: local})
	}
	return out
}

func checkGSOBatch(t *testing.T, out []Message, got []Message, from netip.AddrPort) {
	t.Helper()
	if len(got) != len(out) {
		t.Fatalf("got %d datagrams, want %d", len(got), len(out))
	}
	for i, m := range got {
		if !bytes.Equal(m.Buf[:m.N], out[i].Buf[:out[i].N]) {
			t.Fatalf("datagram %d: %d bytes starting %d, want %d bytes of %d", i, m.N, m.Buf[0], out[i].N, i)
		}
		if m.Addr != from {
			t.Errorf("datagram %d from %v, want %v", i, m.Addr, from)
		}
	}
}

// Runs leave as GSO sends and arrive as the datagrams they were: same
// sizes, contents, order and source, whether the receiver reads them
// coalesced (GRO) or one by one; the socket keeps GSO on.
func TestGSOSend(t *testing.T) {
	for _, tc := range []struct {
		name, listen, dst, local string
		gro                      bool
	}{
		{"ipv4", "127.0.0.1:0", "127.0.0.1", "", true},
		{"ipv4-nogro", "127.0.0.1:0", "127.0.0.1", "", false},
		{"ipv4-src", "0.0.0.0:0", "127.0.0.1", "127.0.0.4", true},
		{"ipv6", "[::1]:0", "::1", "::1", true},
		{"ipv6-nogro", "[::1]:0", "::1", "::1", false},
		{"dualstack-v4", "[::]:0", "127.0.0.1", "127.0.0.4", true},
		{"dualstack-v4-nogro", "[::]:0", "127.0.0.1", "127.0.0.4", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := listen(t, tc.listen)
			y := listen(t, tc.listen)
			if !x.sys.gso.Load() {
				t.Skip("the kernel has no UDP GSO")
			}
			setGRO(t, y, tc.gro)
			var local netip.Addr
			if tc.local != "" {
				local = netip.MustParseAddr(tc.local)
			}
			to := netip.AddrPortFrom(netip.MustParseAddr(tc.dst), y.LocalAddr().Port())
			out := gsoBatch(to, local)
			if n, err := x.WriteBatch(out); n != len(out) || err != nil {
				t.Fatalf("WriteBatch = %d, %v", n, err)
			}
			from := local
			if !from.IsValid() {
				from = to.Addr()
			}
			checkGSOBatch(t, out, readAll(t, y, len(out)), netip.AddrPortFrom(from, x.LocalAddr().Port()))
			if !x.sys.gso.Load() {
				t.Error("GSO was turned off")
			}
		})
	}
}

// A socket whose GSO sends the kernel refuses (SO_NO_CHECK: GSO needs
// UDP checksums) still delivers the whole batch, datagram by datagram,
// and stops trying GSO.
func TestGSOFallback(t *testing.T) {
	x := listen(t, "127.0.0.1:0")
	y := listen(t, "127.0.0.1:0")
	if !x.sys.gso.Load() {
		t.Skip("the kernel has no UDP GSO")
	}
	var serr error
	if err := x.sys.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_NO_CHECK, 1)
	}); err != nil || serr != nil {
		t.Skipf("SO_NO_CHECK: %v %v", err, serr)
	}
	out := gsoBatch(y.LocalAddr(), netip.Addr{})
	if n, err := x.WriteBatch(out); n != len(out) || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	checkGSOBatch(t, out, readAll(t, y, len(out)), x.LocalAddr())
	if x.sys.gso.Load() {
		t.Error("GSO still on after the kernel refused it")
	}
}

// setGRO turns UDP GRO on or off for c, both the socket option and the
// read path; on skips the test where the kernel has no GRO.
func setGRO(t testing.TB, c *Conn, on bool) {
	t.Helper()
	if on && !c.sys.gro {
		t.Skip("the kernel has no UDP GRO")
	}
	v := 0
	if on {
		v = 1
	}
	var serr error
	if err := c.sys.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_GRO, v)
	}); err != nil || serr != nil {
		t.Fatalf("UDP_GRO %d: %v %v", v, err, serr)
	}
	c.sys.gro = on
}

// With GRO on, a GSO run over loopback reaches the receiver as one
// payload with its segment size: the kernel's receive path ran once.
func TestGROCoalesces(t *testing.T) {
	x := listen(t, "127.0.0.1:0")
	y := listen(t, "127.0.0.1:0")
	if !x.sys.gso.Load() || !y.sys.gro {
		t.Skip("the kernel has no UDP GSO or GRO")
	}
	out := gsoBatch(y.LocalAddr(), netip.Addr{})[:10]
	if n, err := x.WriteBatch(out); n != len(out) || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	y.uc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := y.sys.recvGRO(groSlots); err != nil {
		t.Fatal(err)
	}
	g := &y.sys.groRx
	if len(g.pend) != 1 || g.pend[0].seg != 1200 || len(g.pend[0].data) != 10*1200 {
		t.Fatalf("received %d payloads, first %d bytes in segments of %d; want one of 12000 in 1200", len(g.pend), len(g.pend[0].data), g.pend[0].seg)
	}
	msgs := newBufs(16, 2048)
	if n := g.drain(msgs); n != 10 {
		t.Fatalf("drain = %d datagrams, want 10", n)
	}
	checkGSOBatch(t, out, msgs[:10], x.LocalAddr())
}

// TestBatchAllocs with GRO off and with GSO off: those read and write
// paths allocate nothing either.
func TestBatchAllocsPlainPaths(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	for _, tc := range allocCases {
		t.Run(tc.name, func(t *testing.T) {
			p := newAllocPair(t, tc.listen, tc.dst, tc.local, 8)
			if p.y.sys.gro {
				setGRO(t, p.y, false)
			}
			p.x.sys.gso.Store(false)
			p.y.uc.SetReadDeadline(time.Now().Add(30 * time.Second))
			p.round(t)
			if a := testing.AllocsPerRun(50, func() { p.round(t) }); a != 0 {
				t.Errorf("%.1f allocations per round of %d datagrams, want 0", a, len(p.out))
			}
		})
	}
}
