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

// Dial sets up an association with raddr ("host[,host...]:port", the SCTP
// port) at the UDP port cfg.PeerUDPPort (default 9899), from a new UDP
// socket on cfg.UDPPort (default any). A peer with several addresses gets
// the INIT at the first, and each retransmission at the next; once it
// answers, the association uses every address it lists. The local
// addresses are cfg.LocalAddrs (nil: HostAddrs of the peer's). It returns
// once the association is established; if ctx ends first, the attempt is
// aborted. The socket is the association's own and closes with it.
func Dial(ctx context.Context, raddr string, cfg *Config) (*Association, error) {
	c := resolve(cfg)
	ips, port, err := splitAddrs(ctx, raddr)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "sctp", Err: fmt.Errorf("address %q: %w", raddr, err)}
	}
	if !ips[0].IsValid() { // ":port" means this host, as in net.Dial
		ips[0] = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	peers := make([]netip.AddrPort, len(ips))
	for i, ip := range ips {
		peers[i] = netip.AddrPortFrom(ip, uint16(c.PeerUDPPort))
	}
	peer := peers[0]
	raddrOf := &Addr{IP: peer.Addr(), Port: port, UDPPort: peer.Port()}
	fail := func(err error) error {
		return &net.OpError{Op: "dial", Net: "sctp", Addr: raddrOf, Err: err}
	}
	udpPort := max(c.UDPPort, 0)
	if udpPort > 65535 {
		return nil, fail(fmt.Errorf("bad UDP port %d", udpPort))
	}
	acfg := c.Assoc
	acfg.LocalAddrs = c.LocalAddrs
	if acfg.LocalAddrs == nil {
		acfg.LocalAddrs = HostAddrs(ips)
	}
	// One socket for every local address and both families: each packet
	// leaves from its path's local address (udpencap sets the source per
	// datagram), and ASCONF can add addresses later without new sockets.
	local := netip.AddrPortFrom(netip.Addr{}, uint16(udpPort))
	if !dualStack(ips, acfg.LocalAddrs) {
		local = netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(udpPort))
		if ips[0].Is6() {
			local = netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(udpPort))
		}
	}
	conn, err := udpencap.Listen(ctx, local)
	if err != nil {
		return nil, fail(err)
	}
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
	core, err := assoc.NewClient(now, acfg, peers, port)
	if err != nil {
		conn.Close()
		return nil, fail(err)
	}
	s := newSocket(conn, c, ep)
	// Only a port the system picked lingers: a caller that chose its
	// port may want it back at once.
	s.lingers = udpPort == 0
	a := newAssociation(s, core, peer, sourceFor(peer), nil)
	s.mu.Lock()
	s.refs = 1
	s.registerLocked(a, core.LocalTag(), a.keys())
	s.mu.Unlock()
	s.start()
	a.start()

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

// dualStack reports whether addrs mix IPv4 and IPv6, so the socket must
// carry both.
func dualStack(addrs ...[]netip.Addr) bool {
	v4, v6 := false, false
	for _, list := range addrs {
		for _, ip := range list {
			v4 = v4 || ip.Is4()
			v6 = v6 || ip.Is6()
		}
	}
	return v4 && v6
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
