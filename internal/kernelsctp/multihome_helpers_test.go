//go:build linux

package kernelsctp_test

// Scaffolding of the multihoming and ASCONF tests: the guest's second link
// on for the test, pgsctp and the kernel talking directly (a relay has one
// address), pgsctp's own capture (sctp.Config.Capture) into the test's
// pcap file, and waits for the path sets of both ends.

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/internal/kernelsctp"
	"github.com/pgsctp/pgsctp/internal/netrelay"
	"github.com/pgsctp/pgsctp/sctp"
)

var (
	host0, host1   = kernelsctp.HostAddr, kernelsctp.HostAddr2
	guest0, guest1 = kernelsctp.GuestAddr, kernelsctp.GuestAddr2
)

// multiEnv is an env with the guest's second link up; at cleanup the
// peers are killed, failed links healed and the second link's addresses
// removed, so that the next test finds a single-homed guest.
func multiEnv(t *testing.T) *env {
	e := newEnv(t)
	if err := e.g.SetSecondLink(e.ctx, true); err != nil {
		t.Fatal(err)
	}
	e.failed = map[int]bool{}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, p := range e.peers {
			p.Kill(ctx)
		}
		for i := range e.failed {
			if err := e.g.HealLink(ctx, i); err != nil {
				t.Error(err)
			}
		}
		if err := e.g.SetSecondLink(ctx, false); err != nil {
			t.Error(err)
		}
	})
	return e
}

// directConfig is pgsctp's configuration for talking to the guest without
// a relay: UDP port ourUDP, the kernel's UDP port, every packet into the
// test's capture.
func (e *env) directConfig(locals ...netip.Addr) *sctp.Config {
	c := e.config()
	c.UDPPort = ourUDP
	c.PeerUDPPort = kernelsctp.GuestUDPPort
	c.LocalAddrs = locals
	if e.census == nil {
		e.census = &census{}
	}
	c.Capture = func(at time.Time, src, dst netip.AddrPort, pkt []byte) {
		e.cap.WritePacket(at, src, dst, pkt)
		e.census.add(src.Port() == ourUDP, pkt)
	}
	return c
}

// census counts the ASCONF and ASCONF-ACK chunks pgsctp sent and received
// and those not authenticated: RFC 5061 4.1.1 and RFC 4895 6.2 want an
// AUTH chunk before them in their packet.
type census struct {
	mu         sync.Mutex
	asconf     [2]int // [0] received by pgsctp, [1] sent by pgsctp
	asconfAck  [2]int
	hmacs      [2]map[uint16]int // HMAC identifiers of the AUTH chunks
	unauthed   []string
	unparsable int
}

func (c *census) add(sent bool, pkt []byte) {
	p, err := netrelay.ParsePacket(pkt)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.unparsable++
		return
	}
	dir := 0
	if sent {
		dir = 1
	}
	authed := false
	for _, ch := range p.Chunks {
		switch ch.Type {
		case typeAuth:
			authed = true
			if len(ch.Value) >= 4 {
				if c.hmacs[dir] == nil {
					c.hmacs[dir] = map[uint16]int{}
				}
				c.hmacs[dir][binary.BigEndian.Uint16(ch.Value[2:])]++
			}
		case typeAsconf, typeAsconfAck:
			if ch.Type == typeAsconf {
				c.asconf[dir]++
			} else {
				c.asconfAck[dir]++
			}
			if !authed {
				c.unauthed = append(c.unauthed, fmt.Sprintf("%v (sent by pgsctp: %v)", ch, sent))
			}
		}
	}
}

// Chunk types of RFC 4895 and RFC 5061.
const (
	typeAuth      = 0x0F
	typeAsconf    = 0xC1
	typeAsconfAck = 0x80
)

// dialDirect dials the guest's addresses (the first gets the INIT) on
// SCTP port port.
func (e *env) dialDirect(port int, cfg *sctp.Config, peers ...netip.Addr) *sctp.Association {
	e.t.Helper()
	var a *sctp.Association
	err := e.g.Netns().Do(func() (err error) {
		a, err = sctp.Dial(e.ctx, fmt.Sprintf("%s:%d", addrs(peers), port), cfg)
		return err
	})
	if err != nil {
		e.t.Fatalf("Dial: %v", err)
	}
	e.t.Cleanup(func() { a.Abort("test over") })
	return a
}

// listenDirect listens on the host addresses locals, SCTP port port.
func (e *env) listenDirect(port int, cfg *sctp.Config, locals ...netip.Addr) *sctp.Listener {
	e.t.Helper()
	var l *sctp.Listener
	err := e.g.Netns().Do(func() (err error) {
		l, err = sctp.Listen(e.ctx, fmt.Sprintf("%s:%d", addrs(locals), port), cfg)
		return err
	})
	if err != nil {
		e.t.Fatalf("Listen: %v", err)
	}
	e.t.Cleanup(func() { l.Close() })
	return l
}

func addrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

// startCtl starts the guest's control-mode peer (see kernelsctp.StartCtl)
// sending to pgsctp's UDP port, and kills it at cleanup.
func (e *env) startCtl(port int, laddrs, paddrs []netip.Addr) *kernelsctp.Peer {
	e.t.Helper()
	p, err := e.g.StartCtl(e.ctx, port, ourUDP, laddrs, paddrs)
	if p != nil {
		e.peers = append(e.peers, p)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) failLink(i int) {
	e.t.Helper()
	if err := e.g.FailLink(e.ctx, i); err != nil {
		e.t.Fatal(err)
	}
	e.failed[i] = true
}

func (e *env) healLink(i int) {
	e.t.Helper()
	if err := e.g.HealLink(e.ctx, i); err != nil {
		e.t.Fatal(err)
	}
	delete(e.failed, i)
}

// pair is one of pgsctp's paths: a local and a peer address.
type pair struct{ local, peer netip.Addr }

func (p pair) String() string { return p.local.String() + "->" + p.peer.String() }

// pairs returns pgsctp's paths and the subset that is active.
func pairs(a *sctp.Association) (all, active []pair) {
	for _, p := range a.Stats().Paths {
		pr := pair{p.Local, p.Addr.Addr()}
		all = append(all, pr)
		if p.State == assoc.PathActive {
			active = append(active, pr)
		}
	}
	return all, active
}

func samePairs(got, want []pair) bool {
	key := func(p pair) string { return p.String() }
	g, w := make([]string, len(got)), make([]string, len(want))
	for i, p := range got {
		g[i] = key(p)
	}
	for i, p := range want {
		w[i] = key(p)
	}
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

// cross returns every pair of a local and a peer address.
func cross(locals, peers []netip.Addr) []pair {
	var out []pair
	for _, l := range locals {
		for _, p := range peers {
			out = append(out, pair{l, p})
		}
	}
	return out
}

// waitPaths waits until pgsctp's paths are exactly want, every one active,
// and the kernel's peer addresses exactly kernelWant, every one active
// (the kernel confirms a new address with a HEARTBEAT, RFC 9260 5.4). It
// fails the test with both sets if that does not happen before the
// test's deadline.
func (e *env) waitPaths(a *sctp.Association, p *kernelsctp.Peer, want []pair, kernelWant []netip.Addr) {
	e.t.Helper()
	var all, active []pair
	var kp map[netip.Addr]string
	for {
		all, active = pairs(a)
		if samePairs(all, want) && samePairs(active, want) {
			var err error
			if kp, err = p.Paths(e.ctx); err != nil {
				e.t.Fatal(err)
			}
			ok := len(kp) == len(kernelWant)
			for _, w := range kernelWant {
				ok = ok && strings.HasPrefix(kp[w], "active")
			}
			if ok {
				e.t.Logf("paths: pgsctp %v; kernel %v", want, kp)
				return
			}
		}
		select {
		case <-e.ctx.Done():
			e.t.Fatalf("pgsctp's paths %v (active %v), want %v all active; kernel's %v, want %v all active",
				all, active, want, kp, kernelWant)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// kernelPaths returns the kernel's peer addresses and their states.
func (e *env) kernelPaths(p *kernelsctp.Peer) map[netip.Addr]string {
	e.t.Helper()
	kp, err := p.Paths(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return kp
}

func sortedKeys(m map[netip.Addr]string) []netip.Addr {
	return slices.SortedFunc(maps.Keys(m), func(a, b netip.Addr) int { return a.Compare(b) })
}
