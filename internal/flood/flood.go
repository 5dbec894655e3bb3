// Package flood sends floods of SCTP-over-UDP packets (RFC 9260 carried
// as RFC 6951 says) at a loopback target, for tests and benchmarks of
// pgsctp's resistance to them: INITs from many source addresses and
// ports, COOKIE ECHOs with forged or expired cookies, out-of-the-blue
// chunks and garbage. It is a test tool, not an attack tool: it refuses
// any target outside 127.0.0.0/8 and ::1, and every run is bounded in
// count and time (Config.Count and Config.Duration are required and
// capped).
//
// One Run uses one goroutine, so it sends as fast as one core allows
// with one write system call per packet; the packets are built in a
// reused buffer with package chunk, so a run allocates nothing per
// packet.
package flood

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// Kind is what a flood sends.
type Kind uint8

// Kinds of flood.
const (
	// Init: INIT chunks (tag 0, a random Initiate Tag and TSN, random
	// SCTP source port): each one asks for an INIT ACK and a signed
	// cookie, the work a stateless server cannot avoid.
	Init Kind = iota
	// ForgedCookie: COOKIE ECHOs whose cookie has the shape of pgsctp's
	// (version byte, a creation time of now, a plausible length) so that
	// the server computes the HMAC before it can reject it, which it must
	// do without state (RFC 9260 section 5.1.5 step 1).
	ForgedCookie
	// ExpiredCookie: COOKIE ECHOs replaying Config.Cookies, real cookies
	// from Harvest, sent after their lifetime: the server verifies the
	// HMAC and answers with a Stale Cookie ERROR (5.1.5 step 3).
	ExpiredCookie
	// OOTB: out-of-the-blue chunks (DATA, SACK, HEARTBEAT, SHUTDOWN,
	// SHUTDOWN ACK, ERROR, an unknown type) with random nonzero tags:
	// what section 8.4 has a receiver answer with ABORT or SHUTDOWN
	// COMPLETE.
	OOTB
	// Garbage: random bytes of random length, mostly failing the
	// checksum.
	Garbage
	kinds
)

var kindNames = [...]string{"init", "forged-cookie", "expired-cookie", "ootb", "garbage"}

func (k Kind) String() string {
	if k < kinds {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// ParseKind is the Kind named s (its String).
func ParseKind(s string) (Kind, error) {
	for i, n := range kindNames {
		if n == s {
			return Kind(i), nil
		}
	}
	return 0, fmt.Errorf("flood: unknown kind %q (want one of %v)", s, kindNames)
}

// Bounds every Run keeps to, whatever its Config says.
const (
	MaxCount    = 100_000_000
	MaxDuration = 10 * time.Minute
	MaxSources  = 4096 // source addresses
	MaxSockets  = 8192 // source addresses times ports
)

// Config describes one flood.
type Config struct {
	// Target is the UDP address of the SCTP endpoint; it must be a
	// loopback address.
	Target netip.AddrPort
	// DstPort is the SCTP destination port (the listener's).
	DstPort uint16
	Kind    Kind
	// Count and Duration bound the run: it stops after Count packets or
	// Duration, whichever comes first. Both are required.
	Count    int
	Duration time.Duration
	// Sources is how many source addresses to send from: 127.1.0.1,
	// 127.1.0.2, ... (Linux answers for all of 127.0.0.0/8 on lo), so
	// that a legitimate client on 127.0.0.1 has an address of its own.
	// Default 1; an IPv6 target has only ::1.
	Sources int
	// FromLocalhost makes 127.0.0.1 the first source address: the
	// flood then shares its address with local clients, as an attacker
	// on the same machine would (and per-source limits hit both).
	FromLocalhost bool
	// Ports is how many UDP sockets (source ports) to send from on each
	// source address, default 1. Packets go round-robin over all sockets.
	Ports int
	// Cookies are what ExpiredCookie replays (see Harvest).
	Cookies []Cookie
	// Seed makes the packets reproducible; zero picks one at random.
	Seed uint64
}

// Result is what a Run did.
type Result struct {
	Sent     int           // packets the kernel took
	Bytes    int           // their SCTP bytes (UDP payload)
	Errors   int           // writes that failed (a full buffer, an ICMP report)
	Elapsed  time.Duration // from the first packet to the last
	Sockets  int
	Sources  []netip.Addr // the source addresses used
	LastErr  error        // the last write error, if any
	Canceled bool         // ctx ended the run
}

// Rate is the packets sent per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Elapsed.Seconds()
}

// Errors of Config validation.
var (
	ErrNotLoopback = errors.New("flood: target is not a loopback address")
	ErrUnbounded   = errors.New("flood: Count and Duration must both be positive")
)

func (c *Config) check() error {
	if !c.Target.IsValid() || !c.Target.Addr().Unmap().IsLoopback() || c.Target.Port() == 0 {
		return fmt.Errorf("%w: %v", ErrNotLoopback, c.Target)
	}
	if c.Count <= 0 || c.Duration <= 0 {
		return ErrUnbounded
	}
	if c.Count > MaxCount || c.Duration > MaxDuration {
		return fmt.Errorf("flood: Count %d or Duration %v above the caps (%d, %v)", c.Count, c.Duration, MaxCount, MaxDuration)
	}
	if c.Kind >= kinds {
		return fmt.Errorf("flood: unknown kind %d", c.Kind)
	}
	if c.Kind == ExpiredCookie && len(c.Cookies) == 0 {
		return errors.New("flood: ExpiredCookie needs Config.Cookies (see Harvest)")
	}
	if c.Sources > MaxSources || max(c.Sources, 1)*max(c.Ports, 1) > MaxSockets {
		return fmt.Errorf("flood: %d sources x %d ports: more than %d sockets", c.Sources, c.Ports, MaxSockets)
	}
	return nil
}

// SourceAddr is the i-th source address of a flood at an IPv4 target:
// 127.1.0.1 onwards (127.1.x.y, skipping the .0 and .255 of each /24).
func SourceAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 1, byte(i / 254), byte(i%254 + 1)})
}

// Run sends the flood and returns when it is done, when ctx ends or on a
// setup error. Write errors do not stop it (they are counted).
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.check(); err != nil {
		return Result{}, err
	}
	socks, srcs, err := openSockets(cfg)
	if err != nil {
		return Result{}, err
	}
	defer func() {
		for _, s := range socks {
			s.Close()
		}
	}()
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	g := newGen(cfg, seed)
	res := Result{Sockets: len(socks), Sources: srcs}
	target := net.UDPAddrFromAddrPort(cfg.Target)
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	buf := make([]byte, 0, 2048)
	for i := 0; i < cfg.Count; i++ {
		if i%256 == 0 {
			// Check the bounds every few packets: time.Now and a channel
			// poll per packet would cost more than the packet.
			if ctx.Err() != nil {
				res.Canceled = true
				break
			}
			if !time.Now().Before(deadline) {
				break
			}
		}
		buf = g.next(buf[:0], time.Now())
		if _, err := socks[i%len(socks)].WriteToUDP(buf, target); err != nil {
			res.Errors++
			res.LastErr = err
			continue
		}
		res.Sent++
		res.Bytes += len(buf)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

func openSockets(cfg Config) ([]*net.UDPConn, []netip.Addr, error) {
	nsrc, nport := max(cfg.Sources, 1), max(cfg.Ports, 1)
	v6 := cfg.Target.Addr().Is6() && !cfg.Target.Addr().Is4In6()
	if v6 {
		nsrc = 1
	}
	var socks []*net.UDPConn
	var srcs []netip.Addr
	for i := range nsrc {
		a := SourceAddr(i)
		if cfg.FromLocalhost {
			a = netip.AddrFrom4([4]byte{127, 0, 0, 1})
			if i > 0 {
				a = SourceAddr(i - 1)
			}
		}
		if v6 {
			a = netip.IPv6Loopback()
		}
		srcs = append(srcs, a)
		for range nport {
			c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
			if err != nil {
				for _, s := range socks {
					s.Close()
				}
				return nil, nil, fmt.Errorf("flood: bind %v: %w", a, err)
			}
			socks = append(socks, c)
		}
	}
	return socks, srcs, nil
}

// gen builds the packets of one flood into a caller's buffer.
type gen struct {
	cfg    Config
	rng    *rand.Rand
	n      int
	cookie []byte // scratch for forged cookies
	init   chunk.InitChunk
}

func newGen(cfg Config, seed uint64) *gen {
	return &gen{cfg: cfg, rng: rand.New(rand.NewPCG(seed, seed^0x5c7f)), cookie: make([]byte, 96)}
}

// forgedCookieLen is the length of a pgsctp state cookie for a peer that
// presented one IPv4 address (assoc's cookieFixedLen, 5 bytes of address,
// a 32-byte MAC).
const forgedCookieLen = 54 + 5 + 32

func (g *gen) header(b []byte, srcPort uint16, vtag uint32) []byte {
	return chunk.AppendHeader(b, chunk.Header{SrcPort: srcPort, DstPort: g.cfg.DstPort, VerificationTag: vtag})
}

func (g *gen) tag() uint32 {
	for {
		if v := g.rng.Uint32(); v != 0 {
			return v
		}
	}
}

func (g *gen) port() uint16 { return uint16(1024 + g.rng.IntN(64512)) }

func (g *gen) next(b []byte, now time.Time) []byte {
	g.n++
	switch g.cfg.Kind {
	case Init:
		b = g.header(b, g.port(), 0)
		g.init = chunk.InitChunk{InitiateTag: g.tag(), AdvRecvWindow: 1 << 16, OutboundStreams: 10, InboundStreams: 10, InitialTSN: g.rng.Uint32()}
		b = g.init.Append(b)
	case ForgedCookie:
		for i := 0; i+8 <= len(g.cookie); i += 8 {
			binary.LittleEndian.PutUint64(g.cookie[i:], g.rng.Uint64())
		}
		c := g.cookie[:forgedCookieLen]
		c[0] = 1 // the cookie version
		binary.BigEndian.PutUint64(c[1:9], uint64(now.UnixNano()))
		b = g.header(b, g.port(), g.tag())
		b = (&chunk.CookieEchoChunk{Cookie: c}).Append(b)
	case ExpiredCookie:
		ck := g.cfg.Cookies[g.n%len(g.cfg.Cookies)]
		b = g.header(b, ck.SrcPort, ck.Tag)
		b = (&chunk.CookieEchoChunk{Cookie: ck.Cookie}).Append(b)
	case OOTB:
		b = g.header(b, g.port(), g.tag())
		switch g.rng.IntN(7) {
		case 0:
			b = (&chunk.DataChunk{Beginning: true, Ending: true, TSN: g.rng.Uint32(), UserData: g.cookie[:8]}).Append(b)
		case 1:
			b = (&chunk.SackChunk{CumTSNAck: g.rng.Uint32(), AdvRecvWindow: 1 << 16}).Append(b)
		case 2:
			b = (&chunk.HeartbeatChunk{Info: g.cookie[:8]}).Append(b)
		case 3:
			b = (&chunk.ShutdownChunk{CumTSNAck: g.rng.Uint32()}).Append(b)
		case 4:
			b = (&chunk.ShutdownAckChunk{}).Append(b)
		case 5:
			b = (&chunk.ErrorChunk{}).Append(b)
		default:
			b = (&chunk.UnknownChunk{ChunkType: 0x3f, Value: g.cookie[:4]}).Append(b)
		}
	case Garbage:
		n := 1 + g.rng.IntN(200)
		for range n {
			b = append(b, byte(g.rng.Uint32()))
		}
		return b
	}
	chunk.SetChecksum(b)
	return b
}
