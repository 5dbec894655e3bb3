package udpencap

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// steerInits is the classic BPF program of ListenSplit's SO_REUSEPORT
// group. The kernel runs it with the packet starting at the UDP payload,
// the SCTP common header, and takes its result as the index of the
// socket in the group (in the order they joined): 1, the INIT socket,
// when the verification tag (bytes 4 to 7) is zero, else 0. A datagram
// too short to hold a tag ends the program with 0. A GSO or GRO datagram
// is steered by its first segment; a peer's segments share its tag.
var steerInits = []unix.SockFilter{
	{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 4},
	{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: 0},
	{Code: unix.BPF_RET | unix.BPF_K, K: 1},
	{Code: unix.BPF_RET | unix.BPF_K, K: 0},
}

func listenSplit(ctx context.Context, laddr netip.AddrPort) (*Conn, *Conn, error) {
	if laddr.Port() != 0 {
		// Sockets with SO_REUSEPORT would share the port with another
		// program of ours that holds it (a second server on the same
		// port, say), where Listen refuses it: bind once without, so
		// that such a port is refused here too.
		probe, err := Listen(ctx, laddr)
		if err != nil {
			return nil, nil, err
		}
		probe.Close()
	}
	reuse := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("SO_REUSEPORT: %w", serr)
		}
		return nil
	}}
	main, err := listenWith(ctx, laddr, reuse)
	if err != nil {
		// A system that refuses SO_REUSEPORT still gets one socket.
		c, err := Listen(ctx, laddr)
		return c, nil, err
	}
	inits, err := listenWith(ctx, netip.AddrPortFrom(laddr.Addr(), main.laddr.Port()), reuse)
	if err != nil {
		return main, nil, nil
	}
	// The INIT queue absorbs the reader's stalls under a flood: with
	// net.core.rmem_max's 4 MiB it overflowed now and then at 140,000
	// INITs a second, each loss costing a client a 1 s RTO. Root (or
	// CAP_NET_ADMIN) may exceed rmem_max; others get up to rmem_max.
	_ = inits.sys.rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, InitSocketBuffer) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, InitSocketBuffer)
		}
	})
	var serr error
	if err := main.sys.rc.Control(func(fd uintptr) {
		prog := unix.SockFprog{Len: uint16(len(steerInits)), Filter: &steerInits[0]}
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &prog)
	}); err != nil || serr != nil {
		// Without the program the kernel would spread datagrams by
		// their addresses' hash: one socket is better.
		inits.Close()
		return main, nil, nil
	}
	return main, inits, nil
}
