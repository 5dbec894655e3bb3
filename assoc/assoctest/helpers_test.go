package assoctest_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/chunk"
)

// ms is a shorthand for link delays.
const ms = time.Millisecond

// connect runs the handshake to completion or fails the test.
func connect(t *testing.T, p *assoctest.Pair) {
	t.Helper()
	if !p.RunUntil(p.Connected, 5*time.Minute) {
		t.Fatalf("no association after 5 virtual minutes: A %s, Z %s", p.A.State(), p.Z.State())
	}
}

// settle drives the pair until nothing is in flight and nothing is
// buffered, so that a test starts from an idle association.
func settle(t *testing.T, p *assoctest.Pair) {
	t.Helper()
	idle := func() bool {
		return p.AZ.InFlight() == 0 && p.ZA.InFlight() == 0 && p.A.Assoc.Buffered() == 0 && p.Z.Assoc.Buffered() == 0
	}
	if !p.RunUntil(idle, time.Minute) {
		t.Fatalf("association not idle after a minute: A buffered %d, Z buffered %d", p.A.Assoc.Buffered(), p.Z.Assoc.Buffered())
	}
}

// message is one user message of a transfer: its content names it, so
// that every delivered message can be traced to the one sent.
type message struct {
	sid       uint16
	unordered bool
	data      []byte
}

// makeMessages returns n messages over streams [0, streams) with sizes
// drawn from sizes; a share of them (unorderedShare) unordered.
func makeMessages(rng *rand.Rand, n int, streams uint16, sizes []int, unorderedShare float64) []message {
	out := make([]message, n)
	for i := range out {
		size := max(sizes[rng.IntN(len(sizes))], 8)
		m := message{sid: uint16(rng.IntN(int(streams))), unordered: rng.Float64() < unorderedShare, data: make([]byte, size)}
		binary.BigEndian.PutUint32(m.data[0:4], uint32(i))
		binary.BigEndian.PutUint32(m.data[4:8], uint32(size))
		for j := 8; j < size; j++ {
			m.data[j] = byte(i*31 + j*7)
		}
		out[i] = m
	}
	return out
}

func totalBytes(ms []message) int {
	n := 0
	for _, m := range ms {
		n += len(m.data)
	}
	return n
}

// verifyDelivery checks RFC 9260's promise to its users: "acknowledged
// error-free, non-duplicated transfer of user data" and "sequenced
// delivery of user messages within multiple streams, with an option for
// order-of-arrival delivery of individual user messages" (section 1).
// Every message arrives exactly once, intact, on its stream, and the
// ordered messages of each stream arrive in the order they were sent.
func verifyDelivery(t *testing.T, sent []message, got []assoc.Message) {
	t.Helper()
	byID := map[uint32]message{}
	for i, m := range sent {
		byID[uint32(i)] = m
	}
	seen := map[uint32]bool{}
	lastOrdered := map[uint16]int{}
	for _, g := range got {
		if len(g.Data) < 8 {
			t.Fatalf("a %d-byte message that was never sent", len(g.Data))
		}
		id := binary.BigEndian.Uint32(g.Data[0:4])
		m, ok := byID[id]
		if !ok {
			t.Fatalf("message id %d was never sent", id)
		}
		if seen[id] {
			t.Fatalf("message %d delivered twice", id)
		}
		seen[id] = true
		if !bytes.Equal(g.Data, m.data) {
			t.Fatalf("message %d corrupted: %d bytes, want %d", id, len(g.Data), len(m.data))
		}
		if g.StreamID != m.sid || g.Unordered != m.unordered {
			t.Fatalf("message %d on stream %d unordered=%v, sent on %d unordered=%v", id, g.StreamID, g.Unordered, m.sid, m.unordered)
		}
		if !m.unordered {
			if last, ok := lastOrdered[m.sid]; ok && int(id) < last {
				t.Fatalf("stream %d: ordered message %d delivered after %d", m.sid, id, last)
			}
			lastOrdered[m.sid] = int(id)
		}
	}
	if len(seen) != len(sent) {
		missing := []int{}
		for i := range sent {
			if !seen[uint32(i)] && len(missing) < 10 {
				missing = append(missing, i)
			}
		}
		t.Fatalf("%d of %d messages delivered; first missing: %v", len(seen), len(sent), missing)
	}
}

// enqueue hands messages to a peer's backlog.
func enqueue(p *assoctest.Peer, ms []message) {
	for _, m := range ms {
		p.Enqueue(m.sid, 51, m.data, assoc.SendOptions{Unordered: m.unordered})
	}
}

// sentAfter lists packet entries in dir sent at or after t.
func sentAfter(p *assoctest.Pair, dir assoctest.Direction, t time.Time) []assoctest.Entry {
	var out []assoctest.Entry
	for _, e := range p.Ladder.Entries {
		if e.Kind == assoctest.KindPacket && e.Dir == dir && !e.Dup && !e.At.Before(t) {
			out = append(out, e)
		}
	}
	return out
}

// flowString prints a flow as the RFC ladders do.
func flowString(f []assoctest.FlowStep) string {
	s := ""
	for _, st := range f {
		s += fmt.Sprintln(st)
	}
	return s
}

// chunkValue returns the value of the first chunk of type typ in pkt.
func chunkValue(pkt []byte, typ chunk.Type) []byte {
	cs, _ := assoctest.Chunks(pkt)
	for _, c := range cs {
		if c.Type == typ {
			return c.Value
		}
	}
	return nil
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 11)) }

// checkGracefulClose checks the end of a graceful shutdown that closer
// started: RFC 9260 section 9.2 ends it with Closed{nil} on both sides.
// One race is allowed: a stale duplicate DATA reaching the closer after it
// has removed its association is out of the blue there, is answered by
// an ABORT (section 8.4, rule 8), and that ABORT can overtake the SHUTDOWN
// COMPLETE; the other side, already in SHUTDOWN-ACK-SENT with all its
// data acknowledged, then reports an abort. That is RFC behaviour, logged.
func checkGracefulClose(t *testing.T, p *assoctest.Pair, closer *assoctest.Peer) {
	t.Helper()
	other, dir := p.Z, assoctest.ZtoA
	if closer == p.Z {
		other, dir = p.A, assoctest.AtoZ
	}
	if c, _ := closer.Closed(); c.Err != nil {
		t.Errorf("%s (shutdown initiator): Closed.Err = %v, want nil", closer.Name, c.Err)
	}
	c, _ := other.Closed()
	if c.Err == nil {
		return
	}
	if errors.Is(c.Err, assoc.ErrAborted) && p.Ladder.Count(dir, chunk.TypeShutdownAck) > 0 {
		t.Logf("%s: aborted after its SHUTDOWN ACK (a stale DATA reached the closed %s, whose ABORT overtook the SHUTDOWN COMPLETE): %v", other.Name, closer.Name, c.Err)
		return
	}
	t.Errorf("%s: Closed.Err = %v, want nil", other.Name, c.Err)
}
