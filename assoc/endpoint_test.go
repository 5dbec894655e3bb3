package assoc

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// Tests of the Endpoint's answers to packets of no association: their size
// (no amplification) and their rate (ReplyLimits), in virtual time.

var (
	epNow  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	epAddr = netip.MustParseAddrPort("127.0.0.2:9899")
)

func testEndpoint(t testing.TB, cfg Config, accept bool) *Endpoint {
	if cfg.Rand == nil {
		cfg.Rand = rand.NewChaCha8([32]byte{1})
	}
	if cfg.LocalPort == 0 {
		cfg.LocalPort = 5432
	}
	e, err := NewEndpoint(epNow, cfg, accept)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// pkt builds a packet with a valid checksum.
func pkt(vtag uint32, cs ...chunk.Chunk) []byte {
	b := chunk.AppendHeader(nil, chunk.Header{SrcPort: 5001, DstPort: 5432, VerificationTag: vtag})
	for _, c := range cs {
		b = c.Append(b)
	}
	chunk.SetChecksum(b)
	return b
}

// minimalInit is the smallest valid INIT: 32 bytes, no parameters.
func minimalInit() []byte {
	return pkt(0, &chunk.InitChunk{InitiateTag: 0x11111111, AdvRecvWindow: 65536, OutboundStreams: 1, InboundStreams: 1, InitialTSN: 1})
}

// src is the i-th distinct source address of 127.0.0.0/8.
func src(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, byte(i >> 16), byte(i >> 8), byte(i)}), 40000)
}

func handle(e *Endpoint, now time.Time, from netip.AddrPort, p []byte) (Transmit, bool) {
	tx, ok, _ := e.HandlePacket(now, from, epAddr, p, make([]byte, 2048))
	return tx, ok
}

// RFC 9260 section 8.4 leaves the answers to out-of-the-blue packets to
// the implementation; an answer larger than its question makes the
// endpoint an amplifier for anyone who forges a victim's address. Every
// answer path is checked: none is larger than the packet that provoked it,
// except the INIT ACK (bounded: 128 bytes for a minimal INIT, the INIT's
// size plus maxInitAckGrowth at most) and the ABORT refusing an INIT (at
// most maxRefusal).
func TestEndpointRepliesNoLargerThanProvocation(t *testing.T) {
	long := errors.New(strings.Repeat("address 127.0.0.1 not in allowed_networks; ", 20))
	refuse := Config{Admit: func([]netip.Addr) error { return long }}
	accept := testEndpoint(t, Config{}, true)
	client := testEndpoint(t, Config{}, false)
	refuser := testEndpoint(t, refuse, true)

	// A valid cookie (from an INIT ACK of the accepting endpoint) and the
	// same endpoint's cookie once stale.
	ia, ok := handle(accept, epNow, src(1), minimalInit())
	if !ok {
		t.Fatal("no INIT ACK")
	}
	if len(ia.Packet) != 128 {
		t.Errorf("INIT ACK for a minimal INIT is %d bytes, want 128 (docs/security.md)", len(ia.Packet))
	}
	cookie, ackTag := initAckCookie(t, ia.Packet)
	echo := pkt(ackTag, &chunk.CookieEchoChunk{Cookie: cookie})
	refCookie, refTag := func() ([]byte, uint32) {
		ok := testEndpoint(t, Config{}, true)
		ok.signer = refuser.signer
		tx, _ := handle(ok, epNow, src(2), minimalInit())
		return initAckCookie(t, tx.Packet)
	}()

	badInit := pkt(0, &chunk.InitChunk{InitiateTag: 7, AdvRecvWindow: 65536, OutboundStreams: 0, InboundStreams: 1, InitialTSN: 1})
	cases := []struct {
		name string
		e    *Endpoint
		at   time.Time
		pkt  []byte
		want chunk.Type // the answer expected
	}{
		{"INIT to a client socket (8.4 rule 3)", client, epNow, minimalInit(), chunk.TypeAbort},
		{"INIT with zero outbound streams (3.3.2)", accept, epNow, badInit, chunk.TypeAbort},
		{"INIT refused by Admit", refuser, epNow, minimalInit(), chunk.TypeAbort},
		{"COOKIE ECHO to a client socket", client, epNow, echo, chunk.TypeAbort},
		{"stale COOKIE ECHO (5.1.5 step 3)", accept, epNow.Add(time.Hour), echo, chunk.TypeError},
		{"COOKIE ECHO refused by Admit", refuser, epNow, pkt(refTag, &chunk.CookieEchoChunk{Cookie: refCookie}), chunk.TypeAbort},
		{"SHUTDOWN ACK (8.4 rule 5)", accept, epNow, pkt(9, &chunk.ShutdownAckChunk{}), chunk.TypeShutdownComplete},
		{"empty HEARTBEAT (8.4 rule 8)", accept, epNow, pkt(9, &chunk.HeartbeatChunk{}), chunk.TypeAbort},
		{"unknown chunk (8.4 rule 8)", accept, epNow, pkt(9, &chunk.UnknownChunk{ChunkType: 0x3f}), chunk.TypeAbort},
		{"SACK (8.4 rule 8)", accept, epNow, pkt(9, &chunk.SackChunk{CumTSNAck: 1}), chunk.TypeAbort},
	}
	for i, c := range cases {
		tx, ok := handle(c.e, c.at, src(100+i), c.pkt)
		if !ok {
			t.Errorf("%s: no answer", c.name)
			continue
		}
		if got := chunkTypes(tx.Packet); len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: answered %v, want %v", c.name, got, c.want)
		}
		limit := len(c.pkt)
		if c.name == "INIT refused by Admit" {
			limit = maxRefusal
		}
		if len(tx.Packet) > limit {
			t.Errorf("%s: %d-byte answer to a %d-byte packet (limit %d)", c.name, len(tx.Packet), len(c.pkt), limit)
		}
	}
}

// An INIT can make the INIT ACK grow only by what it brings itself: its
// addresses go into the cookie (at most maxPeerAddrs) and its
// unrecognised parameters come back (section 3.2.1).
func TestInitAckBounded(t *testing.T) {
	e := testEndpoint(t, Config{}, true)
	in := &chunk.InitChunk{InitiateTag: 5, AdvRecvWindow: 65536, OutboundStreams: 1, InboundStreams: 1, InitialTSN: 1}
	for i := range 40 {
		in.Addresses = append(in.Addresses, netip.AddrFrom16([16]byte{0x20, 0x01, 0xd, 0xb8, 15: byte(i + 1)}))
	}
	for i := range 5 {
		in.Unrecognized = append(in.Unrecognized, chunk.RawParam{Type: 0x8100 + uint16(i), Value: make([]byte, 21)})
	}
	p := pkt(0, in)
	tx, ok := handle(e, epNow, src(1), p)
	if !ok {
		t.Fatal("no INIT ACK")
	}
	if len(tx.Packet) > len(p)+maxInitAckGrowth {
		t.Errorf("INIT ACK of %d bytes for a %d-byte INIT: more than %d bytes of growth", len(tx.Packet), len(p), maxInitAckGrowth)
	}
	// Nothing but empty unknown parameters marked "skip and report":
	// each report costs 8 bytes for the INIT's 4.
	in = &chunk.InitChunk{InitiateTag: 5, AdvRecvWindow: 65536, OutboundStreams: 1, InboundStreams: 1, InitialTSN: 1}
	for i := range 200 {
		in.Unrecognized = append(in.Unrecognized, chunk.RawParam{Type: 0xC100 + uint16(i)})
	}
	p = pkt(0, in)
	tx, ok = handle(e, epNow, src(3), p)
	if !ok || len(tx.Packet) > len(p)+maxInitAckGrowth {
		t.Errorf("INIT ACK of %d bytes for a %d-byte INIT of unknown parameters: more than %d bytes of growth", len(tx.Packet), len(p), maxInitAckGrowth)
	}
	var ia chunk.InitAckChunk
	_, cs, _ := chunk.ParseHeader(tx.Packet)
	r := chunk.NewReader(cs)
	r.Next()
	if err := ia.Unmarshal(r.Chunk()); err != nil || len(ia.UnrecognizedParams) != 104 {
		t.Errorf("%d of 200 unknown parameters reported (%v), want the 104 that fit in the INIT's 800 bytes of parameters and 32 of slack", len(ia.UnrecognizedParams), err)
	}
	// The smallest INIT earns the largest ratio: 128/32.
	tx, _ = handle(e, epNow, src(2), minimalInit())
	if len(tx.Packet) != 128 || len(minimalInit()) != 32 {
		t.Errorf("minimal INIT %d bytes, INIT ACK %d bytes; docs/security.md says 32 and 128", len(minimalInit()), len(tx.Packet))
	}
}

// Whatever arrives, no answer but the INIT ACK is larger than its packet:
// random chunks of random types and lengths, from random sources.
func TestEndpointRepliesNoLargerRandom(t *testing.T) {
	e := testEndpoint(t, Config{ReplyLimits: ReplyLimits{OOTBPerSource: -1, OOTBGlobal: -1}}, true)
	rng := rand.New(rand.NewPCG(1, 2))
	answered := 0
	for i := range 20000 {
		v := make([]byte, rng.IntN(64))
		for j := range v {
			v[j] = byte(rng.Uint32())
		}
		p := pkt(rng.Uint32()%3, &chunk.UnknownChunk{ChunkType: chunk.Type(rng.IntN(20)), Flags: uint8(rng.Uint32()), Value: v})
		tx, ok := handle(e, epNow, src(i), p)
		if !ok {
			continue
		}
		answered++
		if ts := chunkTypes(tx.Packet); len(ts) == 1 && ts[0] == chunk.TypeInitAck {
			continue
		}
		if len(tx.Packet) > len(p) {
			t.Fatalf("%d-byte answer %v to a %d-byte packet % x", len(tx.Packet), chunkTypes(tx.Packet), len(p), p)
		}
	}
	if answered == 0 {
		t.Fatal("nothing answered: the test tests nothing")
	}
	st := e.Stats()
	if sum := st.Discarded + st.ForgedCookies + st.InitAcks + st.Replies + st.RateLimited + st.Accepted; sum != st.Packets || st.Packets != 20000 {
		t.Errorf("stats %+v: the fields sum to %d, want every packet once", st, sum)
	}
}

// OOTB answers to one source: a burst of OOTBPerSource, then one per
// 1/OOTBPerSource, exactly, in virtual time.
func TestOOTBRateLimitPerSource(t *testing.T) {
	e := testEndpoint(t, Config{}, true) // defaults: 10 per source, 1000 in all
	abort := pkt(9, &chunk.HeartbeatChunk{})
	count := func(at time.Time, n int, from netip.AddrPort) int {
		got := 0
		for range n {
			if _, ok := handle(e, at, from, abort); ok {
				got++
			}
		}
		return got
	}
	if got := count(epNow, 30, src(1)); got != DefaultOOTBPerSource {
		t.Errorf("30 packets at once: %d answers, want %d", got, DefaultOOTBPerSource)
	}
	if got := count(epNow, 5, src(2)); got != 5 {
		t.Errorf("another source: %d answers of 5, want 5 (its own bucket)", got)
	}
	if got := count(epNow.Add(99*time.Millisecond), 5, src(1)); got != 0 {
		t.Errorf("after 99ms: %d answers, want 0", got)
	}
	if got := count(epNow.Add(100*time.Millisecond), 5, src(1)); got != 1 {
		t.Errorf("after 100ms: %d answers, want 1", got)
	}
	if got := count(epNow.Add(10*time.Second), 30, src(1)); got != DefaultOOTBPerSource {
		t.Errorf("after 10s: %d answers, want a full bucket of %d", got, DefaultOOTBPerSource)
	}
	st := e.Stats()
	if st.Replies != 10+5+1+10 || st.RateLimited != 20+0+5+4+20 || st.Packets != 30+5+5+5+30 {
		t.Errorf("stats %+v", st)
	}
}

// The global cap: a flood from many forged sources, each within its own
// rate, gets OOTBGlobal answers a second in all.
func TestOOTBRateLimitGlobal(t *testing.T) {
	e := testEndpoint(t, Config{ReplyLimits: ReplyLimits{OOTBGlobal: 100}}, true)
	abort := pkt(9, &chunk.HeartbeatChunk{})
	got := 0
	for i := range 5000 {
		if _, ok := handle(e, epNow, src(i), abort); ok {
			got++
		}
	}
	if got != 100 {
		t.Errorf("5000 sources at once: %d answers, want the global 100", got)
	}
	// One token every 10ms.
	got = 0
	for i := range 50 {
		at := epNow.Add(time.Duration(i) * time.Millisecond)
		if _, ok := handle(e, at, src(10000+i), abort); ok {
			got++
		}
	}
	// The burst left a backlog of 100 tokens (1s); one more fits each
	// time 10ms have been paid back: at 10, 20, 30 and 40ms.
	if got != 4 {
		t.Errorf("50 sources over 50ms: %d answers, want 4", got)
	}
}

// INIT ACKs: InitAckPerSource a second from one source; none of the
// forbidden ones costs a cookie (the stats say what happened).
func TestInitAckRateLimit(t *testing.T) {
	e := testEndpoint(t, Config{ReplyLimits: ReplyLimits{InitAckPerSource: 5, InitAckPerPort: -1}}, true)
	got := 0
	for range 20 {
		if _, ok := handle(e, epNow, src(1), minimalInit()); ok {
			got++
		}
	}
	if got != 5 {
		t.Errorf("20 INITs from one source: %d INIT ACKs, want 5", got)
	}
	if _, ok := handle(e, epNow, src(2), minimalInit()); !ok {
		t.Error("a second source got no INIT ACK: there is no global INIT ACK limit by default")
	}
	if _, ok := handle(e, epNow.Add(200*time.Millisecond), src(1), minimalInit()); !ok {
		t.Error("no INIT ACK after one interval (200ms)")
	}
	if st := e.Stats(); st.InitAcks != 7 || st.RateLimited != 15 {
		t.Errorf("stats %+v, want 7 INIT ACKs and 15 rate limited", st)
	}

	// The default per source allows a proxy's burst of 1000 associations.
	e = testEndpoint(t, Config{ReplyLimits: ReplyLimits{InitAckPerPort: -1}}, true)
	got = 0
	for range 1001 {
		if _, ok := handle(e, epNow, src(1), minimalInit()); ok {
			got++
		}
	}
	if got != DefaultInitAckPerSource {
		t.Errorf("1001 INITs at once: %d INIT ACKs, want %d", got, DefaultInitAckPerSource)
	}

	// A global limit, when asked for.
	e = testEndpoint(t, Config{ReplyLimits: ReplyLimits{InitAckGlobal: 3}}, true)
	got = 0
	for i := range 10 {
		if _, ok := handle(e, epNow, src(i), minimalInit()); ok {
			got++
		}
	}
	if got != 3 {
		t.Errorf("10 sources, InitAckGlobal 3: %d INIT ACKs", got)
	}
}

// Negative limits switch limiting off; SetConfig changes the rates of the
// buckets in place.
func TestReplyLimitsConfig(t *testing.T) {
	e := testEndpoint(t, Config{ReplyLimits: ReplyLimits{OOTBPerSource: -1, OOTBGlobal: -1}}, true)
	abort := pkt(9, &chunk.HeartbeatChunk{})
	for i := range 5000 {
		if _, ok := handle(e, epNow, src(1), abort); !ok {
			t.Fatalf("answer %d refused with limits off", i)
		}
	}
	e.SetConfig(Config{LocalPort: 5432, ReplyLimits: ReplyLimits{OOTBPerSource: 2}})
	got := 0
	for range 10 {
		if _, ok := handle(e, epNow.Add(time.Hour), src(1), abort); ok {
			got++
		}
	}
	if got != 2 {
		t.Errorf("after SetConfig with OOTBPerSource 2: %d answers, want 2", got)
	}
	if d := (ReplyLimits{}).withDefaults(); d.OOTBPerSource != 10 || d.OOTBGlobal != 1000 || d.InitAckPerSource != 1000 || d.InitAckGlobal >= 0 {
		t.Errorf("defaults %+v differ from the documentation", d)
	}
}

// The limiter is exact integer arithmetic: gcra's burst and interval.
func TestGCRA(t *testing.T) {
	var tat int64
	ok := 0
	for range 10 {
		tat2, fits := gcra(tat, 1000, 4)
		if fits {
			tat = tat2
			ok++
		}
	}
	if ok != 4 {
		t.Errorf("burst %d, want 4", ok)
	}
	if _, fits := gcra(tat, 1000+int64(time.Second/4)-1, 4); fits {
		t.Error("a token before the interval")
	}
	if _, fits := gcra(tat, 1000+int64(time.Second/4), 4); !fits {
		t.Error("no token after the interval")
	}
	// The clock stepped back an hour: the bucket starts over, full.
	if _, fits := gcra(tat, 1000-int64(time.Hour), 4); !fits {
		t.Error("a clock that stepped back silenced the limiter")
	}
	if _, fits := gcra(tat, 0, -1); !fits {
		t.Error("a negative rate must not limit")
	}
}

func chunkTypes(p []byte) []chunk.Type {
	_, cs, err := chunk.ParseHeader(p)
	if err != nil {
		return nil
	}
	var out []chunk.Type
	r := chunk.NewReader(cs)
	for r.Next() {
		out = append(out, r.Chunk().Type)
	}
	return out
}

// initAckCookie returns the State Cookie of an INIT ACK packet and the tag
// a COOKIE ECHO must carry (the INIT ACK's Initiate Tag).
func initAckCookie(t testing.TB, p []byte) ([]byte, uint32) {
	t.Helper()
	_, cs, err := chunk.ParseHeader(p)
	if err != nil {
		t.Fatal(err)
	}
	r := chunk.NewReader(cs)
	if !r.Next() {
		t.Fatal("empty INIT ACK packet")
	}
	var ia chunk.InitAckChunk
	if err := ia.Unmarshal(r.Chunk()); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), ia.StateCookie...), ia.InitiateTag
}

// FuzzEndpointReply: any packet, from any source, at any time: the
// endpoint does not panic, and no answer but the INIT ACK is larger than
// the packet (the refusal of an INIT aside, which this endpoint never
// makes: it admits everyone).
func FuzzEndpointReply(f *testing.F) {
	f.Add(uint32(0), uint16(5432), int64(0), minimalInit()[12:])
	f.Add(uint32(9), uint16(5432), int64(0), pkt(9, &chunk.ShutdownAckChunk{})[12:])
	f.Add(uint32(9), uint16(5432), int64(0), pkt(9, &chunk.CookieEchoChunk{Cookie: make([]byte, 120)})[12:])
	f.Add(uint32(9), uint16(1), int64(1), pkt(9, &chunk.HeartbeatChunk{Info: []byte{1, 2, 3, 4}})[12:])
	e := testEndpoint(f, Config{ReplyLimits: ReplyLimits{OOTBPerSource: -1, OOTBGlobal: -1, InitAckPerSource: -1}}, true)
	buf := make([]byte, 1<<16)
	f.Fuzz(func(t *testing.T, vtag uint32, dstPort uint16, at int64, chunks []byte) {
		p := chunk.AppendHeader(nil, chunk.Header{SrcPort: 5001, DstPort: dstPort, VerificationTag: vtag})
		p = append(p, chunks...)
		chunk.SetChecksum(p)
		now := epNow.Add(time.Duration(at % int64(24*time.Hour)))
		tx, ok, a := e.HandlePacket(now, src(int(vtag)), epAddr, p, buf)
		if a != nil {
			t.Fatal("an association from a cookie the fuzzer could not have signed")
		}
		if !ok {
			return
		}
		if ts := chunkTypes(tx.Packet); len(ts) == 1 && ts[0] == chunk.TypeInitAck {
			if len(tx.Packet) > len(p)+maxInitAckGrowth {
				t.Fatalf("INIT ACK of %d bytes for a %d-byte INIT", len(tx.Packet), len(p))
			}
			return
		}
		if len(tx.Packet) > len(p) {
			t.Fatalf("%d-byte answer to a %d-byte packet", len(tx.Packet), len(p))
		}
	})
}

// The CPU an Endpoint spends per packet of each kind of flood (one core,
// ns/op): what a server pays for every packet its socket delivers.
func BenchmarkEndpoint(b *testing.B) {
	off := ReplyLimits{OOTBPerSource: -1, OOTBGlobal: -1, InitAckPerSource: -1}
	valid := testEndpoint(b, Config{}, true)
	tx, _ := handle(valid, epNow, src(1), minimalInit())
	cookie, tag := initAckCookie(b, tx.Packet)
	forged := append([]byte(nil), cookie...)
	forged[len(forged)-1] ^= 1 // a MAC we did not make, on a cookie of the right shape and time
	cases := []struct {
		name   string
		limits ReplyLimits
		at     time.Time
		pkt    []byte
	}{
		{"INIT answered", off, epNow, minimalInit()},
		{"INIT rate limited", ReplyLimits{InitAckPerSource: 1, InitAckPerPort: -1}, epNow, minimalInit()},
		{"forged COOKIE ECHO", off, epNow, pkt(tag, &chunk.CookieEchoChunk{Cookie: forged})},
		{"expired COOKIE ECHO answered", off, epNow.Add(time.Hour / 2), pkt(tag, &chunk.CookieEchoChunk{Cookie: cookie})},
		{"OOTB answered", off, epNow, pkt(9, &chunk.HeartbeatChunk{})},
		{"OOTB rate limited", ReplyLimits{OOTBPerSource: 1}, epNow, pkt(9, &chunk.HeartbeatChunk{})},
		{"bad checksum", off, epNow, func() []byte { p := minimalInit(); p[31] ^= 0xff; return p }()},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			e := testEndpoint(b, Config{ReplyLimits: c.limits}, true)
			e.signer = valid.signer
			buf := make([]byte, 2048)
			b.ReportAllocs()
			for b.Loop() {
				e.HandlePacket(c.at, src(1), epAddr, c.pkt, buf)
			}
		})
	}
}

// An address that shares a bucket of the per-source table with a flooding
// address still gets its INIT ACK: each address has two buckets, and the
// flood fills only the one they share. The flooding address is chosen to
// share the victim's first bucket, the only one before addresses had two.
func TestInitAckLimitSharedBucket(t *testing.T) {
	e := testEndpoint(t, Config{ReplyLimits: ReplyLimits{InitAckPerPort: -1}}, true)
	victim := src(1)
	vi, vj := e.initAck.slots2(victim.Addr(), 0)
	flooder := netip.AddrPort{}
	for k := 2; k < 1<<20; k++ {
		fi, fj := e.initAck.slots2(src(k).Addr(), 0)
		if fi == vi && fj != vj && fj != vi {
			flooder = src(k)
			break
		}
	}
	if !flooder.IsValid() {
		t.Fatal("no address shares exactly one bucket with the victim")
	}
	answered := 0
	for range 5000 {
		if _, ok := handle(e, epNow, flooder, minimalInit()); ok {
			answered++
		}
	}
	if answered != DefaultInitAckPerSource {
		t.Errorf("flooder: %d INIT ACKs of 5000, want %d", answered, DefaultInitAckPerSource)
	}
	if _, ok := handle(e, epNow, victim, minimalInit()); !ok {
		t.Errorf("the victim, which shares bucket %d with the flooder, got no INIT ACK", vi)
	}
}

// A flood from one socket uses up its address's INIT ACKs; another socket
// of that address (a client on the attacker's host) still gets
// InitAckPerPort a second, and so does the flooding socket, no more; a
// flood that sprays ports gets at most InitAckPortGlobal in all.
func TestInitAckPerPort(t *testing.T) {
	e := testEndpoint(t, Config{ReplyLimits: ReplyLimits{InitAckPerSource: 100, InitAckPortGlobal: 50}}, true)
	attacker := src(1)
	client := netip.AddrPortFrom(attacker.Addr(), 40001)
	count := func(at time.Time, from netip.AddrPort, n int) int {
		got := 0
		for range n {
			if _, ok := handle(e, at, from, minimalInit()); ok {
				got++
			}
		}
		return got
	}
	if got := count(epNow, attacker, 1000); got != 100+DefaultInitAckPerPort {
		t.Errorf("flooding socket: %d INIT ACKs of 1000, want the address's 100 and its own %d", got, DefaultInitAckPerPort)
	}
	if got := count(epNow, client, 1); got != 1 {
		t.Error("another socket of the flooding address got no INIT ACK")
	}
	// Spraying ports: the address is spent, each new port has 10, and
	// all ports together 50 (less the 11 taken above).
	got := 0
	for p := range 1000 {
		got += count(epNow, netip.AddrPortFrom(attacker.Addr(), uint16(20000+p)), 1)
	}
	if got != 50-DefaultInitAckPerPort-1 {
		t.Errorf("1000 ports of the flooding address: %d INIT ACKs, want %d", got, 50-DefaultInitAckPerPort-1)
	}
	// A global cap counts the second-chance answers too.
	e = testEndpoint(t, Config{ReplyLimits: ReplyLimits{InitAckPerSource: 1, InitAckGlobal: 3}}, true)
	if got := count(epNow, attacker, 10) + count(epNow, client, 10); got != 3 {
		t.Errorf("InitAckGlobal 3: %d INIT ACKs, want 3", got)
	}
}
