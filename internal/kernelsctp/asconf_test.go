//go:build linux

package kernelsctp_test

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/internal/kernelsctp"
	"github.com/pgsctp/pgsctp/sctp"
)

// ASCONF (RFC 5061) with AUTH (RFC 4895) against the kernel: addresses
// added and deleted on both ends during an association, data after each
// change, the path sets of both ends checked after each.

// asconfSysctls turn on the kernel's AUTH and dynamic addresses, with
// ASCONF authenticated (addip_noauth_enable=0, RFC 5061 section 4.1.1
// requires it). The kernel reads them when a socket is made.
var asconfSysctls = []string{"auth_enable=1", "addip_enable=1", "addip_noauth_enable=0"}

// asconfEnv is multiEnv with asconfSysctls set in the guest, and the
// previous values back at cleanup.
func asconfEnv(t *testing.T) *env {
	e := multiEnv(t)
	var restore []string
	for _, s := range asconfSysctls {
		name, _, _ := strings.Cut(s, "=")
		old, err := e.g.Run(e.ctx, "cat /proc/sys/net/sctp/"+name)
		if err != nil {
			t.Fatal(err)
		}
		restore = append(restore, name+"="+strings.TrimSpace(old))
	}
	t.Cleanup(func() {
		for _, s := range restore {
			if _, err := e.g.Run(context.Background(), "sysctl -q -w net.sctp."+s); err != nil {
				t.Error(err)
			}
		}
	})
	for _, s := range asconfSysctls {
		if _, err := e.g.Run(e.ctx, "sysctl -q -w net.sctp."+s); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// kernelLocals checks the kernel's local addresses of the association.
func (e *env) kernelLocals(p *kernelsctp.Peer, want ...netip.Addr) {
	e.t.Helper()
	lines, err := p.Command(e.ctx, "laddrs")
	if err != nil {
		e.t.Fatal(err)
	}
	var got []netip.Addr
	for _, l := range lines {
		if a, err := netip.ParseAddr(strings.TrimPrefix(l, "laddr ")); err == nil {
			got = append(got, a)
		}
	}
	slices.SortFunc(got, netip.Addr.Compare)
	want = slices.Clone(want)
	slices.SortFunc(want, netip.Addr.Compare)
	if !slices.Equal(got, want) {
		e.t.Errorf("kernel's local addresses %v; want %v", got, want)
	}
}

// hmacSHA1 is RFC 4895's HMAC identifier of SHA-1.
const hmacSHA1 = 1

// asconfStep makes one change, then waits for both ends' paths and runs
// an echo of 11 messages (1 to 65,000 bytes) over them.
type asconfStep struct {
	name      string
	change    func() error
	pgsctp    []pair       // pgsctp's paths after it, all active
	kernel    []netip.Addr // the kernel's peer addresses, all active
	kernelOwn []netip.Addr // the kernel's local addresses
	pgsctpOwn []netip.Addr // pgsctp's local addresses (acknowledged)
}

func (e *env) runSteps(a *sctp.Association, p *kernelsctp.Peer, steps []asconfStep) {
	t := e.t
	t.Helper()
	start := time.Now()
	for i, s := range steps {
		if s.change != nil {
			if err := s.change(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		e.waitPaths(a, p, s.pgsctp, s.kernel)
		e.kernelLocals(p, s.kernelOwn...)
		got := a.LocalAddrs()
		slices.SortFunc(got, netip.Addr.Compare)
		if !slices.Equal(got, s.pgsctpOwn) {
			t.Errorf("%s: pgsctp's local addresses %v; want %v", s.name, got, s.pgsctpOwn)
		}
		e.exchange(a, uint32(100+i), 11)
		t.Logf("%s: paths as expected, 11 messages echoed (%v into the test)", s.name, time.Since(start).Round(time.Millisecond))
	}
	// Two changes each way: an ASCONF each and its ASCONF-ACK, every one
	// authenticated (more would be retransmissions, which are allowed).
	c := e.census
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.asconf[0] < 2 || c.asconf[1] < 2 || c.asconfAck[0] < 2 || c.asconfAck[1] < 2 {
		t.Errorf("ASCONF received/sent by pgsctp %v, ASCONF-ACK %v; want at least 2 each", c.asconf, c.asconfAck)
	}
	if len(c.unauthed) > 0 || c.unparsable > 0 {
		t.Errorf("ASCONF chunks without AUTH before them: %v; unparsable packets: %d", c.unauthed, c.unparsable)
	}
	// The kernel's INIT and INIT ACK request SHA-1 only (its default
	// HMAC list): pgsctp must use it (RFC 4895 6.1). The kernel may
	// use either of pgsctp's (SHA-256, SHA-1); it used SHA-256.
	if len(c.hmacs[1]) != 1 || c.hmacs[1][hmacSHA1] == 0 {
		t.Errorf("HMAC identifiers of pgsctp's AUTH chunks %v; want SHA-1 (1) only, the one the kernel requests", c.hmacs[1])
	}
	t.Logf("ASCONF received/sent by pgsctp %v, ASCONF-ACK %v, all behind AUTH; HMAC identifiers received %v, sent %v",
		c.asconf, c.asconfAck, c.hmacs[0], c.hmacs[1])
}

// TestKernelAsconfDial: pgsctp dials the kernel, each on its first link's
// address; pgsctp adds its second address and deletes its first
// (SetLocalAddrs), then the kernel adds its second and deletes its first
// (sctp_bindx). After each change both ends have exactly the paths
// between the addresses left, and an echo goes over them.
func TestKernelAsconfDial(t *testing.T) {
	e := asconfEnv(t)
	port := sctpPort()
	p := e.startCtl(port, []netip.Addr{guest0}, nil)
	a := e.dialDirect(port, e.directConfig(host0), guest0)
	both := []netip.Addr{host0, host1}
	e.runSteps(a, p, []asconfStep{
		{name: "start", pgsctp: []pair{{host0, guest0}}, kernel: []netip.Addr{host0}, kernelOwn: []netip.Addr{guest0}, pgsctpOwn: []netip.Addr{host0}},
		{name: "pgsctp adds " + host1.String(), change: func() error { return a.SetLocalAddrs(e.ctx, both) },
			pgsctp: []pair{{host0, guest0}, {host1, guest0}}, kernel: both, kernelOwn: []netip.Addr{guest0}, pgsctpOwn: both},
		{name: "pgsctp deletes " + host0.String(), change: func() error { return a.SetLocalAddrs(e.ctx, []netip.Addr{host1}) },
			pgsctp: []pair{{host1, guest0}}, kernel: []netip.Addr{host1}, kernelOwn: []netip.Addr{guest0}, pgsctpOwn: []netip.Addr{host1}},
		{name: "kernel adds " + guest1.String(), change: func() error { _, err := p.Command(e.ctx, "add "+guest1.String()); return err },
			pgsctp: []pair{{host1, guest0}, {host1, guest1}}, kernel: []netip.Addr{host1}, kernelOwn: []netip.Addr{guest0, guest1}, pgsctpOwn: []netip.Addr{host1}},
		{name: "kernel deletes " + guest0.String(), change: func() error { _, err := p.Command(e.ctx, "rem "+guest0.String()); return err },
			pgsctp: []pair{{host1, guest1}}, kernel: []netip.Addr{host1}, kernelOwn: []netip.Addr{guest1}, pgsctpOwn: []netip.Addr{host1}},
	})
	shutdownEchoed(t, e.ctx, a, p, 55)
}

// TestKernelAsconfListen: the kernel dials a pgsctp listener; the kernel
// adds its second address and deletes its first, then pgsctp does
// (Listener.SetLocalAddrs, which changes every association it carries).
func TestKernelAsconfListen(t *testing.T) {
	e := asconfEnv(t)
	port := sctpPort()
	l := e.listenDirect(port, e.directConfig(), host0)
	p := e.startCtl(port, []netip.Addr{guest0}, []netip.Addr{host0})
	a, err := l.Accept(e.ctx)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { a.Abort("test over") })
	both := []netip.Addr{host0, host1}
	e.runSteps(a, p, []asconfStep{
		{name: "start", pgsctp: []pair{{host0, guest0}}, kernel: []netip.Addr{host0}, kernelOwn: []netip.Addr{guest0}, pgsctpOwn: []netip.Addr{host0}},
		{name: "kernel adds " + guest1.String(), change: func() error { _, err := p.Command(e.ctx, "add "+guest1.String()); return err },
			pgsctp: []pair{{host0, guest0}, {host0, guest1}}, kernel: []netip.Addr{host0}, kernelOwn: []netip.Addr{guest0, guest1}, pgsctpOwn: []netip.Addr{host0}},
		{name: "kernel deletes " + guest0.String(), change: func() error { _, err := p.Command(e.ctx, "rem "+guest0.String()); return err },
			pgsctp: []pair{{host0, guest1}}, kernel: []netip.Addr{host0}, kernelOwn: []netip.Addr{guest1}, pgsctpOwn: []netip.Addr{host0}},
		{name: "pgsctp adds " + host1.String(), change: func() error { return l.SetLocalAddrs(e.ctx, both) },
			pgsctp: []pair{{host0, guest1}, {host1, guest1}}, kernel: both, kernelOwn: []netip.Addr{guest1}, pgsctpOwn: both},
		{name: "pgsctp deletes " + host0.String(), change: func() error { return l.SetLocalAddrs(e.ctx, []netip.Addr{host1}) },
			pgsctp: []pair{{host1, guest1}}, kernel: []netip.Addr{host1}, kernelOwn: []netip.Addr{guest1}, pgsctpOwn: []netip.Addr{host1}},
	})
	shutdownEchoed(t, e.ctx, a, p, 55)
}

// shutdownEchoed shuts a down and checks that the kernel peer echoed n
// messages.
func shutdownEchoed(t *testing.T, ctx context.Context, a *sctp.Association, p *kernelsctp.Peer, n int) {
	t.Helper()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if out, err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	} else if want := "echo done msgs=" + strconv.Itoa(n) + " "; !strings.Contains(out, want) {
		t.Errorf("kernel peer said %q; want %d messages echoed", out, n)
	}
}
