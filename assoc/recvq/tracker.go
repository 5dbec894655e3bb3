// Package recvq is the receive side of an association: which TSNs have
// arrived (Tracker, for the SACK) and how DATA chunks become user messages
// (Reassembler: reassembly of fragments, ordered and unordered delivery).
//
// Both types are part of the sans-I/O core: no clock, no goroutine, no
// locking. They are not safe for concurrent use; the association owns them.
package recvq

import (
	"slices"

	"github.com/pgsctp/pgsctp/chunk"
)

// MaxRanges bounds the number of disjoint runs of TSNs above the cumulative
// TSN ack point that a Tracker remembers. A TSN that would open run number
// MaxRanges+1 is dropped: Add returns false and the TSN is not recorded, so
// it is neither acknowledged nor reported as a duplicate, and the peer will
// retransmit it. 4096 runs cost 32 KiB and are far more than a SACK can
// report (a Gap Ack Block is 4 bytes, a packet ~1500), so a peer that needs
// more is either losing nearly every other packet or hostile.
const MaxRanges = 4096

// MaxDupTSNs bounds the duplicate TSNs remembered between two SACKs.
// Duplicates beyond it are counted as duplicates (Add returns false) but
// not listed: the Duplicate TSN list is advisory, and 64 entries (256
// bytes of a SACK) say enough about a path that duplicates packets.
const MaxDupTSNs = 64

// maxGapOffset is the largest offset a Gap Ack Block can carry: its Start
// and End are 16-bit offsets from the Cumulative TSN Ack (RFC 9260 section
// 3.3.4).
const maxGapOffset = 0xFFFF

// tsnRange is a run of received TSNs, first..last inclusive, both above the
// cumulative TSN ack point and at most 2^31-1 above it.
type tsnRange struct{ first, last uint32 }

// Tracker records which TSNs have been received (RFC 9260 section 6.2) and
// produces what a SACK reports (section 3.3.4): the Cumulative TSN Ack, the
// Gap Ack Blocks and the Duplicate TSNs.
//
// TSNs above the cumulative ack point are kept as sorted, disjoint,
// non-adjacent runs, so memory follows the number of holes, not the
// distance between TSNs. How far ahead of the cumulative ack point a TSN
// may be is the caller's decision (it drops DATA beyond its receive
// window); the Tracker itself only bounds the number of runs (MaxRanges)
// and of remembered duplicates (MaxDupTSNs).
type Tracker struct {
	// cum is the Cumulative TSN Ack: every TSN up to and including cum
	// (in serial arithmetic) has been received.
	cum uint32
	// ranges are the runs above cum, ascending from cum, disjoint and
	// never adjacent to each other nor to cum (ranges[0].first > cum+1).
	// Offsets from cum (x - cum, as uint32) give their order.
	ranges []tsnRange
	// dups are the duplicate TSNs received since the last AppendDups.
	dups []uint32
}

// NewTracker returns a Tracker for a peer whose first DATA chunk carries
// initialTSN (the Initial TSN of its INIT or INIT ACK). The cumulative TSN
// ack point starts just below it: "In the case where no DATA chunk has been
// received, this value is set to the peer's Initial TSN minus one" (RFC
// 9260 section 3.3.4).
func NewTracker(initialTSN uint32) *Tracker {
	return &Tracker{cum: initialTSN - 1}
}

// off is tsn's distance above the cumulative ack point. Offsets in
// [1, 2^31) are "new" TSNs; 0 and [2^31, 2^32) are at or below cum in
// serial arithmetic (2^31 itself, the undefined antipodal case, is treated
// as old: the tracker never considers it received anew).
func (t *Tracker) off(tsn uint32) uint32 { return tsn - t.cum }

// isAhead reports whether offset o is above the cumulative ack point.
func isAhead(o uint32) bool { return o != 0 && o < 1<<31 }

// search returns the index of the first run whose last TSN is at or above
// offset o (len(ranges) if none).
func (t *Tracker) search(o uint32) int {
	lo, hi := 0, len(t.ranges)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.off(t.ranges[m].last) < o {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Add records the arrival of a DATA chunk carrying tsn. It returns true if
// the TSN is new: the caller then hands the chunk on for reassembly.
//
// It returns false for a duplicate, a TSN at or below the Cumulative TSN
// Ack or already inside a Gap Ack Block, and remembers it for the next
// SACK: "Every time a receiver gets a duplicate TSN (before sending the
// SACK chunk), it adds it to the list of duplicates" (section 3.3.4), at
// most MaxDupTSNs of them. It also returns false, without recording the
// TSN at all, when the TSN would open a run beyond MaxRanges; the caller
// drops the chunk and the peer retransmits it.
func (t *Tracker) Add(tsn uint32) bool {
	o := t.off(tsn)
	if !isAhead(o) {
		t.addDup(tsn)
		return false
	}
	if o == 1 {
		// The next expected TSN: advance cum, and swallow the first run if
		// it now touches cum.
		t.cum = tsn
		if len(t.ranges) > 0 && t.ranges[0].first == tsn+1 {
			t.cum = t.ranges[0].last
			t.ranges = slices.Delete(t.ranges, 0, 1)
		}
		return true
	}
	i := t.search(o)
	if i < len(t.ranges) && t.off(t.ranges[i].first) <= o {
		t.addDup(tsn)
		return false
	}
	// tsn is strictly between ranges[i-1] (or cum) and ranges[i].
	joinsLeft := i > 0 && t.ranges[i-1].last+1 == tsn
	joinsRight := i < len(t.ranges) && t.ranges[i].first-1 == tsn
	switch {
	case joinsLeft && joinsRight:
		t.ranges[i-1].last = t.ranges[i].last
		t.ranges = slices.Delete(t.ranges, i, i+1)
	case joinsLeft:
		t.ranges[i-1].last = tsn
	case joinsRight:
		t.ranges[i].first = tsn
	default:
		if len(t.ranges) >= MaxRanges {
			return false
		}
		t.ranges = slices.Insert(t.ranges, i, tsnRange{tsn, tsn})
	}
	return true
}

func (t *Tracker) addDup(tsn uint32) {
	if len(t.dups) < MaxDupTSNs {
		t.dups = append(t.dups, tsn)
	}
}

// CumTSN returns the Cumulative TSN Ack: "The largest TSN, such that all
// TSNs smaller than or equal to it have been received and the next one has
// not been received" (section 3.3.4).
func (t *Tracker) CumTSN() uint32 { return t.cum }

// HasGaps reports whether any TSN above the cumulative ack point has been
// received, that is, whether the next SACK carries Gap Ack Blocks. A
// receiver that detects a gap should SACK at once (section 6.7).
func (t *Tracker) HasGaps() bool { return len(t.ranges) > 0 }

// Contains reports whether tsn has been received: it is at or below the
// Cumulative TSN Ack (in serial arithmetic, the antipodal TSN included), or
// inside a run above it.
func (t *Tracker) Contains(tsn uint32) bool {
	o := t.off(tsn)
	if !isAhead(o) {
		return true
	}
	i := t.search(o)
	return i < len(t.ranges) && t.off(t.ranges[i].first) <= o
}

// AppendGapBlocks appends at most max Gap Ack Blocks, lowest first, to dst
// and returns the extended slice. Offsets are relative to CumTSN, as the
// SACK carries them: "To calculate the actual TSN number the Cumulative TSN
// Ack is added to this offset number" (section 3.3.4).
//
// A Gap Ack Block can only express offsets up to 65535. Runs starting
// beyond that are left out and a run crossing it is cut at 65535: the SACK
// then under-reports, which is safe (the peer keeps those TSNs outstanding
// a while longer), whereas wrapped offsets would acknowledge TSNs that were
// never received.
func (t *Tracker) AppendGapBlocks(dst []chunk.GapBlock, max int) []chunk.GapBlock {
	for _, r := range t.ranges {
		if max <= 0 {
			break
		}
		start, end := t.off(r.first), t.off(r.last)
		if start > maxGapOffset {
			break
		}
		end = min(end, maxGapOffset)
		dst = append(dst, chunk.GapBlock{Start: uint16(start), End: uint16(end)})
		max--
	}
	return dst
}

// AppendDups appends at most max of the duplicate TSNs received since the
// previous call, in arrival order, to dst, and forgets all of them: "The
// duplicate count is reinitialized to zero after sending each SACK chunk"
// (section 3.3.4). A TSN received three times is listed twice.
func (t *Tracker) AppendDups(dst []uint32, max int) []uint32 {
	n := min(max, len(t.dups))
	if n > 0 {
		dst = append(dst, t.dups[:n]...)
	}
	t.dups = t.dups[:0]
	return dst
}
