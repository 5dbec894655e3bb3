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
// laddr ("host:port"; an empty host listens on every local address, IPv4
// and IPv6). The UDP port is cfg.UDPPort (default 9899; negative: any free
// port, see Addr). ctx bounds the setup only.
func Listen(ctx context.Context, laddr string, cfg *Config) (*Listener, error) {
	c := resolve(cfg)
	ip, port, err := splitAddr(ctx, laddr)
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
	ep, err := assoc.NewEndpoint(time.Now(), acfg, true)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "sctp", Err: err}
	}
	conn, err := udpencap.Listen(ctx, netip.AddrPortFrom(ip, uint16(udpPort)))
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "sctp", Err: err}
	}
	s := newSocket(conn, c, ep)
	la := conn.LocalAddr()
	l := &Listener{
		sock:   s,
		addr:   &Addr{IP: la.Addr(), Port: port, UDPPort: la.Port()},
		queue:  make(chan *Association, c.AcceptBacklog),
		closed: make(chan struct{}),
	}
	s.listener = l
	s.refs = 1
	go s.readLoop()
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

// Addr is the listening address (*Addr, with the UDP port actually bound).
func (l *Listener) Addr() net.Addr { return l.addr }
