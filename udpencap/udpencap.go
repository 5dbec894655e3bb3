// Package udpencap carries SCTP packets in UDP datagrams (RFC 6951): one
// UDP socket per local address, batched reads and writes, and the local
// address of every datagram so that replies leave from the address the peer
// wrote to (needed for multihoming).
//
// On Linux, reads and writes are batched with recvmmsg/sendmmsg (system
// calls made through golang.org/x/sys/unix on buffers preallocated per
// Conn, so that the batch path allocates nothing per datagram), and
// IP_PKTINFO / IPV6_PKTINFO control messages report the local destination
// address of each datagram and choose the source address of each reply.
// Runs of equal-sized datagrams to one peer leave as one UDP GSO send
// (UDP_SEGMENT) where the kernel and the route allow it.
// On other systems a portable fallback moves one datagram per system call
// and reports no local address.
//
// RFC 6951 section 5.4: "Within the UDP header, the source port MUST be the
// local UDP encapsulation port number of the SCTP stack, and the destination
// port MUST be the remote UDP encapsulation port number maintained for the
// association and the destination address to which the packet is sent."
// A Conn is bound to one local port, so the first half holds by
// construction; the second is the caller's: every Message carries the
// peer's encapsulation port.
//
// Port zero is never a valid encapsulation port: a datagram whose UDP
// source port is zero cannot be answered (a reply would go to port 0), so
// ReadBatch drops it, and WriteBatch refuses to send to port zero.
package udpencap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// DefaultPort is the UDP port IANA assigned to SCTP over UDP ("sctp-tunneling",
// RFC 6951 section 5.2: "The IANA-assigned value of 9899 MAY be used as this
// port number").
const DefaultPort = 9899

// SocketBuffer is the receive and send buffer size requested from the
// kernel (SO_RCVBUF, SO_SNDBUF). The kernel may grant less (on Linux it is
// capped by net.core.rmem_max and wmem_max); that is not an error.
const SocketBuffer = 4 << 20

// InitSocketBuffer is the receive buffer requested for ListenSplit's INIT
// socket, above net.core.rmem_max where the process may (Linux:
// SO_RCVBUFFORCE, with CAP_NET_ADMIN); the kernel holds it only while
// INITs are queued. Measured in docs/benchmarks.md ("INIT flood").
const InitSocketBuffer = 16 << 20

// ErrZeroPort is returned by WriteBatch for a message addressed to UDP
// port zero.
var ErrZeroPort = errors.New("udpencap: UDP port 0 is not a valid encapsulation port")

// Message is one datagram for ReadBatch or WriteBatch.
//
// For ReadBatch, Buf is the caller's buffer (its length is the most that is
// read); ReadBatch sets N, Addr and Local. For WriteBatch, Buf[:N] is sent to
// Addr from Local.
type Message struct {
	Buf []byte
	N   int
	// Addr is the peer's address and UDP port.
	Addr netip.AddrPort
	// Local is the local address the datagram arrived on, or the one it is
	// to be sent from. The zero value means unknown (read) or any (write:
	// the kernel chooses by its routing table). IPv4 addresses are
	// reported unmapped even on a dual-stack socket. On write, a Local
	// of the other address family than Addr is ignored.
	Local netip.Addr
	// Fragment, on write, lets the datagram leave in IP fragments (DF
	// clear) where the socket otherwise forbids it (DontFragment): for a
	// packet larger than its path is now known to carry, which cannot be
	// cut any other way. Such a datagram is written on its own.
	Fragment bool
}

// Conn is one UDP socket carrying SCTP packets. ReadBatch must be called
// from one goroutine at a time; WriteBatch may be called from many
// goroutines at once.
type Conn struct {
	uc    *net.UDPConn
	laddr netip.AddrPort
	sys   sysConn // per-OS batching state
}

// Listen opens a UDP socket on laddr. An invalid (zero) address or :: listens
// on all local addresses, IPv4 and IPv6 where the system allows a dual-stack
// socket; an IPv4 address (including 0.0.0.0) opens an IPv4 socket, any other
// IPv6 address an IPv6-only socket. Port 0 picks a free port.
func Listen(ctx context.Context, laddr netip.AddrPort) (*Conn, error) {
	return listenWith(ctx, laddr, net.ListenConfig{})
}

// ListenSplit is Listen for a server that answers INITs: it opens two
// sockets on laddr and, where the system can steer datagrams between them,
// the kernel delivers every datagram whose SCTP verification tag is zero
// (an INIT, RFC 9260 section 8.5.1, or a forgery) to inits and everything
// else to main. Under an INIT flood the kernel then drops only what
// overflows inits: packets of established associations and COOKIE ECHOs
// (which carry the tag our INIT ACK gave) keep a queue of their own, as
// SYN cookies keep TCP's accept path open. Where it cannot steer, inits is
// nil and main receives everything, as from Listen.
//
// On Linux the two sockets form an SO_REUSEPORT group with a classic BPF
// program choosing the socket (SO_ATTACH_REUSEPORT_CBPF). A port already
// in use is refused as by Listen, and the program sends nothing to any
// socket that joins the group later (only a process of the same user can).
func ListenSplit(ctx context.Context, laddr netip.AddrPort) (main, inits *Conn, err error) {
	return listenSplit(ctx, laddr)
}

func listenWith(ctx context.Context, laddr netip.AddrPort, lc net.ListenConfig) (*Conn, error) {
	network, addr := "udp", ""
	switch {
	case !laddr.Addr().IsValid() || laddr.Addr() == netip.IPv6Unspecified():
		addr = fmt.Sprintf(":%d", laddr.Port())
	case laddr.Addr().Is4() || laddr.Addr().Is4In6():
		network = "udp4"
		addr = netip.AddrPortFrom(laddr.Addr().Unmap(), laddr.Port()).String()
	default:
		network = "udp6"
		addr = laddr.String()
	}
	pc, err := lc.ListenPacket(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("udpencap: listen %s %s: %w", network, addr, err)
	}
	uc := pc.(*net.UDPConn)
	// Best effort: a smaller buffer only costs throughput.
	_ = uc.SetReadBuffer(SocketBuffer)
	_ = uc.SetWriteBuffer(SocketBuffer)
	c := &Conn{uc: uc, laddr: uc.LocalAddr().(*net.UDPAddr).AddrPort()}
	c.laddr = netip.AddrPortFrom(c.laddr.Addr().Unmap(), c.laddr.Port())
	if err := c.sys.init(uc); err != nil {
		uc.Close()
		return nil, fmt.Errorf("udpencap: listen %s %s: %w", network, addr, err)
	}
	return c, nil
}

// LocalAddr is the address the socket is bound to; its port is the local
// encapsulation port.
func (c *Conn) LocalAddr() netip.AddrPort { return c.laddr }

// Close closes the socket; blocked ReadBatch calls return an error that
// wraps net.ErrClosed.
func (c *Conn) Close() error { return c.uc.Close() }

// SetReadDeadline sets when a blocked or future ReadBatch gives up with an
// error wrapping os.ErrDeadlineExceeded (zero: never). A deadline in the
// past makes a ReadBatch blocked on another goroutine return at once:
// that is how a reader is told to stop waiting for datagrams, without a
// system call.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.uc.SetReadDeadline(t) }

// ReadBatch reads at least one datagram, blocking until one arrives, and at
// most len(msgs). It returns how many of msgs it filled. Datagrams from
// UDP source port 0 and datagrams longer than their buffer are dropped.
func (c *Conn) ReadBatch(msgs []Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	for {
		n, err := c.sys.readBatch(c.uc, msgs)
		if err != nil {
			return 0, fmt.Errorf("udpencap: read: %w", err)
		}
		if n = compact(msgs[:n]); n > 0 {
			return n, nil
		}
	}
}

// compact moves the valid messages of msgs to its front, swapping (not
// copying) so that every buffer stays in the caller's slice, and returns
// how many there are. A truncated message has N < 0 here.
func compact(msgs []Message) int {
	k := 0
	for i := range msgs {
		if msgs[i].N < 0 || msgs[i].Addr.Port() == 0 {
			continue
		}
		msgs[k], msgs[i] = msgs[i], msgs[k]
		k++
	}
	return k
}

// WriteBatch sends msgs[i].Buf[:msgs[i].N] to msgs[i].Addr, in order, and
// returns how many were sent. A message to port 0 stops the batch with an
// error wrapping ErrZeroPort; the caller may skip it and send the rest.
// A message the socket cannot send (an IPv6 destination on an IPv4 socket,
// N outside Buf) stops the batch the same way, with an error.
func (c *Conn) WriteBatch(msgs []Message) (int, error) {
	for i := range msgs {
		if msgs[i].Addr.Port() == 0 {
			n, err := c.WriteBatch(msgs[:i])
			if err != nil {
				return n, err
			}
			return i, fmt.Errorf("udpencap: write to %v: %w", msgs[i].Addr, ErrZeroPort)
		}
		if msgs[i].N < 0 || msgs[i].N > len(msgs[i].Buf) {
			n, err := c.WriteBatch(msgs[:i])
			if err != nil {
				return n, err
			}
			return i, fmt.Errorf("udpencap: write to %v: N %d outside a buffer of %d bytes", msgs[i].Addr, msgs[i].N, len(msgs[i].Buf))
		}
	}
	sent := 0
	for sent < len(msgs) {
		run := msgs[sent:]
		if run[0].Fragment {
			if err := c.sys.writeFragment(c.uc, &run[0]); err != nil {
				return sent, fmt.Errorf("udpencap: write to %v: %w", run[0].Addr, err)
			}
			sent++
			continue
		}
		for i := 1; i < len(run); i++ {
			if run[i].Fragment {
				run = run[:i] // the batch up to it, then it alone
				break
			}
		}
		n, err := c.sys.writeBatch(c.uc, run)
		if n > 0 {
			sent += n
		}
		if err != nil {
			return sent, fmt.Errorf("udpencap: write to %v: %w", msgs[sent].Addr, err)
		}
	}
	return sent, nil
}

// unmapped returns a with any IPv4-mapped IPv6 address unmapped.
func unmapped(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}
