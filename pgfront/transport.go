package pgfront

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// DialFunc opens one byte stream for one session: to PostgreSQL on the
// server side, to the pgsctp server (a new SCTP association or a new stream
// on an existing one) on the proxy side.
type DialFunc func(ctx context.Context) (net.Conn, error)

// RemoteAddrser is implemented by conns whose peer may have several
// addresses, as an SCTP association does (RFC 9260 section 6.4,
// multi-homing). RemoteAddrs returns them all, primary first.
type RemoteAddrser interface {
	RemoteAddrs() []net.Addr
}

// RemoteAddrs returns every known address of c's peer: c.RemoteAddrs() when
// c implements RemoteAddrser, else c.RemoteAddr() alone.
func RemoteAddrs(c net.Conn) []net.Addr {
	if m, ok := c.(RemoteAddrser); ok {
		if a := m.RemoteAddrs(); len(a) > 0 {
			return a
		}
	}
	if a := c.RemoteAddr(); a != nil {
		return []net.Addr{a}
	}
	return nil
}

func addrsString(addrs []net.Addr) string {
	s := make([]string, 0, len(addrs))
	for _, a := range addrs {
		s = append(s, a.String())
	}
	return strings.Join(s, ",")
}

// PostgresAddr names PostgreSQL's listening socket the way libpq does: a
// host that is an absolute path is a directory holding the Unix socket
// .s.PGSQL.<port>; anything else is a TCP host name or address. See the
// package doc on what choosing the socket means for pg_hba.conf and TLS.
func PostgresAddr(host string, port int) (network, address string) {
	if filepath.IsAbs(host) || strings.HasPrefix(host, "/") {
		return "unix", filepath.Join(host, ".s.PGSQL."+strconv.Itoa(port))
	}
	return "tcp", net.JoinHostPort(host, strconv.Itoa(port))
}

// DialNet returns a DialFunc that dials network and address with the
// standard library: PostgreSQL on the server side, and the stand-in
// transport in tests.
func DialNet(network, address string) DialFunc {
	var d net.Dialer
	return func(ctx context.Context) (net.Conn, error) {
		return d.DialContext(ctx, network, address)
	}
}

// Association is one transport association that carries many sessions,
// each on a stream of its own (see the package doc). The sctp package's
// association satisfies it.
type Association interface {
	// OpenStream opens a new stream for one session. When the association
	// is gone it returns an error that wraps net.ErrClosed.
	OpenStream(ctx context.Context) (net.Conn, error)
	// Close ends the association and every stream on it.
	Close() error
}

// MuxDialer carries every session as a stream of one shared association,
// opened on first use and opened again when it has died.
type MuxDialer struct {
	// DialAssociation opens a new association. Required.
	DialAssociation func(ctx context.Context) (Association, error)

	lock   chan struct{} // one token: held while using or replacing assoc
	once   sync.Once
	assoc  Association // guarded by lock
	closed bool        // guarded by lock
}

func (m *MuxDialer) acquire(ctx context.Context) error {
	m.once.Do(func() { m.lock = make(chan struct{}, 1) })
	if err := ctx.Err(); err != nil {
		return err // select would pick at random between a free lock and a done ctx
	}
	select {
	case m.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *MuxDialer) release() { <-m.lock }

// association returns the shared association, opening one when there is
// none or when stale (the one a failed OpenStream used) is still current.
func (m *MuxDialer) association(ctx context.Context, stale Association) (Association, error) {
	if err := m.acquire(ctx); err != nil {
		return nil, err
	}
	defer m.release()
	if m.closed {
		return nil, fmt.Errorf("pgfront: mux dialer: %w", net.ErrClosed)
	}
	if m.assoc != nil && m.assoc == stale {
		m.assoc.Close()
		m.assoc = nil
	}
	if m.assoc == nil {
		a, err := m.DialAssociation(ctx)
		if err != nil {
			return nil, err
		}
		m.assoc = a
	}
	return m.assoc, nil
}

// Dial opens a stream for one session. It is a DialFunc.
func (m *MuxDialer) Dial(ctx context.Context) (net.Conn, error) {
	var stale Association
	for attempt := 0; ; attempt++ {
		a, err := m.association(ctx, stale)
		if err != nil {
			return nil, err
		}
		c, err := a.OpenStream(ctx)
		if err == nil {
			return c, nil
		}
		// A dead association is replaced once; any other failure (no
		// free stream, a canceled ctx) is the caller's to see.
		if !errors.Is(err, net.ErrClosed) || attempt > 0 || ctx.Err() != nil {
			return nil, err
		}
		stale = a
	}
}

// Close closes the shared association, ending every session on it; later
// Dials fail.
func (m *MuxDialer) Close() error {
	if err := m.acquire(context.Background()); err != nil {
		return err
	}
	defer m.release()
	m.closed = true
	if m.assoc == nil {
		return nil
	}
	err := m.assoc.Close()
	m.assoc = nil
	return err
}
