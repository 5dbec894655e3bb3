package usrsctp

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/internal/netrelay"
)

// Fixed ports are safe: every test runs in its own network namespace.
const (
	serverUDP = 30001
	clientUDP = 30002
	relayUDP  = 30003
	relayBack = 30004
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func stopOnCleanup(t *testing.T, p *Process) {
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			tail, total := p.DebugTail()
			t.Logf("%s output:\n%s\n(%d debug lines; last ones:\n%s)", p.Name, p.Output(), total, strings.Join(tail, "\n"))
		}
	})
}

// sctpPacket checks the RFC 9260 common header of one UDP payload and
// returns its ports and whether its CRC32c is right.
//
// RFC 9260 section 6.8: "When an SCTP packet is transmitted, the sender
// MUST ... place the resulting CRC32c in the Checksum field".
func sctpPacket(b []byte) (src, dst uint16, crcOK bool, err error) {
	if len(b) < 12+4 {
		return 0, 0, false, fmt.Errorf("%d bytes: too short for SCTP", len(b))
	}
	src = binary.BigEndian.Uint16(b[0:])
	dst = binary.BigEndian.Uint16(b[2:])
	got := binary.LittleEndian.Uint32(b[8:])
	c := make([]byte, len(b))
	copy(c, b)
	clear(c[8:12])
	want := crc32.Checksum(c, crc32.MakeTable(crc32.Castagnoli))
	return src, dst, got == want, nil
}

// TestEchoThroughRelay runs usrsctp client against usrsctp echo_server with
// a counting UDP relay between them, all in a private namespace: the
// association comes up, lines come back as sent, the client shuts down
// cleanly, and every packet was UDP-encapsulated SCTP with a valid CRC32c.
func TestEchoThroughRelay(t *testing.T) {
	Require(t)
	ns := TestNetns(t)
	ctx := testContext(t)

	es, err := StartEchoServer(ctx, ServerOptions{Netns: ns, LocalUDPPort: serverUDP})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, es)

	var mu sync.Mutex
	var problems []string
	var chunkTypes = map[netrelay.Direction]map[byte]int{netrelay.ToServer: {}, netrelay.ToClient: {}}
	var front, back net.PacketConn
	if err := ns.Do(func() (err error) {
		if front, err = net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", relayUDP)); err != nil {
			return err
		}
		back, err = net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", relayBack))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	relay := netrelay.NewRelay(front, back, netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", serverUDP)), netrelay.Options{Inspect: func(d netrelay.Direction, b []byte) bool {
		src, dst, ok, err := sctpPacket(b)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			problems = append(problems, err.Error())
		case !ok:
			problems = append(problems, fmt.Sprintf("dir %d: bad CRC32c in %x", d, b))
		case d == netrelay.ToServer && dst != EchoPort, d == netrelay.ToClient && src != EchoPort:
			problems = append(problems, fmt.Sprintf("dir %d: ports %d->%d", d, src, dst))
		default:
			chunkTypes[d][b[12]]++
		}
		return true
	}})
	t.Cleanup(func() { relay.Close() })

	cl, err := StartClient(ctx, ClientOptions{Netns: ns, RemoteAddr: "127.0.0.1", RemotePort: EchoPort,
		LocalUDPPort: clientUDP, RemoteUDPPort: relayUDP})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, cl)
	if _, err := cl.WaitLine(ctx, ClientUp); err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"hello pgsctp", "second message"} {
		if _, err := fmt.Fprintf(cl, "%s\n", msg); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.WaitLine(ctx, regexp.MustCompile("^"+regexp.QuoteMeta(msg)+"$")); err != nil {
			t.Fatal(err)
		}
		// The server saw the message whole, with the newline, on stream 0, PPID 0.
		want := fmt.Sprintf(`^Msg of length %d received from \S+ on stream 0 with SSN \d+ and TSN \d+, PPID 0, context 47, complete 1\.$`, len(msg)+1)
		if _, err := es.WaitLine(ctx, regexp.MustCompile(want)); err != nil {
			t.Fatal(err)
		}
	}
	cl.CloseStdin()
	if _, err := cl.WaitLine(ctx, ClientShutdownDone); err != nil {
		t.Fatal(err)
	}
	if err := cl.Wait(ctx); err != nil {
		t.Fatalf("client exit: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	if relay.Count(netrelay.ToServer) == 0 || relay.Count(netrelay.ToClient) == 0 {
		t.Errorf("relay saw %d datagrams to the server and %d back; want both > 0", relay.Count(netrelay.ToServer), relay.Count(netrelay.ToClient))
	}
	// The first chunk types seen: INIT (1), COOKIE ECHO (10), DATA (0) to the
	// server; INIT ACK (2), COOKIE ACK (11) back.
	for d, types := range map[netrelay.Direction][]byte{netrelay.ToServer: {1, 10, 0}, netrelay.ToClient: {2, 11}} {
		for _, ct := range types {
			if chunkTypes[d][ct] == 0 {
				t.Errorf("direction %d: no packet starting with chunk type %d (saw %v)", d, ct, chunkTypes[d])
			}
		}
	}
	t.Logf("relay: %d datagrams to server, %d to client; first chunk types %v / %v",
		relay.Count(netrelay.ToServer), relay.Count(netrelay.ToClient), chunkTypes[netrelay.ToServer], chunkTypes[netrelay.ToClient])
}

// TestDaytime: the client receives one ctime(3) line and the server closes
// the association.
func TestDaytime(t *testing.T) {
	Require(t)
	ns := TestNetns(t)
	ctx := testContext(t)
	ds, err := StartDaytimeServer(ctx, ServerOptions{Netns: ns, LocalUDPPort: serverUDP})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, ds)
	cl, err := StartClient(ctx, ClientOptions{Netns: ns, RemoteAddr: "127.0.0.1", RemotePort: DaytimePort,
		LocalUDPPort: clientUDP, RemoteUDPPort: serverUDP})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, cl)
	// e.g. "Tue Nov 24 20:25:10 2026"
	if _, err := cl.WaitLine(ctx, regexp.MustCompile(`^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}$`)); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.WaitLine(ctx, ClientShutdownDone); err != nil {
		t.Fatal(err)
	}
}

// TestTsctp: a tsctp sender and receiver agree on what was sent.
func TestTsctp(t *testing.T) {
	Require(t)
	ns := TestNetns(t)
	ctx := testContext(t)
	srv, err := StartTsctpServer(ctx, TsctpServerOptions{Netns: ns, LocalUDPPort: serverUDP, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, srv)
	const n, length = 200, 1000
	cl, err := StartTsctpClient(ctx, TsctpClientOptions{Netns: ns, RemoteAddr: "127.0.0.1",
		LocalUDPPort: clientUDP, RemoteUDPPort: serverUDP, Messages: n, Length: length})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, cl)
	if err := cl.Wait(ctx); err != nil {
		t.Fatalf("tsctp sender: %v", err)
	}
	sr, err := ParseTsctpSender(cl.Lines())
	if err != nil {
		t.Fatal(err)
	}
	if sr.Messages != n || sr.Length != length {
		t.Errorf("sender reports %d messages of %d bytes; want %d of %d", sr.Messages, sr.Length, n, length)
	}
	if _, err := srv.WaitLine(ctx, tsctpReceived); err != nil {
		t.Fatal(err)
	}
	rr := ParseTsctpReceiver(srv.Lines())
	if len(rr) != 1 {
		t.Fatalf("receiver results %+v; want 1", rr)
	}
	if rr[0].Messages != n || rr[0].Bytes != n*length || rr[0].FirstLength != length {
		t.Errorf("receiver got %+v; want %d messages, %d bytes", rr[0], n, n*length)
	}
	t.Logf("sender %+v receiver %+v", sr, rr[0])
}

func TestParseTsctpReceiver(t *testing.T) {
	got := ParseTsctpReceiver([]string{
		"Connection accepted from 127.0.0.1:51144",
		"1000, 1000, 1000, 1000000, 0.056746, 17622387.481056, 0",
		"1000, 20, 20000, 0.5, 40000.0", // callback mode
	})
	want := []TsctpReceiverResult{
		{FirstLength: 1000, Messages: 1000, RecvCalls: 1000, Bytes: 1000000, Seconds: 0.056746, Throughput: 17622387.481056},
		{FirstLength: 1000, Messages: 20, Bytes: 20000, Seconds: 0.5, Throughput: 40000},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

// TestRequireFailsOnCI: with CI set and the programs absent, Require must
// fail the test rather than skip it.
func TestRequireFailsOnCI(t *testing.T) {
	t.Setenv("CI", "true")
	ft := &fakeTB{}
	func() {
		defer func() { recover() }()
		requireIn(ft, fmt.Errorf("missing"))
	}()
	if !ft.fatal || ft.skipped {
		t.Errorf("with CI set: fatal=%v skipped=%v; want a failure", ft.fatal, ft.skipped)
	}
	t.Setenv("CI", "")
	ft = &fakeTB{}
	func() {
		defer func() { recover() }()
		requireIn(ft, fmt.Errorf("missing"))
	}()
	if ft.fatal || !ft.skipped {
		t.Errorf("without CI: fatal=%v skipped=%v; want a skip", ft.fatal, ft.skipped)
	}
}

type fakeTB struct {
	testing.TB
	fatal, skipped bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Fatalf(string, ...any) { f.fatal = true; panic("fatal") }
func (f *fakeTB) Skipf(string, ...any)  { f.skipped = true; panic("skip") }

func TestFreeUDPPorts(t *testing.T) {
	ports, err := FreeUDPPorts(nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || p > 65535 || seen[p] {
			t.Errorf("ports %v: bad or repeated %d", ports, p)
		}
		seen[p] = true
	}
}

// TestGluedDebugLine: a program line printed right after one of usrsctp's
// debug messages that lack a newline is split off and kept as a program
// line (seen with discard_server: "...Received 1188 bytes.Msg of length").
func TestGluedDebugLine(t *testing.T) {
	p := &Process{changed: make(chan struct{})}
	p.add("[S][0.172] recv_function_udp: Received 1188 bytes.Msg of length 8192 received from ::ffff:127.0.0.1:31002 on stream 3 with SSN 80 and TSN 1, PPID 0, context 47, complete 1.")
	p.add("[S][0.173] recv_function_udp6: Received 20 bytes.[S][0.173] Calling chunk OUTPUT")
	p.add("Notification of length 21 received.")
	want := []string{"Msg of length 8192 received from ::ffff:127.0.0.1:31002 on stream 3 with SSN 80 and TSN 1, PPID 0, context 47, complete 1.", "Notification of length 21 received."}
	if got := p.Lines(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lines %q; want %q", got, want)
	}
	if tail, n := p.DebugTail(); n != 3 || len(tail) != 3 {
		t.Errorf("debug lines %q (%d); want 3", tail, n)
	}
}
