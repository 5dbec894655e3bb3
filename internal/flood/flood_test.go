package flood_test

import (
	"context"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/internal/flood"
	"github.com/pgsctp/pgsctp/sctp"
)

// Floods of CI size against a real sctp.Listener on loopback. The figures
// at full size come from BenchmarkConnectDuringFlood (docs/benchmarks.md).

// listen starts a listener on a free UDP port of 127.0.0.1 that accepts
// into a channel, and returns the UDP target of its endpoint.
func listen(t *testing.T, cfg *sctp.Config) (*sctp.Listener, netip.AddrPort, <-chan *sctp.Association) {
	t.Helper()
	if cfg == nil {
		cfg = &sctp.Config{}
	}
	cfg.UDPPort = -1
	l, err := sctp.Listen(context.Background(), "127.0.0.1:5432", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	accepted := make(chan *sctp.Association, 16)
	go func() {
		for {
			a, err := l.Accept(context.Background())
			if err != nil {
				close(accepted)
				return
			}
			accepted <- a
		}
	}()
	la := l.Addr().(*sctp.Addr)
	return l, netip.AddrPortFrom(la.IP, la.UDPPort), accepted
}

// dial connects to the listener at target; the context bounds a hang only
// (the test makes no claim about time).
func dial(t *testing.T, target netip.AddrPort) *sctp.Association {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, err := sctp.Dial(ctx, "127.0.0.1:5432", &sctp.Config{PeerUDPPort: int(target.Port())})
	if err != nil {
		t.Fatalf("dial during the flood: %v", err)
	}
	t.Cleanup(func() { a.Abort("test over") })
	return a
}

// expectOnly checks that the listener accepted exactly the association
// of the dialer d: nothing before it (a forged cookie would have made
// one) and nothing after it.
func expectOnly(t *testing.T, accepted <-chan *sctp.Association, d *sctp.Association) {
	t.Helper()
	want := d.LocalAddr().(*sctp.Addr)
	select {
	case a := <-accepted:
		got := a.RemoteAddr().(*sctp.Addr)
		if got.Port != want.Port || got.UDPPort != want.UDPPort {
			t.Fatalf("the listener accepted %v (UDP %d) first; the dialer is %v (UDP %d)", got, got.UDPPort, want, want.UDPPort)
		}
	case <-time.After(2 * time.Minute): // a bound on a hang
		t.Fatal("the dialer's association was never accepted")
	}
	select {
	case a := <-accepted:
		t.Fatalf("a second association, from %v", a.RemoteAddr())
	case <-time.After(100 * time.Millisecond):
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// During an INIT flood from 16 addresses and 64 ports, a legitimate Dial
// succeeds, the listener keeps no state per INIT (its live heap grows by
// less than a generous bound: the test process also holds the flood's
// sockets), and no INIT becomes an association.
func TestInitFloodListener(t *testing.T) {
	if testing.Short() {
		t.Skip("floods loopback")
	}
	if runtime.GOOS != "linux" {
		t.Skip("sources in 127.1.0.0/16 need Linux's loopback")
	}
	_, target, accepted := listen(t, nil)
	before := liveHeap()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan flood.Result, 1)
	go func() {
		res, err := flood.Run(ctx, flood.Config{Target: target, DstPort: 5432, Kind: flood.Init,
			Count: 200_000, Duration: 10 * time.Second, Sources: 16, Ports: 4, Seed: 1})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	d := dial(t, target)
	during := liveHeap()
	res := <-done
	after := liveHeap()
	t.Logf("flood: %d INITs in %v (%.0f/s), %d write errors; live heap %d KiB before, %d KiB during, %d KiB after",
		res.Sent, res.Elapsed, res.Rate(), res.Errors, before>>10, during>>10, after>>10)
	const bound = 16 << 20
	for _, h := range []uint64{during, after} {
		if h > before+bound {
			t.Errorf("live heap grew by %d KiB under an INIT flood, bound %d KiB", (h-before)>>10, bound>>10)
		}
	}
	expectOnly(t, accepted, d)
}

// Forged cookies (the shape of ours, a MAC we did not make) and real
// cookies replayed after their lifetime: rejected without state, and no
// association; a legitimate Dial afterwards is the only one accepted.
func TestCookieFloodListener(t *testing.T) {
	if testing.Short() {
		t.Skip("floods loopback")
	}
	if runtime.GOOS != "linux" {
		t.Skip("sources in 127.1.0.0/16 need Linux's loopback")
	}
	_, target, accepted := listen(t, &sctp.Config{Assoc: assoc.Config{ValidCookieLife: 200 * time.Millisecond}})
	hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
	cookies, err := flood.Harvest(hctx, target, 5432, 50)
	hcancel()
	if err != nil || len(cookies) == 0 {
		t.Fatalf("harvest: %d cookies, %v", len(cookies), err)
	}
	time.Sleep(500 * time.Millisecond) // let them expire
	before := liveHeap()
	for _, k := range []flood.Kind{flood.ForgedCookie, flood.ExpiredCookie, flood.OOTB, flood.Garbage} {
		res, err := flood.Run(context.Background(), flood.Config{Target: target, DstPort: 5432, Kind: k,
			Count: 20_000, Duration: 10 * time.Second, Sources: 4, Ports: 4, Cookies: cookies, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%v: %d packets in %v (%.0f/s)", k, res.Sent, res.Elapsed, res.Rate())
	}
	after := liveHeap()
	if after > before+16<<20 {
		t.Errorf("live heap grew by %d KiB under cookie floods", (after-before)>>10)
	}
	d := dial(t, target)
	expectOnly(t, accepted, d)
}
