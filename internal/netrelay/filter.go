package netrelay

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// This file is the test side of a Relay: a packet view parsed here
// independently of package chunk (so that tests do not trust the codec
// they check), and a Filter that keeps a ladder of what crossed, drops
// the datagrams its rules select and tracks whether each drop was
// recovered (the same chunk type or DATA TSN crossing again).

// Chunk types (RFC 9260 section 3.2) that tests look for.
const (
	TypeData             byte = 0
	TypeInit                  = 1
	TypeInitAck               = 2
	TypeSack                  = 3
	TypeHeartbeat             = 4
	TypeHeartbeatAck          = 5
	TypeAbort                 = 6
	TypeShutdown              = 7
	TypeShutdownAck           = 8
	TypeError                 = 9
	TypeCookieEcho            = 10
	TypeCookieAck             = 11
	TypeShutdownComplete      = 14
	TypePad                   = 0x84 // RFC 4820
)

var chunkNames = map[byte]string{
	TypeData: "DATA", TypeInit: "INIT", TypeInitAck: "INIT-ACK", TypeSack: "SACK", TypeHeartbeat: "HB",
	TypeHeartbeatAck: "HB-ACK", TypeAbort: "ABORT", TypeShutdown: "SHUTDOWN", TypeShutdownAck: "SHUTDOWN-ACK",
	TypeError: "ERROR", TypeCookieEcho: "COOKIE-ECHO", TypeCookieAck: "COOKIE-ACK", TypeShutdownComplete: "SHUTDOWN-COMPLETE",
	0xC0: "FORWARD-TSN", 0x0F: "AUTH", 0xC1: "ASCONF", 0x80: "ASCONF-ACK", 0x82: "RE-CONFIG", TypePad: "PAD",
}

// Chunk is one chunk of a packet, parsed here independently of package
// chunk so that the tests do not trust the codec they check.
type Chunk struct {
	Type, Flags byte
	Value       []byte // without the chunk header and padding
}

// String names the chunk, with the fields a ladder needs.
func (c Chunk) String() string {
	n, ok := chunkNames[c.Type]
	if !ok {
		n = fmt.Sprintf("type%d", c.Type)
	}
	switch c.Type {
	case TypeData:
		if len(c.Value) >= 12 {
			return fmt.Sprintf("DATA(tsn=%d sid=%d len=%d flags=%#x)", binary.BigEndian.Uint32(c.Value), binary.BigEndian.Uint16(c.Value[4:]), len(c.Value)-12, c.Flags)
		}
	case TypeShutdownComplete, TypeAbort:
		if c.Flags&1 != 0 {
			return n + "(T)" // the T bit: the sender had no TCB (RFC 9260 3.3.7, 3.3.13)
		}
	case TypeSack:
		if len(c.Value) >= 12 {
			return fmt.Sprintf("SACK(cum=%d gaps=%d dups=%d)", binary.BigEndian.Uint32(c.Value), binary.BigEndian.Uint16(c.Value[8:]), binary.BigEndian.Uint16(c.Value[10:]))
		}
	}
	return n
}

// Packet is a parsed SCTP common header and its chunks.
type Packet struct {
	Src, Dst uint16
	Tag      uint32
	Chunks   []Chunk
}

// ParsePacket parses the common header and chunk headers of b; Values
// alias b.
func ParsePacket(b []byte) (Packet, error) {
	var p Packet
	if len(b) < 12 {
		return p, fmt.Errorf("%d bytes: shorter than the common header", len(b))
	}
	p.Src, p.Dst, p.Tag = binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:]), binary.BigEndian.Uint32(b[4:])
	for rest := b[12:]; len(rest) > 0; {
		if len(rest) < 4 {
			return p, errors.New("truncated chunk header")
		}
		l := int(binary.BigEndian.Uint16(rest[2:]))
		if l < 4 || l > len(rest) {
			return p, fmt.Errorf("chunk length %d with %d bytes left", l, len(rest))
		}
		p.Chunks = append(p.Chunks, Chunk{Type: rest[0], Flags: rest[1], Value: rest[4:l]})
		rest = rest[min((l+3)&^3, len(rest)):]
	}
	return p, nil
}

// Has says whether the packet holds a chunk of type t.
func (p Packet) Has(t byte) bool {
	for _, c := range p.Chunks {
		if c.Type == t {
			return true
		}
	}
	return false
}

// First returns the packet's first chunk of type t.
func (p Packet) First(t byte) (Chunk, bool) {
	for _, c := range p.Chunks {
		if c.Type == t {
			return c, true
		}
	}
	return Chunk{}, false
}

// Filter is a Relay inspection function (Options.Inspect: f.Inspect) that
// records a ladder of what crossed and drops the datagrams a rule selects.
type Filter struct {
	// Drop, if set, is asked about every datagram (in the order they
	// cross, per direction) and returns true to drop it.
	Drop func(d Direction, p Packet) bool
	// Seen, if set, sees every parsed datagram (dropped ones too).
	Seen func(d Direction, p Packet, raw []byte)

	// Mu is held while Drop and Seen run; a test takes it to read what
	// its Seen recorded. It guards the fields below.
	Mu      sync.Mutex
	ladder  []string
	n       int
	dropped []string
	bad     []string
	// Recovery bookkeeping: chunk types and DATA TSNs dropped in a
	// direction and not yet seen forwarded in that direction since.
	lostTypes map[dirType]int
	lostTSNs  map[dirTSN]bool
	sentTSNs  map[dirTSN]bool // DATA TSNs forwarded at least once
	// counts of forwarded datagrams holding a chunk type.
	counts map[dirType]int
}

type dirType struct {
	d Direction
	t byte
}

type dirTSN struct {
	d   Direction
	tsn uint32
}

// Inspect is the Relay's Options.Inspect: it records d and b and says
// whether to forward b.
func (f *Filter) Inspect(d Direction, b []byte) bool {
	p, err := ParsePacket(b)
	f.Mu.Lock()
	defer f.Mu.Unlock()
	if err != nil {
		f.bad = append(f.bad, fmt.Sprintf("dir %d: %v: %x", d, err, b))
		return true
	}
	if f.Seen != nil {
		f.Seen(d, p, b)
	}
	drop := f.Drop != nil && f.Drop(d, p)
	if f.lostTypes == nil {
		f.lostTypes, f.lostTSNs, f.sentTSNs, f.counts = map[dirType]int{}, map[dirTSN]bool{}, map[dirTSN]bool{}, map[dirType]int{}
	}
	for _, c := range p.Chunks {
		k := dirType{d, c.Type}
		switch {
		case drop && c.Type == TypeError:
			// An ERROR has no retransmission: pgsctp bundles its report
			// of unrecognized parameters with the first COOKIE ECHO
			// (RFC 9260 section 3.2.2), not with the ones T1-cookie
			// resends.
		case drop && c.Type == TypeData:
			// DATA is tracked by TSN below.
		case drop:
			f.lostTypes[k]++
		default:
			delete(f.lostTypes, k)
			f.counts[k]++
		}
		if c.Type == TypeData && len(c.Value) >= 4 {
			k := dirTSN{d, binary.BigEndian.Uint32(c.Value)}
			switch {
			case !drop:
				delete(f.lostTSNs, k)
				f.sentTSNs[k] = true
			case !f.sentTSNs[k]:
				// A dropped copy of a TSN that already crossed (a
				// spurious retransmission) needs no recovery.
				f.lostTSNs[k] = true
			}
		}
	}
	arrow := "client -> server"
	if d == ToClient {
		arrow = "client <- server"
	}
	line := fmt.Sprintf("%s %v", arrow, p.Chunks)
	if drop {
		line += "  DROPPED"
		f.dropped = append(f.dropped, line)
	}
	f.n++
	f.ladder = append(f.ladder, line)
	if len(f.ladder) > 80 {
		f.ladder = f.ladder[len(f.ladder)-80:]
	}
	return !drop
}

// Tail returns the last 80 ladder lines.
func (f *Filter) Tail() []string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return append([]string(nil), f.ladder...)
}

// Total returns how many datagrams crossed, dropped ones included.
func (f *Filter) Total() int {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return f.n
}

// Dropped returns the ladder lines of the dropped datagrams.
func (f *Filter) Dropped() []string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return append([]string(nil), f.dropped...)
}

// Unrecovered lists what was dropped and never seen again in the same
// direction: chunk types (a retransmitted INIT, COOKIE ECHO, SHUTDOWN, ...,
// or the answer to one) and DATA TSNs (a retransmission).
func (f *Filter) Unrecovered() []string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	var out []string
	for k := range f.lostTypes {
		out = append(out, fmt.Sprintf("direction %d: %s", k.d, Chunk{Type: k.t}))
	}
	for k := range f.lostTSNs {
		out = append(out, fmt.Sprintf("direction %d: DATA TSN %d", k.d, k.tsn))
	}
	return out
}

// Count returns how many forwarded datagrams in direction d held a chunk
// of type t.
func (f *Filter) Count(d Direction, t byte) int {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return f.counts[dirType{d, t}]
}

// Problems lists the datagrams that did not parse as SCTP.
func (f *Filter) Problems() []string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return append([]string(nil), f.bad...)
}

// DropNth returns a drop rule that drops, in direction d, the k-th
// (1-based) datagram holding a chunk of type ct, for each k in nth.
// Called with the filter's lock held.
func DropNth(d Direction, ct byte, nth ...int) func(Direction, Packet) bool {
	seen := 0
	return func(dd Direction, p Packet) bool {
		if dd != d || !p.Has(ct) {
			return false
		}
		seen++
		for _, k := range nth {
			if k == seen {
				return true
			}
		}
		return false
	}
}

// AnyOf combines drop rules: a datagram is dropped if one rule says so.
// Every rule sees every datagram, so their counts stay right.
func AnyOf(rules ...func(Direction, Packet) bool) func(Direction, Packet) bool {
	return func(d Direction, p Packet) bool {
		drop := false
		for _, r := range rules {
			if r(d, p) {
				drop = true
			}
		}
		return drop
	}
}
