package pgfront

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgsctp/pgsctp/sctp"
)

// Limits are the server's admission rules. They are read on every use, so
// a configuration reload takes effect for the next association or
// session.
type Limits struct {
	// AllowedNetworks lists the networks peers may come from; empty
	// allows all. Every address a peer presents must be inside.
	AllowedNetworks []netip.Prefix
	// MaxAssociations bounds the associations carried at once; 0: no limit.
	MaxAssociations int
	// MaxSessionsPerAssociation bounds the sessions (streams) one
	// association carries at once; 0: no limit.
	MaxSessionsPerAssociation int
}

// SessionListener turns SCTP associations into PostgreSQL sessions for a
// Relay: it accepts associations on one or more SCTP listeners and
// returns every stream a peer opens as a net.Conn, whether the client
// carries one session per association or many (multiplexed mode).
//
// Access control happens before any state is spent: the listener's Admit
// runs at the INIT, so a refused peer costs one ABORT, which carries the
// reason in a User-Initiated Abort cause, and one log line.
type SessionListener struct {
	log    *slog.Logger
	limits atomic.Pointer[Limits]
	active atomic.Int64 // associations accepted and not yet ended

	conns  chan net.Conn
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex // guards listeners and assocs
	listeners []*sctp.Listener
	assocs    map[*sctp.Association]*assocState

	// health is shared by every association accepted: clients of one
	// host cross the same links.
	health sctp.PathHealth
}

type assocState struct {
	accepted time.Time
	sessions atomic.Int64
}

// NewSessionListener returns a listener with no SCTP listeners yet; set
// cfg.Assoc.Admit to its Admit method, then add listeners with Listen.
func NewSessionListener(limits Limits, log *slog.Logger) *SessionListener {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &SessionListener{
		log:    log,
		conns:  make(chan net.Conn),
		ctx:    ctx,
		cancel: cancel,
		assocs: map[*sctp.Association]*assocState{},
	}
	l.limits.Store(&limits)
	return l
}

// SetLimits replaces the admission rules (a configuration reload).
func (l *SessionListener) SetLimits(lim Limits) { l.limits.Store(&lim) }

// Admit is the association admission check, for sctp.Config.Assoc.Admit.
func (l *SessionListener) Admit(addrs []netip.Addr) error {
	lim := l.limits.Load()
	if len(lim.AllowedNetworks) > 0 {
		for _, a := range addrs {
			if !inNetworks(a, lim.AllowedNetworks) {
				err := fmt.Errorf("pgsctp: address %v is not in allowed_networks", a)
				l.log.Warn("refusing association", "peer", addrs, "reason", err.Error())
				return err
			}
		}
	}
	if lim.MaxAssociations > 0 && l.active.Load() >= int64(lim.MaxAssociations) {
		err := fmt.Errorf("pgsctp: too many associations (max_associations = %d)", lim.MaxAssociations)
		l.log.Warn("refusing association", "peer", addrs, "reason", err.Error())
		return err
	}
	return nil
}

// AdmitAddr is the check of an address a client adds to a running
// association (ASCONF), for sctp.Config.Assoc.AdmitAddr: it must be in
// allowed_networks, as every address presented at the INIT must.
func (l *SessionListener) AdmitAddr(a netip.Addr) error {
	lim := l.limits.Load()
	if len(lim.AllowedNetworks) > 0 && !inNetworks(a, lim.AllowedNetworks) {
		err := fmt.Errorf("pgsctp: address %v is not in allowed_networks", a)
		l.log.Warn("refusing an added address", "reason", err.Error())
		return err
	}
	return nil
}

// SetLocalAddrs changes the listening addresses of every SCTP listener
// and of the associations they carry (see sctp.Listener.SetLocalAddrs).
func (l *SessionListener) SetLocalAddrs(ctx context.Context, addrs []netip.Addr) error {
	l.mu.Lock()
	ls := slices.Clone(l.listeners)
	l.mu.Unlock()
	var errs []error
	for _, sl := range ls {
		errs = append(errs, sl.SetLocalAddrs(ctx, addrs))
	}
	return errors.Join(errs...)
}

func inNetworks(a netip.Addr, nets []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Listen adds an SCTP listener on laddr ("host:port") and starts accepting
// its associations. Per-stream flow control (cfg.StreamWindow) is turned on
// at sctp.DefaultStreamWindow unless cfg sets it (negative: off): it takes
// effect only on streams of clients that ask for it (multiplexing
// proxies), so that a session whose client stops reading stalls alone.
func (l *SessionListener) Listen(ctx context.Context, laddr string, cfg *sctp.Config) (net.Addr, error) {
	c := flowConfig(cfg, false)
	if c.PathHealth == nil {
		c.PathHealth = &l.health
	}
	sl, err := sctp.Listen(ctx, laddr, c)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.listeners = append(l.listeners, sl)
	l.mu.Unlock()
	l.wg.Add(1)
	go l.acceptAssociations(sl)
	return sl.Addr(), nil
}

// SetConfig gives every SCTP listener a new configuration for the
// associations it accepts from now on.
func (l *SessionListener) SetConfig(cfg *sctp.Config) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, sl := range l.listeners {
		sl.SetConfig(cfg)
	}
}

func (l *SessionListener) acceptAssociations(sl *sctp.Listener) {
	defer l.wg.Done()
	for {
		a, err := sl.Accept(l.ctx)
		if err != nil {
			if l.ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				l.log.Error("accepting associations stopped", "listener", sl.Addr(), "err", err)
			}
			return
		}
		st := &assocState{accepted: time.Now()}
		l.active.Add(1)
		l.mu.Lock()
		l.assocs[a] = st
		l.mu.Unlock()
		l.log.Info("association up", "peer", a.PeerAddresses(), "local", a.LocalAddr())
		l.wg.Add(1)
		go l.acceptStreams(a, st)
	}
}

// acceptStreams hands each stream the peer opens to Accept, until the
// association ends.
func (l *SessionListener) acceptStreams(a *sctp.Association, st *assocState) {
	defer l.wg.Done()
	defer func() {
		l.active.Add(-1)
		l.mu.Lock()
		delete(l.assocs, a)
		l.mu.Unlock()
		msg, attrs := "association closed", []any{"peer", a.PeerAddresses()}
		if err := a.Err(); err != nil {
			attrs = append(attrs, "err", err)
		}
		l.log.Info(msg, attrs...)
	}()
	go func() {
		// Closing the listener ends its associations gracefully.
		select {
		case <-l.ctx.Done():
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if a.Shutdown(ctx) != nil {
				a.Close()
			}
		case <-a.Done():
		}
	}()
	for {
		s, err := a.AcceptStream(l.ctx)
		if err != nil {
			return
		}
		c := &sessionConn{Stream: s, a: a, st: st}
		st.sessions.Add(1)
		if max := l.limits.Load().MaxSessionsPerAssociation; max > 0 && st.sessions.Load() > int64(max) {
			l.log.Warn("refusing session", "peer", a.PeerAddresses(), "stream", s.ID(), "reason", "max_sessions_per_association reached")
			go refuse(c, codeTooManySessions, fmt.Sprintf("pgsctp: too many sessions on this association (max_sessions_per_association = %d)", max))
			continue
		}
		select {
		case l.conns <- c:
		case <-l.ctx.Done():
			c.Close()
			return
		}
	}
}

// Accept returns the next session.
func (l *SessionListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.ctx.Done():
		return nil, &net.OpError{Op: "accept", Net: "sctp", Err: net.ErrClosed}
	}
}

// Close stops accepting, shuts the associations down gracefully, and waits
// for the listener's goroutines.
func (l *SessionListener) Close() error {
	l.cancel()
	l.mu.Lock()
	ls := l.listeners
	l.mu.Unlock()
	var errs []error
	for _, sl := range ls {
		errs = append(errs, sl.Close())
	}
	l.wg.Wait()
	return errors.Join(errs...)
}

// Addr is the first SCTP listener's address.
func (l *SessionListener) Addr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.listeners) == 0 {
		return &sctp.Addr{}
	}
	return l.listeners[0].Addr()
}

// Addrs lists every listening address ("ip:port", SCTP port).
func (l *SessionListener) Addrs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, sl := range l.listeners {
		for _, a := range sl.Addrs() {
			out = append(out, a.String())
		}
	}
	return out
}

// Status describes the associations carried now.
func (l *SessionListener) Status() []AssociationStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]AssociationStatus, 0, len(l.assocs))
	for a, st := range l.assocs {
		out = append(out, associationStatus(a, int(st.sessions.Load()), st.accepted))
	}
	return out
}

// sessionConn is one session's stream; it knows every address of the
// peer, for the relay's logs and Allow, and counts itself off its
// association when closed.
type sessionConn struct {
	*sctp.Stream
	a      *sctp.Association
	st     *assocState
	closed atomic.Bool
}

// RemoteAddrs lists every address the peer presented.
func (c *sessionConn) RemoteAddrs() []net.Addr {
	var out []net.Addr
	for _, ip := range c.a.PeerAddresses() {
		out = append(out, &net.IPAddr{IP: ip.AsSlice()})
	}
	return out
}

func (c *sessionConn) Close() error {
	if !c.closed.Swap(true) {
		c.st.sessions.Add(-1)
	}
	return c.Stream.Close()
}
