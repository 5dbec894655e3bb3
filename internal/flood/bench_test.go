package flood_test

import (
	"cmp"
	"context"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/internal/flood"
	"github.com/pgsctp/pgsctp/sctp"
)

// BenchmarkConnectDuringFlood dials a real sctp.Listener on loopback, one
// association at a time, while a flood of one kind runs at it from another
// goroutine (as fast as one core allows), and reports the connect latency
// (p50, p99), failed dials, the flood's rate and the share of all its
// datagrams the kernel dropped at the listener's socket. Each dial has 20
// seconds; a lost INIT or COOKIE ECHO costs a doubling RTO of 1 s.
//
//	go test ./internal/flood -run '^$' -bench ConnectDuringFlood -benchtime 200x
func BenchmarkConnectDuringFlood(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("sources in 127.1.0.0/16 need Linux's loopback")
	}
	cases := []struct {
		name      string
		kind      flood.Kind
		on        bool
		sources   int
		ports     int // per source address, default 4
		localhost bool
		limits    assoc.ReplyLimits
	}{
		{name: "idle"},
		{name: "init-16src", kind: flood.Init, on: true, sources: 16},
		{name: "init-16src-nolimit", kind: flood.Init, on: true, sources: 16, limits: assoc.ReplyLimits{InitAckPerSource: -1}},
		// Spread thin, each source stays under the per-source limit, as
		// a flood of forged source addresses would.
		{name: "init-1024src", kind: flood.Init, on: true, sources: 1024, ports: 1},
		{name: "init-localhost", kind: flood.Init, on: true, sources: 1, localhost: true},
		{name: "init-localhost-nolimit", kind: flood.Init, on: true, sources: 1, localhost: true, limits: assoc.ReplyLimits{InitAckPerSource: -1}},
		{name: "forged-cookie-16src", kind: flood.ForgedCookie, on: true, sources: 16},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			l, err := sctp.Listen(context.Background(), "127.0.0.1:5432", &sctp.Config{UDPPort: -1, AcceptBacklog: 1024, Assoc: assoc.Config{ReplyLimits: c.limits}})
			if err != nil {
				b.Fatal(err)
			}
			// Accepted associations stay up until the end: an ABORT right
			// away could reach the dialer before Dial returns, and fail it.
			var up []*sctp.Association
			acceptDone := make(chan struct{})
			go func() {
				defer close(acceptDone)
				for {
					a, err := l.Accept(context.Background())
					if err != nil {
						return
					}
					up = append(up, a)
				}
			}()
			defer func() {
				l.Close()
				<-acceptDone
				for _, a := range up {
					a.Abort("benchmark over")
				}
			}()
			la := l.Addr().(*sctp.Addr)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan flood.Result, 1)
			drops0, _ := flood.SocketDrops(la.UDPPort)
			if c.on {
				go func() {
					res, err := flood.Run(ctx, flood.Config{Target: netip.AddrPortFrom(la.IP, la.UDPPort), DstPort: 5432, Kind: c.kind,
						Count: flood.MaxCount, Duration: 5 * time.Minute, Sources: c.sources, Ports: cmp.Or(c.ports, 4), FromLocalhost: c.localhost})
					if err != nil {
						b.Error(err)
					}
					done <- res
				}()
				time.Sleep(200 * time.Millisecond) // the flood is under way
			}
			cfg := &sctp.Config{PeerUDPPort: int(la.UDPPort)}
			lat := make([]time.Duration, 0, b.N)
			failed := 0
			b.ResetTimer()
			for range b.N {
				dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Second)
				t0 := time.Now()
				a, err := sctp.Dial(dctx, "127.0.0.1:5432", cfg)
				lat = append(lat, time.Since(t0))
				dcancel()
				if err != nil {
					if failed == 0 {
						b.Logf("first failed dial: %v", err)
					}
					failed++
					continue
				}
				a.Abort("benchmark")
			}
			b.StopTimer()
			cancel()
			var res flood.Result
			if c.on {
				res = <-done
			}
			drops1, _ := flood.SocketDrops(la.UDPPort)
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(failed), "failed")
			b.ReportMetric(res.Rate(), "flood-pkt/s")
			if res.Sent > 0 {
				b.ReportMetric(100*float64(drops1-drops0)/float64(res.Sent), "drop-%")
			}
		})
	}
}
