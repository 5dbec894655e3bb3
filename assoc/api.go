// Package assoc is the sans-I/O SCTP core (RFC 9260): the stateless
// Endpoint that answers INITs with signed cookies, and the Association
// state machine.
//
// Nothing here owns a goroutine, a socket or a clock. Packets, timeouts and
// user calls come in as method calls that carry now; packets, events and
// the next deadline go out through polling:
//
//	a.HandlePacket(now, from, to, pkt)
//	for { t, ok := a.PollTransmit(now, buf); if !ok { break }; send(t) }
//	for { ev, ok := a.PollEvent(); if !ok { break }; deliver(ev) }
//	timer.Reset(a.NextTimeout().Sub(now))
//
// An Association is not safe for concurrent use; its driver (package sctp)
// calls it from one goroutine.
package assoc

import (
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/pgsctp/pgsctp/assoc/recvq"
)

// Config holds an association's protocol parameters. The zero value of each
// field means its RFC 9260 section 16 default (or the default stated).
type Config struct {
	// SCTP ports of this end (the peer's comes from Dial or the INIT).
	LocalPort uint16

	RTOInitial time.Duration // RTO.Initial, default 1s
	RTOMin     time.Duration // RTO.Min, default 1s
	RTOMax     time.Duration // RTO.Max, default 60s

	MaxBurst        int // Max.Burst, default 4
	AssocMaxRetrans int // Association.Max.Retrans, default 10
	PathMaxRetrans  int // Path.Max.Retrans, default 5
	// PFMaxRetrans is PotentiallyFailed.Max.Retrans (RFC 7829): a path
	// whose error count exceeds it is Potentially Failed, and data moves
	// to another path. Default 0 (the first timeout), as RFC 7829
	// recommends; negative, or at least PathMaxRetrans, turns SCTP-PF off.
	PFMaxRetrans       int
	MaxInitRetransmits int           // Max.Init.Retransmits, default 8
	HBInterval         time.Duration // HB.interval, default 30s; negative disables
	ValidCookieLife    time.Duration // Valid.Cookie.Life, default 60s
	DelayedAckTime     time.Duration // delayed SACK timer, default 200ms (RFC 9260 6.2: at most 500ms)
	ShutdownGuard      time.Duration // T5-shutdown-guard, default 5 * RTO.Max

	// CookieSecretRotation is how often the secret that signs state
	// cookies changes, default 1h. A cookie is accepted under the current
	// and the previous secret.
	CookieSecretRotation time.Duration

	// Streams this end asks for (OS) and accepts at most (MIS); default 16
	// and 65535. The negotiated counts are in Connected.
	OutboundStreams   uint16
	MaxInboundStreams uint16

	// RecvWindow is the receive buffer advertised as a_rwnd, default 1 MiB.
	// Data delivered in Message events counts against it until Release.
	RecvWindow uint32
	// SendBuffer bounds the bytes queued by Send and not yet acknowledged,
	// default 1 MiB. Send past it fails with ErrWouldBlock.
	SendBuffer int

	// NoASCONF turns off dynamic addresses: the INIT and INIT ACK offer
	// neither ASCONF (RFC 5061) nor the AUTH (RFC 4895) it needs, for peers
	// whose addresses must not change. By default both are offered and
	// used when the peer offers them too.
	NoASCONF bool

	// LocalAddrs are this end's addresses: listed in its INIT or INIT ACK
	// when there are two or more (RFC 9260 section 5.1.2), and the sources
	// of its paths, one path per (local, peer) address pair of one family.
	// Empty: single-homed, on the address the handshake used (on a client,
	// the one the host picked).
	LocalAddrs []netip.Addr

	// MTU is the largest SCTP packet (common header and chunks, no UDP or
	// IP header) sent on a path, default 1200. With MaxMTU it is where
	// path MTU discovery starts (BASE_PLPMTU), and DATA chunks are always
	// cut to fit it.
	MTU int

	// MaxMTU, when above MTU, turns on path MTU discovery (RFC 8899):
	// each path probes for the largest packet it carries, up to MaxMTU,
	// and bundles DATA chunks up to that size. Default 0: every packet
	// is at most MTU.
	MaxMTU int

	// Buffers, if set, lends the memory of received data: each Message's
	// Data comes from its Get, and the user may Put it back once read
	// (the sctp package does), so a steady stream of messages allocates
	// nothing. It is called on whatever goroutine drives the association.
	// Nil: each association keeps a few small buffers of its own, and
	// larger ones are newly allocated.
	Buffers Buffers

	// Rand supplies verification tags, initial TSNs and nonces, default
	// crypto/rand. Tests pass a seeded source for reproducible runs.
	Rand io.Reader

	// Admit, if set, decides whether an endpoint accepts an association
	// from a peer presenting addrs: the INIT's source address and every
	// address listed in the INIT. A non-nil error refuses it with an
	// ABORT whose User-Initiated Abort cause carries the error's text. It
	// is asked at the INIT and again at the COOKIE ECHO (limits may have
	// changed), and may be called from any goroutine the driver uses.
	Admit func(addrs []netip.Addr) error

	// AdmitAddr, if set, decides whether an address the peer adds to a
	// running association (ASCONF) may be used; an error refuses it with
	// "Request Refused - No Authorization" before any packet goes there.
	// Called on the association's goroutine.
	AdmitAddr func(addr netip.Addr) error

	// ReplyLimits bounds the rate of an Endpoint's answers to packets of
	// no association (INIT ACK, ABORT, ERROR, SHUTDOWN COMPLETE); the
	// zero value means the defaults documented on ReplyLimits.
	ReplyLimits ReplyLimits

	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// SendOptions are per-message send options.
type SendOptions struct {
	Unordered bool
}

// Transmit is one packet to send: from the local address (zero: any) to
// the peer's address and UDP encapsulation port.
type Transmit struct {
	From   netip.Addr
	To     netip.AddrPort
	Packet []byte // a slice of the buffer passed to PollTransmit
	// Fragment: the packet is larger than the path's PLPMTU, so it must
	// leave with IP fragmentation allowed (DF clear). Only a DATA chunk
	// cut for a larger PLPMTU than the path has now, retransmitted alone,
	// makes one: DATA cannot be cut again once it has a TSN (RFC 9260
	// 6.9), and IP fragmentation is what is left (as in Linux's SCTP).
	Fragment bool
}

// State is an association state (RFC 9260 section 4).
type State uint8

// Association states.
const (
	StateClosed State = iota
	StateCookieWait
	StateCookieEchoed
	StateEstablished
	StateShutdownPending
	StateShutdownSent
	StateShutdownReceived
	StateShutdownAckSent
)

var stateNames = [...]string{"CLOSED", "COOKIE-WAIT", "COOKIE-ECHOED", "ESTABLISHED",
	"SHUTDOWN-PENDING", "SHUTDOWN-SENT", "SHUTDOWN-RECEIVED", "SHUTDOWN-ACK-SENT"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "UNKNOWN"
}

// Buffers lends memory for received data; see Config.Buffers.
type Buffers = recvq.Buffers

// Event is something the association reports to its user.
type Event interface{ isEvent() }

// Connected: the association reached ESTABLISHED.
type Connected struct {
	OutboundStreams, InboundStreams uint16 // negotiated
}

// Message: a complete user message arrived. Data is owned by the receiver
// of the event; its length counts against the receive window until the
// user calls Release with it.
type Message struct {
	StreamID  uint16
	PPID      uint32
	Unordered bool
	Data      []byte
}

// MessageReady: PollEventTo wrote the next Message to its argument
// (PollEvent never returns it).
type MessageReady struct{}

// Writable: send buffer space was freed after Send returned ErrWouldBlock.
type Writable struct{}

// PathChange: a path changed state (RFC 9260 sections 5.4 and 8.2, RFC
// 7829).
type PathChange struct {
	ID         int            // the path's identity, as in PathStats
	Local      netip.Addr     // our address (zero: the host picks)
	Addr       netip.AddrPort // the peer's address and UDP port
	Old, State PathState
	Active     bool   // State == PathActive
	Reason     string // what caused it, for the log
}

// Restarted: the peer restarted the association (RFC 9260 section 5.2.4);
// data in flight may have been lost, and the local verification tag has
// changed. A Connected with the renegotiated stream counts follows.
type Restarted struct{}

// SendFailed: a message could not be delivered because the association
// closed before the peer acknowledged it.
type SendFailed struct {
	StreamID uint16
	Bytes    int
}

// Closed: the association ended; Err is nil after a graceful shutdown.
// No further events follow.
type Closed struct {
	Err error
	// AnswerLate: this end answered the peer's SHUTDOWN ACK with the
	// SHUTDOWN COMPLETE that ended it. If that packet is lost, the peer
	// retransmits SHUTDOWN ACK until its T2-shutdown gives up, holding
	// the association meanwhile; something should answer it for a while
	// (an Endpoint does: RFC 9260 8.4 rule 5).
	AnswerLate bool
}

func (Connected) isEvent()    {}
func (Message) isEvent()      {}
func (MessageReady) isEvent() {}
func (Writable) isEvent()     {}
func (PathChange) isEvent()   {}
func (Restarted) isEvent()    {}
func (SendFailed) isEvent()   {}
func (Closed) isEvent()       {}

// Errors. Protocol failures reported in Closed wrap ErrAborted (the peer or
// this end aborted) or ErrTimeout (retransmissions exhausted).
var (
	ErrWouldBlock     = errors.New("sctp: send buffer full")
	ErrEmptyMessage   = errors.New("sctp: empty message")
	ErrClosed         = errors.New("sctp: association closed")
	ErrShuttingDown   = errors.New("sctp: association shutting down")
	ErrNotEstablished = errors.New("sctp: association not established")
	ErrInvalidStream  = errors.New("sctp: invalid stream identifier")
	ErrMessageTooBig  = errors.New("sctp: message larger than the send buffer")
	ErrAborted        = errors.New("sctp: association aborted")
	ErrTimeout        = errors.New("sctp: association timed out")
	ErrInitTimeout    = errors.New("sctp: no answer to INIT")
)

// PathStats describes one path: a (local address, peer address) pair.
type PathStats struct {
	ID       int
	Local    netip.Addr // zero: the host picks
	Addr     netip.AddrPort
	State    PathState
	Active   bool      // State == PathActive
	Primary  bool      // the primary path (the one the handshake used)
	Data     bool      // where new data goes now
	Heard    time.Time // last packet received over it (zero: none)
	SRTT     time.Duration
	RTO      time.Duration
	Cwnd     int
	Ssthresh int
	Flight   int
	Errors   int
	MTU      int // PLPMTU: the largest packet sent on it (Config.MTU without discovery)
}

// Stats is a snapshot of an association's counters.
type Stats struct {
	State           State
	LocalTag        uint32
	PeerTag         uint32
	PeerRecvWindow  uint32
	BytesSent       uint64 // user bytes handed to the peer for the first time
	BytesReceived   uint64 // user bytes delivered
	PacketsSent     uint64
	PacketsReceived uint64
	Retransmissions uint64 // DATA chunks sent again (T3 and fast retransmit)
	FastRetransmits uint64
	T3Expiries      uint64
	AuthDropped     uint64 // chunks dropped for a missing or wrong AUTH (RFC 4895 6.3)
	PMTUBlackHoles  uint64 // paths that fell back to Config.MTU (RFC 8899 4.3)
	Paths           []PathStats
}
