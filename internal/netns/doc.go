// Package netns gives tests network namespaces of their own: a private
// namespace with only loopback (for running a peer program beside pgsctp's
// sockets), and a Lab of three namespaces, client, router and server,
// joined by veth links, where a test fails one link silently by dropping
// its packets in the router while the link stays up. The namespaces are
// held by small holder processes started with unshare, so they have no
// name in /var/run/netns, and they vanish with the test process even when
// it is killed.
//
// It needs Linux, root (CAP_SYS_ADMIN and CAP_NET_ADMIN), and the unshare,
// nsenter and ip programs (util-linux, iproute2). Only addresses inside
// these namespaces are used: 198.18.0.0/15 (RFC 2544, for benchmarking)
// and 2001:db8::/32 (RFC 3849, documentation).
package netns
