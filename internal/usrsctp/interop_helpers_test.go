package usrsctp_test

// Shared scaffolding of the interop tests: pgsctp (package sctp) on one side,
// a usrsctp example program on the other, both inside a private network
// namespace that has only lo, so nothing leaves loopback.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/internal/netrelay"
	"github.com/pgsctp/pgsctp/internal/pcapwriter"
	"github.com/pgsctp/pgsctp/internal/usrsctp"
	"github.com/pgsctp/pgsctp/sctp"
)

// Fixed UDP ports are safe: every test has its own namespace.
const (
	peerUDP    = 31001 // the usrsctp program's local UDP port
	ourUDP     = 31002 // pgsctp's UDP port
	relayFront = 31003 // where the relay's client side sends
	relayBack  = 31004 // the relay's socket toward the server
	ourPort    = 5000  // pgsctp listener's SCTP port
)

// interopTimeout bounds every blocking step so that a stuck association
// fails the test instead of hanging it; it is not a timing assertion.
const interopTimeout = 40 * time.Second

// env is one test's namespace, context and debug log.
type env struct {
	t   *testing.T
	ctx context.Context
	ns  *usrsctp.Netns
	log *netrelay.RingLog
}

func newEnv(t *testing.T) *env {
	t.Helper()
	usrsctp.Require(t)
	ns := usrsctp.TestNetns(t)
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, ns: ns, log: &netrelay.RingLog{Max: 300}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last pgsctp debug log lines:\n%s", e.log.String())
		}
	})
	return e
}

// config is the pgsctp configuration of the tests: RFC defaults except
// where a test changes them, and debug logs kept for failures
// (PGSCTP_TEST_LOG=1 also prints them).
func (e *env) config() *sctp.Config {
	var h slog.Handler = slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})
	if os.Getenv("PGSCTP_TEST_LOG") != "" {
		h = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	return &sctp.Config{Logger: slog.New(h)}
}

// fastConfig shortens pgsctp's retransmission timers so loss tests recover
// in a fraction of a second on our side (RTO.Min is a local choice; RFC
// 9260 section 16 recommends 1 s for the Internet, loopback needs less).
func (e *env) fastConfig() *sctp.Config {
	c := e.config()
	c.Assoc.RTOInitial = 300 * time.Millisecond
	c.Assoc.RTOMin = 200 * time.Millisecond
	c.Assoc.RTOMax = time.Second
	// The loss scenarios drop the Nth packet of a kind, counted as one
	// DATA chunk a packet: no path MTU discovery, whose probes and
	// bundling would change the counts (TestLabPathMTU tests it).
	c.Assoc.MaxMTU = -1
	return c
}

// keep stops p at cleanup and prints its output if the test failed.
func (e *env) keep(p *usrsctp.Process) *usrsctp.Process {
	e.t.Cleanup(func() {
		p.Stop()
		if e.t.Failed() {
			tail, total := p.DebugTail()
			if len(tail) > 40 {
				tail = tail[len(tail)-40:]
			}
			e.t.Logf("%s output:\n%s\n(%d debug lines; last ones:\n%s)", p.Name, p.Output(), total, strings.Join(tail, "\n"))
		}
	})
	return p
}

func (e *env) must(p *usrsctp.Process, err error) *usrsctp.Process {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	return e.keep(p)
}

// dial runs sctp.Dial inside the namespace (its UDP socket is created
// there) toward 127.0.0.1:sctpPort at UDP port udpPort.
func (e *env) dial(sctpPort, udpPort int, cfg *sctp.Config) *sctp.Association {
	e.t.Helper()
	c := *cfg
	c.UDPPort = ourUDP
	c.PeerUDPPort = udpPort
	var a *sctp.Association
	err := e.ns.Do(func() (err error) {
		a, err = sctp.Dial(e.ctx, fmt.Sprintf("127.0.0.1:%d", sctpPort), &c)
		return err
	})
	if err != nil {
		e.t.Fatalf("Dial: %v", err)
	}
	e.t.Cleanup(func() { a.Abort("test over") })
	return a
}

// listen runs sctp.Listen inside the namespace on 127.0.0.1:ourPort, UDP
// port ourUDP.
func (e *env) listen(cfg *sctp.Config) *sctp.Listener {
	e.t.Helper()
	c := *cfg
	c.UDPPort = ourUDP
	var l *sctp.Listener
	err := e.ns.Do(func() (err error) {
		l, err = sctp.Listen(e.ctx, fmt.Sprintf("127.0.0.1:%d", ourPort), &c)
		return err
	})
	if err != nil {
		e.t.Fatalf("Listen: %v", err)
	}
	e.t.Cleanup(func() { l.Close() })
	return l
}

// relay starts a Relay inside the namespace: clients send to relayFront,
// and it forwards from relayBack to serverUDP. Each datagram goes through
// the filter (nil: forward everything).
func (e *env) relay(serverUDP int, f *filter) *netrelay.Relay {
	e.t.Helper()
	var front, back net.PacketConn
	err := e.ns.Do(func() (err error) {
		if front, err = net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", relayFront)); err != nil {
			return err
		}
		if back, err = net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", relayBack)); err != nil {
			front.Close()
		}
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	// Every relayed test writes its packets to a pcap file, one SCTP
	// packet per record, that tshark must decode cleanly (issue 8, part 5).
	// PGSCTP_PCAP_DIR keeps the files.
	dir := os.Getenv("PGSCTP_PCAP_DIR")
	if dir == "" {
		dir = e.t.TempDir()
	}
	name := filepath.Join(dir, "usrsctp-"+strings.NewReplacer("/", "_", " ", "_").Replace(e.t.Name())+".pcap")
	capture, err := pcapwriter.Create(name)
	if err != nil {
		e.t.Fatal(err)
	}
	o := netrelay.Options{Capture: capture}
	if f != nil {
		o.Inspect = f.Inspect
	}
	r := netrelay.NewRelay(front, back, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(serverUDP)), o)
	e.t.Cleanup(func() {
		r.Close()
		capture.Close()
		pcapwriter.Check(e.t, name, serverUDP, ourUDP, relayFront, relayBack)
		if f != nil && e.t.Failed() {
			e.t.Logf("relay ladder (last %d of %d packets):\n%s", len(f.Tail()), f.Total(), strings.Join(f.Tail(), "\n"))
		}
	})
	return r
}

// Chunk types (RFC 9260 section 3.2) the tests look for.
const (
	ctData             = netrelay.TypeData
	ctInit             = netrelay.TypeInit
	ctInitAck          = netrelay.TypeInitAck
	ctSack             = netrelay.TypeSack
	ctHeartbeat        = netrelay.TypeHeartbeat
	ctHeartbeatAck     = netrelay.TypeHeartbeatAck
	ctAbort            = netrelay.TypeAbort
	ctShutdown         = netrelay.TypeShutdown
	ctShutdownAck      = netrelay.TypeShutdownAck
	ctError            = netrelay.TypeError
	ctCookieEcho       = netrelay.TypeCookieEcho
	ctCookieAck        = netrelay.TypeCookieAck
	ctShutdownComplete = netrelay.TypeShutdownComplete
)

// The relay's packet view and filter, under the names these tests use.
type (
	rawPacket = netrelay.Packet
	rawChunk  = netrelay.Chunk
	filter    = netrelay.Filter
)

var (
	parsePacket = netrelay.ParsePacket
	dropNth     = netrelay.DropNth
	anyOf       = netrelay.AnyOf
)

// tlv is one parameter or error cause (type, value).
type tlv struct {
	Type  uint16
	Value []byte
}

func parseTLVs(b []byte) ([]tlv, error) {
	var out []tlv
	for len(b) > 0 {
		if len(b) < 4 {
			return out, errors.New("truncated TLV header")
		}
		l := int(binary.BigEndian.Uint16(b[2:]))
		if l < 4 || l > len(b) {
			return out, fmt.Errorf("TLV length %d with %d bytes left", l, len(b))
		}
		out = append(out, tlv{Type: binary.BigEndian.Uint16(b), Value: b[4:l]})
		b = b[min((l+3)&^3, len(b)):]
	}
	return out, nil
}

// pattern returns n bytes that differ between messages (seed) and along the
// message, so that a misplaced or duplicated fragment cannot go unnoticed.
func pattern(seed, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 12345
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	if n >= 4 {
		binary.BigEndian.PutUint32(b, uint32(seed))
	}
	return b
}

// eventually polls cond until it holds or ctx ends (at most a few seconds
// after which the caller's assertion reports what it saw). It is for
// effects that trail the event a test waited for, such as the relay
// forwarding the last packet of an association; not a timing assertion.
func eventually(ctx context.Context, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

// udpRcvbufErrors returns the namespace's count of UDP datagrams dropped
// because a socket's receive buffer was full (/proc/net/snmp, Udp
// RcvbufErrors): loss that no relay sees, so that "retransmissions on a
// lossless link" can be told apart from real drops.
func (e *env) udpRcvbufErrors() int {
	snmp := strings.TrimSuffix(e.ns.Path(), "ns/net") + "net/snmp"
	b, err := os.ReadFile(snmp)
	if err != nil {
		return -1
	}
	var head []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if head == nil {
			head = f
			continue
		}
		for i, name := range head {
			if name == "RcvbufErrors" && i < len(f) {
				n, _ := strconv.Atoi(f[i])
				return n
			}
		}
	}
	return -1
}
