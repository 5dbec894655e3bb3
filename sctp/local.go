package sctp

import (
	"net"
	"net/netip"
	"slices"
)

// maxLocalAddrs bounds the addresses an INIT lists: the peer keeps at
// most 16 of ours anyway.
const maxLocalAddrs = 16

// HostAddrs is what LocalAddrs nil ("*") means for a dial to peers: every
// address of this host's interfaces that are up and could reach them. For
// peers on loopback that is the loopback addresses of their families, so
// a local association stays as it was; otherwise the global and private
// unicast addresses of both families (an association may mix them),
// without loopback and IPv6 link-local addresses (the wire carries no
// zone). The order is the system's, at most 16.
func HostAddrs(peers []netip.Addr) []netip.Addr {
	loop := len(peers) > 0
	for _, p := range peers {
		loop = loop && p.IsLoopback()
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			pfx, err := netip.ParsePrefix(a.String())
			if err != nil {
				continue
			}
			ip := pfx.Addr().Unmap()
			ok := false
			if loop {
				ok = ip.IsLoopback() && slices.ContainsFunc(peers, func(p netip.Addr) bool { return p.Is4() == ip.Is4() })
			} else {
				ok = ip.IsGlobalUnicast() && !(ip.Is6() && ip.IsLinkLocalUnicast())
			}
			if ok && !slices.Contains(out, ip) && len(out) < maxLocalAddrs {
				out = append(out, ip)
			}
		}
	}
	return out
}
