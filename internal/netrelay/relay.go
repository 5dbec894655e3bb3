// Package netrelay is a UDP relay for interop tests: it sits between an
// SCTP-over-UDP client and server (pgsctp and an independent stack, such as
// usrsctp's programs or the Linux kernel in a qemu guest), counts and
// inspects every datagram, drops the ones a test chooses (to make
// retransmission and fast retransmit run against the peer), and can write
// what crossed to a pcap file, one SCTP packet per record.
package netrelay

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgsctp/pgsctp/internal/pcapwriter"
)

// Direction says which way a datagram crosses a Relay.
type Direction int

const (
	// ToServer is a datagram from the client side toward the server.
	ToServer Direction = iota
	// ToClient is a datagram from the server toward the client side.
	ToClient
)

// Relay forwards UDP datagrams between one client and one server and lets
// a test look at each one. It proves that SCTP really travels UDP
// encapsulated (usrsctp run as root can also use raw IP), and it checks
// what the peer puts on the wire (checksums, chunk order).
//
// The client sends to Front; the relay sends on from Back to the server,
// so the server sees Back's address as the client's and must learn the
// reply port from the UDP source port (or be told Back's port).
type Relay struct {
	front, back net.PacketConn
	server      netip.AddrPort
	o           Options

	client atomic.Pointer[net.UDPAddr] // the last client address seen on front
	counts [2]atomic.Int64
	wg     sync.WaitGroup
}

// Options are the optional parts of a Relay; the zero value forwards
// everything and records nothing.
type Options struct {
	// Inspect, if not nil, sees every datagram (the slice is valid only
	// during the call) and returns false to drop it. It is called from
	// two goroutines, one per direction.
	Inspect func(Direction, []byte) bool

	// Capture, if not nil, gets every datagram that arrived, dropped ones
	// included (they were sent), as one record each: from the client to
	// Front, and from the server to Back, with the addresses of that hop.
	// The relay reads one datagram per call (no GRO), so a peer's UDP GSO
	// batch is cut into its packets here as on the wire. Write errors are
	// ignored (the capture is a by-product; a test checks the file).
	Capture *pcapwriter.Writer
}

// NewRelay starts relaying between front and back (each closed by Close)
// for the server at server.
func NewRelay(front, back net.PacketConn, server netip.AddrPort, o Options) *Relay {
	r := &Relay{front: front, back: back, server: server, o: o}
	r.wg.Add(2)
	go r.run(ToServer)
	go r.run(ToClient)
	return r
}

func (r *Relay) run(d Direction) {
	defer r.wg.Done()
	from := r.front
	if d == ToClient {
		from = r.back
	}
	buf := make([]byte, 65536)
	for {
		n, addr, err := from.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		var to net.Addr
		if d == ToServer {
			if ua, ok := addr.(*net.UDPAddr); ok {
				r.client.Store(ua)
			}
			to = net.UDPAddrFromAddrPort(r.server)
		} else {
			c := r.client.Load()
			if c == nil {
				continue
			}
			to = c
		}
		r.counts[d].Add(1)
		if r.o.Capture != nil {
			if src, ok := addr.(*net.UDPAddr); ok {
				if dst, ok := from.LocalAddr().(*net.UDPAddr); ok {
					r.o.Capture.WritePacket(time.Now(), src.AddrPort(), dst.AddrPort(), buf[:n])
				}
			}
		}
		if r.o.Inspect != nil && !r.o.Inspect(d, buf[:n]) {
			continue
		}
		out := r.back
		if d == ToClient {
			out = r.front
		}
		out.WriteTo(buf[:n], to)
	}
}

// Count returns how many datagrams arrived in direction d (dropped ones
// included).
func (r *Relay) Count(d Direction) int64 { return r.counts[d].Load() }

// Close closes both sockets and waits for the relay goroutines.
func (r *Relay) Close() error {
	err := errors.Join(r.front.Close(), r.back.Close())
	r.wg.Wait()
	return err
}
