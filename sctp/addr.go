package sctp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// Addr is an SCTP-over-UDP transport address: an IP address, an SCTP port
// and the UDP encapsulation port. It implements net.Addr; String gives
// "ip:sctpport", the form Dial and Listen take.
type Addr struct {
	IP      netip.Addr
	Port    uint16 // SCTP port
	UDPPort uint16 // UDP encapsulation port
}

// Network returns "sctp".
func (a *Addr) Network() string { return "sctp" }

func (a *Addr) String() string {
	if !a.IP.IsValid() {
		return ":" + strconv.Itoa(int(a.Port))
	}
	return netip.AddrPortFrom(a.IP, a.Port).String()
}

// splitAddr resolves "host:port". An empty host gives the zero address.
func splitAddr(ctx context.Context, s string) (netip.Addr, uint16, error) {
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		return netip.Addr{}, 0, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("bad port %q", portStr)
	}
	// RFC 9260 section 3.1: "The port number 0 MUST NOT be used."
	if port == 0 {
		return netip.Addr{}, 0, fmt.Errorf("SCTP port 0 is not allowed")
	}
	if host == "" {
		return netip.Addr{}, uint16(port), nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap(), uint16(port), nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, 0, err
	}
	if len(ips) == 0 {
		return netip.Addr{}, 0, fmt.Errorf("no address for %q", host)
	}
	// Prefer IPv4 for names like localhost that resolve to both: it is
	// what most peers listen on.
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			return ip.Unmap(), uint16(port), nil
		}
	}
	return ips[0], uint16(port), nil
}
