package recvq

import (
	"encoding/binary"
	"testing"

	"github.com/pgsctp/pgsctp/chunk"
)

// FuzzReceive feeds arbitrary DATA chunk sequences through a Tracker and
// a Reassembler the way the association does (only TSNs the Tracker calls
// new reach the Reassembler) and checks that nothing panics and that:
//   - both keep their internal invariants after every input, and Buffered
//     is never negative nor more than the bytes added and not popped;
//   - every delivered message is exactly the payloads of consecutive-TSN
//     chunks, the first with B, the last with E, none in between with
//     either, all of one stream and U flag (and SSN when ordered): never a
//     partial or spliced message;
//   - no chunk is delivered twice;
//   - ordered messages of each stream come out with SSNs 0, 1, 2, ...
//
// Each input is a 1-byte initial TSN offset then 5-byte operations:
//
//	flags  bits 0-2: U, B, E; bit 3: pop everything after this chunk
//	tsn    initial TSN + int8(tsn)
//	sid    stream, mod 4 (3 inbound streams: 3 is invalid)
//	ssn    low 3 bits; with bit 7, the SSN is ssn<<8 (far ahead or behind)
//	len    user data length 4 + len%29 (the first 4 bytes carry the TSN);
//	       0xFF: no user data
func FuzzReceive(f *testing.F) {
	op := func(flags, tsn, sid, ssn, n byte) []byte { return []byte{flags, tsn, sid, ssn, n} }
	join := func(ops ...[]byte) []byte {
		b := []byte{0x70}
		for _, o := range ops {
			b = append(b, o...)
		}
		return b
	}
	const U, B, E, P = 1, 2, 4, 8
	f.Add(join(op(B|E, 0, 0, 0, 1), op(B|E|P, 1, 0, 1, 2)))
	f.Add(join(op(B, 0, 1, 0, 3), op(0, 1, 1, 0, 4), op(E|P, 2, 1, 0, 5)))
	f.Add(join(op(E, 2, 2, 1, 0), op(B, 1, 2, 1, 0), op(U|B|E, 3, 0, 0, 7), op(B|E|P, 0, 2, 0, 1)))
	f.Add(join(op(B, 0, 0, 0, 0), op(E, 2, 0, 0, 0), op(E|P, 1, 0, 0, 0), op(B|E|P, 1, 0, 0, 0)))
	f.Add(join(op(U|B, 0x7e, 1, 0, 9), op(U|E, 0x7f, 1, 5, 9), op(U|B|E|P, 0x80, 3, 0, 1)))
	f.Add(join(op(B|E, 0, 0, 0x81, 0), op(B|E|P, 1, 0, 0, 0)))
	f.Add(join(op(B, 0, 0, 0, 0xFF), op(E|P, 1, 0, 0, 0), op(B|E|P, 2, 1, 0, 0xFF)))

	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 1 {
			return
		}
		initial := 0xFFFFFF80 + uint32(in[0]) // TSNs wrap in most inputs
		in = in[1:]
		const streams = 3
		tr := NewTracker(initial)
		r := NewReassembler(streams)

		held := map[uint32]fuzzRec{}      // chunks handed to the Reassembler, by TSN
		deliveredTSN := map[uint32]bool{} // chunks inside delivered messages
		var nextSSN [streams]uint16
		added, popped := 0, 0
		pkt := make([]byte, 64)

		popAll := func() {
			for {
				m, ok := r.Pop()
				if !ok {
					return
				}
				popped += len(m.Data)
				checkMessage(t, m, held, deliveredTSN, &nextSSN)
			}
		}
		for len(in) >= 5 {
			flags, tb, sid, sb, nb := in[0], in[1], in[2], in[3], in[4]
			in = in[5:]
			ssn := uint16(sb & 7)
			if sb&0x80 != 0 {
				ssn = uint16(sb) << 8
			}
			n := 4 + int(nb)%29
			tsn := initial + uint32(int8(tb))
			data := pkt[:n]
			binary.BigEndian.PutUint32(data, tsn)
			for i := 4; i < n; i++ {
				data[i] = byte(tsn) ^ byte(i)
			}
			if nb == 0xFF {
				data, n = pkt[:0], 0
			}
			d := chunk.DataChunk{
				Unordered: flags&1 != 0, Beginning: flags&2 != 0, Ending: flags&4 != 0,
				TSN: tsn, StreamID: uint16(sid % 4), SSN: ssn, PPID: tsn, UserData: data,
			}
			if tr.Add(tsn) {
				if _, dup := held[tsn]; dup {
					t.Fatalf("Tracker called TSN %d new twice", tsn)
				}
				if err := r.Add(&d); err == nil || d.StreamID < streams {
					// A chunk with a valid stream may still be dropped
					// later (stale SSN): it then never shows up.
					held[tsn] = fuzzRec{d: d, data: append([]byte(nil), data...)}
				}
				added += n
			}
			clear(pkt) // the packet buffer is reused
			checkTracker(t, tr)
			checkReassembler(t, r)
			if b := r.Buffered(); b < 0 || b > added-popped {
				t.Fatalf("Buffered() = %d, added %d, popped %d", b, added, popped)
			}
			gaps := tr.AppendGapBlocks(nil, 1<<20)
			for i, g := range gaps {
				if g.Start < 2 || g.End < g.Start || i > 0 && g.Start <= gaps[i-1].End+1 {
					t.Fatalf("bad gap blocks %v", gaps)
				}
			}
			if flags&8 != 0 {
				popAll()
			}
		}
		popAll()
		if r.Buffered() < 0 || r.Buffered() > added-popped {
			t.Fatalf("Buffered() = %d, added %d, popped %d", r.Buffered(), added, popped)
		}
	})
}

// fuzzRec is a chunk handed to the Reassembler, with a copy of its data.
type fuzzRec struct {
	d    chunk.DataChunk
	data []byte
}

// checkMessage verifies that m is made of whole, consecutive chunks that
// were handed in, none of them delivered before.
func checkMessage(t *testing.T, m Message, held map[uint32]fuzzRec, delivered map[uint32]bool, nextSSN *[3]uint16) {
	t.Helper()
	if len(m.Data) < 4 {
		t.Fatalf("message of %d bytes: not made of fuzz chunks", len(m.Data))
	}
	first := binary.BigEndian.Uint32(m.Data)
	var head chunk.DataChunk
	for pos, tsn := 0, first; pos < len(m.Data); tsn++ {
		c, ok := held[tsn]
		if !ok {
			t.Fatalf("message at TSN %d: chunk %d was never handed in", first, tsn)
		}
		if delivered[tsn] {
			t.Fatalf("chunk %d delivered twice", tsn)
		}
		delivered[tsn] = true
		if pos+len(c.data) > len(m.Data) || string(m.Data[pos:pos+len(c.data)]) != string(c.data) {
			t.Fatalf("message at TSN %d: bytes of chunk %d wrong", first, tsn)
		}
		pos += len(c.data)
		isFirst, isLast := tsn == first, pos == len(m.Data)
		if c.d.Beginning != isFirst || c.d.Ending != isLast {
			t.Fatalf("message at TSN %d: chunk %d has B=%v E=%v at first=%v last=%v",
				first, tsn, c.d.Beginning, c.d.Ending, isFirst, isLast)
		}
		if isFirst {
			head = c.d
		} else if c.d.StreamID != head.StreamID || c.d.Unordered != head.Unordered ||
			(!head.Unordered && c.d.SSN != head.SSN) {
			t.Fatalf("message at TSN %d splices chunk %d of another message", first, tsn)
		}
	}
	if m.StreamID != head.StreamID || m.Unordered != head.Unordered || m.PPID != head.PPID {
		t.Fatalf("message at TSN %d: header %+v, first chunk %+v", first, m, head)
	}
	if !m.Unordered {
		if head.SSN != nextSSN[m.StreamID] {
			t.Fatalf("stream %d: delivered SSN %d, want %d", m.StreamID, head.SSN, nextSSN[m.StreamID])
		}
		nextSSN[m.StreamID]++
	}
}
