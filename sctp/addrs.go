package sctp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
)

// SetLocalAddrs changes the association's local addresses while it runs
// (RFC 5061 ASCONF, authenticated with RFC 4895 AUTH): addresses new to
// it are added, those missing deleted, one request at a time; data keeps
// flowing throughout. It returns once the change is under way; the log
// and LocalAddrs show when the peer has acknowledged it. It fails when
// the peer does not support dynamic addresses. The association's socket
// must be able to send from the new addresses: a dialed association's is
// bound to the wildcard address of the families it started with.
func (a *Association) SetLocalAddrs(ctx context.Context, addrs []netip.Addr) error {
	var err error
	if e := a.do(ctx, func(now time.Time) { err = a.core.SetLocalAddrs(now, addrs) }); e != nil {
		if errors.Is(e, errEnded) {
			e = assoc.ErrClosed
		}
		return a.opError("set local addresses", e)
	}
	return a.opError("set local addresses", err)
}

// LocalAddrs are the local addresses the peer knows (acknowledged).
func (a *Association) LocalAddrs() []netip.Addr {
	var out []netip.Addr
	_ = a.do(context.Background(), func(time.Time) { out = a.core.LocalAddrs() })
	return out
}

// SetLocalAddrs changes the listening addresses while the listener runs:
// new associations list the new set, datagrams to the new addresses are
// accepted, and every association the listener carries adds and deletes
// addresses to match (ASCONF; associations whose peer does not support
// it keep theirs). Only a listener started on explicit addresses can
// change them. It returns the associations' errors, joined.
func (l *Listener) SetLocalAddrs(ctx context.Context, addrs []netip.Addr) error {
	s := l.sock
	fail := func(err error) error {
		return &net.OpError{Op: "set local addresses", Net: "sctp", Addr: l.addr, Err: err}
	}
	if s.locals.Load() == nil {
		return fail(errors.New("the listener was started on every address ('*'), not explicit ones"))
	}
	var ips []netip.Addr
	for _, ip := range addrs {
		if ip = ip.Unmap(); ip.IsValid() && !ip.IsUnspecified() && !slices.Contains(ips, ip) {
			ips = append(ips, ip)
		}
	}
	if len(ips) == 0 {
		return fail(errors.New("no address"))
	}
	s.locals.Store(&ips)
	s.epLocals.Store(&ips) // for the endpoint's next INIT ACKs
	var errs []error
	for _, a := range s.live() {
		if err := a.SetLocalAddrs(ctx, ips); err != nil && !errors.Is(err, assoc.ErrNoASCONF) && !errors.Is(err, assoc.ErrNotEstablished) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// UpdateTimers applies the protocol settings of cfg that may change while
// the association runs (see assoc.Association.UpdateTimers: RTO bounds,
// Max.Burst, retransmission limits, SCTP-PF threshold, HB.interval, SACK
// delay), with the same defaults as a new association would get.
func (a *Association) UpdateTimers(ctx context.Context, cfg *Config) error {
	c := resolve(cfg).Assoc
	if err := a.do(ctx, func(time.Time) { a.core.UpdateTimers(c) }); err != nil {
		if errors.Is(err, errEnded) {
			err = assoc.ErrClosed
		}
		return a.opError("update timers", err)
	}
	return nil
}

// live lists the associations the socket carries now.
func (s *socket) live() []*Association {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Association
	for _, a := range s.byTag {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// AddressChange is an address change of the association (RFC 5061) and
// when it was done or refused.
type AddressChange struct {
	At time.Time
	assoc.AddressChange
}

// maxChanges bounds the address changes an association remembers.
const maxChanges = 16

// AddressChanges are the latest address changes, oldest first (at most 16).
func (a *Association) AddressChanges() []AddressChange {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.changes)
}
