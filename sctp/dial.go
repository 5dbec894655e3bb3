package sctp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/udpencap"
)

// Dial sets up an association with raddr ("host:port", the SCTP port) at
// the UDP port cfg.PeerUDPPort (default 9899), from a new UDP socket on
// cfg.UDPPort (default any). It returns once the association is
// established; if ctx ends first, the attempt is aborted. The socket is
// the association's own and closes with it.
func Dial(ctx context.Context, raddr string, cfg *Config) (*Association, error) {
	c := resolve(cfg)
	ip, port, err := splitAddr(ctx, raddr)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "sctp", Err: fmt.Errorf("address %q: %w", raddr, err)}
	}
	if !ip.IsValid() { // ":port" means this host, as in net.Dial
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	peer := netip.AddrPortFrom(ip, uint16(c.PeerUDPPort))
	raddrOf := &Addr{IP: ip, Port: port, UDPPort: peer.Port()}
	fail := func(err error) error {
		return &net.OpError{Op: "dial", Net: "sctp", Addr: raddrOf, Err: err}
	}
	udpPort := max(c.UDPPort, 0)
	if udpPort > 65535 {
		return nil, fail(fmt.Errorf("bad UDP port %d", udpPort))
	}
	local := netip.IPv4Unspecified()
	if ip.Is6() {
		local = netip.IPv6Unspecified()
	}
	conn, err := udpencap.Listen(ctx, netip.AddrPortFrom(local, uint16(udpPort)))
	if err != nil {
		return nil, fail(err)
	}
	acfg := c.Assoc
	if acfg.LocalPort == 0 {
		// The SCTP port defaults to the UDP port the system gave the
		// socket: programs on one host each run their own SCTP stack, and
		// the system keeps their UDP ports apart, so two dialers on a host
		// never present a listener the same (address, SCTP port) pair.
		acfg.LocalPort = conn.LocalAddr().Port()
	}
	now := time.Now()
	ep, err := assoc.NewEndpoint(now, acfg, false)
	if err != nil {
		conn.Close()
		return nil, fail(err)
	}
	core, err := assoc.NewClient(now, acfg, []netip.AddrPort{peer}, port)
	if err != nil {
		conn.Close()
		return nil, fail(err)
	}
	s := newSocket(conn, c, ep)
	a := newAssociation(s, core, peer, sourceFor(peer), nil)
	s.mu.Lock()
	s.refs = 1
	s.registerLocked(a, core.LocalTag(), a.keys())
	s.mu.Unlock()
	go s.readLoop()
	go a.run()

	select {
	case <-a.up:
	case <-ctx.Done():
		a.Abort("dial canceled")
		return nil, fail(ctx.Err())
	}
	a.mu.Lock()
	ended, aerr := a.ended, a.err
	a.mu.Unlock()
	if ended {
		if aerr == nil {
			aerr = assoc.ErrClosed
		}
		return nil, fail(aerr)
	}
	return a, nil
}

// sourceFor is the local address the system routes to peer from, or zero
// if it cannot tell. Connecting a UDP socket sends nothing.
func sourceFor(peer netip.AddrPort) netip.Addr {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(peer))
	if err != nil {
		return netip.Addr{}
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
}
