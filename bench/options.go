package bench

import (
	"fmt"
	"time"

	"github.com/pgsctp/pgsctp/sctp"
)

// Mode is what a session measures.
type Mode string

const (
	// Throughput is a bulk one-way transfer from client to server.
	Throughput Mode = "throughput"
	// Latency is request/response ping-pong: the server echoes each
	// message, one outstanding at a time.
	Latency Mode = "latency"
)

// Limits a server enforces on what a client asks for, and the client checks
// before asking.
const (
	// MaxSize is the largest message size. It stays well below the
	// default send buffer and receive window (1 MiB) so that a few
	// messages are in flight at once.
	MaxSize = 256 << 10
	// MaxStreams is the most streams a session spreads messages over.
	MaxStreams = 1024
	// DefaultThroughputSize and DefaultLatencySize are the message sizes
	// used when Options.Size is zero.
	DefaultThroughputSize = 64 << 10
	DefaultLatencySize    = 64
	// DefaultDuration is how long a run lasts when neither
	// Options.Duration nor Options.Messages is set.
	DefaultDuration = 10 * time.Second
	// DefaultPort is the SCTP (and TCP) port of a server, as tsctp's.
	DefaultPort = 5001
)

// Options configures the client side of a run. The zero value is a ten
// second throughput run over SCTP with 64 KiB messages on one stream.
type Options struct {
	// Mode is Throughput (default) or Latency.
	Mode Mode
	// Size is the message size in bytes; zero means
	// DefaultThroughputSize or DefaultLatencySize by Mode.
	Size int
	// Streams spreads the messages over streams 0..Streams-1 in turn;
	// zero means 1.
	Streams int
	// Duration is how long to send; zero means DefaultDuration, unless
	// Messages is set.
	Duration time.Duration
	// Messages, if positive, sends exactly this many messages (or round
	// trips) instead of sending for Duration.
	Messages int
	// TCP measures a plain TCP connection to the same host:port with the
	// same message pattern, as the reference for the SCTP figures.
	TCP bool

	// Config is the SCTP configuration for Dial (nil: defaults). Its
	// UDPPort and PeerUDPPort are overridden by the fields below when
	// those are set, and OutboundStreams is raised to Streams if needed.
	Config *sctp.Config
	// UDPPort is the local UDP encapsulation port; zero means any.
	UDPPort int
	// PeerUDPPort is the server's UDP encapsulation port; zero means the
	// sctp default (9899).
	PeerUDPPort int
}

func (o Options) withDefaults() (Options, error) {
	if o.Mode == "" {
		o.Mode = Throughput
	}
	if o.Mode != Throughput && o.Mode != Latency {
		return o, fmt.Errorf("bench: unknown mode %q (want %q or %q)", o.Mode, Throughput, Latency)
	}
	if o.Size == 0 {
		o.Size = DefaultThroughputSize
		if o.Mode == Latency {
			o.Size = DefaultLatencySize
		}
	}
	if o.Size < 1 || o.Size > MaxSize {
		return o, fmt.Errorf("bench: message size %d out of range 1..%d", o.Size, MaxSize)
	}
	if o.Streams == 0 {
		o.Streams = 1
	}
	if o.Streams < 1 || o.Streams > MaxStreams {
		return o, fmt.Errorf("bench: %d streams out of range 1..%d", o.Streams, MaxStreams)
	}
	if o.Messages < 0 {
		return o, fmt.Errorf("bench: negative message count %d", o.Messages)
	}
	if o.Duration < 0 {
		return o, fmt.Errorf("bench: negative duration %v", o.Duration)
	}
	if o.Duration == 0 && o.Messages == 0 {
		o.Duration = DefaultDuration
	}
	return o, nil
}

// sctpConfig is the Dial configuration for o.
func (o Options) sctpConfig() *sctp.Config {
	var c sctp.Config
	if o.Config != nil {
		c = *o.Config
	}
	if o.UDPPort != 0 {
		c.UDPPort = o.UDPPort
	}
	if o.PeerUDPPort != 0 {
		c.PeerUDPPort = o.PeerUDPPort
	}
	if int(c.Assoc.OutboundStreams) < o.Streams {
		c.Assoc.OutboundStreams = uint16(o.Streams)
	}
	return &c
}

// ServerOptions configures a Server. The zero value listens for SCTP on
// every address, SCTP port 5001, UDP port 9899.
type ServerOptions struct {
	// Listen is the SCTP address "host:port"; empty means ":5001". An
	// empty host listens on every local address. Port 0 picks a free TCP
	// port (with TCP) and uses the same number for SCTP, or 5001 without
	// TCP (SCTP ports are private to the UDP socket).
	Listen string
	// UDPPort is the local UDP encapsulation port: zero means the sctp
	// default (9899), negative any free port (see Server.Addr).
	UDPPort int
	// TCP also serves TCP sessions (Options.TCP) on the same host:port.
	TCP bool
	// Config is the SCTP configuration for Listen (nil: defaults). Its
	// UDPPort is overridden by UDPPort when that is set, and its
	// OutboundStreams is raised to MaxStreams so that latency mode can
	// echo on any stream a client uses.
	Config *sctp.Config
	// MaxSessions bounds the sessions served at once; more are refused.
	// Zero means 16.
	MaxSessions int
	// IdleTimeout ends a session whose client sent nothing for this long:
	// a client that vanished mid-run must not hold a session slot for
	// ever. Zero means 60s.
	IdleTimeout time.Duration
	// OnSession, if set, is called after each session with the server's
	// view of it. It is called from the session's goroutine.
	OnSession func(ServerSession)
}
