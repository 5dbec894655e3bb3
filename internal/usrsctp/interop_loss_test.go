package usrsctp_test

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/internal/netrelay"
	"github.com/pgsctp/pgsctp/internal/usrsctp"
)

// lossCase drops chosen datagrams between pgsctp and a usrsctp program.
type lossCase struct {
	name string
	// rfc is the rule that makes the association recover.
	rfc string
	// drop returns a fresh rule for one run.
	drop func() func(netrelay.Direction, rawPacket) bool
	// ourRtx: pgsctp must have retransmitted DATA (Stats.Retransmissions).
	ourRtx bool
	// rtoMin, when set, replaces fastConfig's RTO.Min: for a recovery
	// that needs the usrsctp process still running when pgsctp's timer
	// fires (the example client exits soon after its shutdown completes).
	rtoMin time.Duration
}

var (
	toPeer = netrelay.ToServer // in TestInteropLossDial: pgsctp -> usrsctp
	toUs   = netrelay.ToClient
)

// TestInteropLossDial: pgsctp dials echo_server through a relay that drops
// chosen datagrams; every exchange recovers by retransmission, every drop is
// followed by the same chunk type (or DATA TSN) crossing again, and the
// echoes stay exact.
func TestInteropLossDial(t *testing.T) {
	cases := []lossCase{
		{name: "INIT", rfc: `RFC 9260 5.1 C: "If the T1-init timer expires, the endpoint MUST retransmit INIT"`,
			drop: func() func(netrelay.Direction, rawPacket) bool { return dropNth(toPeer, ctInit, 1) }},
		{name: "INIT-ACK", rfc: `5.1 C (T1-init at pgsctp; usrsctp answers the new INIT statelessly, 5.1.3)`,
			drop: func() func(netrelay.Direction, rawPacket) bool { return dropNth(toUs, ctInitAck, 1) }},
		{name: "COOKIE-ECHO", rfc: `5.1 C: "If the T1-cookie timer expires, the endpoint MUST retransmit COOKIE ECHO"`,
			drop: func() func(netrelay.Direction, rawPacket) bool { return dropNth(toPeer, ctCookieEcho, 1) }},
		{name: "COOKIE-ACK", rfc: `T1-cookie at pgsctp; usrsctp takes the repeated COOKIE ECHO as 5.2.4 action D (tags match) and sends COOKIE ACK again`,
			drop: func() func(netrelay.Direction, rawPacket) bool { return dropNth(toUs, ctCookieAck, 1) }},
		{name: "first DATA from pgsctp", rfc: `6.3.3 T3-rtx expiry or 7.2.4 fast retransmit at pgsctp`, ourRtx: true,
			drop: func() func(netrelay.Direction, rawPacket) bool { return dropNth(toPeer, ctData, 1) }},
		{name: "DATA 2,3,4 and 9 from pgsctp", rfc: `7.2.4: "Mark the DATA chunk(s) with three miss indications for retransmission"; 6.3.3`, ourRtx: true,
			drop: func() func(netrelay.Direction, rawPacket) bool { return dropNth(toPeer, ctData, 2, 3, 4, 9) }},
		{name: "first DATA from usrsctp", rfc: `usrsctp's T3-rtx or fast retransmit, driven by pgsctp's SACK gap reports (6.2, 3.3.4)`,
			drop: func() func(netrelay.Direction, rawPacket) bool { return dropNth(toUs, ctData, 1) }},
		{name: "DATA 2,3 and 6 from usrsctp", rfc: `pgsctp reports gaps (6.2: "the receiver ... SHOULD send a SACK chunk immediately" on a gap) and reassembles`,
			drop: func() func(netrelay.Direction, rawPacket) bool { return dropNth(toUs, ctData, 2, 3, 6) }},
		{name: "SACKs both ways", rfc: `6.2: later SACKs carry the Cumulative TSN Ack; T3-rtx covers a lost last SACK`,
			drop: func() func(netrelay.Direction, rawPacket) bool {
				return anyOf(dropNth(toPeer, ctSack, 1, 2), dropNth(toUs, ctSack, 1, 2))
			}},
		{name: "SHUTDOWN", rfc: `9.2: "If the timer expires, the endpoint MUST resend the SHUTDOWN chunk with the updated last sequential TSN received from its peer"`,
			drop: func() func(netrelay.Direction, rawPacket) bool { return dropNth(toPeer, ctShutdown, 1) }},
		{name: "SHUTDOWN-ACK", rfc: `9.2: T2-shutdown at pgsctp resends SHUTDOWN; usrsctp answers again with SHUTDOWN ACK`,
			drop: func() func(netrelay.Direction, rawPacket) bool { return dropNth(toUs, ctShutdownAck, 1) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.must(usrsctp.StartEchoServer(e.ctx, usrsctp.ServerOptions{Netns: e.ns, LocalUDPPort: peerUDP}))
			f := &filter{Drop: tc.drop()}
			e.relay(peerUDP, f)
			a := e.dial(usrsctp.EchoPort, relayFront, e.fastConfig())
			ec := newEchoer(t)
			for i := range 12 {
				n := 200
				if i%2 == 1 {
					n = 3000
				}
				if err := ec.send(e.ctx, a, sent{sid: uint16(i % 4), ppid: uint32(i), unordered: i%3 == 0, data: pattern(i, n)}); err != nil {
					t.Fatal(err)
				}
			}
			if err := ec.send(e.ctx, a, sent{sid: 5, data: pattern(99, 10240)}); err != nil {
				t.Fatal(err)
			}
			ec.receive(e.ctx, a, 13)
			if err := a.Shutdown(e.ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if err := a.Err(); err != nil {
				t.Errorf("Err: %v", err)
			}
			checkRecovery(t, e, f, tc)
			st := a.Stats()
			if tc.ourRtx && st.Retransmissions == 0 {
				t.Errorf("pgsctp's DATA was dropped and still arrived, but Stats.Retransmissions = 0")
			}
			t.Logf("%s\n  dropped %v\n  stats %+v\n  last packets %v", tc.rfc, f.Dropped(), st, lastN(f.Tail(), 4))
		})
	}
}

func lastN(s []string, n int) []string { return s[max(len(s)-n, 0):] }

// checkRecovery: the rule dropped something, and everything dropped was
// seen again (eventually: the last packets may still be in the relay).
func checkRecovery(t *testing.T, e *env, f *filter, tc lossCase) {
	t.Helper()
	if len(f.Dropped()) == 0 {
		t.Fatalf("the rule dropped nothing: the scenario did not happen")
	}
	eventually(e.ctx, func() bool { return len(f.Unrecovered()) == 0 })
	for _, u := range f.Unrecovered() {
		t.Errorf("dropped and never sent again: %s", u)
	}
	if p := f.Problems(); len(p) > 0 {
		t.Errorf("unparseable datagrams: %v", p)
	}
}

// TestInteropLossListen: usrsctp's client reaches a pgsctp listener (which
// echoes) through a relay that drops chosen datagrams; the handshake, the
// lines and the shutdown all recover.
func TestInteropLossListen(t *testing.T) {
	toThem, toUs := netrelay.ToClient, netrelay.ToServer // pgsctp is the server here
	cases := []lossCase{
		{name: "INIT-ACK", rfc: `usrsctp's T1-init resends INIT; pgsctp answers statelessly again (5.1.3)`,
			drop: func() func(netrelay.Direction, rawPacket) bool { return dropNth(toThem, ctInitAck, 1) }},
		{name: "COOKIE-ECHO", rfc: `usrsctp's T1-cookie resends COOKIE ECHO (5.1 C)`,
			drop: func() func(netrelay.Direction, rawPacket) bool { return dropNth(toUs, ctCookieEcho, 1) }},
		{name: "COOKIE-ACK", rfc: `5.2.4 action D at pgsctp: "When both local and remote tags match, the endpoint ... MUST ... send a COOKIE ACK chunk"`,
			drop: func() func(netrelay.Direction, rawPacket) bool { return dropNth(toThem, ctCookieAck, 1) }},
		{name: "first DATA from usrsctp", rfc: `usrsctp's T3-rtx (6.3.3); pgsctp delivers the line once`,
			drop: func() func(netrelay.Direction, rawPacket) bool { return dropNth(toUs, ctData, 1) }},
		{name: "first DATA from pgsctp", rfc: `pgsctp's T3-rtx: "the endpoint MUST retransmit the earliest outstanding DATA chunks" (6.3.3 E3)`, ourRtx: true,
			drop: func() func(netrelay.Direction, rawPacket) bool { return dropNth(toThem, ctData, 1) }},
		{name: "SHUTDOWN-ACK", rfc: `usrsctp's T2-shutdown resends SHUTDOWN; pgsctp in SHUTDOWN-ACK-SENT answers with SHUTDOWN ACK again (9.2)`,
			drop: func() func(netrelay.Direction, rawPacket) bool { return dropNth(toThem, ctShutdownAck, 1) }},
		{name: "SHUTDOWN-COMPLETE", rfc: `pgsctp's T2-shutdown resends SHUTDOWN ACK; usrsctp, closed, answers the out-of-the-blue SHUTDOWN ACK with a SHUTDOWN COMPLETE with the T bit (8.4 rule 5), which pgsctp accepts (8.5.1)`,
			drop:   func() func(netrelay.Direction, rawPacket) bool { return dropNth(toUs, ctShutdownComplete, 1) },
			rtoMin: 10 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			cfg := e.fastConfig()
			if tc.rtoMin > 0 {
				cfg.Assoc.RTOMin = tc.rtoMin
			}
			l := e.listen(cfg)
			f := &filter{Drop: tc.drop()}
			e.relay(ourUDP, f)
			cl := e.must(usrsctp.StartClient(e.ctx, usrsctp.ClientOptions{Netns: e.ns, RemoteAddr: "127.0.0.1", RemotePort: ourPort,
				LocalUDPPort: peerUDP, RemoteUDPPort: relayFront}))
			a, err := l.Accept(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			echoed := echoAll(e.ctx, a)
			if _, err := cl.WaitLine(e.ctx, usrsctp.ClientUp); err != nil {
				t.Fatal(err)
			}
			const n = 4
			for i := range n {
				s := fmt.Sprintf("line %d through a lossy relay", i)
				from := len(cl.Lines())
				if _, err := fmt.Fprintf(cl, "%s\n", s); err != nil {
					t.Fatal(err)
				}
				if _, err := cl.WaitLineAfter(e.ctx, from, regexp.MustCompile("^"+regexp.QuoteMeta(s)+"$")); err != nil {
					t.Fatal(err)
				}
			}
			cl.CloseStdin()
			if _, err := cl.WaitLine(e.ctx, usrsctp.ClientShutdownDone); err != nil {
				t.Fatal(err)
			}
			r := <-echoed
			if !errors.Is(r.err, io.EOF) || r.msgs != n {
				t.Errorf("echo loop: %d messages, ended with %v; want %d, io.EOF", r.msgs, r.err, n)
			}
			<-a.Done()
			if err := a.Err(); err != nil {
				t.Errorf("Err: %v", err)
			}
			checkRecovery(t, e, f, tc)
			st := a.Stats()
			if tc.ourRtx && st.Retransmissions == 0 {
				t.Errorf("pgsctp's DATA was dropped and still arrived, but Stats.Retransmissions = 0")
			}
			t.Logf("%s\n  dropped %v\n  stats %+v\n  last packets %v", tc.rfc, f.Dropped(), st, lastN(f.Tail(), 4))
		})
	}
}
