//go:build linux

package kernelsctp_test

import (
	"encoding/binary"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pgsctp/pgsctp/internal/kernelsctp"
	"github.com/pgsctp/pgsctp/internal/netrelay"
)

const (
	toPeer = netrelay.ToServer // pgsctp dials: pgsctp -> kernel
	toUs   = netrelay.ToClient
)

// paramForwardTSN is RFC 3758's Forward-TSN-Supported parameter type.
const paramForwardTSN = 0xC000

// shutdownLadder returns the SHUTDOWN, SHUTDOWN ACK and SHUTDOWN COMPLETE
// chunks of a filter's ladder as "direction:name".
func shutdownLadder(f *netrelay.Filter) []string {
	var out []string
	for _, l := range f.Tail() {
		for _, n := range []string{"SHUTDOWN-COMPLETE", "SHUTDOWN-ACK", "SHUTDOWN"} {
			if strings.Contains(l, n) {
				dir := "0"
				if strings.HasPrefix(l, "client <- server") {
					dir = "1"
				}
				out = append(out, dir+":"+n)
				break
			}
		}
	}
	return out
}

// unrecognizedReported returns the parameter types that an INIT ACK chunk
// value reports in Unrecognized Parameter parameters (RFC 9260 3.3.3).
func unrecognizedReported(v []byte) []uint16 {
	var out []uint16
	for b := v[min(16, len(v)):]; len(b) >= 4; {
		t, l := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if l < 4 || l > len(b) {
			break
		}
		if t == 8 && l >= 8 {
			out = append(out, binary.BigEndian.Uint16(b[4:]))
		}
		b = b[min((l+3)&^3, len(b)):]
	}
	return out
}

// TestKernelEcho: pgsctp dials the kernel, which echoes. 44 messages from 1
// to 65,000 bytes over 5 streams, every third unordered, come back byte for
// byte, ordered ones in order per stream (RFC 9260 6.6); pgsctp shuts
// down gracefully (9.2: SHUTDOWN, SHUTDOWN ACK, SHUTDOWN COMPLETE) and the
// kernel's program sees the end of the association. Had the kernel's INIT
// ACK offered Forward-TSN-Supported (0xC000; it does only to peers that
// offer it), pgsctp would have to report it in an ERROR bundled with its
// COOKIE ECHO (RFC 9260 3.2.1, 3.2.2; pgsctp has no PR-SCTP).
func TestKernelEcho(t *testing.T) {
	e := newEnv(t)
	port := sctpPort()
	p := e.startPeer("listening", "echo", strconv.Itoa(port), strconv.Itoa(relayBack))
	var mu sync.Mutex
	var initAckOffers, cookieEchoReports bool
	f := &netrelay.Filter{Seen: func(d netrelay.Direction, pk netrelay.Packet, _ []byte) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := pk.First(netrelay.TypeInitAck); ok && d == toUs {
			initAckOffers = hasParam(c.Value[min(16, len(c.Value)):], paramForwardTSN)
		}
		if pk.Has(netrelay.TypeCookieEcho) && d == toPeer {
			if c, ok := pk.First(netrelay.TypeError); ok {
				// Unrecognized Parameters cause (8) holding 0xC000.
				cookieEchoReports = len(c.Value) >= 8 && binary.BigEndian.Uint16(c.Value) == 8 &&
					binary.BigEndian.Uint16(c.Value[4:]) == paramForwardTSN
			}
		}
	}}
	e.relay(guestUDP(), f)
	a := e.dial(port, e.config())
	const n = 44 // every size four times
	e.exchange(a, 1, n)
	if err := a.Shutdown(e.ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	out, err := p.Wait(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var bytes int
	for i := range n {
		bytes += len(schedule(1, i).data)
	}
	if want := "echo done msgs=" + strconv.Itoa(n) + " bytes=" + strconv.Itoa(bytes); !strings.Contains(out, want) {
		t.Errorf("kernel peer said %q; want %q", out, want)
	}
	eventually(e.ctx, func() bool { return netrelay.ShutdownDone(shutdownLadder(f), toPeer) })
	if note, err := netrelay.CheckShutdown(shutdownLadder(f), toPeer); err != nil { // pgsctp -> kernel
		t.Error(err)
	} else if note != "" {
		t.Log(note)
	}
	mu.Lock()
	defer mu.Unlock()
	// Seen here: the kernel's INIT ACK offers Forward-TSN-Supported only
	// to a peer whose INIT did (pgsctp's does not); had it offered it,
	// pgsctp must report it.
	if initAckOffers != cookieEchoReports {
		t.Errorf("kernel's INIT ACK offers Forward-TSN-Supported: %v; pgsctp's COOKIE ECHO reports it: %v; want the same", initAckOffers, cookieEchoReports)
	}
	st := a.Stats()
	t.Logf("%d messages, %d bytes each way; %d packets through the relay; pgsctp stats: sent %d received %d rtx %d",
		n, bytes, f.Total(), st.BytesSent, st.BytesReceived, st.Retransmissions)
}

func hasParam(b []byte, typ uint16) bool {
	for len(b) >= 4 {
		t, l := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if t == typ {
			return true
		}
		if l < 4 || l > len(b) {
			return false
		}
		b = b[min((l+3)&^3, len(b)):]
	}
	return false
}

// TestKernelSend: the kernel dials a pgsctp listener and sends 44
// messages (1 to 65,000 bytes, 5 streams, ordered and unordered); pgsctp
// checks each byte for byte and echoes it, the kernel's program checks the
// echoes and closes, and the kernel shuts down gracefully (SHUTDOWN from
// the kernel, 9.2), which pgsctp sees as the end of its messages (io.EOF).
// pgsctp's INIT ACK reports the kernel's Forward-TSN-Supported in an
// Unrecognized Parameter (RFC 9260 3.2.1, RFC 3758 3.3.1).
func TestKernelSend(t *testing.T) {
	e := newEnv(t)
	port := sctpPort()
	l := e.listen(port, e.config())
	var mu sync.Mutex
	var initOffers bool
	var reported []uint16
	var lastSackWindow uint32
	f := &netrelay.Filter{Seen: func(d netrelay.Direction, pk netrelay.Packet, _ []byte) {
		mu.Lock()
		defer mu.Unlock()
		// The kernel is the client here: toPeer is kernel -> pgsctp.
		if c, ok := pk.First(netrelay.TypeInit); ok && d == netrelay.ToServer {
			initOffers = hasParam(c.Value[min(16, len(c.Value)):], paramForwardTSN)
		}
		if c, ok := pk.First(netrelay.TypeInitAck); ok && d == netrelay.ToClient {
			reported = unrecognizedReported(c.Value)
		}
		if c, ok := pk.First(netrelay.TypeSack); ok && d == netrelay.ToClient && len(c.Value) >= 8 {
			lastSackWindow = binary.BigEndian.Uint32(c.Value[4:])
		}
	}}
	e.relay(hostPort(ourUDP), f)
	const n, seed = 44, 7 // every size four times
	p := e.startPeer("", "send", kernelsctp.HostAddr.String(), strconv.Itoa(port), strconv.Itoa(relayFront), strconv.Itoa(n), strconv.Itoa(seed))
	a, err := l.Accept(e.ctx)
	if err != nil {
		o, _ := p.Output(e.ctx)
		t.Fatalf("Accept: %v; peer output:\n%s", err, o)
	}
	got, err := e.echoAll(a, seed)
	if err != io.EOF {
		t.Fatalf("after %d messages: %v; want io.EOF at the kernel's SHUTDOWN", got, err)
	}
	if got != n {
		t.Errorf("%d messages; want %d", got, n)
	}
	out, err := p.Wait(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "send ok msgs="+strconv.Itoa(n)) {
		t.Errorf("kernel peer said %q; want send ok", out)
	}
	eventually(e.ctx, func() bool { return netrelay.ShutdownDone(shutdownLadder(f), netrelay.ToServer) })
	if note, err := netrelay.CheckShutdown(shutdownLadder(f), netrelay.ToServer); err != nil { // kernel -> pgsctp
		t.Error(err)
	} else if note != "" {
		t.Log(note)
	}
	mu.Lock()
	defer mu.Unlock()
	if !initOffers {
		t.Error("the kernel's INIT did not offer Forward-TSN-Supported: the test no longer covers its report")
	}
	if !slices.Equal(reported, []uint16{paramForwardTSN}) {
		t.Errorf("pgsctp's INIT ACK reports %#04x as unrecognized; want exactly 0xC000", reported)
	}
	t.Logf("%d messages each way; %d packets through the relay; pgsctp's last SACK advertised a_rwnd %d", n, f.Total(), lastSackWindow)
}

// TestKernelHeartbeat: the kernel, with a heartbeat interval of 100 ms,
// heartbeats the idle pgsctp, which answers each HEARTBEAT with a
// HEARTBEAT ACK carrying the Heartbeat Information unchanged (RFC 9260
// 8.3: "The receiver of the HEARTBEAT chunk SHOULD immediately respond
// with a HEARTBEAT ACK chunk"). The association stays up: an echo still
// works afterwards.
func TestKernelHeartbeat(t *testing.T) {
	e := newEnv(t)
	port := sctpPort()
	p := e.startPeer("listening", "echo", strconv.Itoa(port), strconv.Itoa(relayBack), "100")
	var mu sync.Mutex
	infos := map[string]bool{} // Heartbeat Info of HEARTBEATs not yet acknowledged
	var bad []string
	f := &netrelay.Filter{Seen: func(d netrelay.Direction, pk netrelay.Packet, _ []byte) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := pk.First(netrelay.TypeHeartbeat); ok && d == toUs {
			infos[string(c.Value)] = true
		}
		if c, ok := pk.First(netrelay.TypeHeartbeatAck); ok && d == toPeer {
			if !infos[string(c.Value)] {
				bad = append(bad, "HEARTBEAT ACK with an Info no HEARTBEAT carried")
			}
			delete(infos, string(c.Value))
		}
	}}
	e.relay(guestUDP(), f)
	a := e.dial(port, e.config())
	// The kernel sends one every 100 ms plus a jittered RTO (RTO.Min is
	// 1 s), so three take a few seconds; the wait is bounded by the
	// test's context only.
	if !waitUntil(e.ctx, func() bool { return f.Count(toPeer, netrelay.TypeHeartbeatAck) >= 3 }) {
		t.Fatalf("%d HEARTBEATs from the kernel, %d HEARTBEAT ACKs from pgsctp; want 3 answered",
			f.Count(toUs, netrelay.TypeHeartbeat), f.Count(toPeer, netrelay.TypeHeartbeatAck))
	}
	e.exchange(a, 3, 3)
	if err := a.Shutdown(e.ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := p.Wait(e.ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, b := range bad {
		t.Error(b)
	}
	t.Logf("HEARTBEATs from the kernel: %d, HEARTBEAT ACKs: %d", f.Count(toUs, netrelay.TypeHeartbeat), f.Count(toPeer, netrelay.TypeHeartbeatAck))
}

// lossCase is one drop rule for TestKernelLoss.
type lossCase struct {
	name, rfc string
	drop      func() func(netrelay.Direction, netrelay.Packet) bool
	ourRtx    bool   // pgsctp must have retransmitted DATA, fast retransmit included
	kernelRtx string // a counter of /proc/net/sctp/snmp that must have grown
}

// TestKernelLoss: pgsctp dials the kernel's echo through a relay that drops
// chosen datagrams. Every exchange recovers by retransmission, every drop is
// followed by the same chunk type (or DATA TSN) crossing again, and the 22
// echoes (up to 65,000 bytes) stay exact. Data lost either way is
// retransmitted, seen on the wire and in both stacks' counters (pgsctp's
// Stats, the kernel's /proc/net/sctp/snmp), fast retransmit (RFC 9260
// 7.2.4) included, driven by the other side's SACK gap reports.
func TestKernelLoss(t *testing.T) {
	// DATA packets are counted per direction (22 messages are about 190
	// packets from pgsctp, 150 from the kernel); each 65,000-byte message
	// is 56 or 45 of them, so the later drops have many packets after
	// them and are recovered by fast retransmit.
	cases := []lossCase{
		{name: "INIT-ACK", rfc: `5.1 C: pgsctp's T1-init resends INIT; the kernel answers statelessly again (5.1.3)`,
			drop: func() func(netrelay.Direction, netrelay.Packet) bool {
				return netrelay.DropNth(toUs, netrelay.TypeInitAck, 1)
			}},
		{name: "COOKIE-ECHO", rfc: `5.1 C: "If the T1-cookie timer expires, the endpoint MUST retransmit COOKIE ECHO"`,
			drop: func() func(netrelay.Direction, netrelay.Packet) bool {
				return netrelay.DropNth(toPeer, netrelay.TypeCookieEcho, 1)
			}},
		{name: "COOKIE-ACK", rfc: `T1-cookie at pgsctp; the kernel takes the repeated COOKIE ECHO as 5.2.4 action D and sends COOKIE ACK again`,
			drop: func() func(netrelay.Direction, netrelay.Packet) bool {
				return netrelay.DropNth(toUs, netrelay.TypeCookieAck, 1)
			}},
		{name: "DATA from pgsctp", rfc: `7.2.4 fast retransmit at pgsctp (kernel SACKs report the gaps); 6.3.3 T3-rtx for the first`, ourRtx: true,
			drop: func() func(netrelay.Direction, netrelay.Packet) bool {
				return netrelay.DropNth(toPeer, netrelay.TypeData, 1, 40, 41, 120)
			}},
		{name: "DATA from the kernel", rfc: `the kernel's fast retransmit (7.2.4), driven by pgsctp's SACK gap reports (6.2, 6.7)`, kernelRtx: "SctpFastRetransmits",
			drop: func() func(netrelay.Direction, netrelay.Packet) bool {
				return netrelay.DropNth(toUs, netrelay.TypeData, 40, 41, 120)
			}},
		{name: "first DATA from the kernel", rfc: `the kernel retransmits its first echo (more echoes follow, so pgsctp's SACKs report the gap)`, kernelRtx: "SctpRetransmits",
			drop: func() func(netrelay.Direction, netrelay.Packet) bool {
				return netrelay.DropNth(toUs, netrelay.TypeData, 1)
			}},
		{name: "SACKs both ways", rfc: `6.2: later SACKs carry the Cumulative TSN Ack; T3-rtx covers a lost last SACK`,
			drop: func() func(netrelay.Direction, netrelay.Packet) bool {
				return netrelay.AnyOf(netrelay.DropNth(toPeer, netrelay.TypeSack, 1, 2, 30), netrelay.DropNth(toUs, netrelay.TypeSack, 1, 2, 30))
			}},
		{name: "SHUTDOWN", rfc: `9.2: T2-shutdown at pgsctp resends SHUTDOWN`,
			drop: func() func(netrelay.Direction, netrelay.Packet) bool {
				return netrelay.DropNth(toPeer, netrelay.TypeShutdown, 1)
			}},
		{name: "SHUTDOWN-ACK", rfc: `9.2: T2-shutdown at pgsctp resends SHUTDOWN; the kernel answers with SHUTDOWN ACK again`,
			drop: func() func(netrelay.Direction, netrelay.Packet) bool {
				return netrelay.DropNth(toUs, netrelay.TypeShutdownAck, 1)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			port := sctpPort()
			p := e.startPeer("listening", "echo", strconv.Itoa(port), strconv.Itoa(relayBack))
			before, err := e.g.SNMP(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			f := &netrelay.Filter{Drop: tc.drop()}
			e.relay(guestUDP(), f)
			a := e.dial(port, e.fastConfig())
			const n = 22 // every size twice
			e.exchange(a, 11, n)
			if err := a.Shutdown(e.ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if _, err := p.Wait(e.ctx); err != nil {
				t.Fatal(err)
			}
			if len(f.Dropped()) == 0 {
				t.Fatal("the rule dropped nothing: the scenario did not happen")
			}
			eventually(e.ctx, func() bool { return len(f.Unrecovered()) == 0 })
			for _, u := range f.Unrecovered() {
				t.Errorf("dropped and never sent again: %s", u)
			}
			if pr := f.Problems(); len(pr) > 0 {
				t.Errorf("unparseable datagrams: %v", pr)
			}
			st := a.Stats()
			if tc.ourRtx && (st.Retransmissions == 0 || st.FastRetransmits == 0) {
				t.Errorf("pgsctp's DATA was dropped: Stats.Retransmissions = %d, FastRetransmits = %d; want both > 0", st.Retransmissions, st.FastRetransmits)
			}
			after, err := e.g.SNMP(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			after["SctpRetransmits"] = after["SctpFastRetransmits"] + after["SctpT3Retransmits"]
			before["SctpRetransmits"] = before["SctpFastRetransmits"] + before["SctpT3Retransmits"]
			if tc.kernelRtx != "" && after[tc.kernelRtx] <= before[tc.kernelRtx] {
				t.Errorf("kernel %s %d -> %d; want it to grow", tc.kernelRtx, before[tc.kernelRtx], after[tc.kernelRtx])
			}
			t.Logf("%s\n  dropped %v\n  pgsctp: rtx %d fast %d T3 %d; kernel: fast rtx +%d, T3 rtx +%d",
				tc.rfc, f.Dropped(), st.Retransmissions, st.FastRetransmits, st.T3Expiries,
				after["SctpFastRetransmits"]-before["SctpFastRetransmits"], after["SctpT3Retransmits"]-before["SctpT3Retransmits"])
		})
	}
}

// guestUDP is the kernel's SCTP-over-UDP port.
func guestUDP() netip.AddrPort {
	return netip.AddrPortFrom(kernelsctp.GuestAddr, kernelsctp.GuestUDPPort)
}

// TestKernelLossListen: the kernel dials a pgsctp listener through a relay
// that drops chosen datagrams, sends 22 messages (up to 65,000 bytes) and
// checks pgsctp's echoes; the handshake, the data both ways and the
// kernel's SHUTDOWN all recover, every drop is followed by the same chunk
// type (or DATA TSN) again, and the messages stay exact on both ends.
func TestKernelLossListen(t *testing.T) {
	// The kernel is the client: ToServer is kernel -> pgsctp.
	toThem, toUs := netrelay.ToClient, netrelay.ToServer
	type rule = func() func(netrelay.Direction, netrelay.Packet) bool
	cases := []struct {
		name, rfc string
		drop      rule
		ourRtx    bool
	}{
		{name: "INIT-ACK", rfc: `the kernel's T1-init resends INIT; pgsctp answers statelessly again (5.1.3)`,
			drop: func() func(netrelay.Direction, netrelay.Packet) bool {
				return netrelay.DropNth(toThem, netrelay.TypeInitAck, 1)
			}},
		{name: "COOKIE-ACK", rfc: `5.2.4 action D at pgsctp: the repeated COOKIE ECHO gets a COOKIE ACK again`,
			drop: func() func(netrelay.Direction, netrelay.Packet) bool {
				return netrelay.DropNth(toThem, netrelay.TypeCookieAck, 1)
			}},
		{name: "DATA from the kernel", rfc: `pgsctp reports the gaps (6.7), the kernel retransmits; pgsctp reassembles and delivers once`,
			drop: func() func(netrelay.Direction, netrelay.Packet) bool {
				return netrelay.DropNth(toUs, netrelay.TypeData, 1, 40, 41, 120)
			}},
		{name: "DATA from pgsctp", rfc: `7.2.4 fast retransmit at pgsctp, driven by the kernel's SACK gap reports`, ourRtx: true,
			drop: func() func(netrelay.Direction, netrelay.Packet) bool {
				return netrelay.DropNth(toThem, netrelay.TypeData, 40, 41, 120)
			}},
		{name: "SHUTDOWN", rfc: `9.2: the kernel's T2-shutdown resends SHUTDOWN`,
			drop: func() func(netrelay.Direction, netrelay.Packet) bool {
				return netrelay.DropNth(toUs, netrelay.TypeShutdown, 1)
			}},
		{name: "SHUTDOWN-ACK", rfc: `9.2: the kernel resends SHUTDOWN, pgsctp in SHUTDOWN-ACK-SENT answers again`,
			drop: func() func(netrelay.Direction, netrelay.Packet) bool {
				return netrelay.DropNth(toThem, netrelay.TypeShutdownAck, 1)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			port := sctpPort()
			l := e.listen(port, e.fastConfig())
			f := &netrelay.Filter{Drop: tc.drop()}
			e.relay(hostPort(ourUDP), f)
			const n, seed = 22, 13 // every size twice
			p := e.startPeer("", "send", kernelsctp.HostAddr.String(), strconv.Itoa(port), strconv.Itoa(relayFront), strconv.Itoa(n), strconv.Itoa(seed))
			a, err := l.Accept(e.ctx)
			if err != nil {
				o, _ := p.Output(e.ctx)
				t.Fatalf("Accept: %v; peer output:\n%s", err, o)
			}
			got, err := e.echoAll(a, seed)
			if err != io.EOF || got != n {
				t.Fatalf("%d messages, then %v; want %d and io.EOF", got, err, n)
			}
			out, err := p.Wait(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "send ok msgs="+strconv.Itoa(n)) {
				t.Errorf("kernel peer said %q; want send ok", out)
			}
			if len(f.Dropped()) == 0 {
				t.Fatal("the rule dropped nothing: the scenario did not happen")
			}
			eventually(e.ctx, func() bool { return len(f.Unrecovered()) == 0 })
			for _, u := range f.Unrecovered() {
				t.Errorf("dropped and never sent again: %s", u)
			}
			st := a.Stats()
			if tc.ourRtx && (st.Retransmissions == 0 || st.FastRetransmits == 0) {
				t.Errorf("pgsctp's DATA was dropped: Stats.Retransmissions = %d, FastRetransmits = %d; want both > 0", st.Retransmissions, st.FastRetransmits)
			}
			t.Logf("%s\n  dropped %v\n  pgsctp: rtx %d fast %d T3 %d", tc.rfc, f.Dropped(), st.Retransmissions, st.FastRetransmits, st.T3Expiries)
		})
	}
}

// TestKernelPathMTU: path MTU discovery (RFC 8899) against the kernel's
// SCTP. pgsctp's probes are HEARTBEATs padded with a PAD chunk (RFC 4820),
// whose type's upper bits (10) tell a receiver to skip it silently; Linux
// answers them as any HEARTBEAT, so the path's MTU rises above the
// 1200-byte base (only an answered probe raises it), and the echoes that
// follow, in the larger packets, stay exact.
func TestKernelPathMTU(t *testing.T) {
	e := newEnv(t)
	port := sctpPort()
	p := e.startPeer("listening", "echo", strconv.Itoa(port), strconv.Itoa(relayBack), "100")
	f := &netrelay.Filter{}
	e.relay(guestUDP(), f)
	a := e.dial(port, e.config())
	e.exchange(a, 1, 3) // a round trip measured: the probes may start
	if !waitUntil(e.ctx, func() bool { return a.Stats().Paths[0].MTU > 1200 }) {
		t.Fatalf("PLPMTU %d after %d probes; want above the 1200-byte base", a.Stats().Paths[0].MTU, f.Count(toPeer, netrelay.TypePad))
	}
	e.exchange(a, 2, 22)
	if err := a.Shutdown(e.ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := p.Wait(e.ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("PLPMTU %d after %d probes (PAD chunks) to the kernel", a.Stats().Paths[0].MTU, f.Count(toPeer, netrelay.TypePad))
}
