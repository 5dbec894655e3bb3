package assoctest

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// Direction is the way a packet travels.
type Direction uint8

// Directions.
const (
	AtoZ Direction = iota
	ZtoA
)

func (d Direction) String() string {
	if d == AtoZ {
		return "A->Z"
	}
	return "Z->A"
}

// Verdict is what a Hook decides for a packet.
type Verdict uint8

// Verdicts.
const (
	Pass      Verdict = iota // deliver (after any Delay the hook added)
	Drop                     // lose the packet
	Duplicate                // deliver it twice
)

// Packet is a packet entering a link, as a Hook sees it.
type Packet struct {
	Dir  Direction
	Sent time.Time
	// Data is the packet. A hook may modify it or replace it (call
	// SetChecksum afterwards unless the point is a bad checksum).
	Data []byte
	// Chunks are the chunk types of Data when it entered the link.
	Chunks []chunk.Type
	// Delay is added to the link's delay; a hook may raise it.
	Delay time.Duration
	// N counts the packets offered to this link, from 1.
	N int
	// Fragment: the sender allowed IP fragmentation (Transmit.Fragment),
	// so a packet longer than the link's MTU passes, in fragments.
	Fragment bool
}

// Has reports whether the packet carries a chunk of type t.
func (p *Packet) Has(t chunk.Type) bool { return slices.Contains(p.Chunks, t) }

// Hook inspects, and may change, delay or drop, each packet entering a
// link. Hooks run in order; the first Drop wins.
type Hook func(p *Packet) Verdict

// LinkConfig is one direction's network. The zero value is a perfect,
// instantaneous link.
type LinkConfig struct {
	// Delay is the one-way latency; each packet also gets a uniform
	// random extra in [0, Jitter), which reorders packets when Jitter is
	// larger than their spacing.
	Delay, Jitter time.Duration
	// Loss is the probability that a packet is lost. With LossTypes set,
	// only packets carrying one of those chunk types are subject to it.
	Loss      float64
	LossTypes []chunk.Type
	// Duplicate is the probability that a packet is delivered twice (the
	// copy gets its own delay and jitter).
	Duplicate float64
	// Reorder is the probability that a packet is held back an extra
	// ReorderDelay (zero: 20ms) so that later packets overtake it.
	Reorder      float64
	ReorderDelay time.Duration
	// MTU drops packets longer than MTU bytes (the SCTP packet, as the
	// core emits it), as a path that drops what has DF set and sends no
	// ICMP would, unless the packet may be fragmented (Packet.Fragment);
	// zero: no limit.
	MTU int
	// Down drops everything: a peer that vanished.
	Down bool
	// Hooks run on each packet in order, after Down and MTU and before
	// random loss.
	Hooks []Hook
}

// Link carries packets one way. Its LinkConfig fields may be changed by a
// test between steps.
type Link struct {
	LinkConfig
	Dir Direction
	// From and To are the addresses of a pair's own link (Pair.Link);
	// zero on the two direction links, which carry every other pair.
	From, To netip.Addr

	rng   *rand.Rand
	pair  *Pair
	n     int
	queue []inflight // sorted by (at, seq)
}

type inflight struct {
	at       time.Time
	seq      uint64
	data     []byte
	to       *Peer
	src, dst netip.AddrPort
	idx      int // ladder entry
}

// Fates written to the ladder.
const (
	fateLost     = "lost"
	fateDown     = "dropped: link down"
	fateTooBig   = "dropped: larger than link MTU"
	fateHook     = "dropped by hook"
	fateMisaddr  = "dropped: addressed to nobody"
	fateInjected = "injected"
)

// send offers a packet from src to dst (an address of to) to the link at
// now.
func (l *Link) send(now time.Time, data []byte, fragment bool, to *Peer, src, dst netip.AddrPort) {
	l.n++
	p := &Packet{Dir: l.Dir, Sent: now, Data: data, Chunks: ChunkTypes(data), N: l.n, Fragment: fragment}
	fate := ""
	dup := false
	switch {
	case l.Down:
		fate = fateDown
	case l.MTU > 0 && len(data) > l.MTU && !fragment:
		fate = fateTooBig
	}
	if fate == "" {
		for _, h := range l.Hooks {
			v := h(p)
			if v == Drop {
				fate = fateHook
				break
			}
			if v == Duplicate {
				dup = true
			}
		}
	}
	// Random draws happen for every packet, dropped or not, in the same
	// order, so that a hook added to a test does not change what the
	// random loss does to the other packets.
	loss := l.rng.Float64()
	dupDraw := l.rng.Float64()
	reorder := l.rng.Float64()
	jitter := l.rng.Float64()
	jitter2 := l.rng.Float64()
	if fate == "" && l.Loss > 0 && loss < l.Loss && (len(l.LossTypes) == 0 || slices.ContainsFunc(l.LossTypes, p.Has)) {
		fate = fateLost
	}
	at := now.Add(l.Delay + p.Delay + time.Duration(jitter*float64(l.Jitter)))
	if l.Reorder > 0 && reorder < l.Reorder {
		rd := l.ReorderDelay
		if rd == 0 {
			rd = 20 * time.Millisecond
		}
		at = at.Add(rd)
	}
	e := Entry{Kind: KindPacket, At: now, Dir: l.Dir, Data: p.Data, Frag: fragment}
	if l.pair.A != nil && (len(l.pair.A.Addrs) > 1 || len(l.pair.Z.Addrs) > 1) {
		e.Src, e.Dst = src, dst // with one path, the ladder says nothing of addresses
	}
	if fate != "" {
		e.Fate = fate
		l.pair.Ladder.add(e)
		return
	}
	e.Arrive = at
	l.enqueue(at, p.Data, to, src, dst, e)
	if dup || (l.Duplicate > 0 && dupDraw < l.Duplicate) {
		at2 := now.Add(l.Delay + p.Delay + time.Duration(jitter2*float64(l.Jitter)))
		e.Arrive, e.Dup = at2, true
		l.enqueue(at2, p.Data, to, src, dst, e)
	}
}

func (l *Link) enqueue(at time.Time, data []byte, to *Peer, src, dst netip.AddrPort, e Entry) {
	l.pair.seq++
	f := inflight{at: at, seq: l.pair.seq, data: data, to: to, src: src, dst: dst, idx: l.pair.Ladder.add(e)}
	i, _ := slices.BinarySearchFunc(l.queue, f, func(a, b inflight) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		if a.seq < b.seq {
			return -1
		}
		if a.seq > b.seq {
			return 1
		}
		return 0
	})
	l.queue = slices.Insert(l.queue, i, f)
}

// InFlight is the number of packets on the link.
func (l *Link) InFlight() int { return len(l.queue) }

// next is the arrival time of the first packet in flight (zero: none).
func (l *Link) next() time.Time {
	if len(l.queue) == 0 {
		return time.Time{}
	}
	return l.queue[0].at
}

// Hook helpers. Each returns a fresh Hook with its own counter.

// DropFirst drops the first n packets that carry a chunk of type t.
func DropFirst(t chunk.Type, n int) Hook {
	seen := 0
	return func(p *Packet) Verdict {
		if p.Has(t) && seen < n {
			seen++
			return Drop
		}
		return Pass
	}
}

// DropNth drops only the k-th packet (counting from 1) that carries t.
func DropNth(t chunk.Type, k int) Hook {
	seen := 0
	return func(p *Packet) Verdict {
		if p.Has(t) {
			seen++
			if seen == k {
				return Drop
			}
		}
		return Pass
	}
}

// DropAll drops every packet that carries t.
func DropAll(t chunk.Type) Hook {
	return func(p *Packet) Verdict {
		if p.Has(t) {
			return Drop
		}
		return Pass
	}
}

// DropIf drops packets for which cond is true.
func DropIf(cond func(p *Packet) bool) Hook {
	return func(p *Packet) Verdict {
		if cond(p) {
			return Drop
		}
		return Pass
	}
}

// DelayFirst holds the first n packets carrying t back by d more.
func DelayFirst(t chunk.Type, n int, d time.Duration) Hook {
	seen := 0
	return func(p *Packet) Verdict {
		if p.Has(t) && seen < n {
			seen++
			p.Delay += d
		}
		return Pass
	}
}

// Rewrite applies f to the chunks of type t in the first n packets that
// carry t (n < 0: all of them), rebuilds the packet and fixes its checksum:
// a way to change one field and nothing else. f may change the chunk's
// flags and value, or replace the value (shorter or longer).
func Rewrite(t chunk.Type, n int, f func(c *RawChunk)) Hook {
	seen := 0
	return func(p *Packet) Verdict {
		if !p.Has(t) || (n >= 0 && seen >= n) {
			return Pass
		}
		seen++
		cs, _ := Chunks(p.Data)
		data := append(make([]byte, 0, len(p.Data)+64), p.Data[:chunk.HeaderLen]...)
		for i := range cs {
			c := cs[i]
			c.Value = append([]byte(nil), c.Value...)
			if c.Type == t {
				f(&c)
			}
			data = AppendChunk(data, c)
		}
		SetChecksum(data)
		p.Data = data
		return Pass
	}
}
