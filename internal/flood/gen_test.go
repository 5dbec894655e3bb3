package flood

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

func TestConfigRefused(t *testing.T) {
	lo := netip.MustParseAddrPort("127.0.0.1:9")
	cases := []struct {
		name string
		cfg  Config
		want error
	}{
		{"public target", Config{Target: netip.MustParseAddrPort("192.0.2.1:9899"), Count: 1, Duration: time.Second}, ErrNotLoopback},
		{"unspecified target", Config{Target: netip.MustParseAddrPort("0.0.0.0:9899"), Count: 1, Duration: time.Second}, ErrNotLoopback},
		{"port 0", Config{Target: netip.MustParseAddrPort("127.0.0.1:0"), Count: 1, Duration: time.Second}, ErrNotLoopback},
		{"no count", Config{Target: lo, Duration: time.Second}, ErrUnbounded},
		{"no duration", Config{Target: lo, Count: 1}, ErrUnbounded},
		{"count above the cap", Config{Target: lo, Count: MaxCount + 1, Duration: time.Second}, nil},
		{"duration above the cap", Config{Target: lo, Count: 1, Duration: MaxDuration + 1}, nil},
		{"too many sockets", Config{Target: lo, Count: 1, Duration: time.Second, Sources: 100, Ports: 100}, nil},
		{"expired cookies without cookies", Config{Target: lo, Count: 1, Duration: time.Second, Kind: ExpiredCookie}, nil},
	}
	for _, c := range cases {
		_, err := Run(context.Background(), c.cfg)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: Run returned %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := Harvest(context.Background(), netip.MustParseAddrPort("10.0.0.1:9899"), 5432, 1); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("Harvest of a non-loopback target: %v", err)
	}
}

func TestSourceAddr(t *testing.T) {
	for i, want := range map[int]string{0: "127.1.0.1", 253: "127.1.0.254", 254: "127.1.1.1", 4095: "127.1.16.32"} {
		if got := SourceAddr(i).String(); got != want {
			t.Errorf("SourceAddr(%d) = %s, want %s", i, got, want)
		}
	}
}

// received is one datagram a sink saw.
type received struct {
	from netip.AddrPort
	data []byte
}

// sink reads datagrams on a loopback socket until n arrived or the
// socket is closed.
func sink(t *testing.T, n int) (netip.AddrPort, <-chan []received) {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	out := make(chan []received, 1)
	go func() {
		var got []received
		buf := make([]byte, 4096)
		for len(got) < n {
			m, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				break
			}
			got = append(got, received{from, append([]byte(nil), buf[:m]...)})
		}
		out <- got
	}()
	return c.LocalAddr().(*net.UDPAddr).AddrPort(), out
}

// Each kind sends exactly Count packets, from Sources x Ports sockets,
// and the packets are what the kind says, checked with package chunk.
func TestPackets(t *testing.T) {
	needLoopbackRange(t)
	const n = 120
	cookies := []Cookie{{Tag: 77, SrcPort: 4000, Cookie: make([]byte, 91)}}
	for k := range kinds {
		t.Run(k.String(), func(t *testing.T) {
			to, out := sink(t, n)
			res, err := Run(context.Background(), Config{Target: to, DstPort: 5432, Kind: k, Count: n, Duration: time.Minute,
				Sources: 3, Ports: 2, Cookies: cookies, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent != n || res.Errors != 0 || res.Sockets != 6 || len(res.Sources) != 3 {
				t.Fatalf("result %+v, want %d sent from 6 sockets on 3 addresses", res, n)
			}
			var got []received
			select {
			case got = <-out:
			case <-time.After(time.Minute): // a bound on a hang, not a figure
				t.Fatal("the sink never saw all the packets")
			}
			if len(got) != n {
				t.Fatalf("the sink got %d packets, want %d", len(got), n)
			}
			srcs, socks := map[netip.Addr]bool{}, map[netip.AddrPort]bool{}
			for _, r := range got {
				srcs[r.from.Addr()] = true
				socks[r.from] = true
				checkPacket(t, k, r.data)
			}
			if len(srcs) != 3 || len(socks) != 6 {
				t.Errorf("packets from %d addresses and %d sockets, want 3 and 6", len(srcs), len(socks))
			}
			if srcs[netip.MustParseAddr("127.0.0.1")] {
				t.Error("a flood without FromLocalhost sent from 127.0.0.1")
			}
		})
	}
}

func checkPacket(t *testing.T, k Kind, p []byte) {
	t.Helper()
	if k == Garbage {
		if len(p) < 1 || len(p) > 200 {
			t.Fatalf("garbage of %d bytes", len(p))
		}
		return
	}
	h, cs, err := chunk.ParseHeader(p)
	if err != nil || !chunk.VerifyChecksum(p) || h.DstPort != 5432 {
		t.Fatalf("%v packet: header %+v, %v, checksum ok %v", k, h, err, chunk.VerifyChecksum(p))
	}
	r := chunk.NewReader(cs)
	if !r.Next() {
		t.Fatalf("%v packet without a chunk", k)
	}
	c := r.Chunk()
	if r.Next() {
		t.Fatalf("%v packet with more than one chunk", k)
	}
	switch k {
	case Init:
		var in chunk.InitChunk
		if h.VerificationTag != 0 || in.Unmarshal(c) != nil || in.InitiateTag == 0 || len(p) != 32 {
			t.Fatalf("INIT flood packet: tag %#x, %d bytes, % x", h.VerificationTag, len(p), p)
		}
	case ForgedCookie, ExpiredCookie:
		var ce chunk.CookieEchoChunk
		if ce.Unmarshal(c) != nil || len(ce.Cookie) != 91 || h.VerificationTag == 0 {
			t.Fatalf("COOKIE ECHO flood packet: % x", p)
		}
		if k == ForgedCookie && ce.Cookie[0] != 1 {
			t.Fatal("forged cookie without the version byte")
		}
		if k == ExpiredCookie && (h.VerificationTag != 77 || h.SrcPort != 4000) {
			t.Fatalf("expired cookie replayed with tag %d from port %d", h.VerificationTag, h.SrcPort)
		}
	case OOTB:
		if h.VerificationTag == 0 || c.Type == chunk.TypeInit || c.Type == chunk.TypeCookieEcho || c.Type == chunk.TypeAbort {
			t.Fatalf("OOTB flood packet: tag %#x, chunk %v", h.VerificationTag, c.Type)
		}
	}
}

// A run stops at its Duration or when its context ends, whatever the
// Count; it never reaches MaxCount here.
func TestBounded(t *testing.T) {
	needLoopbackRange(t)
	to, _ := sink(t, 1)
	res, err := Run(context.Background(), Config{Target: to, DstPort: 5432, Count: MaxCount, Duration: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent >= MaxCount || res.Sent == 0 {
		t.Errorf("sent %d packets in a 20ms run", res.Sent)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err = Run(ctx, Config{Target: to, DstPort: 5432, Count: MaxCount, Duration: MaxDuration})
	if err != nil || !res.Canceled || res.Sent != 0 {
		t.Errorf("a canceled run: %+v, %v", res, err)
	}
}

// Building a packet allocates nothing, so a flood measures the target,
// not the garbage collector of the test process it shares.
func TestGenAllocs(t *testing.T) {
	for k := range kinds {
		g := newGen(Config{DstPort: 5432, Kind: k, Cookies: []Cookie{{Tag: 1, Cookie: make([]byte, 91)}}}, 1)
		buf := make([]byte, 0, 2048)
		now := time.Now()
		if n := testing.AllocsPerRun(1000, func() { buf = g.next(buf[:0], now) }); n != 0 {
			t.Errorf("%v: %v allocations per packet", k, n)
		}
	}
}

// needLoopbackRange skips a test that sends from 127.1.0.x: Linux answers
// for all of 127.0.0.0/8 on lo, other systems only for the addresses
// configured.
func needLoopbackRange(t testing.TB) {
	if runtime.GOOS != "linux" {
		t.Skip("sources in 127.1.0.0/16 need Linux's loopback")
	}
}
