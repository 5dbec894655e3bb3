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
		if tsn == f.first || tsn == f.last {
			// An end: the run must be contiguous and its size right.
			size := 0
			for u := f.first; ; u++ {
				g, ok := r.frags[u]
				if !ok {
					t.Fatalf("TSN %d: run %d..%d has a hole at %d", tsn, f.first, f.last, u)
				}
				if u != f.first && !sameMessage(ptr(r.frags[u-1]), &g) {
					t.Fatalf("run %d..%d joins unrelated fragments at %d", f.first, f.last, u)
				}
				size += len(g.data)
				if u == f.last {
					break
				}
			}
			if size != f.size {
				t.Fatalf("TSN %d: run %d..%d size %d, counted %d", tsn, f.first, f.last, f.size, size)
			}
			h, e := r.frags[f.first], r.frags[f.last]
			if h.beginning && e.ending {
				t.Fatalf("run %d..%d is a whole message but is held", f.first, f.last)
			}
			if h.first != f.first || h.last != f.last || e.first != f.first || e.last != f.last {
				t.Fatalf("run %d..%d: ends disagree", f.first, f.last)
			}
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

func ptr[T any](v T) *T { return &v }
