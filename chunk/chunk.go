// Package chunk is the SCTP wire codec (RFC 9260 section 3): the common
// header, chunks, parameters and error causes.
//
// Encoding appends to a caller's buffer (Append methods); decoding works on
// typed views validated once at the boundary. Decoders of the hot-path
// chunks (DATA, SACK) fill a reused value and do not allocate: byte slices
// in a decoded chunk alias the packet buffer and are valid only as long as
// that buffer is.
//
// The package uses the standard library only and knows nothing of sockets,
// clocks or association state.
package chunk

import "errors"

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
)

// Raw is one chunk as found in a packet, validated only for its length.
type Raw struct {
	Type  Type
	Flags uint8
	// Value is the chunk value: after the 4-byte header, before padding.
	Value []byte
	// Bytes is the whole chunk, header included, padding excluded; the
	// Unrecognized Chunk Type cause quotes it.
	Bytes []byte
}

// Reader walks the chunks of a packet without allocating.
//
//	r := chunk.NewReader(chunks)
//	for r.Next() { raw := r.Chunk(); ... }
//	if err := r.Err(); err != nil { ... }
type Reader struct {
	buf []byte
	cur Raw
	err error
}
