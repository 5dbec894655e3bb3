//go:build linux

package kernelsctp_test

// Scaffolding of the interop tests: pgsctp (package sctp) in the test's
// network namespace, the kernel's SCTP in the guest, and a netrelay.Relay
// between them on the host end of the tap, which keeps a ladder, drops
// what a test chooses and writes every packet to a pcap file that tshark
// must decode cleanly.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/internal/kernelsctp"
	"github.com/pgsctp/pgsctp/internal/netrelay"
	"github.com/pgsctp/pgsctp/internal/pcapwriter"
	"github.com/pgsctp/pgsctp/sctp"
)

// UDP ports on the host end (kernelsctp.HostAddr). The tests run one at a
// time, so fixed ports are safe.
const (
	ourUDP     = 9900 // pgsctp's UDP port
	relayFront = 9901 // where the client side sends
	relayBack  = 9902 // the relay's socket toward the server
)

// interopTimeout bounds every test so that a stuck association fails the
// test instead of hanging it; it is not a timing assertion (TCG emulation
// makes the guest slow).
const interopTimeout = 90 * time.Second

// nextPort gives each association its own SCTP port in the guest.
var nextPort = 7000

func sctpPort() int { nextPort++; return nextPort }

type env struct {
	t     *testing.T
	ctx   context.Context
	g     *kernelsctp.Guest
	log   *netrelay.RingLog
	pcap  string
	cap   *pcapwriter.Writer
	peers []*kernelsctp.Peer

	failed map[int]bool // links a multihoming test failed (multiEnv)
	census *census      // chunks of pgsctp's capture (directConfig)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	g := guest(t)
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, g: g, log: &netrelay.RingLog{Max: 300}}
	dir := os.Getenv("PGSCTP_PCAP_DIR") // keep the captures there
	if dir == "" {
		dir = t.TempDir()
	}
	e.pcap = filepath.Join(dir, "kernel-"+strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+".pcap")
	w, err := pcapwriter.Create(e.pcap)
	if err != nil {
		t.Fatal(err)
	}
	e.cap = w
	t.Cleanup(func() {
		for _, p := range e.peers {
			p.Kill(context.Background())
		}
		e.cap.Close()
		// Issue 8, part 5: Wireshark decodes every packet, one per record.
		pcapwriter.Check(t, e.pcap, kernelsctp.GuestUDPPort, ourUDP, relayFront, relayBack)
		if t.Failed() {
			t.Logf("last pgsctp debug log lines:\n%s", e.log.String())
			t.Logf("capture: %s", e.pcap)
		}
	})
	return e
}

func (e *env) config() *sctp.Config {
	var h slog.Handler = slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})
	if os.Getenv("PGSCTP_TEST_LOG") != "" {
		h = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	return &sctp.Config{Logger: slog.New(h)}
}

// fastConfig is pgsctp's configuration for loss tests: the retransmission
// timers of the guest (RTO.Initial 1 s instead of 3, RTO.Max 3 s instead
// of 60, RTO.Min RFC 9260's 1 s), so both ends recover alike.
func (e *env) fastConfig() *sctp.Config {
	c := e.config()
	c.Assoc.RTOInitial = time.Second
	c.Assoc.RTOMin = time.Second
	c.Assoc.RTOMax = 3 * time.Second
	// The loss scenarios drop the Nth packet of a kind, counted as one
	// DATA chunk a packet: no path MTU discovery, whose probes and
	// bundling would change the counts (TestLabPathMTU tests it).
	c.Assoc.MaxMTU = -1
	return c
}

// startPeer starts the guest's peer program and kills it at cleanup.
func (e *env) startPeer(ready string, args ...string) *kernelsctp.Peer {
	e.t.Helper()
	p, err := e.g.StartPeer(e.ctx, ready, args...)
	if p != nil {
		e.peers = append(e.peers, p)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func hostPort(port int) netip.AddrPort { return netip.AddrPortFrom(kernelsctp.HostAddr, uint16(port)) }

// relay starts a relay on the host end toward server (the guest's UDP
// port, or pgsctp's), capturing every datagram; f may be nil.
func (e *env) relay(server netip.AddrPort, f *netrelay.Filter) *netrelay.Relay {
	e.t.Helper()
	var front, back net.PacketConn
	err := e.g.Netns().Do(func() (err error) {
		if front, err = net.ListenPacket("udp4", hostPort(relayFront).String()); err != nil {
			return err
		}
		if back, err = net.ListenPacket("udp4", hostPort(relayBack).String()); err != nil {
			front.Close()
		}
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	o := netrelay.Options{Capture: e.cap}
	if f != nil {
		o.Inspect = f.Inspect
	}
	r := netrelay.NewRelay(front, back, server, o)
	e.t.Cleanup(func() {
		r.Close()
		if f != nil && e.t.Failed() {
			e.t.Logf("relay ladder (last %d of %d packets):\n%s", len(f.Tail()), f.Total(), strings.Join(f.Tail(), "\n"))
		}
	})
	return r
}

// dial connects pgsctp, from the namespace, to the guest's SCTP port
// through the relay's front.
func (e *env) dial(port int, cfg *sctp.Config) *sctp.Association {
	e.t.Helper()
	c := *cfg
	c.UDPPort = ourUDP
	c.PeerUDPPort = relayFront
	var a *sctp.Association
	err := e.g.Netns().Do(func() (err error) {
		// The relay forwards to the guest; pgsctp addresses the relay.
		a, err = sctp.Dial(e.ctx, hostPort(port).String(), &c)
		return err
	})
	if err != nil {
		e.t.Fatalf("Dial: %v", err)
	}
	e.t.Cleanup(func() { a.Abort("test over") })
	return a
}

// listen makes a pgsctp listener on the host end, SCTP port port, UDP port
// ourUDP.
func (e *env) listen(port int, cfg *sctp.Config) *sctp.Listener {
	e.t.Helper()
	c := *cfg
	c.UDPPort = ourUDP
	var l *sctp.Listener
	err := e.g.Netns().Do(func() (err error) {
		l, err = sctp.Listen(e.ctx, hostPort(port).String(), &c)
		return err
	})
	if err != nil {
		e.t.Fatalf("Listen: %v", err)
	}
	e.t.Cleanup(func() { l.Close() })
	return l
}

// message is one message of the tests' schedule: message i of seed has
// size SendSizes[i % len], goes on stream i % SendStreams, is unordered
// when i % 3 == 2, carries PPID i and the bytes Pattern(seed+i, size);
// the guest's send mode uses the same schedule.
type message struct {
	sid       uint16
	ppid      uint32
	unordered bool
	data      []byte
}

func schedule(seed uint32, i int) message {
	return message{
		sid:       uint16(i % kernelsctp.SendStreams),
		ppid:      uint32(i),
		unordered: i%3 == 2,
		data:      kernelsctp.Pattern(seed+uint32(i), kernelsctp.SendSizes[i%len(kernelsctp.SendSizes)]),
	}
}

// check compares a received message with message i of seed, byte for
// byte, and its stream, PPID and U bit.
func check(seed uint32, m sctp.Message) error {
	if int(m.PPID) >= 1<<20 {
		return fmt.Errorf("PPID %d out of the schedule", m.PPID)
	}
	want := schedule(seed, int(m.PPID))
	if m.StreamID != want.sid || m.Unordered != want.unordered || !bytes.Equal(m.Data, want.data) {
		return fmt.Errorf("message PPID %d: %d bytes on stream %d unordered %v; want %d bytes on stream %d unordered %v (contents equal: %v)",
			m.PPID, len(m.Data), m.StreamID, m.Unordered, len(want.data), want.sid, want.unordered, bytes.Equal(m.Data, want.data))
	}
	return nil
}

// exchange sends messages 0..n-1 of seed on a and reads as many back (the
// guest echoes), checking each; ordered messages of a stream must come
// back in order (RFC 9260 section 6.6).
func (e *env) exchange(a *sctp.Association, seed uint32, n int) {
	e.t.Helper()
	errc := make(chan error, 1)
	go func() {
		last := map[uint16]int{}
		for k := 0; k < n; k++ {
			m, err := a.ReceiveMessage(e.ctx)
			if err != nil {
				errc <- fmt.Errorf("after %d of %d echoes: %w", k, n, err)
				return
			}
			if err := check(seed, m); err != nil {
				errc <- err
				return
			}
			if !m.Unordered {
				if p, ok := last[m.StreamID]; ok && int(m.PPID) < p {
					errc <- fmt.Errorf("ordered message %d after %d on stream %d", m.PPID, p, m.StreamID)
					return
				}
				last[m.StreamID] = int(m.PPID)
			}
		}
		errc <- nil
	}()
	for i := range n {
		m := schedule(seed, i)
		if err := a.SendMessage(e.ctx, m.sid, m.ppid, m.data, m.unordered); err != nil {
			e.t.Fatalf("SendMessage %d: %v", i, err)
		}
	}
	if err := <-errc; err != nil {
		e.t.Fatal(err)
	}
}

// echoAll reads messages from a until the peer shuts down, checks each
// against seed's schedule and sends it back; it returns how many came.
func (e *env) echoAll(a *sctp.Association, seed uint32) (int, error) {
	n := 0
	for {
		m, err := a.ReceiveMessage(e.ctx)
		if err != nil {
			return n, err
		}
		if err := check(seed, m); err != nil {
			return n, err
		}
		n++
		if err := a.SendMessage(e.ctx, m.StreamID, m.PPID, m.Data, m.Unordered); err != nil {
			return n, fmt.Errorf("echo of %d: %w", m.PPID, err)
		}
	}
}

// eventually polls cond until it holds, for at most 10 s; for effects that
// trail what a test waited for (the relay forwarding the last packet).
func eventually(ctx context.Context, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return waitUntil(ctx, cond)
}

// waitUntil polls cond until it holds or ctx ends.
func waitUntil(ctx context.Context, cond func() bool) bool {
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
