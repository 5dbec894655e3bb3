package assoc

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"time"
)

// ReplyLimits bounds what an Endpoint sends in answer to packets that
// belong to no association. Such packets cost an attacker nothing to
// forge, and every answer goes to whatever source address the packet
// claims: without limits an Endpoint is a reflector aimed at a third
// party, and answering a flood costs the server as much as the flood.
//
// RFC 9260 section 8.4 makes the out-of-the-blue answers SHOULDs and
// leaves their rate to the implementation; section 5.1.3 keeps the INIT
// ACK stateless but says nothing about its rate. Each limit is a token
// bucket per source address and one global bucket. The per-source buckets
// are a fixed table, so memory stays the same whatever the number of
// sources: each address has two buckets in it, chosen by a keyed hash,
// and gets an answer while either has room. A flooding address fills
// both of its own; another address that shares one of them still has
// the other (with 16 flooding addresses in 1024 buckets, an address loses
// both about once in 1,000 instead of once in 64). A bucket holds one
// second's worth of its rate, so a quiet source may send that many
// packets at once and then one per 1/rate.
//
// The zero value of each field means the default stated; a negative value
// removes that limit.
type ReplyLimits struct {
	// OOTBPerSource is how many out-of-the-blue answers (ABORT, ERROR
	// with a Stale Cookie, SHUTDOWN COMPLETE, and the ABORT that refuses
	// an INIT or a COOKIE ECHO) one source address gets per second,
	// default 10. A real peer needs at most a few: they answer its
	// retransmissions to an association that is gone.
	OOTBPerSource int
	// OOTBGlobal is how many out-of-the-blue answers all sources get per
	// second together, default 1000: the most a flood of forged sources
	// can make the endpoint reflect.
	OOTBGlobal int
	// InitAckPerSource is how many INIT ACKs one source address gets per
	// second, default 1000. It must allow for a proxy or a NAT that opens
	// many associations at once from one address; it keeps a flood from
	// one address from costing a cookie signature per packet.
	InitAckPerSource int
	// InitAckPerPort is how many INIT ACKs one source address and UDP
	// port (one of the peer's sockets) gets per second once its address
	// has used up InitAckPerSource, default 10; InitAckPortGlobal is how
	// many such answers all sources get together, default 1000. A flood
	// from one address then cannot starve the other sockets of that
	// address (clients on the attacker's host, or behind the same NAT):
	// their first INITs are answered. The global bound keeps a flood
	// that sprays source ports from reflecting more than
	// InitAckPerSource+InitAckPortGlobal INIT ACKs a second at one
	// address. A negative InitAckPerPort turns the second chance off.
	InitAckPerPort    int
	InitAckPortGlobal int
	// InitAckGlobal is how many INIT ACKs all sources get per second
	// together; default none (negative or zero: no global limit). A global
	// limit turns a flood from forged addresses into a denial of service
	// for every legitimate client, which a stateless handshake exists to
	// avoid; set it only to cap the bytes the endpoint may reflect.
	InitAckGlobal int
}

// Defaults of ReplyLimits.
const (
	DefaultOOTBPerSource     = 10
	DefaultOOTBGlobal        = 1000
	DefaultInitAckPerSource  = 1000
	DefaultInitAckPerPort    = 10
	DefaultInitAckPortGlobal = 1000
)

func (l ReplyLimits) withDefaults() ReplyLimits {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.OOTBPerSource, DefaultOOTBPerSource)
	def(&l.OOTBGlobal, DefaultOOTBGlobal)
	def(&l.InitAckPerSource, DefaultInitAckPerSource)
	def(&l.InitAckPerPort, DefaultInitAckPerPort)
	def(&l.InitAckPortGlobal, DefaultInitAckPortGlobal)
	def(&l.InitAckGlobal, -1)
	return l
}

// limiterSlots is the size of each per-source table: 1024 buckets of 8
// bytes. Sources beyond that share buckets; the global bucket still
// bounds the total.
const limiterSlots = 1024

// replyLimiter is a pair of rate limits (per source and global) as GCRA
// token buckets: each bucket is one "theoretical arrival time" in
// nanoseconds, so the accounting is exact integer arithmetic in the
// caller's time and a bucket costs 8 bytes. Not safe for concurrent use.
type replyLimiter struct {
	key    [2]uint64 // hash key, secret so a source cannot aim at a bucket
	slots  [limiterSlots]int64
	global int64
}

// gcra decides whether one more packet fits a bucket of rate per second
// (burst of rate) whose state is *tat, at now (ns). It returns the new
// state and whether the packet fits; the caller commits the state only
// when every bucket involved agrees.
func gcra(tat, now int64, rate int) (int64, bool) {
	if rate < 0 {
		return tat, true
	}
	interval := int64(time.Second) / int64(rate)
	if tat < now || tat-now > int64(rate)*interval {
		// An idle bucket is full; and a backlog longer than a full
		// bucket can only mean the clock stepped back (wall time is
		// what the driver passes): forget it rather than stay silent
		// until the clock catches up.
		tat = now
	}
	// A bucket of rate tokens refills one every interval: the packet fits
	// while the backlog it leaves is at most rate-1 intervals.
	if tat-now > int64(rate-1)*interval {
		return tat, false
	}
	return tat + interval, true
}

// allow reports whether a reply to src fits the global rate and either
// of src's two per-source buckets, and if it does takes a token from the
// global bucket and from each of src's that has one. A source alone in
// its buckets keeps them in step and gets exactly perSource a second.
func (l *replyLimiter) allow(now time.Time, src netip.Addr, perSource, global int) bool {
	return l.take(now, src, 0, perSource, global) == taken
}

// A take's outcome.
const (
	taken      = iota // the reply fits; its tokens are taken
	sourceFull        // the source's buckets are empty; nothing taken
	globalFull        // the global bucket is empty; nothing taken
)

// take is allow for the source (a, port), telling why a reply does not
// fit. Tables keyed by address alone use port 0.
func (l *replyLimiter) take(now time.Time, a netip.Addr, port uint16, perSource, global int) int {
	ns := now.UnixNano()
	g, okg := gcra(l.global, ns, global)
	if !okg {
		return globalFull
	}
	i, j := l.slots2(a, port)
	si, oki := gcra(l.slots[i], ns, perSource)
	sj, okj := gcra(l.slots[j], ns, perSource)
	if !oki && !okj {
		return sourceFull
	}
	// A full bucket is left as it is: charging it would push it past a
	// bucket's worth, which gcra takes for a clock stepping back.
	if oki {
		l.slots[i] = si
	}
	if okj {
		l.slots[j] = sj
	}
	l.global = g
	return taken
}

// takeGlobal takes a token from the global bucket if it has one.
func (l *replyLimiter) takeGlobal(now time.Time, global int) {
	if g, ok := gcra(l.global, now.UnixNano(), global); ok {
		l.global = g
	}
}

// slots2 is the pair of buckets of source (a, port).
func (l *replyLimiter) slots2(a netip.Addr, port uint16) (int, int) {
	b := a.Unmap().As16()
	h := mix64(binary.BigEndian.Uint64(b[:8]) ^ l.key[0])
	h = mix64(h ^ binary.BigEndian.Uint64(b[8:]) ^ l.key[1] ^ uint64(port)<<48)
	return int(h % limiterSlots), int((h >> 32) % limiterSlots)
}

// mix64 is the splitmix64 finaliser: every input bit moves every output
// bit, which with a secret key is enough to spread addresses over the
// table (a source that could predict collisions could only share a
// victim's rate, never exceed the global one).
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newReplyLimiter keys the table from the cookie secret through a one-way
// hash: no randomness is drawn (the Endpoint's random source stays as it
// was) and nothing about the secret can be learned from the buckets.
func newReplyLimiter(s *cookieSigner) *replyLimiter {
	h := sha256.Sum256(append([]byte("pgsctp reply limiter\x00"), s.master[:]...))
	return &replyLimiter{key: [2]uint64{binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:16])}}
}
