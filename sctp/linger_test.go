package sctp

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/internal/netrelay"
)

// TestShutdownCompleteLost (issue 9, "no association outlives its
// session"): the client shuts down, its final SHUTDOWN COMPLETE is lost,
// and its association and socket are gone at once. The server retransmits
// SHUTDOWN ACK; the client's socket, lingering (Config.ShutdownLinger),
// answers it with SHUTDOWN COMPLETE and the T bit (RFC 9260 8.4 rule 5), so
// the server's association ends gracefully too. Without the linger nothing
// answers, and the server holds the association until its retransmissions
// give up (here after 2, an error).
func TestShutdownCompleteLost(t *testing.T) {
	for _, linger := range []bool{true, false} {
		name := "linger"
		if !linger {
			name = "no linger"
		}
		t.Run(name, func(t *testing.T) {
			scfg := testConfig(t)
			scfg.Assoc.RTOMin = 50 * time.Millisecond
			scfg.Assoc.RTOInitial = 50 * time.Millisecond
			scfg.Assoc.AssocMaxRetrans = 2
			scfg.Assoc.PathMaxRetrans = 2
			l := listenT(t, scfg)
			front, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			back, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			f := &netrelay.Filter{Drop: netrelay.DropNth(netrelay.ToServer, netrelay.TypeShutdownComplete, 1)}
			var ladder []string
			f.Seen = func(d netrelay.Direction, p netrelay.Packet, _ []byte) {
				for _, c := range p.Chunks {
					switch c.Type {
					case netrelay.TypeShutdown, netrelay.TypeShutdownAck, netrelay.TypeShutdownComplete, netrelay.TypeAbort:
						ladder = append(ladder, c.String())
					}
				}
			}
			r := netrelay.NewRelay(front, back, netip.AddrPortFrom(l.Addr().(*Addr).IP, l.Addr().(*Addr).UDPPort), netrelay.Options{Inspect: f.Inspect})
			defer r.Close()

			ccfg := testConfig(t)
			ccfg.UDPPort = 0
			ccfg.PeerUDPPort = int(front.LocalAddr().(*net.UDPAddr).Port)
			if !linger {
				ccfg.ShutdownLinger = -1
			}
			ctx := testCtx(t)
			c, err := Dial(ctx, "127.0.0.1:5000", ccfg)
			if err != nil {
				t.Fatal(err)
			}
			s, err := l.Accept(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Shutdown(ctx); err != nil {
				t.Fatalf("client Shutdown: %v", err)
			}
			select {
			case <-s.Done():
			case <-ctx.Done():
				t.Fatal("the server's association did not end")
			}
			f.Mu.Lock()
			t.Logf("shutdown chunks through the relay: %v", ladder)
			f.Mu.Unlock()
			err = s.Err()
			if linger && err != nil {
				t.Errorf("server association ended with %v; want a graceful end", err)
			}
			if !linger && !errors.Is(err, assoc.ErrTimeout) {
				t.Errorf("server association ended with %v; want a timeout (nobody answered)", err)
			}
		})
	}
}

// TestFixedPortRedial: a dialer that chose its UDP port does not linger,
// so it can dial again from the same port right after a graceful
// shutdown (the kernel interop tests do).
func TestFixedPortRedial(t *testing.T) {
	l := listenT(t, testConfig(t))
	probe, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := probe.LocalAddr().(*net.UDPAddr).Port
	probe.Close()
	cfg := testConfig(t)
	cfg.UDPPort = port
	cfg.PeerUDPPort = int(l.Addr().(*Addr).UDPPort)
	ctx := testCtx(t)
	for i := range 2 {
		c, err := Dial(ctx, "127.0.0.1:5000", cfg)
		if err != nil {
			t.Fatalf("dial %d from UDP port %d: %v", i, port, err)
		}
		s, err := l.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Shutdown(ctx); err != nil {
			t.Fatalf("dial %d: Shutdown: %v", i, err)
		}
		<-s.Done()
	}
}
