package sctp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/udpencap"
)

// Listener accepts associations on one SCTP port of one UDP socket.
type Listener struct {
	sock *socket
	addr *Addr

	mu       sync.Mutex // guards closed and the queue's sends
	isClosed bool
	queue    chan *Association
	closed   chan struct{}
}

// Listen opens a UDP socket and accepts associations to the SCTP port of
// laddr ("host[,host...]:port"; an empty host listens on every local
// address, IPv4 and IPv6, single-homed on the one each peer reaches). With
// several hosts every association is multihomed over all of them: they are
// listed in its INIT ACK and each is the source of paths; the socket then
// binds the wildcard address and ignores datagrams to other addresses.
// The UDP port is cfg.UDPPort (default 9899; negative: any free port, see
// Addr). ctx bounds the setup only.
func Listen(ctx context.Context, laddr string, cfg *Config) (*Listener, error) {
	c := resolve(cfg)
	ips, port, err := splitAddrs(ctx, laddr)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "sctp", Err: fmt.Errorf("address %q: %w", laddr, err)}
	}
	udpPort := c.UDPPort
	switch {
	case udpPort == 0:
		udpPort = udpencap.DefaultPort
	case udpPort < 0:
		udpPort = 0
	case udpPort > 65535:
		return nil, &net.OpError{Op: "listen", Net: "sctp", Err: fmt.Errorf("bad UDP port %d", udpPort)}
	}
	acfg := c.Assoc
	acfg.LocalPort = port
	// Explicit addresses bind the wildcard address of their family (both
	// when they mix them) and filter: the set can then change while the
	// listener runs (SetLocalAddrs) without a new socket.
	bind := ips[0]
	if ips[0].IsValid() {
		acfg.LocalAddrs = ips
		bind = netip.Addr{} // both families
		if !dualStack(ips) {
			bind = netip.IPv4Unspecified()
			if ips[0].Is6() {
				bind = netip.IPv6Unspecified()
			}
		}
	}
	ep, err := assoc.NewEndpoint(time.Now(), acfg, true)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "sctp", Err: err}
	}
	// INITs get a socket of their own where the system can steer them
	// (udpencap.ListenSplit), so that a flood of them cannot crowd out
	// established associations and COOKIE ECHOs.
	conn, inits, err := udpencap.ListenSplit(ctx, netip.AddrPortFrom(bind, uint16(udpPort)))
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "sctp", Err: err}
	}
	s := newSocket(conn, c, ep)
	s.inits = inits
	if ips[0].IsValid() {
		s.locals.Store(&ips)
	}
	la := conn.LocalAddr()
	first := la.Addr()
	if ips[0].IsValid() {
		first = ips[0]
	}
	l := &Listener{
		sock:   s,
		addr:   &Addr{IP: first, Port: port, UDPPort: la.Port()},
		queue:  make(chan *Association, c.AcceptBacklog),
		closed: make(chan struct{}),
	}
	s.listener = l
	s.refs = 1
	s.start()
	return l, nil
}

// offer queues an established association for Accept; false if the
// listener is closed or its backlog full.
func (l *Listener) offer(a *Association) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.isClosed {
		return false
	}
	select {
	case l.queue <- a:
		return true
	default:
		return false
	}
}

// Accept returns the next association that completed its handshake.
func (l *Listener) Accept(ctx context.Context) (*Association, error) {
	select {
	case a := <-l.queue:
		return a, nil
	case <-l.closed:
		return nil, &net.OpError{Op: "accept", Net: "sctp", Addr: l.addr, Err: net.ErrClosed}
	case <-ctx.Done():
		return nil, &net.OpError{Op: "accept", Net: "sctp", Addr: l.addr, Err: ctx.Err()}
	}
}

// Close stops accepting: associations not yet accepted are aborted, new
// handshakes fail. Accepted associations keep running; the socket closes
// when the last of them ends.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.isClosed {
		l.mu.Unlock()
		return &net.OpError{Op: "close", Net: "sctp", Addr: l.addr, Err: net.ErrClosed}
	}
	l.isClosed = true
	close(l.closed)
	l.mu.Unlock()

	l.sock.mu.Lock()
	l.sock.listener = nil
	l.sock.mu.Unlock()
	for {
		select {
		case a := <-l.queue:
			a.Abort("listener closed")
		default:
			l.sock.release()
			return nil
		}
	}
}

// Addr is the listening address (*Addr, with the UDP port actually bound);
// the first of several.
func (l *Listener) Addr() net.Addr { return l.addr }

// Addrs are the listening addresses, each with the SCTP and UDP ports.
func (l *Listener) Addrs() []*Addr {
	ips := l.sock.locals.Load()
	if ips == nil {
		return []*Addr{l.addr}
	}
	out := make([]*Addr, len(*ips))
	for i, ip := range *ips {
		out[i] = &Addr{IP: ip, Port: l.addr.Port, UDPPort: l.addr.UDPPort}
	}
	return out
}
