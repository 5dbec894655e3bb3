// Package chunk is the SCTP wire codec (RFC 9260 section 3): the common
// header, chunks, parameters and error causes.
//
// Encoding appends to a caller's buffer (Append methods); decoding works on
// typed views validated once at the boundary. Decoders of the hot-path
// chunks (DATA, SACK) fill a reused value and do not allocate: byte slices
// in a decoded chunk alias the packet buffer and are valid only as long as
// that buffer is.
//
// The package imports only the standard library (plus pgsctp's crc32c,
// itself a thin layer over hash/crc32) and knows nothing of sockets,
// clocks or association state: no net (net/netip is fine), os or sync.
// A test guards that.
//
// Ownership: Append methods only read their receiver. Unmarshal methods
// overwrite every field of their receiver; slices of bytes in the result
// alias the Raw they were given, slices of values (GapBlocks, DupTSNs,
// Addresses, ...) reuse the receiver's capacity. Nothing is retained by the
// package between calls. After an error, the receiver holds whatever was
// decoded before the problem was found (see each Unmarshal).
//
// Decoding is strict about lengths (every length field is checked against
// the RFC layout and the buffer, so no input can make a decoder panic or
// read past its chunk) and lenient about what is protocol, not layout: a
// DATA chunk without user data decodes, so the core can answer it with a
// No User Data cause; unknown chunks, parameters and causes are kept for
// the core to act on their action bits.
package chunk

import (
	"errors"
	"fmt"
)

// Type is a chunk type (RFC 9260 section 3.2).
type Type uint8

// Chunk types of RFC 9260 and the extensions pgsctp knows by name.
const (
	TypeData             Type = 0
	TypeInit             Type = 1
	TypeInitAck          Type = 2
	TypeSack             Type = 3
	TypeHeartbeat        Type = 4
	TypeHeartbeatAck     Type = 5
	TypeAbort            Type = 6
	TypeShutdown         Type = 7
	TypeShutdownAck      Type = 8
	TypeError            Type = 9
	TypeCookieEcho       Type = 10
	TypeCookieAck        Type = 11
	TypeECNE             Type = 12
	TypeCWR              Type = 13
	TypeShutdownComplete Type = 14
	TypeAuth             Type = 15 // RFC 4895
	TypeIData            Type = 64 // RFC 8260
	TypeAsconfAck        Type = 128
	TypeReconfig         Type = 130 // RFC 6525
	TypePad              Type = 132 // RFC 4820
	TypeForwardTSN       Type = 192 // RFC 3758
	TypeAsconf           Type = 193 // RFC 5061
	TypeIForwardTSN      Type = 194 // RFC 8260
)

// UnknownAction is what RFC 9260 section 3.2 says to do with a chunk (or,
// section 3.2.1, a parameter) whose type is not recognised, encoded in the
// two highest-order bits of the type.
type UnknownAction uint8

const (
	// ActionStop: stop processing this packet (chunk) or this chunk's
	// parameters (parameter); for a chunk, discard the packet.
	ActionStop UnknownAction = 0
	// ActionStopReport: as ActionStop, and report it in an ERROR chunk
	// (Unrecognized Chunk Type) or an Unrecognized Parameter.
	ActionStopReport UnknownAction = 1
	// ActionSkip: skip it and continue with the next one.
	ActionSkip UnknownAction = 2
	// ActionSkipReport: skip it, continue, and report it.
	ActionSkipReport UnknownAction = 3
)

// Action returns the unknown-type action for chunk type t.
func (t Type) Action() UnknownAction { return UnknownAction(t >> 6) }

// Report says whether an unrecognised item with this action is reported.
func (a UnknownAction) Report() bool { return a&1 == 1 }

// Stop says whether processing stops at an unrecognised item with this action.
func (a UnknownAction) Stop() bool { return a&2 == 0 }

// Chunk is a chunk that can be encoded.
type Chunk interface {
	// Type is the chunk type on the wire.
	Type() Type
	// Append appends the encoded chunk, header and value, to b. The
	// padding to a multiple of four bytes is appended too, so chunks can
	// be appended one after another to build a packet.
	Append(b []byte) []byte
	// Len is the encoded length without padding: the Chunk Length field.
	Len() int
}

// ChunkHeaderLen is the size of a chunk header: type, flags, length.
const ChunkHeaderLen = 4

// Errors returned by decoders. Decoding errors wrap one of these.
var (
	// ErrShort: the buffer ends before a length field says it should.
	ErrShort = errors.New("sctp: truncated")
	// ErrLength: a length field is impossible (below the minimum for its
	// kind, or not a multiple where one is required).
	ErrLength = errors.New("sctp: bad length")
	// ErrChecksum: the CRC32c of a packet does not match.
	ErrChecksum = errors.New("sctp: bad checksum")
	// ErrInvalid: a field has a value the RFC forbids (e.g. zero
	// Initiate Tag, zero stream counts in INIT).
	ErrInvalid = errors.New("sctp: invalid field")
	// ErrMissingCookie: an INIT ACK without a State Cookie parameter. It
	// wraps ErrInvalid; the core answers it with a Missing Mandatory
	// Parameter cause (RFC 9260 section 3.3.10.2) naming parameter 7.
	ErrMissingCookie = fmt.Errorf("%w: INIT ACK without State Cookie", ErrInvalid)
)

var typeNames = [...]string{
	TypeData:             "DATA",
	TypeInit:             "INIT",
	TypeInitAck:          "INIT ACK",
	TypeSack:             "SACK",
	TypeHeartbeat:        "HEARTBEAT",
	TypeHeartbeatAck:     "HEARTBEAT ACK",
	TypeAbort:            "ABORT",
	TypeShutdown:         "SHUTDOWN",
	TypeShutdownAck:      "SHUTDOWN ACK",
	TypeError:            "ERROR",
	TypeCookieEcho:       "COOKIE ECHO",
	TypeCookieAck:        "COOKIE ACK",
	TypeECNE:             "ECNE",
	TypeCWR:              "CWR",
	TypeShutdownComplete: "SHUTDOWN COMPLETE",
	TypeAuth:             "AUTH",
	TypeIData:            "I-DATA",
	TypeAsconfAck:        "ASCONF ACK",
	TypeReconfig:         "RE-CONFIG",
	TypePad:              "PAD",
	TypeForwardTSN:       "FORWARD TSN",
	TypeAsconf:           "ASCONF",
	TypeIForwardTSN:      "I-FORWARD-TSN",
}

// String returns the chunk type's name as the RFCs write it, or
// "Type(0xNN)" for a type without a name.
func (t Type) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%#02x)", uint8(t))
}

// pad returns the number of zero bytes that bring n to a multiple of four:
// "The Chunk Length field does not count any chunk padding" (RFC 9260
// section 3.2), and neither do the length fields of parameters and causes.
func pad(n int) int { return -n & 3 }

var zeros [3]byte

// appendPad appends the padding after an item of n bytes.
func appendPad(b []byte, n int) []byte { return append(b, zeros[:pad(n)]...) }

// appendChunkHeader appends type, flags and Chunk Length. The length must
// fit 16 bits; keeping chunks within the path MTU is the sender's job.
func appendChunkHeader(b []byte, t Type, flags uint8, length int) []byte {
	return append(b, byte(t), flags, byte(length>>8), byte(length))
}

// appendTLV appends a parameter or cause TLV and its padding.
func appendTLV(b []byte, typ uint16, value []byte) []byte {
	n := 4 + len(value)
	b = append(b, byte(typ>>8), byte(typ), byte(n>>8), byte(n))
	b = append(b, value...)
	return appendPad(b, n)
}

// tlvLen sums the lengths of TLVs that follow one another in a chunk:
// each one's padding counts except the last one's, which is the chunk's
// own padding ("[the Chunk Length] does include padding of any
// variable-length parameter except the last parameter in the chunk",
// RFC 9260 section 3.2).
type tlvLen struct{ n, lastPad int }

// add counts a TLV whose value is valueLen bytes.
func (l *tlvLen) add(valueLen int) {
	n := 4 + valueLen
	l.lastPad = pad(n)
	l.n += n + l.lastPad
}

// total is the length of the TLVs counted so far, without the last padding.
func (l *tlvLen) total() int { return l.n - l.lastPad }

// checkType returns an error if r is not a chunk of type want.
func checkType(r Raw, want Type) error {
	if r.Type != want {
		return fmt.Errorf("chunk: decoding %v as %v: %w", r.Type, want, ErrInvalid)
	}
	return nil
}
