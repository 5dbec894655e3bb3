package sctp

import (
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/udpencap"
)

// PPIDCloseWrite is the Payload Protocol Identifier of the one-byte message
// Stream.CloseWrite sends to mark the end of this side's data on a stream.
const PPIDCloseWrite uint32 = 0xFFFF_FFFF

// PPIDStream is the PPID of the messages Stream.Write sends.
const PPIDStream uint32 = 0

// Config configures listeners and dialed associations. The zero value (and
// a nil *Config) is useful: every zero field means the default stated.
type Config struct {
	// Assoc holds the protocol parameters (RTO, retransmission limits,
	// windows, MTU, ...). Assoc.LocalPort is ignored by Listen (the port
	// comes from the address); for Dial zero means the same number as
	// the local UDP port (unique on the host, see Dial).
	Assoc assoc.Config

	// LocalAddrs are the local addresses of a dialed association: listed
	// in its INIT when there are two or more (multihoming), and the
	// sources of its paths, one per pair of a local and a peer address.
	// nil means HostAddrs of the peer's addresses ("*": every address of
	// the host that can reach the peer); a single address makes a
	// single-homed association from it. Listen takes its addresses from
	// its laddr instead.
	LocalAddrs []netip.Addr

	// PathHealth, if set, is shared by the associations that should tell
	// each other when a path between two addresses times out (see
	// PathHealth). nil: each association learns on its own.
	PathHealth *PathHealth

	// Capture, if set, is called with every SCTP packet the associations
	// of this dialer or listener send and receive (and the listener's
	// answers to packets of no association), one packet per call, as it
	// is on the wire: a batch sent with UDP GSO appears packet by packet.
	// It runs on the goroutines that read, write and time out, so it
	// must be safe for concurrent use and quick; pkt is not retained.
	// pgsctp's capture_file writes a pcap file with it.
	Capture func(at time.Time, src, dst netip.AddrPort, pkt []byte)

	// UDPPort is the local UDP encapsulation port. Listen: 0 means
	// udpencap.DefaultPort (9899), negative means any free port (see
	// Listener.Addr). Dial: 0 or negative means any free port.
	UDPPort int
	// PeerUDPPort is the peer's UDP encapsulation port for Dial, default
	// udpencap.DefaultPort (9899).
	PeerUDPPort int

	// MaxWriteMessage is the largest message Stream.Write sends; longer
	// writes are split. Default 64 KiB.
	MaxWriteMessage int
	// StreamWindow turns on per-stream flow control (see the package
	// documentation): each Stream lets the peer send at most this many
	// bytes its application has not read yet, so a stream nobody reads
	// holds at most this much of the association's receive window. It
	// only takes effect on a stream when the peer's end has it on too;
	// otherwise the stream is plain. 0 (or negative) means off; values
	// are raised to at least 4 KiB and capped at 1 GiB.
	// DefaultStreamWindow is a good choice for multiplexed associations.
	// An end's window is fixed for each association (for a Listener, at
	// Listen: Listener.SetConfig does not change it), which lets an
	// opener assume the window its peer announced on earlier streams.
	StreamWindow int

	// AcceptBacklog bounds the associations that completed their
	// handshake and wait for Accept; more are aborted. Default 128.
	AcceptBacklog int

	// ShutdownLinger is how long a dialer's socket stays open after its
	// association ended with this end's SHUTDOWN COMPLETE, instead of
	// closing with the association. If that packet is lost the peer
	// retransmits SHUTDOWN ACK, and without an answer (RFC 9260 8.4 rule
	// 5: a SHUTDOWN COMPLETE with the T bit) it would hold the
	// association, and a max_associations slot, until its
	// retransmissions give up: minutes. Only a port the system picked
	// (UDPPort 0) lingers: a caller that chose its port gets it back at
	// once, and a listener's socket lives as long as the listener.
	// Default 3 s, which covers about five retransmissions at an RTO of
	// 100 ms; negative: none.
	ShutdownLinger time.Duration

	// Logger receives the associations' logs (and the core's, unless
	// Assoc.Logger is set); nil discards them.
	Logger *slog.Logger
}

// Protocol defaults for the databases pgsctp carries, where a zero
// Assoc field would mean RFC 9260's suggestion. RFC 9260 section 16 sizes
// its timers for any path on the Internet; a session whose link dies
// should move to another link in a fraction of a second, so:
//
//   - RTO.Min 100ms (RFC: 1s): a timeout is the signal that moves data off
//     a failed path (SCTP-PF, RFC 7829), so failover takes about one RTO;
//     the cost is a spurious retransmission when a round trip stalls for
//     longer, which on a LAN or a cloud region is rare;
//   - SACK.Delay 20ms (RFC: 200ms): a lone request's SACK then comes back
//     before RTO.Min, and RTT samples stay close to the round trip; it
//     costs no extra packets when answers or every-second-packet SACKs
//     come first, which is almost always;
//   - HB.interval 5s (RFC: 30s): idle paths are checked every 5s plus an
//     RTO, so an idle session learns of a dead alternate path in seconds;
//     the cost is about two small packets per path every 5s;
//   - Path.Max.Retrans 8 (RFC: 5): with the shorter RTO a path is still
//     declared inactive only after about 50s of silence, and the
//     association is given up only when every path is, as with RFC
//     defaults and an RTO of 1s;
//   - path MTU discovery (RFC 8899; the core leaves it off): on Linux,
//     where the sockets send with DF (udpencap.DontFragment), Assoc.MaxMTU
//     defaults to the largest MTU among the host's interfaces that are up,
//     less IPv4 and UDP headers, at most 9216 (the largest datagram a
//     socket reads), so each path grows from the 1200-byte base to what it
//     carries; the cost is a few HEARTBEATs per path at the start and every
//     10 minutes. A negative Assoc.MaxMTU turns it off.
const (
	DefaultRTOMin         = 100 * time.Millisecond
	DefaultDelayedAck     = 20 * time.Millisecond
	DefaultHBInterval     = 5 * time.Second
	DefaultPathMaxRetrans = 8
)

// DefaultShutdownLinger is Config.ShutdownLinger's default.
const DefaultShutdownLinger = 3 * time.Second

// settings is a Config with defaults applied.
type settings struct {
	Config
	log *slog.Logger
}

func resolve(c *Config) *settings {
	s := &settings{}
	if c != nil {
		s.Config = *c
	}
	if s.Assoc.RTOMin == 0 {
		s.Assoc.RTOMin = DefaultRTOMin
	}
	if s.Assoc.DelayedAckTime == 0 {
		s.Assoc.DelayedAckTime = DefaultDelayedAck
	}
	if s.Assoc.HBInterval == 0 {
		s.Assoc.HBInterval = DefaultHBInterval
	}
	if s.Assoc.PathMaxRetrans == 0 {
		s.Assoc.PathMaxRetrans = DefaultPathMaxRetrans
	}
	if s.Assoc.MaxMTU == 0 && udpencap.DontFragment {
		// Discovery only where probes cannot pass by being cut up.
		s.Assoc.MaxMTU = interfaceMaxMTU()
	}
	s.Assoc.MaxMTU = min(s.Assoc.MaxMTU, maxDatagram) // what a peer like us reads
	if s.MaxWriteMessage <= 0 {
		s.MaxWriteMessage = 64 << 10
	}
	if s.StreamWindow > 0 {
		s.StreamWindow = min(max(s.StreamWindow, 4<<10), maxStreamWindow)
	}
	if s.AcceptBacklog <= 0 {
		s.AcceptBacklog = 128
	}
	if s.ShutdownLinger == 0 {
		s.ShutdownLinger = DefaultShutdownLinger
	}
	if s.PeerUDPPort <= 0 || s.PeerUDPPort > 65535 {
		s.PeerUDPPort = udpencap.DefaultPort
	}
	s.log = s.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.Assoc.Logger == nil {
		s.Assoc.Logger = s.Logger
	}
	if s.Assoc.Buffers == nil {
		// Read messages give their buffers back (recycle): one pool
		// per socket, as each Dial and Listen resolves its Config.
		s.Assoc.Buffers = new(bufPool)
	}
	return s
}

// mtu is the largest packet the core writes.
func (s *settings) mtu() int {
	base := 1200
	if s.Assoc.MTU > 0 {
		base = s.Assoc.MTU
	}
	return max(base, s.Assoc.MaxMTU) // resolve capped MaxMTU
}

// interfaceMaxMTU is the default search ceiling of path MTU discovery:
// the largest MTU of the host's interfaces that are up, less the IPv4 and
// UDP headers (resolve caps it at maxDatagram); 0 (off) when they cannot
// be listed.
// A path whose own MTU is smaller finds out with a few lost probes.
func interfaceMaxMTU() int {
	ifs, err := net.Interfaces()
	if err != nil {
		return 0
	}
	best := 0
	for _, i := range ifs {
		if i.Flags&net.FlagUp != 0 {
			best = max(best, i.MTU-20-8)
		}
	}
	return best
}
