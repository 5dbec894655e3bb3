package recvq

import (
	"flag"
	"math/rand/v2"
	"testing"
)

var seedFlag = flag.Uint64("recvq.seed", 0, "seed for the randomized tests (0: a fresh one, logged)")

// testRand returns a generator seeded from -recvq.seed or a fresh seed,
// logged so that a failure can be replayed with -recvq.seed=N.
func testRand(t testing.TB) *rand.Rand {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (replay: go test -run '^%s$' ./assoc/recvq -recvq.seed=%d)", seed, t.Name(), seed)
	return rand.New(rand.NewPCG(seed, seed>>32^0x9e3779b97f4a7c15))
}

// checkReassembler verifies the Reassembler's internal invariants: runs
// of fragments are consistent at their ends, nothing held is a whole
// message, and Buffered is the sum of what is held.
func checkReassembler(t testing.TB, r *Reassembler) {
	t.Helper()
	held := 0
	for tsn, f := range r.frags {
		held += len(f.data)
		if f.beginning && f.ending {
			t.Fatalf("TSN %d: a whole message is held as a fragment", tsn)
		}
		if prev, ok := r.frags[tsn-1]; ok && sameMessage(&prev, &f) {
			continue // not the start of a run
		}
		// A run is a maximal chain of fragments that can be of one
		// message; only its ends' bookkeeping is maintained.
		last, size := tsn, len(f.data)
		for {
			cur, next := r.frags[last], r.frags[last+1]
			if _, ok := r.frags[last+1]; !ok || !sameMessage(&cur, &next) {
				break
			}
			last++
			size += len(next.data)
		}
		h, e := r.frags[tsn], r.frags[last]
		if h.beginning && e.ending {
			t.Fatalf("run %d..%d is a whole message but is held", tsn, last)
		}
		if h.first != tsn || h.last != last || e.first != tsn || e.last != last || h.size != size || e.size != size {
			t.Fatalf("run %d..%d of %d bytes: ends say %d..%d (%d bytes), %d..%d (%d bytes)",
				tsn, last, size, h.first, h.last, h.size, e.first, e.last, e.size)
		}
	}
	for k, m := range r.waiting {
		held += len(m.Data)
		sid, ssn := uint16(k>>16), uint16(k)
		if m.StreamID != sid || m.Unordered || ssn == r.nextSSN[sid] {
			t.Fatalf("waiting message %d/%d is misfiled (next SSN %d)", sid, ssn, r.nextSSN[sid])
		}
	}
	for _, m := range r.ready[r.head:] {
		held += len(m.Data)
	}
	if held != r.Buffered() || held < 0 {
		t.Fatalf("Buffered() = %d, held %d", r.Buffered(), held)
	}
}
