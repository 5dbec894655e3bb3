// Package pgdial lets Go PostgreSQL drivers reach a pgsctp server
// in-process, without the local proxy: pgx v5 (through pgconn.Config's
// DialFunc), database/sql over pgx's stdlib driver, and lib/pq (through its
// Dialer interface).
//
// A Dialer wraps a transport dial function: SCTP in production (an
// association, or a stream of a shared one, per session), plain TCP to a
// relay in tests. The drivers keep their own idea of host and port, which
// the Dialer hands to the transport as the address to reach.
//
// Cancel requests: pgx sends a cancel request on a new connection to the
// RemoteAddr of the session's conn, through the same DialFunc. Conns from a
// Dialer therefore report as RemoteAddr the network and address the driver
// dialed, not the transport's peer, so that the second dial reaches the
// same pgsctp server. lib/pq redials from its configuration, which works
// the same way.
package pgdial

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/lib/pq"
)

// TransportFunc opens one byte stream to the pgsctp server at addr, the
// address the driver was configured with (host:port, or a socket path when
// the driver's host was a directory).
type TransportFunc func(ctx context.Context, addr string) (net.Conn, error)

// Dialer dials sessions over a transport. Its zero value is not usable:
// set Transport. A Dialer is safe for concurrent use.
type Dialer struct {
	// Transport opens the stream for one session. Required.
	Transport TransportFunc
	// Addr, when set, replaces the address the driver asks for, so the
	// connection string may name any host.
	Addr string
}

// Addr is what conns from a Dialer report as RemoteAddr: the network and
// address the driver dialed, so that dialing it again through the same
// Dialer reaches the same server.
type Addr struct {
	Net, Address string
}

func (a Addr) Network() string { return a.Net }
func (a Addr) String() string  { return a.Address }

type conn struct {
	net.Conn
	remote Addr
}

func (c *conn) RemoteAddr() net.Addr { return c.remote }

// CloseWrite half-closes when the transport can.
func (c *conn) CloseWrite() error {
	if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return errors.New("pgdial: transport cannot half-close")
}

// DialContext opens a session's stream. Its signature is pgconn.DialFunc's.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.Transport == nil {
		return nil, errors.New("pgdial: Dialer.Transport is nil")
	}
	target := addr
	if d.Addr != "" {
		target = d.Addr
	}
	c, err := d.Transport(ctx, target)
	if err != nil {
		return nil, fmt.Errorf("pgdial: dialing %s: %w", target, err)
	}
	return &conn{Conn: c, remote: Addr{Net: network, Address: addr}}, nil
}

// Dial is lib/pq's Dialer.Dial.
func (d *Dialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

// DialTimeout is lib/pq's Dialer.DialTimeout.
func (d *Dialer) DialTimeout(network, addr string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, addr)
}

var (
	_ pq.Dialer        = (*Dialer)(nil)
	_ pq.DialerContext = (*Dialer)(nil)
	_ pgconn.DialFunc  = (*Dialer)(nil).DialContext
)

// Configure makes a pgconn config dial through d. Host names are passed to
// the transport as written rather than resolved by pgx first: an SCTP
// association resolves and uses every address of a host itself.
func (d *Dialer) Configure(cfg *pgconn.Config) {
	cfg.DialFunc = d.DialContext
	cfg.LookupFunc = func(ctx context.Context, host string) ([]string, error) {
		return []string{host}, nil
	}
}

// ParseConfig parses a pgx connection string and makes it dial through d.
func (d *Dialer) ParseConfig(connString string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, err
	}
	d.Configure(&cfg.Config)
	return cfg, nil
}

// Connect opens a pgx connection through d.
func (d *Dialer) Connect(ctx context.Context, connString string) (*pgx.Conn, error) {
	cfg, err := d.ParseConfig(connString)
	if err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// OpenDB opens a database/sql handle on pgx's stdlib driver through d.
func (d *Dialer) OpenDB(connString string) (*sql.DB, error) {
	cfg, err := d.ParseConfig(connString)
	if err != nil {
		return nil, err
	}
	return stdlib.OpenDB(*cfg), nil
}

// OpenPQ opens a database/sql handle on lib/pq through d.
func (d *Dialer) OpenPQ(dsn string) (*sql.DB, error) {
	c, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	c.Dialer(d)
	return sql.OpenDB(c), nil
}
