package udpencap

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/internal/netns"
)

// TestWriteFragment: a datagram larger than the interface's MTU is refused
// by the host while DF is set (the socket's mode, so that PLPMTUD probes
// are never cut), and arrives whole, in IP fragments reassembled, when
// written with Fragment; DF is set again afterwards. In a namespace whose
// loopback has an MTU of 1500.
func TestWriteFragment(t *testing.T) {
	netns.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns, err := netns.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if err := ns.Run(ctx, "ip", "link", "set", "dev", "lo", "mtu", "1500"); err != nil {
		t.Fatal(err)
	}
	var a, b *Conn
	if err := ns.Do(func() (err error) {
		if a, err = Listen(ctx, netip.MustParseAddrPort("127.0.0.1:0")); err != nil {
			return err
		}
		b, err = Listen(ctx, netip.MustParseAddrPort("127.0.0.1:0"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	big := bytes.Repeat([]byte("fragment"), 500) // 4000 bytes
	msg := []Message{{Buf: big, N: len(big), Addr: b.LocalAddr()}}
	if _, err := a.WriteBatch(msg); !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("4000 bytes over an MTU of 1500 with DF: %v, want EMSGSIZE", err)
	}
	msg[0].Fragment = true
	if n, err := a.WriteBatch(msg); n != 1 || err != nil {
		t.Fatalf("with Fragment: %d, %v", n, err)
	}
	in := []Message{{Buf: make([]byte, 9216)}}
	if n, err := b.ReadBatch(in); n != 1 || err != nil || !bytes.Equal(in[0].Buf[:in[0].N], big) {
		t.Fatalf("read %d datagrams of %d bytes, %v; want the 4000 bytes whole", n, in[0].N, err)
	}
	msg[0].Fragment = false
	if _, err := a.WriteBatch(msg); !errors.Is(err, syscall.EMSGSIZE) {
		t.Errorf("after a fragmented write, 4000 bytes with DF: %v, want EMSGSIZE again", err)
	}
	// In a batch: the datagrams around it still go, in order.
	small := []byte("small")
	batch := []Message{{Buf: small, N: 5, Addr: b.LocalAddr()}, {Buf: big, N: len(big), Addr: b.LocalAddr(), Fragment: true}, {Buf: small, N: 5, Addr: b.LocalAddr()}}
	if n, err := a.WriteBatch(batch); n != 3 || err != nil {
		t.Fatalf("batch: %d, %v", n, err)
	}
	var sizes []int
	for len(sizes) < 3 {
		in := []Message{{Buf: make([]byte, 9216)}, {Buf: make([]byte, 9216)}, {Buf: make([]byte, 9216)}}
		n, err := b.ReadBatch(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range in[:n] {
			sizes = append(sizes, m.N)
		}
	}
	if sizes[0] != 5 || sizes[1] != 4000 || sizes[2] != 5 {
		t.Errorf("batch arrived as %v, want [5 4000 5]", sizes)
	}
}
