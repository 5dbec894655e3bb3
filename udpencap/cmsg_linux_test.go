//go:build linux

package udpencap

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cmsgBuf returns an 8-byte aligned buffer holding the given control
// messages, laid out as the kernel writes them.
func cmsgBuf(msgs ...[]byte) []byte {
	u := make([]uint64, 64)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&u[0])), len(u)*8)
	off := 0
	for _, m := range msgs {
		off += copy(b[off:], m)
	}
	return b[:off]
}

// cmsg encodes one control message: header (native byte order) and data,
// padded to the alignment.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func pktinfo4(ifindex int32, specDst, addr string) []byte {
	b := make([]byte, unix.SizeofInet4Pktinfo)
	binary.NativeEndian.PutUint32(b, uint32(ifindex))
	a, d := netip.MustParseAddr(specDst).As4(), netip.MustParseAddr(addr).As4()
	copy(b[4:], a[:])
	copy(b[8:], d[:])
	return b
}

func pktinfo6(addr string, ifindex uint32) []byte {
	b := make([]byte, unix.SizeofInet6Pktinfo)
	a := netip.MustParseAddr(addr).As16()
	copy(b, a[:])
	binary.NativeEndian.PutUint32(b[16:], ifindex)
	return b
}

// parseLocal is parseControl's address.
func parseLocal(oob []byte) netip.Addr {
	a, _ := parseControl(oob)
	return a
}

// parseControl reads control messages the kernel wrote into our buffer; a
// malformed or truncated one (MSG_CTRUNC) must give "unknown", never a
// panic or a read past the buffer.
func TestParseLocal(t *testing.T) {
	other := cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMP, make([]byte, 16))
	p4 := cmsg(unix.IPPROTO_IP, unix.IP_PKTINFO, pktinfo4(1, "127.0.0.1", "127.0.0.5"))
	p6 := cmsg(unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, pktinfo6("::1", 1))
	p6m := cmsg(unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, pktinfo6("::ffff:127.0.0.2", 1))
	for _, tc := range []struct {
		name string
		oob  []byte
		want string
	}{
		{"empty", nil, ""},
		{"ipv4", cmsgBuf(p4), "127.0.0.5"}, // ipi_addr, the header's destination
		{"ipv6", cmsgBuf(p6), "::1"},
		{"ipv6-mapped", cmsgBuf(p6m), "127.0.0.2"},
		{"after-other", cmsgBuf(other, p4), "127.0.0.5"},
		{"only-other", cmsgBuf(other), ""},
		{"short-data", cmsgBuf(cmsg(unix.IPPROTO_IP, unix.IP_PKTINFO, make([]byte, 4))), ""},
	} {
		if got := parseLocal(tc.oob); (tc.want == "" && got.IsValid()) || (tc.want != "" && got != netip.MustParseAddr(tc.want)) {
			t.Errorf("%s: parseLocal = %v, want %q", tc.name, got, tc.want)
		}
	}
	// Every prefix (a truncated control buffer) and a corrupted length.
	full := cmsgBuf(other, p6)
	// The last message's padding may be cut without loss.
	whole := len(other) + unix.CmsgLen(unix.SizeofInet6Pktinfo)
	for n := range len(full) + 1 {
		got := parseLocal(full[:n])
		if n < whole && got.IsValid() {
			t.Errorf("prefix %d of %d: parseLocal = %v, want unknown", n, len(full), got)
		}
		if n >= whole && got != netip.MustParseAddr("::1") {
			t.Errorf("prefix %d of %d: parseLocal = %v, want ::1", n, len(full), got)
		}
	}
	for _, l := range []uint64{0, 1, uint64(unix.SizeofCmsghdr) - 1, uint64(len(full)) + 1, 1 << 40} {
		b := cmsgBuf(full)
		(*unix.Cmsghdr)(unsafe.Pointer(&b[0])).Len = 0
		(*unix.Cmsghdr)(unsafe.Pointer(&b[0])).SetLen(int(l))
		if got := parseLocal(b); got.IsValid() {
			t.Errorf("cmsg_len %d: parseLocal = %v, want unknown", l, got)
		}
	}
}

func TestParseControlGRO(t *testing.T) {
	seg := func(n int32) []byte {
		b := make([]byte, 4)
		binary.NativeEndian.PutUint32(b, uint32(n))
		return cmsg(unix.SOL_UDP, unix.UDP_GRO, b)
	}
	p4 := cmsg(unix.IPPROTO_IP, unix.IP_PKTINFO, pktinfo4(1, "127.0.0.1", "127.0.0.5"))
	for _, tc := range []struct {
		name  string
		oob   []byte
		local string
		seg   int
	}{
		{"pktinfo-then-gro", cmsgBuf(p4, seg(1200)), "127.0.0.5", 1200},
		{"gro-then-pktinfo", cmsgBuf(seg(1200), p4), "127.0.0.5", 1200},
		{"gro-only", cmsgBuf(seg(700)), "", 700},
		{"negative", cmsgBuf(seg(-5)), "", 0},
		{"short", cmsgBuf(cmsg(unix.SOL_UDP, unix.UDP_GRO, []byte{1, 2})), "", 0},
	} {
		local, n := parseControl(tc.oob)
		if n != tc.seg || (tc.local == "" && local.IsValid()) || (tc.local != "" && local != netip.MustParseAddr(tc.local)) {
			t.Errorf("%s: parseControl = %v, %d; want %q, %d", tc.name, local, n, tc.local, tc.seg)
		}
	}
}

// drain cuts a coalesced payload into its datagrams across calls, marks
// one too long for its buffer truncated, and moves on to the next payload.
func TestGRODrain(t *testing.T) {
	from := netip.MustParseAddrPort("127.0.0.1:5000")
	local := netip.MustParseAddr("127.0.0.2")
	var payload []byte
	for i := range 5 {
		n := 100
		if i == 4 {
			n = 30
		}
		payload = append(payload, bytes.Repeat([]byte{byte(i)}, n)...)
	}
	g := groRx{pend: []groPayload{
		{addr: from, local: local, data: payload, seg: 100},
		{addr: from, data: bytes.Repeat([]byte{9}, 150)}, // one datagram, too long below
		{addr: from, data: []byte{}},                     // an empty datagram
	}}
	var got []Message
	for g.next < len(g.pend) {
		msgs := newBufs(2, 120)
		n := g.drain(msgs)
		if n == 0 {
			t.Fatal("drain made no progress")
		}
		got = append(got, msgs[:n]...)
	}
	want := []struct{ n, fill int }{{100, 0}, {100, 1}, {100, 2}, {100, 3}, {30, 4}, {-1, 0}, {0, 0}}
	if len(got) != len(want) {
		t.Fatalf("got %d datagrams, want %d", len(got), len(want))
	}
	for i, w := range want {
		m := got[i]
		if m.N != w.n || (m.N > 0 && !bytes.Equal(m.Buf[:m.N], bytes.Repeat([]byte{byte(w.fill)}, w.n))) {
			t.Errorf("datagram %d: N %d, want %d of %d", i, m.N, w.n, w.fill)
		}
		if m.Addr != from || (i < 5 && m.Local != local) {
			t.Errorf("datagram %d from %v on %v", i, m.Addr, m.Local)
		}
	}
}
