package assoctest_test

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/chunk"
)

// Blind injection: an off-path attacker knows both ends' addresses and
// ports (they are on the wire and often predictable) but sees no packet,
// so it does not know the verification tags. RFC 9260 section 8.5: "If
// the received Verification Tag value does not match the receiver's own
// tag value, the receiver MUST silently discard the packet and MUST NOT
// process it any further except for those cases listed in Section 8.5.1";
// 8.5.1 (B) and (C) accept an ABORT or SHUTDOWN COMPLETE with the T bit
// only if the tag is the peer's, which the attacker does not know either;
// an INIT (tag 0) inside an association is answered with an INIT ACK
// whose cookie the attacker never sees (5.2.2), and a COOKIE ECHO must
// carry a cookie we signed (5.1.5, 5.2.4).
//
// Each test runs the same session twice from the same seed, once clean
// and once with the attacker's packets injected into both ends all along
// (while data flows both ways, while idle, and during the shutdown), and
// demands the same run: the same packets at the same times, the same
// events, the same bytes delivered, the same counters.

// spoof is one kind of forged packet. to is the end it targets; it gets
// the tags it must not guess, so that it can pick others.
type spoof struct {
	name string
	make func(k int, to *assoctest.Peer, sport, dport uint16, avoid func(uint32) uint32) []byte
	// reply is the chunk type the RFC has the target answer with (0:
	// none); those answers go to the real peer, which discards them.
	reply chunk.Type
	// notIn are states in which the RFC has the target react visibly, so
	// the twin runs would differ by design; the kind is not injected then.
	notIn []assoc.State
}

// forgedTag returns the k-th guess of an attacker that avoids the real
// tags (a real attacker would hit one with probability 2^-32 per packet).
func forgedTagFor(p *assoctest.Pair) func(uint32) uint32 {
	return func(k uint32) uint32 {
		v := 0x9e3779b9 * (k + 1)
		for v == 0 || v == p.A.Assoc.LocalTag() || v == p.A.Assoc.PeerTag() || v == p.Z.Assoc.LocalTag() || v == p.Z.Assoc.PeerTag() {
			v++
		}
		return v
	}
}

func raw(sport, dport uint16, tag uint32, t chunk.Type, flags uint8, v []byte) []byte {
	return assoctest.BuildPacket(sport, dport, tag, assoctest.RawChunk{Type: t, Flags: flags, Value: v})
}

var spoofs = []spoof{
	{name: "ABORT", make: func(k int, _ *assoctest.Peer, s, d uint16, tag func(uint32) uint32) []byte {
		return raw(s, d, tag(uint32(k)), chunk.TypeAbort, 0, nil)
	}},
	{name: "ABORT with T", make: func(k int, _ *assoctest.Peer, s, d uint16, tag func(uint32) uint32) []byte {
		return raw(s, d, tag(uint32(k)), chunk.TypeAbort, assoctest.FlagT, nil)
	}},
	{name: "ABORT with tag 0", make: func(k int, _ *assoctest.Peer, s, d uint16, _ func(uint32) uint32) []byte {
		return raw(s, d, 0, chunk.TypeAbort, uint8(k&1), nil)
	}},
	{name: "SHUTDOWN", make: func(k int, to *assoctest.Peer, s, d uint16, tag func(uint32) uint32) []byte {
		v := make([]byte, 4)
		binary.BigEndian.PutUint32(v, uint32(k))
		return raw(s, d, tag(uint32(k)), chunk.TypeShutdown, 0, v)
	}},
	{name: "SHUTDOWN COMPLETE", make: func(k int, _ *assoctest.Peer, s, d uint16, tag func(uint32) uint32) []byte {
		return raw(s, d, tag(uint32(k)), chunk.TypeShutdownComplete, 0, nil)
	}},
	{name: "SHUTDOWN COMPLETE with T", make: func(k int, _ *assoctest.Peer, s, d uint16, tag func(uint32) uint32) []byte {
		return raw(s, d, tag(uint32(k)), chunk.TypeShutdownComplete, assoctest.FlagT, nil)
	}},
	{name: "SHUTDOWN ACK", make: func(k int, _ *assoctest.Peer, s, d uint16, tag func(uint32) uint32) []byte {
		return raw(s, d, tag(uint32(k)), chunk.TypeShutdownAck, 0, nil)
	}},
	// In SHUTDOWN-ACK-SENT an INIT makes the end resend its SHUTDOWN ACK
	// (section 9.2, "it MUST discard the INIT chunk and retransmit the
	// SHUTDOWN ACK chunk"): one more packet to the real peer, which
	// TestBlindInitShutdownAckSent checks on its own.
	{name: "INIT", reply: chunk.TypeInitAck, notIn: []assoc.State{assoc.StateShutdownAckSent}, make: func(k int, _ *assoctest.Peer, s, d uint16, tag func(uint32) uint32) []byte {
		return raw(s, d, 0, chunk.TypeInit, 0, initValue(tag(uint32(k)), 16, 16, uint32(k)))
	}},
	{name: "COOKIE ECHO", make: func(k int, _ *assoctest.Peer, s, d uint16, tag func(uint32) uint32) []byte {
		// A cookie of the right shape (version 1, a plausible length),
		// whose MAC the attacker cannot make.
		ck := make([]byte, 96)
		ck[0] = 1
		for i := 1; i < len(ck); i++ {
			ck[i] = byte(k*7 + i)
		}
		return raw(s, d, tag(uint32(k)), chunk.TypeCookieEcho, 0, ck)
	}},
	{name: "COOKIE ECHO with DATA", make: func(k int, _ *assoctest.Peer, s, d uint16, tag func(uint32) uint32) []byte {
		ck := make([]byte, 96)
		ck[0] = 1
		return assoctest.BuildPacket(s, d, tag(uint32(k)),
			assoctest.RawChunk{Type: chunk.TypeCookieEcho, Value: ck},
			assoctest.RawChunk{Type: chunk.TypeData, Flags: assoctest.FlagBeginning | assoctest.FlagEnding,
				Value: assoctest.DataValue(uint32(k), 0, 0, 0, []byte("forged"))})
	}},
	{name: "DATA", make: func(k int, _ *assoctest.Peer, s, d uint16, tag func(uint32) uint32) []byte {
		// Any TSN: the tag is checked first, so guessing the TSN the
		// target expects next gains nothing.
		return raw(s, d, tag(uint32(k)), chunk.TypeData, assoctest.FlagBeginning|assoctest.FlagEnding,
			assoctest.DataValue(uint32(k), 0, uint16(k), 51, []byte("forged data")))
	}},
	{name: "SACK", make: func(k int, _ *assoctest.Peer, s, d uint16, tag func(uint32) uint32) []byte {
		v := make([]byte, 12)
		binary.BigEndian.PutUint32(v[0:], uint32(k)*1000)
		binary.BigEndian.PutUint32(v[4:], 0) // a zero window, to stall the sender if it were believed
		return raw(s, d, tag(uint32(k)), chunk.TypeSack, 0, v)
	}},
	{name: "HEARTBEAT ACK", make: func(k int, _ *assoctest.Peer, s, d uint16, tag func(uint32) uint32) []byte {
		info := make([]byte, 16)
		binary.BigEndian.PutUint64(info, uint64(k))
		v := append([]byte{0, 1, 0, 20}, info...)
		return raw(s, d, tag(uint32(k)), chunk.TypeHeartbeatAck, 0, v)
	}},
	{name: "ERROR Stale Cookie", make: func(k int, _ *assoctest.Peer, s, d uint16, tag func(uint32) uint32) []byte {
		return raw(s, d, tag(uint32(k)), chunk.TypeError, 0, []byte{0, 3, 0, 8, 0, 0, 0, 1})
	}},
}

// blindRun is one session: A and Z exchange data both ways, go idle and
// shut down; if sp is set, forged packets of that kind reach both ends at
// every stage. It returns what an observer of the session can see.
type blindResult struct {
	ladder   []string // packets between A and Z (not the injected ones), with times
	events   []string
	statsA   assoc.Stats
	statsZ   assoc.Stats
	recvA    []byte
	recvZ    []byte
	replies  [2]int // answers to forged packets (the RFC's, see spoof.reply), by direction
	injected [2]int // forged packets, by direction (AtoZ: into Z)
}

func blindRun(t *testing.T, sp *spoof, lossy bool) blindResult {
	link := assoctest.LinkConfig{Delay: 10 * ms}
	if lossy {
		// Loss, duplicates and reordering: retransmissions, gap reports
		// and fast recovery are under way when the forged packets come.
		link = assoctest.LinkConfig{Delay: 10 * ms, Jitter: 3 * ms, Loss: 0.05, Duplicate: 0.02}
	}
	p := assoctest.New(t, assoctest.Options{Seed: 9260, AZ: link, ZA: link})
	connect(t, p)
	settle(t, p)
	start := len(p.Ladder.Entries)
	tag := forgedTagFor(p)
	var r blindResult
	k := 0
	inject := func() {
		// Both runs drive the pair at the same instants (a Drive lets
		// the peers send what they have queued), so that the only
		// difference between them is the forged packets.
		p.Drive()
		if sp == nil {
			return
		}
		for range 3 {
			k++
			// Into the live associations only: once one has ended, the
			// session is over and its endpoint answers as 8.4 says.
			if st := p.Z.State(); st != assoc.StateClosed && !slices.Contains(sp.notIn, st) {
				p.Z.Inject(sp.make(k, p.Z, 5001, 5432, tag))
				r.injected[assoctest.AtoZ]++
			}
			if st := p.A.State(); st != assoc.StateClosed && !slices.Contains(sp.notIn, st) {
				p.A.Inject(sp.make(k, p.A, 5432, 5001, tag))
				r.injected[assoctest.ZtoA]++
			}
		}
	}
	inject() // idle
	for i := range 60 {
		p.A.Enqueue(uint16(i%3), 51, blindMessage(i, 1500), assoc.SendOptions{})
		if i%2 == 0 {
			p.Z.Enqueue(1, 51, blindMessage(i, 700), assoc.SendOptions{Unordered: i%4 == 0})
		}
	}
	for range 40 { // while data flows
		p.Advance(3 * ms)
		inject()
	}
	settle(t, p)
	inject()                    // idle again
	p.Advance(45 * time.Second) // heartbeats come and go
	inject()
	p.A.Shutdown()
	for range 4 {
		p.Advance(5 * ms)
		inject() // during the shutdown
	}
	if !p.RunUntil(p.Closed, time.Minute) {
		t.Fatalf("no graceful close: A %s, Z %s", p.A.State(), p.Z.State())
	}
	for i, e := range p.Ladder.Entries {
		switch {
		case e.Kind == assoctest.KindEvent:
			r.events = append(r.events, e.String())
		case e.Kind != assoctest.KindPacket || e.Fate == "injected":
		case i >= start && sp != nil && sp.reply != 0 && e.Has(sp.reply):
			r.replies[e.Dir]++
		default:
			r.ladder = append(r.ladder, e.String())
		}
	}
	// Stats of the generation-1 associations, now closed.
	r.statsA, r.statsZ = p.A.Assoc.Stats(), p.Z.Assoc.Stats()
	r.recvA, r.recvZ = allReceived(p.A), allReceived(p.Z)
	if sp != nil && k == 0 {
		t.Fatal("nothing injected")
	}
	return r
}

func blindMessage(i, n int) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(i + j*3)
	}
	return b
}

func allReceived(s *assoctest.Peer) []byte {
	var out []byte
	for _, m := range s.Messages {
		out = append(out, m.Data...)
	}
	return out
}

func TestBlindInjection(t *testing.T) { testBlindInjection(t, false) }

// The same over a lossy link (5% loss, 2% duplicates, 3 ms of jitter),
// for the forged packets the RFC has no answer to (an answer would travel
// the link and draw from its randomness, so the twin runs would part).
func TestBlindInjectionLossy(t *testing.T) { testBlindInjection(t, true) }

func testBlindInjection(t *testing.T, lossy bool) {
	var clean blindResult
	t.Run("clean", func(t *testing.T) { clean = blindRun(t, nil, lossy) })
	if len(clean.recvZ) != 60*1500 || len(clean.recvA) != 30*700 {
		t.Fatalf("clean run delivered %d and %d bytes, want %d and %d", len(clean.recvZ), len(clean.recvA), 60*1500, 30*700)
	}
	if lossy && clean.statsA.Retransmissions+clean.statsZ.Retransmissions == 0 {
		t.Fatal("the lossy run retransmitted nothing: it tests nothing more")
	}
	for i := range spoofs {
		sp := &spoofs[i]
		if lossy && sp.reply != 0 {
			continue
		}
		t.Run(sp.name, func(t *testing.T) {
			got := blindRun(t, sp, lossy)
			if d := firstDiff(clean.ladder, got.ladder); d != "" {
				t.Errorf("the packets between A and Z changed: %s", d)
			}
			if d := firstDiff(clean.events, got.events); d != "" {
				t.Errorf("the events changed: %s", d)
			}
			if string(got.recvA) != string(clean.recvA) || string(got.recvZ) != string(clean.recvZ) {
				t.Errorf("delivered bytes changed: A %d (clean %d), Z %d (clean %d)", len(got.recvA), len(clean.recvA), len(got.recvZ), len(clean.recvZ))
			}
			wantA, wantZ := clean.statsA, clean.statsZ
			if sp.reply != 0 {
				// The RFC's answers: each forged INIT was received and
				// answered by its target, within the rate of INIT ACKs an
				// association allows (and the answers were dropped by the
				// other end, whose tag they do not carry).
				a, z := uint64(got.replies[assoctest.AtoZ]), uint64(got.replies[assoctest.ZtoA])
				if a == 0 || z == 0 {
					t.Errorf("answers to forged INITs: %d from A, %d from Z; 5.2.2 has each end answer", a, z)
				}
				wantA.PacketsReceived += uint64(got.injected[assoctest.ZtoA])
				wantA.PacketsSent += a
				wantZ.PacketsReceived += uint64(got.injected[assoctest.AtoZ])
				wantZ.PacketsSent += z
			}
			if !reflect.DeepEqual(got.statsA, wantA) {
				t.Errorf("A's counters changed:\n got %+v\nwant %+v", got.statsA, wantA)
			}
			if !reflect.DeepEqual(got.statsZ, wantZ) {
				t.Errorf("Z's counters changed:\n got %+v\nwant %+v", got.statsZ, wantZ)
			}
			if sp.reply == 0 && got.replies != [2]int{} {
				t.Errorf("answers to forged packets: %v", got.replies)
			}
		})
	}
}

// firstDiff describes the first difference between two line lists.
func firstDiff(want, got []string) string {
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			return fmt.Sprintf("line %d:\n want %s\n  got %s", i, want[i], got[i])
		}
	}
	if len(want) != len(got) {
		return fmt.Sprintf("%d lines, want %d; first extra: %s", len(got), len(want),
			strings.Join(append(want[min(len(want), len(got)):], got[min(len(want), len(got)):]...)[:1], ""))
	}
	return ""
}

// A forged INIT reaching an end in SHUTDOWN-ACK-SENT: RFC 9260 section
// 9.2, "If an endpoint is in the SHUTDOWN-ACK-SENT state and receives an
// INIT chunk ... it MUST discard the INIT chunk and retransmit the
// SHUTDOWN ACK chunk." The attacker gets one more SHUTDOWN ACK sent to the
// real peer, nothing else: the shutdown ends gracefully on both sides.
func TestBlindInitShutdownAckSent(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{AZ: assoctest.LinkConfig{Delay: 10 * ms}, ZA: assoctest.LinkConfig{Delay: 10 * ms}})
	connect(t, p)
	settle(t, p)
	p.A.Shutdown()
	if !p.RunUntil(func() bool { return p.Z.State() == assoc.StateShutdownAckSent }, time.Minute) {
		t.Fatalf("Z never in SHUTDOWN-ACK-SENT: %s", p.Z.State())
	}
	mark := len(p.Ladder.Entries)
	p.Z.Inject(raw(5001, 5432, 0, chunk.TypeInit, 0, initValue(0x1234, 16, 16, 1)))
	p.Drive()
	out := repliesSince(p, assoctest.ZtoA, mark)
	if len(out) != 1 || !out[0].Has(chunk.TypeShutdownAck) {
		t.Fatalf("Z answered a forged INIT in SHUTDOWN-ACK-SENT with %d packets, want one SHUTDOWN ACK", len(out))
	}
	if !p.RunUntil(p.Closed, time.Minute) {
		t.Fatalf("no close: A %s, Z %s", p.A.State(), p.Z.State())
	}
	checkGracefulClose(t, p, p.A)
}

// INITs reach an association from anyone (they carry no tag), and each
// would cost an HMAC and send the peer an INIT ACK four times its size:
// an established association answers at most ReplyLimits.OOTBPerSource
// (default 10) a second. Exact counts in virtual time.
func TestBlindInitRateLimited(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{AZ: assoctest.LinkConfig{Delay: 10 * ms}, ZA: assoctest.LinkConfig{Delay: 10 * ms}})
	connect(t, p)
	settle(t, p)
	inits := func(n int) int {
		mark := len(p.Ladder.Entries)
		for i := range n {
			p.Z.Inject(raw(5001, 5432, 0, chunk.TypeInit, 0, initValue(uint32(0x1000+i), 16, 16, 1)))
		}
		p.Drive()
		got := 0
		for _, e := range repliesSince(p, assoctest.ZtoA, mark) {
			if e.Has(chunk.TypeInitAck) {
				got++
			}
		}
		return got
	}
	if got := inits(100); got != 10 {
		t.Errorf("100 forged INITs at once: %d INIT ACKs, want 10", got)
	}
	p.Advance(100 * ms)
	if got := inits(5); got != 1 {
		t.Errorf("100ms later: %d INIT ACKs, want 1", got)
	}
	if p.Z.State() != assoc.StateEstablished || p.A.State() != assoc.StateEstablished {
		t.Errorf("after the INITs: A %s, Z %s", p.A.State(), p.Z.State())
	}
}

// The rate limits keep what RFC 9260 section 8.4 rule 5 is for: "If the
// packet contains a SHUTDOWN ACK chunk, the receiver SHOULD respond to the
// sender of the OOTB packet with a SHUTDOWN COMPLETE chunk". A's SHUTDOWN
// COMPLETE is lost three times after A has forgotten the association; Z's
// retransmitted SHUTDOWN ACKs reach A's endpoint, which answers each
// (well under its 10 a second), and Z ends gracefully on the fourth.
func TestShutdownCompleteLostAnsweredByEndpoint(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{
		AZ: assoctest.LinkConfig{Delay: 10 * ms, Hooks: []assoctest.Hook{assoctest.DropFirst(chunk.TypeShutdownComplete, 3)}},
		ZA: assoctest.LinkConfig{Delay: 10 * ms},
	})
	connect(t, p)
	settle(t, p)
	p.A.Shutdown()
	if !p.RunUntil(p.Closed, time.Minute) {
		t.Fatalf("not closed: A %s, Z %s", p.A.State(), p.Z.State())
	}
	if c, _ := p.Z.Closed(); c.Err != nil {
		t.Errorf("Z closed with %v, want a graceful end", c.Err)
	}
	if n := p.Ladder.Count(assoctest.ZtoA, chunk.TypeShutdownAck); n != 4 {
		t.Errorf("Z sent %d SHUTDOWN ACKs, want 4 (3 answers lost)", n)
	}
	if n := p.Ladder.Count(assoctest.AtoZ, chunk.TypeShutdownComplete); n != 4 {
		t.Errorf("A sent %d SHUTDOWN COMPLETEs, want 4 (one from the association, three from its endpoint)", n)
	}
}
