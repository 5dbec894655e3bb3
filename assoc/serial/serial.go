// Package serial is serial-number arithmetic (RFC 1982) for TSNs (32 bits)
// and Stream Sequence Numbers (16 bits).
//
// RFC 9260 section 1.6: "Comparisons and arithmetic on TSNs in this
// document SHOULD use Serial Number Arithmetic, as defined in [RFC1982],
// where SERIAL_BITS = 32", and likewise for Stream Sequence Numbers with
// SERIAL_BITS = 16.
//
// RFC 1982 section 3.2 leaves the comparison of two numbers exactly half
// the number space apart (a and a+2^31, or a and a+2^15) undefined. These
// functions make such a pair incomparable: neither is less than the other,
// so Less is false in both directions, LessEq is false in both directions,
// and Max returns its first argument. Less is therefore irreflexive and
// asymmetric on every pair, which is what the callers (sorted ranges,
// "is this TSN new?") rely on. A conforming sender never creates such a
// pair: RFC 9260 section 1.6 asks it not to send a TSN more than 2^31 - 1
// above the start of its send window.
package serial

// Less32 reports whether a precedes b in 32-bit serial arithmetic (a TSN
// comparison). It is false when a == b and when the two are exactly 2^31
// apart (undefined by RFC 1982).
func Less32(a, b uint32) bool {
	// b-a in (0, 2^31) <=> a < b. 2^31 itself is int32 min: not > 0.
	return int32(b-a) > 0
}

// LessEq32 reports whether a == b or a precedes b in 32-bit serial
// arithmetic. It is false for a pair exactly 2^31 apart.
func LessEq32(a, b uint32) bool {
	return a == b || Less32(a, b)
}

// Less16 reports whether a precedes b in 16-bit serial arithmetic (an SSN
// comparison). It is false when a == b and when the two are exactly 2^15
// apart (undefined by RFC 1982).
func Less16(a, b uint16) bool {
	return int16(b-a) > 0
}

// LessEq16 reports whether a == b or a precedes b in 16-bit serial
// arithmetic. It is false for a pair exactly 2^15 apart.
func LessEq16(a, b uint16) bool {
	return a == b || Less16(a, b)
}

// Max32 returns the later of a and b in 32-bit serial arithmetic; for a
// pair exactly 2^31 apart, whose order is undefined, it returns a.
func Max32(a, b uint32) uint32 {
	if Less32(a, b) {
		return b
	}
	return a
}
