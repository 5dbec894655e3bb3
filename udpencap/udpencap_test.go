package udpencap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

func listen(t *testing.T, addr string) *Conn {
	t.Helper()
	c, err := Listen(context.Background(), netip.MustParseAddrPort(addr))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newBufs(n, size int) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i].Buf = make([]byte, size)
	}
	return msgs
}

// readAll reads until want datagrams arrived, failing after a generous
// deadline instead of hanging.
func readAll(t *testing.T, c *Conn, want int) []Message {
	t.Helper()
	c.uc.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.uc.SetReadDeadline(time.Time{})
	var got []Message
	for len(got) < want {
		msgs := newBufs(8, 2048)
		n, err := c.ReadBatch(msgs)
		if err != nil {
			t.Fatalf("ReadBatch after %d of %d: %v", len(got), want, err)
		}
		got = append(got, msgs[:n]...)
	}
	return got
}

func TestBatchRoundTrip(t *testing.T) {
	for _, tc := range []struct{ name, listen, loop string }{
		{"ipv4", "127.0.0.1:0", "127.0.0.1"},
		{"ipv6", "[::1]:0", "::1"},
		{"dualstack-v4", "[::]:0", "127.0.0.1"},
		{"any-v4", "0.0.0.0:0", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := listen(t, tc.listen)
			b := listen(t, tc.listen)
			loop := netip.MustParseAddr(tc.loop)
			to := netip.AddrPortFrom(loop, b.LocalAddr().Port())
			const count = 20
			out := make([]Message, count)
			for i := range out {
				p := []byte(fmt.Sprintf("datagram %d", i))
				out[i] = Message{Buf: p, N: len(p), Addr: to}
			}
			n, err := a.WriteBatch(out)
			if err != nil || n != count {
				t.Fatalf("WriteBatch = %d, %v; want %d", n, err, count)
			}
			got := readAll(t, b, count)
			for i, m := range got {
				if want := fmt.Sprintf("datagram %d", i); string(m.Buf[:m.N]) != want {
					t.Errorf("datagram %d = %q, want %q (loopback keeps order)", i, m.Buf[:m.N], want)
				}
				if m.Addr != netip.AddrPortFrom(loop, a.LocalAddr().Port()) {
					t.Errorf("datagram %d from %v, want %v", i, m.Addr, netip.AddrPortFrom(loop, a.LocalAddr().Port()))
				}
				if runtime.GOOS == "linux" && m.Local != loop {
					t.Errorf("datagram %d arrived on %v, want %v", i, m.Local, loop)
				}
			}
		})
	}
}

// TestSourceAddressChosen sends from a wildcard socket with Local set to
// each of two loopback addresses and checks the peer sees that source:
// this is what lets a multihomed association answer from the address the
// peer wrote to.
func TestSourceAddressChosen(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("source address selection is implemented on Linux")
	}
	a := listen(t, "0.0.0.0:0")
	b := listen(t, "0.0.0.0:0")
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), b.LocalAddr().Port())
	for _, src := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.1"} {
		p := []byte("from " + src)
		if _, err := a.WriteBatch([]Message{{Buf: p, N: len(p), Addr: to, Local: netip.MustParseAddr(src)}}); err != nil {
			t.Fatalf("send from %s: %v", src, err)
		}
		m := readAll(t, b, 1)[0]
		if m.Addr.Addr() != netip.MustParseAddr(src) {
			t.Errorf("datagram %q came from %v, want %s", m.Buf[:m.N], m.Addr, src)
		}
		if m.Local != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("datagram arrived on %v, want 127.0.0.1", m.Local)
		}
	}
	// The reply's destination address is reported too: send to 127.0.0.5.
	p := []byte("to .5")
	to5 := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.5"), b.LocalAddr().Port())
	if _, err := a.WriteBatch([]Message{{Buf: p, N: len(p), Addr: to5}}); err != nil {
		t.Fatal(err)
	}
	if m := readAll(t, b, 1)[0]; m.Local != to5.Addr() {
		t.Errorf("datagram to %v reported local %v", to5, m.Local)
	}
}

func TestSourceAddressChosenIPv6DualStack(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("source address selection is implemented on Linux")
	}
	a := listen(t, "[::]:0")
	b := listen(t, "127.0.0.1:0")
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), b.LocalAddr().Port())
	p := []byte("mapped")
	if _, err := a.WriteBatch([]Message{{Buf: p, N: len(p), Addr: to, Local: netip.MustParseAddr("127.0.0.7")}}); err != nil {
		t.Fatalf("send from 127.0.0.7 on a dual-stack socket: %v", err)
	}
	if m := readAll(t, b, 1)[0]; m.Addr.Addr() != netip.MustParseAddr("127.0.0.7") {
		t.Errorf("came from %v, want 127.0.0.7", m.Addr)
	}
}

// RFC 6951: port 0 cannot be an encapsulation port. A datagram from
// source port 0 is dropped, a write to port 0 refused.
func TestZeroPort(t *testing.T) {
	b := listen(t, "127.0.0.1:0")
	p := []byte("x")
	n, err := b.WriteBatch([]Message{
		{Buf: p, N: 1, Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), b.LocalAddr().Port())},
		{Buf: p, N: 1, Addr: netip.MustParseAddrPort("127.0.0.1:0")},
	})
	if n != 1 || !errors.Is(err, ErrZeroPort) {
		t.Fatalf("WriteBatch with port 0 = %d, %v; want 1, ErrZeroPort", n, err)
	}
	readAll(t, b, 1)

	msgs := make([]Message, 4)
	for i := range msgs {
		msgs[i].Buf = make([]byte, 16)
		msgs[i].N = -1
	}
	msgs[1].N, msgs[1].Addr = 5, netip.MustParseAddrPort("127.0.0.1:0")
	msgs[2].N, msgs[2].Addr = 3, netip.MustParseAddrPort("127.0.0.1:7")
	bufOf2 := &msgs[2].Buf[0]
	if k := compact(msgs); k != 1 || msgs[0].N != 3 || &msgs[0].Buf[0] != bufOf2 {
		t.Fatalf("compact kept %d, first %+v", k, msgs[0])
	}
	seen := map[*byte]bool{}
	for _, m := range msgs {
		seen[&m.Buf[0]] = true
	}
	if len(seen) != 4 {
		t.Errorf("compact lost a buffer: %d distinct of 4", len(seen))
	}
}

func TestOversizedDatagramDropped(t *testing.T) {
	a := listen(t, "127.0.0.1:0")
	b := listen(t, "127.0.0.1:0")
	to := b.LocalAddr()
	big := bytes.Repeat([]byte{1}, 3000)
	small := []byte("small")
	if _, err := a.WriteBatch([]Message{{Buf: big, N: len(big), Addr: to}, {Buf: small, N: len(small), Addr: to}}); err != nil {
		t.Fatal(err)
	}
	m := readAll(t, b, 1)[0] // buffers are 2048 bytes
	if runtime.GOOS == "linux" && string(m.Buf[:m.N]) != "small" {
		t.Errorf("got %d bytes, want the truncated datagram dropped", m.N)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	c, err := Listen(context.Background(), netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.ReadBatch(newBufs(4, 1500))
		errc <- err
	}()
	c.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadBatch after Close: %v, want net.ErrClosed", err)
	}
}

func BenchmarkWriteReadBatch(b *testing.B) {
	ctx := context.Background()
	x, _ := Listen(ctx, netip.MustParseAddrPort("127.0.0.1:0"))
	y, _ := Listen(ctx, netip.MustParseAddrPort("127.0.0.1:0"))
	defer x.Close()
	defer y.Close()
	const batch = 32
	out := make([]Message, batch)
	for i := range out {
		out[i] = Message{Buf: make([]byte, 1200), N: 1200, Addr: y.LocalAddr()}
	}
	in := newBufs(batch, 2048)
	b.SetBytes(batch * 1200)
	for b.Loop() {
		if _, err := x.WriteBatch(out); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < batch; {
			n, err := y.ReadBatch(in)
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
}

// One WriteBatch on a dual-stack socket may mix IPv4 and IPv6
// destinations, each with its own source address: both arrive, in order
// per destination, from the chosen source.
func TestDualStackMixedBatch(t *testing.T) {
	a := listen(t, "[::]:0")
	b4 := listen(t, "127.0.0.1:0")
	b6 := listen(t, "[::1]:0")
	to4 := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), b4.LocalAddr().Port())
	to6 := netip.AddrPortFrom(netip.MustParseAddr("::1"), b6.LocalAddr().Port())
	src4 := netip.MustParseAddr("127.0.0.9")
	if runtime.GOOS != "linux" {
		src4 = netip.Addr{}
	}
	var out []Message
	for i := range 6 {
		p := []byte(fmt.Sprintf("d%d", i))
		m := Message{Buf: p, N: len(p), Addr: to4, Local: src4}
		if i%2 == 1 {
			m.Addr, m.Local = to6, netip.MustParseAddr("::1")
		}
		out = append(out, m)
	}
	if n, err := a.WriteBatch(out); n != len(out) || err != nil {
		t.Fatalf("WriteBatch = %d, %v; want %d", n, err, len(out))
	}
	for i, m := range readAll(t, b4, 3) {
		if want := fmt.Sprintf("d%d", 2*i); string(m.Buf[:m.N]) != want {
			t.Errorf("IPv4 datagram %d = %q, want %q", i, m.Buf[:m.N], want)
		}
		if runtime.GOOS == "linux" && m.Addr.Addr() != src4 {
			t.Errorf("IPv4 datagram %d from %v, want %v", i, m.Addr, src4)
		}
	}
	for i, m := range readAll(t, b6, 3) {
		if want := fmt.Sprintf("d%d", 2*i+1); string(m.Buf[:m.N]) != want {
			t.Errorf("IPv6 datagram %d = %q, want %q", i, m.Buf[:m.N], want)
		}
		if m.Addr != netip.AddrPortFrom(netip.MustParseAddr("::1"), a.LocalAddr().Port()) {
			t.Errorf("IPv6 datagram %d from %v", i, m.Addr)
		}
	}
}

// An IPv4 socket cannot reach an IPv6 destination: WriteBatch sends what
// precedes it and reports how many.
func TestWrongFamilyStopsBatch(t *testing.T) {
	a := listen(t, "127.0.0.1:0")
	b := listen(t, "127.0.0.1:0")
	p := []byte("x")
	n, err := a.WriteBatch([]Message{
		{Buf: p, N: 1, Addr: b.LocalAddr()},
		{Buf: p, N: 1, Addr: netip.MustParseAddrPort("[::1]:9")},
		{Buf: p, N: 1, Addr: b.LocalAddr()},
	})
	if n != 1 || err == nil {
		t.Fatalf("WriteBatch = %d, %v; want 1 and an error", n, err)
	}
	readAll(t, b, 1)
}

// A message whose N exceeds its buffer is refused, not sent with bytes
// from beyond the slice; those before it are sent.
func TestLengthBeyondBuffer(t *testing.T) {
	a := listen(t, "127.0.0.1:0")
	b := listen(t, "127.0.0.1:0")
	p := []byte("ok")
	n, err := a.WriteBatch([]Message{
		{Buf: p, N: 2, Addr: b.LocalAddr()},
		{Buf: p, N: 2, Addr: b.LocalAddr()},
		{Buf: p[:1], N: 2, Addr: b.LocalAddr()},
	})
	if n != 2 || err == nil {
		t.Fatalf("WriteBatch = %d, %v; want 2 and an error", n, err)
	}
	readAll(t, b, 2)
}
