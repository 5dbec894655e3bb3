package recvq

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/pgsctp/pgsctp/chunk"
)

// dc builds a DATA chunk; flags is a subset of "UBE".
func dc(tsn uint32, sid, ssn uint16, flags, data string) *chunk.DataChunk {
	return &chunk.DataChunk{
		Unordered: strings.Contains(flags, "U"),
		Beginning: strings.Contains(flags, "B"),
		Ending:    strings.Contains(flags, "E"),
		TSN:       tsn,
		StreamID:  sid,
		SSN:       ssn,
		PPID:      tsn * 10, // tells which chunk a message's PPID came from
		UserData:  []byte(data),
	}
}

// msg is a popped message in a compact, comparable form.
func msg(m Message) string {
	u := ""
	if m.Unordered {
		u = "U"
	}
	return fmt.Sprintf("%s%d/%d:%s", u, m.StreamID, m.PPID, m.Data)
}

func popAll(r *Reassembler) []string {
	var out []string
	for {
		m, ok := r.Pop()
		if !ok {
			return out
		}
		out = append(out, msg(m))
	}
}

func TestReassemblerTable(t *testing.T) {
	type add struct {
		d   *chunk.DataChunk
		err error
	}
	tests := []struct {
		name     string
		streams  uint16
		adds     []add
		want     []string
		buffered int // after popping everything
	}{
		{
			name:    "single-chunk ordered messages in order",
			streams: 1,
			adds:    []add{{d: dc(1, 0, 0, "BE", "a")}, {d: dc(2, 0, 1, "BE", "b")}},
			want:    []string{"0/10:a", "0/20:b"},
		},
		{
			// Section 6.5: ordered messages are held until their turn.
			name:    "ordered messages held until the gap in SSN is filled",
			streams: 1,
			adds:    []add{{d: dc(3, 0, 2, "BE", "c")}, {d: dc(2, 0, 1, "BE", "b")}, {d: dc(1, 0, 0, "BE", "a")}},
			want:    []string{"0/10:a", "0/20:b", "0/30:c"},
		},
		{
			name:     "ordered message never delivered while SSN 0 is missing",
			streams:  1,
			adds:     []add{{d: dc(2, 0, 1, "BE", "bb")}},
			buffered: 2,
		},
		{
			// Section 6.6: unordered data bypasses the ordering.
			name:    "unordered delivered at once, even when ordered data waits",
			streams: 1,
			adds:    []add{{d: dc(2, 0, 1, "BE", "b")}, {d: dc(3, 0, 0, "UBE", "u")}, {d: dc(1, 0, 0, "BE", "a")}},
			want:    []string{"U0/30:u", "0/10:a", "0/20:b"},
		},
		{
			name:    "streams are independent",
			streams: 3,
			adds:    []add{{d: dc(1, 2, 1, "BE", "x1")}, {d: dc(2, 1, 0, "BE", "y0")}, {d: dc(3, 2, 0, "BE", "x0")}},
			want:    []string{"1/20:y0", "2/30:x0", "2/10:x1"},
		},
		{
			name:    "fragments in order",
			streams: 1,
			adds:    []add{{d: dc(7, 0, 0, "B", "he")}, {d: dc(8, 0, 0, "", "ll")}, {d: dc(9, 0, 0, "E", "o")}},
			want:    []string{"0/70:hello"},
		},
		{
			name:    "fragments in reverse, PPID from the first fragment",
			streams: 1,
			adds:    []add{{d: dc(9, 0, 0, "E", "o")}, {d: dc(8, 0, 0, "", "ll")}, {d: dc(7, 0, 0, "B", "he")}},
			want:    []string{"0/70:hello"},
		},
		{
			name:    "middle fragment last",
			streams: 1,
			adds:    []add{{d: dc(7, 0, 0, "B", "he")}, {d: dc(9, 0, 0, "E", "o")}, {d: dc(8, 0, 0, "", "ll")}},
			want:    []string{"0/70:hello"},
		},
		{
			name:    "two-fragment message across the TSN wrap",
			streams: 1,
			adds:    []add{{d: dc(0, 0, 0, "E", "ld")}, {d: dc(0xFFFFFFFF, 0, 0, "B", "wor")}},
			want:    []string{"0/4294967286:world"},
		},
		{
			name:    "a missing middle fragment keeps the message back",
			streams: 1,
			adds: []add{
				{d: dc(1, 0, 0, "B", "ab")}, {d: dc(3, 0, 0, "", "ef")}, {d: dc(4, 0, 0, "E", "gh")},
			},
			buffered: 6,
		},
		{
			name:    "B without E, then E of the next message: no partial delivery",
			streams: 1,
			adds: []add{
				{d: dc(1, 0, 0, "B", "a1")}, {d: dc(2, 0, 1, "E", "b2")},
			},
			buffered: 4,
		},
		{
			name:    "back-to-back fragmented messages on one stream do not merge",
			streams: 1,
			adds: []add{
				{d: dc(4, 0, 1, "E", "D")}, {d: dc(2, 0, 0, "E", "B")}, {d: dc(3, 0, 1, "B", "C")}, {d: dc(1, 0, 0, "B", "A")},
			},
			want: []string{"0/10:AB", "0/30:CD"},
		},
		{
			name:    "unordered fragmented message amid ordered ones on other streams",
			streams: 2,
			adds: []add{
				{d: dc(1, 1, 0, "UB", "u1")}, {d: dc(2, 1, 0, "UE", "u2")}, {d: dc(3, 0, 0, "B", "o1")}, {d: dc(4, 0, 0, "E", "o2")},
			},
			want: []string{"U1/10:u1u2", "0/30:o1o2"},
		},
		{
			// "the receiver MUST ignore the Stream Sequence Number field"
			// of unordered chunks: fragments with different SSNs still join.
			name:    "unordered fragments ignore the SSN",
			streams: 1,
			adds:    []add{{d: dc(1, 0, 5, "UB", "x")}, {d: dc(2, 0, 9, "UE", "y")}},
			want:    []string{"U0/10:xy"},
		},
		{
			// A hostile sender: B, E, E with the same stream and SSN. The
			// middle E ends the message; the third chunk is not part of it.
			name:    "an E fragment ends the message whatever follows",
			streams: 1,
			adds: []add{
				{d: dc(1, 0, 0, "B", "a")}, {d: dc(3, 0, 0, "E", "c")}, {d: dc(2, 0, 0, "E", "b")},
			},
			want:     []string{"0/10:ab"},
			buffered: 1,
		},
		{
			name:    "a B fragment starts a message whatever precedes it",
			streams: 1,
			adds: []add{
				{d: dc(1, 0, 0, "B", "a")}, {d: dc(3, 0, 0, "E", "c")}, {d: dc(2, 0, 0, "B", "b")},
			},
			want:     []string{"0/20:bc"},
			buffered: 1,
		},
		{
			name:     "interleaved fragments of two streams never join",
			streams:  2,
			adds:     []add{{d: dc(1, 0, 0, "B", "a")}, {d: dc(2, 1, 0, "E", "b")}},
			buffered: 2,
		},
		{
			name:     "ordered and unordered fragments never join",
			streams:  1,
			adds:     []add{{d: dc(1, 0, 0, "B", "a")}, {d: dc(2, 0, 0, "UE", "b")}},
			buffered: 2,
		},
		{
			name:     "ordered fragments of different SSNs never join",
			streams:  1,
			adds:     []add{{d: dc(1, 0, 0, "B", "a")}, {d: dc(2, 0, 1, "E", "b")}},
			buffered: 2,
		},
		{
			name:    "invalid stream identifier",
			streams: 2,
			adds: []add{
				{d: dc(1, 2, 0, "BE", "x"), err: ErrInvalidStream},
				{d: dc(2, 0xFFFF, 0, "B", "x"), err: ErrInvalidStream},
			},
		},
		{
			name:    "duplicate fragment TSN",
			streams: 1,
			adds: []add{
				{d: dc(1, 0, 0, "B", "a")}, {d: dc(1, 0, 0, "B", "zzz"), err: ErrDuplicateTSN}, {d: dc(2, 0, 0, "E", "b")},
			},
			want: []string{"0/10:ab"},
		},
		{
			name:    "whole-message chunk with the TSN of a held fragment",
			streams: 1,
			adds: []add{
				{d: dc(1, 0, 0, "B", "a")}, {d: dc(1, 0, 0, "UBE", "zzz"), err: ErrDuplicateTSN},
			},
			buffered: 1,
		},
		{
			name:    "stale SSN: a message already delivered",
			streams: 1,
			adds: []add{
				{d: dc(1, 0, 0, "BE", "a")}, {d: dc(2, 0, 0, "BE", "again"), err: ErrStaleSSN},
			},
			want: []string{"0/10:a"},
		},
		{
			name:    "stale SSN: antipodal to the expected one",
			streams: 1,
			adds:    []add{{d: dc(1, 0, 0x8000, "BE", "far"), err: ErrStaleSSN}},
		},
		{
			name:    "duplicate SSN waiting",
			streams: 1,
			adds: []add{
				{d: dc(2, 0, 1, "BE", "b")}, {d: dc(3, 0, 1, "BE", "b'"), err: ErrDuplicateSSN}, {d: dc(1, 0, 0, "BE", "a")},
			},
			want: []string{"0/10:a", "0/20:b"},
		},
		{
			name:    "stale SSN found when a fragmented message completes",
			streams: 1,
			adds: []add{
				{d: dc(1, 0, 0, "BE", "a")}, {d: dc(2, 0, 0, "B", "x")}, {d: dc(3, 0, 0, "E", "y"), err: ErrStaleSSN},
			},
			want: []string{"0/10:a"},
		},
		{
			name:    "no user data",
			streams: 1,
			adds: []add{
				{d: dc(1, 0, 0, "UBE", ""), err: ErrNoUserData},
				{d: dc(2, 0, 0, "B", ""), err: ErrNoUserData},
				{d: dc(3, 0, 0, "BE", "a")},
			},
			want: []string{"0/30:a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReassembler(tt.streams)
			for _, a := range tt.adds {
				buf := a.d.UserData
				err := r.Add(a.d)
				if !errors.Is(err, a.err) || (err == nil) != (a.err == nil) {
					t.Fatalf("Add(TSN %d) = %v, want %v", a.d.TSN, err, a.err)
				}
				// The packet buffer is reused after Add: scribble on it.
				for i := range buf {
					buf[i] = '#'
				}
				checkReassembler(t, r)
			}
			if got := popAll(r); !slices.Equal(got, tt.want) {
				t.Errorf("delivered %q, want %q", got, tt.want)
			}
			if r.Buffered() != tt.buffered {
				t.Errorf("Buffered() = %d after popping all, want %d", r.Buffered(), tt.buffered)
			}
			checkReassembler(t, r)
		})
	}
}

func TestReassemblerBuffered(t *testing.T) {
	r := NewReassembler(1)
	steps := []struct {
		d    *chunk.DataChunk
		want int
	}{
		{dc(1, 0, 1, "BE", "12345"), 5}, // waits for SSN 0
		{dc(2, 0, 0, "B", "abc"), 8},    // fragment
		{dc(3, 0, 0, "E", "de"), 10},    // completes SSN 0, releases SSN 1
		{dc(4, 0, 2, "UBE", "zz"), 12},  // unordered, ready
		{dc(9, 0, 0, "E", "never"), 17}, // a fragment that never completes
	}
	for _, s := range steps {
		if err := r.Add(s.d); err != nil {
			t.Fatal(err)
		}
		if r.Buffered() != s.want {
			t.Fatalf("after TSN %d: Buffered() = %d, want %d", s.d.TSN, r.Buffered(), s.want)
		}
	}
	for _, want := range []int{12, 7, 5} { // pops "abcde", "12345", "zz"
		if _, ok := r.Pop(); !ok {
			t.Fatal("nothing to pop")
		}
		if r.Buffered() != want {
			t.Fatalf("after Pop: Buffered() = %d, want %d", r.Buffered(), want)
		}
	}
	if _, ok := r.Pop(); ok {
		t.Fatal("popped a partial message")
	}
}

// TestReassemblerSSNWrap: "when the Stream Sequence Number reaches the
// value 65535, the next Stream Sequence Number MUST be set to 0" (RFC
// 9260 section 6.5). 70000 messages on one stream, each window of 16
// shuffled, come out in order across the wrap.
func TestReassemblerSSNWrap(t *testing.T) {
	rng := testRand(t)
	const n = 70000
	r := NewReassembler(2)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	for i := 0; i < n; i += 16 {
		w := order[i:min(i+16, n)]
		rng.Shuffle(len(w), func(a, b int) { w[a], w[b] = w[b], w[a] })
	}
	next := 0
	var buf [4]byte
	for _, i := range order {
		buf[0], buf[1], buf[2], buf[3] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		d := &chunk.DataChunk{Beginning: true, Ending: true, TSN: uint32(i), StreamID: 1, SSN: uint16(i), UserData: buf[:]}
		if err := r.Add(d); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		for m, ok := r.Pop(); ok; m, ok = r.Pop() {
			got := int(m.Data[0])<<24 | int(m.Data[1])<<16 | int(m.Data[2])<<8 | int(m.Data[3])
			if got != next {
				t.Fatalf("delivered message %d, want %d", got, next)
			}
			next++
		}
	}
	if next != n || r.Buffered() != 0 {
		t.Fatalf("delivered %d of %d, %d bytes left", next, n, r.Buffered())
	}
}

// sent is a message of the randomized test as the sender made it.
type sent struct {
	sid       uint16
	ssn       uint16
	unordered bool
	ppid      uint32
	data      []byte
}

// TestDeliveryProperty: random messages on random streams, ordered and
// unordered, fragmented at random sizes, given consecutive TSNs from a
// random (often wrapping) initial TSN; the chunks then arrive reordered
// within a window, with duplicates. Tracker then Reassembler, as the
// association uses them, must deliver every message exactly once, intact,
// the ordered ones of each stream in SSN order; and the Tracker must end
// with every TSN acknowledged and no gap.
func TestDeliveryProperty(t *testing.T) {
	rng := testRand(t)
	for round := range 60 {
		deliveryRound(t, rng, round)
	}
}

func deliveryRound(t *testing.T, rng *rand.Rand, round int) {
	streams := uint16(1 + rng.IntN(5))
	initial := rng.Uint32()
	if round%2 == 0 {
		initial = -uint32(rng.IntN(200)) // wraps during the round
	}
	nextSSN := make([]uint16, streams)
	if round%3 == 0 { // start the streams near the SSN wrap
		// The Reassembler's streams start at 0; get there by delivering
		// 65530 one-byte messages on each first, outside the property check.
		nextSSN = nil
	}
	r := NewReassembler(streams)
	tr := NewTracker(initial)
	tsn := initial
	if nextSSN == nil {
		nextSSN = make([]uint16, streams)
		for sid := range streams {
			for range 65530 {
				d := &chunk.DataChunk{Beginning: true, Ending: true, TSN: tsn, StreamID: sid, SSN: nextSSN[sid], UserData: []byte{1}}
				if !tr.Add(tsn) || r.Add(d) != nil {
					t.Fatalf("round %d: warm-up failed", round)
				}
				r.Pop()
				tsn++
				nextSSN[sid]++
			}
		}
	}

	// Make the messages and their chunks.
	var msgs []sent
	var chunks []chunk.DataChunk
	maxFrag := 1 + rng.IntN(64)
	for i := range 1 + rng.IntN(300) {
		m := sent{
			sid:       uint16(rng.IntN(int(streams))),
			unordered: rng.IntN(4) == 0,
			ppid:      uint32(i),
			data:      make([]byte, 1+rng.IntN(300)),
		}
		for j := range m.data {
			m.data[j] = byte(rng.Uint32())
		}
		if !m.unordered {
			m.ssn = nextSSN[m.sid]
			nextSSN[m.sid]++
		} else {
			m.ssn = uint16(rng.Uint32()) // ignored by the receiver
		}
		msgs = append(msgs, m)
		rest := m.data
		for first := true; first || len(rest) > 0; first = false {
			n := min(len(rest), 1+rng.IntN(maxFrag))
			chunks = append(chunks, chunk.DataChunk{
				Unordered: m.unordered, Beginning: first, Ending: n == len(rest),
				TSN: tsn, StreamID: m.sid, SSN: m.ssn, PPID: m.ppid, UserData: rest[:n],
			})
			tsn++
			rest = rest[n:]
		}
	}
	lastTSN := tsn - 1

	// Arrival: reordered within a window, some chunks twice.
	arrival := make([]int, 0, len(chunks)*2)
	for i := range chunks {
		arrival = append(arrival, i)
		if rng.IntN(8) == 0 {
			arrival = append(arrival, i)
		}
	}
	win := 1 + rng.IntN(40)
	for i := range arrival {
		j := i + rng.IntN(win)
		if j < len(arrival) {
			arrival[i], arrival[j] = arrival[j], arrival[i]
		}
	}

	// Deliver. Messages are recognized by PPID (unique per message here).
	delivered := make([]bool, len(msgs))
	lastOrdered := make([]int, streams) // index+1 of the last ordered message per stream
	added, popped := 0, 0
	pkt := make([]byte, 0, 1024) // the reused "packet buffer"
	for _, i := range arrival {
		c := chunks[i]
		pkt = append(pkt[:0], c.UserData...)
		c.UserData = pkt
		if tr.Add(c.TSN) {
			if err := r.Add(&c); err != nil {
				t.Fatalf("round %d: Add(TSN %d): %v", round, c.TSN, err)
			}
			added += len(pkt)
		}
		clear(pkt) // the buffer is reused
		if rng.IntN(3) == 0 {
			continue // let messages pile up sometimes
		}
		for m, ok := r.Pop(); ok; m, ok = r.Pop() {
			popped += len(m.Data)
			k := int(m.PPID)
			if k >= len(msgs) || delivered[k] {
				t.Fatalf("round %d: message %d delivered twice or unknown", round, k)
			}
			delivered[k] = true
			want := msgs[k]
			if m.StreamID != want.sid || m.Unordered != want.unordered || !bytes.Equal(m.Data, want.data) {
				t.Fatalf("round %d: message %d corrupted: got sid %d U %v %d bytes, want sid %d U %v %d bytes",
					round, k, m.StreamID, m.Unordered, len(m.Data), want.sid, want.unordered, len(want.data))
			}
			if !m.Unordered {
				if lastOrdered[m.StreamID] > k {
					t.Fatalf("round %d: stream %d: message %d after %d", round, m.StreamID, k, lastOrdered[m.StreamID]-1)
				}
				lastOrdered[m.StreamID] = k + 1
			}
		}
		if b := r.Buffered(); b < 0 || b != added-popped {
			t.Fatalf("round %d: Buffered() = %d, added %d, popped %d", round, b, added, popped)
		}
	}
	checkReassembler(t, r)
	for m, ok := r.Pop(); ok; m, ok = r.Pop() {
		delivered[m.PPID] = true // order was checked above for the rest
		if m.Unordered {
			continue // unordered messages have no place in the stream's order
		}
		if lastOrdered[m.StreamID] > int(m.PPID) {
			t.Fatalf("round %d: stream %d out of order at the end: message %d after %d", round, m.StreamID, m.PPID, lastOrdered[m.StreamID]-1)
		}
		lastOrdered[m.StreamID] = int(m.PPID) + 1
	}
	for k, ok := range delivered {
		if !ok {
			t.Fatalf("round %d: message %d never delivered", round, k)
		}
	}
	if r.Buffered() != 0 || len(r.frags) != 0 || len(r.waiting) != 0 {
		t.Fatalf("round %d: left behind: %d bytes, %d fragments, %d waiting", round, r.Buffered(), len(r.frags), len(r.waiting))
	}
	if tr.CumTSN() != lastTSN || tr.HasGaps() {
		t.Fatalf("round %d: cum %d (want %d), gaps %v", round, tr.CumTSN(), lastTSN, tr.HasGaps())
	}
}

// TestSingleChunkAllocs: a whole message in one chunk costs one
// allocation, its copy (the ready queue is reused once grown).
func TestSingleChunkAllocs(t *testing.T) {
	r := NewReassembler(4)
	payload := make([]byte, 1200)
	d := &chunk.DataChunk{Beginning: true, Ending: true, StreamID: 3, UserData: payload}
	allocs := testing.AllocsPerRun(1000, func() {
		d.TSN++
		if err := r.Add(d); err != nil {
			t.Fatal(err)
		}
		d.SSN++
		if _, ok := r.Pop(); !ok {
			t.Fatal("not delivered")
		}
	})
	if allocs != 1 {
		t.Errorf("%v allocations per single-chunk message, want 1", allocs)
	}
}

// BenchmarkSingleChunk is the hot path: an ordered single-chunk message,
// added and popped.
func BenchmarkSingleChunk(b *testing.B) {
	r := NewReassembler(4)
	d := &chunk.DataChunk{Beginning: true, Ending: true, StreamID: 3, UserData: make([]byte, 1200)}
	b.SetBytes(int64(len(d.UserData)))
	b.ReportAllocs()
	for b.Loop() {
		d.TSN++
		if err := r.Add(d); err != nil {
			b.Fatal(err)
		}
		d.SSN++
		if _, ok := r.Pop(); !ok {
			b.Fatal("not delivered")
		}
	}
}

// BenchmarkFragmented: a 64 KiB message in 1200-byte fragments, in order.
func BenchmarkFragmented(b *testing.B) {
	r := NewReassembler(1)
	const size, frag = 64 << 10, 1200
	payload := make([]byte, frag)
	b.SetBytes(size)
	b.ReportAllocs()
	var tsn uint32
	var ssn uint16
	for b.Loop() {
		for off := 0; off < size; off += frag {
			n := min(frag, size-off)
			d := chunk.DataChunk{Beginning: off == 0, Ending: off+n == size, TSN: tsn, SSN: ssn, UserData: payload[:n]}
			if err := r.Add(&d); err != nil {
				b.Fatal(err)
			}
			tsn++
		}
		ssn++
		if m, ok := r.Pop(); !ok || len(m.Data) != size {
			b.Fatal("not delivered")
		}
	}
}

// ledger is a Buffers that keeps its own free list and checks how it is
// used: every Put is of a buffer Get lent and not yet given back.
type ledger struct {
	t    testing.TB
	lent map[*byte]bool
	free [][]byte
	gets int
}

func newLedger(t testing.TB) *ledger { return &ledger{t: t, lent: make(map[*byte]bool)} }

func (l *ledger) Get(n int) []byte {
	l.gets++
	for i, b := range l.free {
		if cap(b) >= n {
			l.free = slices.Delete(l.free, i, i+1)
			l.lent[unsafe.SliceData(b)] = true
			return b[:n]
		}
	}
	b := make([]byte, n, max(n, 2048))
	l.lent[unsafe.SliceData(b)] = true
	return b
}

func (l *ledger) Put(b []byte) {
	p := unsafe.SliceData(b)
	if !l.lent[p] {
		l.t.Fatalf("Put of a buffer not lent, or given back twice")
	}
	delete(l.lent, p)
	l.free = append(l.free, b[:0])
}

// TestReassemblerBuffers: with Buffers set, messages are assembled in
// buffers it lent, the fragments' copies all go back to it, and a
// message given back is used again, so a steady flow allocates nothing.
func TestReassemblerBuffers(t *testing.T) {
	l := newLedger(t)
	r := NewReassembler(2)
	r.Buffers = l
	rng := rand.New(rand.NewPCG(7, 7))
	var tsn uint32
	var ssn [2]uint16
	for round := range 50 {
		// Three messages of 1 to 5 fragments, their chunks shuffled.
		var chunks []*chunk.DataChunk
		want := map[string]bool{}
		for m := range 3 {
			sid := uint16(m % 2)
			n := 1 + rng.IntN(5)
			var whole []byte
			for i := range n {
				data := bytes.Repeat([]byte{byte('a' + round%26)}, 1+rng.IntN(300))
				whole = append(whole, data...)
				d := &chunk.DataChunk{Beginning: i == 0, Ending: i == n-1, TSN: tsn, StreamID: sid, SSN: ssn[sid], UserData: data}
				chunks = append(chunks, d)
				tsn++
			}
			ssn[sid]++
			want[fmt.Sprintf("%d:%s", sid, whole)] = true
		}
		rng.Shuffle(len(chunks), func(i, j int) { chunks[i], chunks[j] = chunks[j], chunks[i] })
		for _, d := range chunks {
			if err := r.Add(d); err != nil {
				t.Fatal(err)
			}
		}
		for {
			m, ok := r.Pop()
			if !ok {
				break
			}
			k := fmt.Sprintf("%d:%s", m.StreamID, m.Data)
			if !want[k] {
				t.Fatalf("round %d: unexpected message %q", round, k)
			}
			delete(want, k)
			if !l.lent[unsafe.SliceData(m.Data)] {
				t.Fatalf("round %d: a message not in a lent buffer", round)
			}
			l.Put(m.Data)
		}
		if len(want) > 0 || r.Buffered() != 0 {
			t.Fatalf("round %d: %d messages missing, %d bytes held", round, len(want), r.Buffered())
		}
		if len(l.lent) != 0 {
			t.Fatalf("round %d: %d buffers not given back", round, len(l.lent))
		}
	}
	d := &chunk.DataChunk{Beginning: true, Ending: true, UserData: make([]byte, 1200)}
	allocs := testing.AllocsPerRun(1000, func() {
		d.TSN = tsn
		d.SSN = ssn[0]
		tsn++
		ssn[0]++
		if err := r.Add(d); err != nil {
			t.Fatal(err)
		}
		m, _ := r.Pop()
		l.Put(m.Data)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per message with the buffers given back, want 0", allocs)
	}
}
