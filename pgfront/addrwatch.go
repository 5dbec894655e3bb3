package pgfront

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/sctp"
)

// addrPoll is how often a dialer looks at the host's addresses. An address
// that appears or goes is added to or deleted from every association
// within it, plus the ASCONF's round trip. Polling works on every system;
// it costs one interface listing per dialer per addrPoll.
const addrPoll = 500 * time.Millisecond

// watchAddrs keeps the local addresses of the dialer's associations what
// the configuration asks for: local_addresses (Config.LocalAddrs), or
// with '*' (nil) the host's addresses that can reach the server
// (sctp.HostAddrs), which change when links come and go. Changes reach
// running associations through ASCONF (RFC 5061); associations with a
// peer that does not support it keep their addresses. It runs from the
// first association dialed until Close closes stop; it closes done.
// (It must not read d.watchStop, which Close sets to nil: a watcher that
// did so between two ticks waited on a nil channel, and Close waited for
// it, for ever.)
func (d *SCTPDialer) watchAddrs(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(addrPoll)
	defer t.Stop()
	resolved := map[string]netip.Addr{}
	var last []netip.Addr
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		var want []netip.Addr
		if c := d.cfg.Load(); c != nil {
			want = c.LocalAddrs
		}
		if want == nil {
			want = sctp.HostAddrs(serverIPs(*d.addrs.Load(), resolved))
		}
		if len(want) == 0 || slices.Equal(want, last) {
			continue
		}
		if last != nil {
			d.Logger.Info("local addresses changed", "addresses", want)
		}
		last = slices.Clone(want)
		d.mu.Lock()
		live := make([]*sctp.Association, 0, len(d.live))
		for a := range d.live {
			live = append(live, a)
		}
		d.mu.Unlock()
		for _, a := range live {
			ctx, cancel := context.WithTimeout(context.Background(), addrPoll)
			err := a.SetLocalAddrs(ctx, want)
			cancel()
			if err != nil && !errors.Is(err, assoc.ErrNoASCONF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, assoc.ErrNotEstablished) {
				d.Logger.Warn("cannot change an association's addresses", "err", err)
			}
		}
	}
}

// serverIPs are the IP addresses of "host:port" server addresses; names
// are looked up once and kept in resolved.
func serverIPs(addrs []string, resolved map[string]netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		h, _, err := net.SplitHostPort(a)
		if err != nil {
			continue
		}
		if ip, err := netip.ParseAddr(h); err == nil {
			out = append(out, ip.Unmap())
			continue
		}
		ip, ok := resolved[h]
		if !ok {
			ctx, cancel := context.WithTimeout(context.Background(), addrPoll)
			ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", h)
			cancel()
			if err == nil && len(ips) > 0 {
				ip = ips[0].Unmap()
			}
			resolved[h] = ip
		}
		if ip.IsValid() {
			out = append(out, ip)
		}
	}
	return out
}
