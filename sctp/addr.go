package sctp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
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
	ips, port, err := splitAddrs(ctx, s)
	if err != nil {
		return netip.Addr{}, 0, err
	}
	return ips[0], port, nil
}

// splitAddrs resolves "host[,host...]:port", the form of a multihomed
// endpoint's addresses (IPv6 literals in brackets: "[2001:db8::1],
// 192.0.2.1:5432"). An empty host gives the zero address (and only alone).
func splitAddrs(ctx context.Context, s string) ([]netip.Addr, uint16, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return nil, 0, fmt.Errorf("missing port in %q", s)
	}
	hostList, portStr := s[:i], s[i+1:]
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, 0, fmt.Errorf("bad port %q", portStr)
	}
	// RFC 9260 section 3.1: "The port number 0 MUST NOT be used."
	if port == 0 {
		return nil, 0, fmt.Errorf("SCTP port 0 is not allowed")
	}
	hosts := strings.Split(hostList, ",")
	var out []netip.Addr
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
			h = h[1 : len(h)-1]
		} else if strings.Contains(h, ":") {
			return nil, 0, fmt.Errorf("IPv6 address %q needs brackets in %q", h, s)
		}
		if h == "" {
			if len(hosts) > 1 {
				return nil, 0, fmt.Errorf("empty host in %q", s)
			}
			return []netip.Addr{{}}, uint16(port), nil
		}
		ip, err := resolveHost(ctx, h)
		if err != nil {
			return nil, 0, err
		}
		if !slices.Contains(out, ip) {
			out = append(out, ip)
		}
	}
	return out, uint16(port), nil
}

// resolveHost turns an IP literal or a name into one address.
func resolveHost(ctx context.Context, host string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return netip.Addr{}, fmt.Errorf("address %q: zones are not supported", host)
		}
		return ip.Unmap(), nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("no address for %q", host)
	}
	// Prefer IPv4 for names like localhost that resolve to both: it is
	// what most peers listen on.
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			return ip.Unmap(), nil
		}
	}
	return ips[0], nil
}
