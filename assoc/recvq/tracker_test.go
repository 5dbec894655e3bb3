package recvq

import (
	"slices"
	"testing"

	"github.com/pgsctp/pgsctp/chunk"
)

// gaps builds Gap Ack Blocks from start, end pairs.
func gaps(se ...uint16) []chunk.GapBlock {
	var b []chunk.GapBlock
	for i := 0; i+1 < len(se); i += 2 {
		b = append(b, chunk.GapBlock{Start: se[i], End: se[i+1]})
	}
	return b
}

// checkTracker verifies the Tracker's internal invariants.
func checkTracker(t *testing.T, tr *Tracker) {
	t.Helper()
	prev := uint32(0) // offset of the previous run's last TSN
	for i, r := range tr.ranges {
		f, l := tr.off(r.first), tr.off(r.last)
		if !isAhead(f) || !isAhead(l) || l < f {
			t.Fatalf("run %d %d..%d not above cum %d", i, r.first, r.last, tr.cum)
		}
		if f <= prev+1 {
			t.Fatalf("run %d %d..%d overlaps or touches its predecessor (cum %d)", i, r.first, r.last, tr.cum)
		}
		prev = l
	}
	if len(tr.ranges) > MaxRanges || len(tr.dups) > MaxDupTSNs {
		t.Fatalf("bounds exceeded: %d runs, %d dups", len(tr.ranges), len(tr.dups))
	}
}

func TestTrackerTable(t *testing.T) {
	type step struct {
		tsn uint32
		new bool
	}
	tests := []struct {
		name    string
		initial uint32
		steps   []step
		cum     uint32
		gaps    []chunk.GapBlock
		dups    []uint32
	}{
		{
			name:    "nothing received: cum is Initial TSN minus one",
			initial: 100,
			cum:     99,
		},
		{
			name:    "in order",
			initial: 100,
			steps:   []step{{100, true}, {101, true}, {102, true}},
			cum:     102,
		},
		{
			// The example of RFC 9260 section 6.2: TSNs 10-12, 14-15 and
			// 17 received; "Cumulative TSN Ack = 12", "block #1 strt=2",
			// "block #1 end=3", "block #2 strt=5", "block #2 end=5".
			name:    "RFC 9260 6.2 example",
			initial: 10,
			steps:   []step{{10, true}, {17, true}, {11, true}, {14, true}, {12, true}, {15, true}},
			cum:     12,
			gaps:    gaps(2, 3, 5, 5),
		},
		{
			name:    "hole filled merges run into cum",
			initial: 10,
			steps:   []step{{12, true}, {13, true}, {10, true}, {11, true}},
			cum:     13,
		},
		{
			name:    "hole between two runs joins them",
			initial: 10,
			steps:   []step{{12, true}, {14, true}, {13, true}},
			cum:     9,
			gaps:    gaps(3, 5),
		},
		{
			name:    "run grows on the left",
			initial: 10,
			steps:   []step{{15, true}, {14, true}, {13, true}},
			cum:     9,
			gaps:    gaps(4, 6),
		},
		{
			// "For example, if a receiver were to get the TSN 19 three
			// times, it would list 19 twice in the outbound SACK chunk."
			name:    "duplicates: TSN 19 three times is listed twice",
			initial: 19,
			steps:   []step{{19, true}, {19, false}, {19, false}},
			cum:     19,
			dups:    []uint32{19, 19},
		},
		{
			name:    "duplicate inside a gap block and below cum",
			initial: 1,
			steps:   []step{{1, true}, {5, true}, {6, true}, {6, false}, {5, false}, {1, false}, {0, false}},
			cum:     1,
			gaps:    gaps(4, 5),
			dups:    []uint32{6, 5, 1, 0},
		},
		{
			name:    "far behind (more than 2^31) is a duplicate",
			initial: 1000,
			steps:   []step{{1000 + 1<<31 + 5, false}},
			cum:     999,
			dups:    []uint32{1000 + 1<<31 + 5},
		},
		{
			name:    "antipodal TSN is not new",
			initial: 1000,
			steps:   []step{{999 + 1<<31, false}},
			cum:     999,
			dups:    []uint32{999 + 1<<31},
		},
		{
			name:    "wrap-around of the TSN",
			initial: 0xFFFFFFFE,
			steps:   []step{{0xFFFFFFFE, true}, {1, true}, {0xFFFFFFFF, true}, {3, true}, {0xFFFFFFFF, false}},
			cum:     0xFFFFFFFF,
			gaps:    gaps(2, 2, 4, 4),
			dups:    []uint32{0xFFFFFFFF},
		},
		{
			name:    "wrap-around: 0 follows 0xFFFFFFFF",
			initial: 0xFFFFFFFF,
			steps:   []step{{0xFFFFFFFF, true}, {0, true}, {1, true}},
			cum:     1,
		},
		{
			name:    "initial TSN 0: cum starts at 0xFFFFFFFF",
			initial: 0,
			steps:   []step{{2, true}},
			cum:     0xFFFFFFFF,
			gaps:    gaps(3, 3),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(tt.initial)
			for _, s := range tt.steps {
				if got := tr.Add(s.tsn); got != s.new {
					t.Errorf("Add(%d) = %v, want %v", s.tsn, got, s.new)
				}
				checkTracker(t, tr)
				if !tr.Contains(s.tsn) {
					t.Errorf("Contains(%d) = false after Add", s.tsn)
				}
			}
			if got := tr.CumTSN(); got != tt.cum {
				t.Errorf("CumTSN = %d, want %d", got, tt.cum)
			}
			if got := tr.HasGaps(); got != (len(tt.gaps) > 0) {
				t.Errorf("HasGaps = %v, want %v", got, len(tt.gaps) > 0)
			}
			if got := tr.AppendGapBlocks(nil, 100); !slices.Equal(got, tt.gaps) {
				t.Errorf("gap blocks %v, want %v", got, tt.gaps)
			}
			if got := tr.AppendDups(nil, 100); !slices.Equal(got, tt.dups) {
				t.Errorf("dups %v, want %v", got, tt.dups)
			}
			if got := tr.AppendDups(nil, 100); len(got) != 0 {
				t.Errorf("dups reported twice: %v", got)
			}
		})
	}
}

func TestTrackerContains(t *testing.T) {
	tr := NewTracker(100)
	for _, tsn := range []uint32{100, 101, 105, 106, 110} {
		tr.Add(tsn)
	}
	for tsn, want := range map[uint32]bool{
		0: true, 99: true, 100: true, 101: true, // at or below cum
		102: false, 104: false, 105: true, 106: true, 107: false,
		109: false, 110: true, 111: false, 1 << 30: false,
		101 + 1<<31: true, // 2^31 above cum: serially below it
	} {
		if got := tr.Contains(tsn); got != want {
			t.Errorf("Contains(%d) = %v, want %v", tsn, got, want)
		}
	}
}

func TestTrackerAppendLimits(t *testing.T) {
	tr := NewTracker(1)
	for tsn := uint32(2); tsn < 20; tsn += 2 { // runs at offsets 2,4,...
		tr.Add(tsn)
	}
	prefix := gaps(9, 9)
	got := tr.AppendGapBlocks(prefix, 3)
	want := gaps(9, 9, 2, 2, 4, 4, 6, 6)
	if !slices.Equal(got, want) {
		t.Errorf("AppendGapBlocks(prefix, 3) = %v, want %v", got, want)
	}
	if got := tr.AppendGapBlocks(nil, 0); len(got) != 0 {
		t.Errorf("max 0 gave %v", got)
	}
	for range 5 {
		tr.Add(2)
	}
	if got := tr.AppendDups(nil, 2); !slices.Equal(got, []uint32{2, 2}) {
		t.Errorf("AppendDups(nil, 2) = %v", got)
	}
	// All five were forgotten, not only the two reported.
	if got := tr.AppendDups(nil, 10); len(got) != 0 {
		t.Errorf("after a report, dups %v remain", got)
	}
	// The list is bounded; duplicates beyond it are still duplicates.
	for range MaxDupTSNs + 10 {
		if tr.Add(2) {
			t.Fatal("duplicate reported as new")
		}
	}
	if got := tr.AppendDups(nil, 1000); len(got) != MaxDupTSNs {
		t.Errorf("%d dups remembered, want the bound %d", len(got), MaxDupTSNs)
	}
}

// TestTrackerGapOffsetClip: Gap Ack Block offsets are 16 bits; runs beyond
// offset 65535 are left out and a run crossing it is cut.
func TestTrackerGapOffsetClip(t *testing.T) {
	var cum uint32 = 0xFFFF0000 // the offsets wrap the TSN space too
	tr := NewTracker(cum + 1)
	for _, tsn := range []uint32{cum + 10, cum + 65534, cum + 65535, cum + 65536, cum + 65537, cum + 70000} {
		if !tr.Add(tsn) {
			t.Fatalf("Add(%d) = false", tsn)
		}
	}
	got := tr.AppendGapBlocks(nil, 10)
	want := gaps(10, 10, 65534, 65535)
	if !slices.Equal(got, want) {
		t.Errorf("gap blocks %v, want %v", got, want)
	}
	if !tr.Contains(cum+70000) || tr.Contains(cum+69999) {
		t.Error("runs beyond the gap block range are still tracked exactly")
	}
}

// TestTrackerRangeLimit: once MaxRanges runs exist, a TSN that would open
// another is dropped (false, not recorded, not a duplicate), while TSNs
// that extend or join runs, or advance cum, are still taken.
func TestTrackerRangeLimit(t *testing.T) {
	tr := NewTracker(1)
	// Runs at 3, 5, 7, ...: every other TSN missing.
	for i := range uint32(MaxRanges) {
		if !tr.Add(3 + 2*i) {
			t.Fatalf("run %d refused", i)
		}
	}
	checkTracker(t, tr)
	beyond := uint32(3 + 2*MaxRanges + 1) // not adjacent to the last run
	if tr.Add(beyond) {
		t.Fatal("a run beyond MaxRanges was accepted")
	}
	if tr.Contains(beyond) {
		t.Fatal("a refused TSN is recorded as received")
	}
	if got := tr.AppendDups(nil, 100); len(got) != 0 {
		t.Fatalf("a refused TSN is listed as duplicate: %v", got)
	}
	// Extending the last run does not open a run.
	if !tr.Add(3 + 2*MaxRanges - 1) {
		t.Fatal("extension of the last run refused")
	}
	// Joining two runs frees one.
	if !tr.Add(4) {
		t.Fatal("join refused")
	}
	if !tr.Add(beyond + 10) {
		t.Fatal("a new run refused after a join freed one")
	}
	// Filling holes from cum up swallows the runs.
	for tsn := uint32(1); tsn <= beyond+10; tsn++ {
		tr.Add(tsn)
	}
	checkTracker(t, tr)
	if tr.CumTSN() != beyond+10 || tr.HasGaps() {
		t.Fatalf("cum %d, gaps %v after filling every hole", tr.CumTSN(), tr.HasGaps())
	}
}

// TestTrackerModel compares the Tracker with a plain set on random TSN
// sequences near a random (often wrapping) initial TSN. The seed is logged.
func TestTrackerModel(t *testing.T) {
	r := testRand(t)
	for round := range 200 {
		initial := r.Uint32()
		if round%3 == 0 {
			initial = 0xFFFFFFFF - uint32(r.IntN(300))
		}
		tr := NewTracker(initial)
		got := map[uint32]bool{} // offsets from initial received
		var wantDups []uint32
		span := 1 + r.IntN(400)
		for range 3 * span {
			o := uint32(r.IntN(span))
			if r.IntN(20) == 0 {
				o = -uint32(1 + r.IntN(5)) // below the initial TSN
			}
			tsn := initial + o
			isNew := int32(o) >= 0 && !got[o]
			if a := tr.Add(tsn); a != isNew {
				t.Fatalf("round %d: Add(%d) = %v, want %v", round, tsn, a, isNew)
			}
			if isNew {
				got[o] = true
			} else if len(wantDups) < MaxDupTSNs {
				wantDups = append(wantDups, tsn)
			}
			checkTracker(t, tr)
		}
		// Expected cum, gap blocks, from the set.
		var c uint32
		for got[c] {
			c++
		}
		if tr.CumTSN() != initial+c-1 {
			t.Fatalf("round %d: cum %d, want %d", round, tr.CumTSN(), initial+c-1)
		}
		var want []chunk.GapBlock
		for o := c + 1; o < uint32(span); o++ {
			if got[o] && !got[o-1] {
				want = append(want, chunk.GapBlock{Start: uint16(o - c + 1)})
			}
			if got[o] && !got[o+1] {
				want[len(want)-1].End = uint16(o - c + 1)
			}
		}
		if g := tr.AppendGapBlocks(nil, 1<<20); !slices.Equal(g, want) {
			t.Fatalf("round %d: gaps %v, want %v", round, g, want)
		}
		if d := tr.AppendDups(nil, 1<<20); !slices.Equal(d, wantDups) {
			t.Fatalf("round %d: dups %v, want %v", round, d, wantDups)
		}
		for o := uint32(0); o < uint32(span)+2; o++ {
			if tr.Contains(initial+o) != got[o] {
				t.Fatalf("round %d: Contains(%d) = %v", round, initial+o, !got[o])
			}
		}
	}
}

// BenchmarkTrackerInOrder is the common case: every TSN the next one.
func BenchmarkTrackerInOrder(b *testing.B) {
	tr := NewTracker(0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tr.Add(uint32(i))
	}
}

// BenchmarkTrackerLossy: one TSN in 10 arrives late (after 8 others), so
// a few runs exist at any time.
func BenchmarkTrackerLossy(b *testing.B) {
	tr := NewTracker(0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tsn := uint32(i)
		switch {
		case i%10 == 0:
			continue // held back
		case i%10 == 8 && i >= 10:
			tr.Add(tsn - 18) // the one held back from the previous ten
		}
		tr.Add(tsn)
	}
}
