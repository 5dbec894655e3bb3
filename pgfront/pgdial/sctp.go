package pgdial

import (
	"context"
	"net"
	"net/netip"
	"sync"

	"github.com/pgsctp/pgsctp/pgfront"
	"github.com/pgsctp/pgsctp/sctp"
)

// SCTP returns a Dialer that reaches pgsctp servers over SCTP: the host and
// port of the connection string name the server's SCTP address, and cfg
// (nil: defaults) its UDP encapsulation ports and protocol parameters.
// Each session gets an association of its own, or, with multiplex, a
// stream of one association shared by all sessions to the same server.
// Associations are multihomed: they list and send from LocalAddresses
// (default every address of this host that can reach the server), and
// use every address the server lists; Dialer.Addr may name a multihomed
// server by several addresses, "host[,host...]:port".
//
//	d := pgdial.SCTP(&sctp.Config{PeerUDPPort: 9899}, false)
//	conn, err := d.Connect(ctx, "host=db.example.com port=5432 user=app dbname=app")
//
// Close ends the associations it opened.
func SCTP(cfg *sctp.Config, multiplex bool) *SCTPDialer {
	s := &SCTPDialer{cfg: cfg, multiplex: multiplex, byAddr: map[string]*pgfront.SCTPDialer{}}
	s.Dialer = Dialer{Transport: s.transport}
	return s
}

// SCTPDialer is a Dialer over SCTP; see SCTP.
type SCTPDialer struct {
	Dialer

	// LocalAddresses, if set before the first dial, are the local
	// addresses of the associations (sctp.Config.LocalAddrs); nil keeps
	// the Config's, whose nil means every address that can reach the
	// server.
	LocalAddresses []netip.Addr

	cfg       *sctp.Config
	multiplex bool

	mu     sync.Mutex
	byAddr map[string]*pgfront.SCTPDialer
}

func (s *SCTPDialer) transport(ctx context.Context, addr string) (net.Conn, error) {
	s.mu.Lock()
	d, ok := s.byAddr[addr]
	if !ok {
		cfg := s.cfg
		if s.LocalAddresses != nil {
			c := sctp.Config{}
			if cfg != nil {
				c = *cfg
			}
			c.LocalAddrs = s.LocalAddresses
			cfg = &c
		}
		d = &pgfront.SCTPDialer{Addrs: []string{addr}, Config: cfg, Multiplex: s.multiplex}
		s.byAddr[addr] = d
	}
	s.mu.Unlock()
	return d.Dial(ctx)
}

// Close ends every association the dialer opened.
func (s *SCTPDialer) Close() error {
	s.mu.Lock()
	ds := s.byAddr
	s.byAddr = map[string]*pgfront.SCTPDialer{}
	s.mu.Unlock()
	for _, d := range ds {
		d.Close()
	}
	return nil
}
