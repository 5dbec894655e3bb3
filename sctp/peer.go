package sctp

import (
	"context"
	"net/netip"
	"time"
)

// PeerAddresses lists every IP address the peer presented when the
// association was set up (the source of its INIT or INIT ACK and the
// addresses it listed). After the association ended it is the primary
// address alone.
func (a *Association) PeerAddresses() []netip.Addr {
	var out []netip.Addr
	if err := a.do(context.Background(), func(time.Time) { out = a.core.PeerAddresses() }); err != nil || len(out) == 0 {
		return []netip.Addr{a.remoteAddr.IP}
	}
	return out
}

// OutboundStreams is the number of streams this end may send on, as
// negotiated in the handshake.
func (a *Association) OutboundStreams() uint16 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.outStreams
}

// SetConfig changes the protocol parameters (cfg.Assoc) of associations
// the listener accepts from now on: a configuration reload. Running
// associations take the settings that may change while they run (their
// UpdateTimers); the socket settings (UDP port, queues) are fixed at
// Listen, and the addresses change with SetLocalAddrs.
func (l *Listener) SetConfig(cfg *Config) {
	c := resolve(cfg).Assoc
	c.LocalPort = l.addr.Port
	if ls := l.sock.locals.Load(); ls != nil {
		c.LocalAddrs = *ls
	}
	l.sock.epConfig.Store(&c)
	for _, a := range l.sock.live() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		a.UpdateTimers(ctx, cfg)
		cancel()
	}
}

// InboundStreams is the number of streams the peer may send on, as
// negotiated in the handshake (0 once the association has ended).
func (a *Association) InboundStreams() uint16 {
	var n uint16
	_ = a.do(context.Background(), func(time.Time) { _, n = a.core.Streams() })
	return n
}
