package chunk

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// InitChunk is an INIT chunk (RFC 9260 section 3.3.2). Parameters known to
// pgsctp are decoded into fields; unknown ones are handled by their upper
// two bits as section 3.2.1 says: the ones to report are collected in
// Unrecognized.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Type = 1    |  Chunk Flags  |         Chunk Length          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Initiate Tag                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Advertised Receiver Window Credit (a_rwnd)           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Number of Outbound Streams   |   Number of Inbound Streams   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                          Initial TSN                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	\                                                               \
//	/              Optional/Variable-Length Parameters              /
//	\                                                               \
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Unmarshal fills the fixed fields first and then checks them, so a
// caller that gets ErrInvalid for zero stream counts still has the
// Initiate Tag it needs to send the ABORT the RFC asks for.
type InitChunk struct {
	InitiateTag        uint32
	AdvRecvWindow      uint32
	OutboundStreams    uint16
	InboundStreams     uint16
	InitialTSN         uint32
	Addresses          []netip.Addr // IPv4 (5) and IPv6 (6) Address parameters
	CookiePreservative uint32       // suggested lifetime increment, ms; 0 = absent (9)
	HostName           []byte       // Host Name Address (11), deprecated; non-nil = present
	SupportedAddrTypes []uint16     // Supported Address Types (12)
	ECNCapable         bool         // ECN Capable (0x8000)
	SupportedExt       []Type       // Supported Extensions (0x8008, RFC 5061)
	// AUTH (RFC 4895): Random (0x8002) is the 32 or more random bytes of
	// the key vector, nil if absent; AuthChunks (0x8003) the chunk types
	// the sender accepts only authenticated; HMACAlgos (0x8004) the HMAC
	// identifiers it supports, in order of preference.
	Random     []byte
	AuthChunks []Type
	HMACAlgos  []uint16
	// Unrecognized holds the whole TLVs of unknown parameters whose type
	// asks for a report; the receiver of an INIT returns them in the INIT
	// ACK's Unrecognized Parameter parameters, the receiver of an INIT ACK
	// in an ERROR with an Unrecognized Parameters cause. Append writes
	// them back after the known parameters, so a decoded chunk re-encodes
	// to an equivalent one; a sender building an INIT leaves it empty.
	Unrecognized []RawParam
}

// initFixedLen is the INIT (and INIT ACK) value before the parameters.
const initFixedLen = 16

// Type returns TypeInit.
func (c *InitChunk) Type() Type { return TypeInit }

// Len returns the Chunk Length.
func (c *InitChunk) Len() int {
	var l tlvLen
	c.countParams(&l)
	c.countUnrecognized(&l)
	return ChunkHeaderLen + initFixedLen + l.total()
}

// Append appends the chunk and its padding to b.
func (c *InitChunk) Append(b []byte) []byte {
	b = c.appendFixed(b, TypeInit, c.Len())
	b = c.appendParams(b)
	return c.appendUnrecognized(b)
}

// Unmarshal decodes r into c. Byte slices alias r; Addresses and the
// other value slices reuse c's capacity.
//
// Errors wrap ErrShort or ErrLength for a malformed layout, ErrInvalid for
// a zero Initiate Tag or stream count: "If the value of the Initiate Tag
// in a received INIT chunk is found to be 0, the receiver MUST silently
// discard the packet", and "A receiver of an INIT chunk with the OS value
// set to 0 MUST discard the packet, SHOULD send a packet in response
// containing an ABORT chunk and using the Initiate Tag as the
// Verification Tag" (RFC 9260 section 3.3.2), likewise for MIS.
func (c *InitChunk) Unmarshal(r Raw) error {
	if err := checkType(r, TypeInit); err != nil {
		return err
	}
	if err := c.decodeFixed(r.Value, "INIT"); err != nil {
		return err
	}
	return c.decodeParams(r.Value[initFixedLen:], nil)
}

// appendFixed appends the chunk header and the fixed fields.
func (c *InitChunk) appendFixed(b []byte, t Type, length int) []byte {
	b = appendChunkHeader(b, t, 0, length)
	b = binary.BigEndian.AppendUint32(b, c.InitiateTag)
	b = binary.BigEndian.AppendUint32(b, c.AdvRecvWindow)
	b = binary.BigEndian.AppendUint16(b, c.OutboundStreams)
	b = binary.BigEndian.AppendUint16(b, c.InboundStreams)
	return binary.BigEndian.AppendUint32(b, c.InitialTSN)
}

// decodeFixed resets c, decodes the fixed fields and checks them.
func (c *InitChunk) decodeFixed(v []byte, name string) error {
	if len(v) < initFixedLen {
		return fmt.Errorf("chunk: %s value of %d bytes, want at least %d: %w", name, len(v), initFixedLen, ErrShort)
	}
	*c = InitChunk{
		InitiateTag:     binary.BigEndian.Uint32(v[0:]),
		AdvRecvWindow:   binary.BigEndian.Uint32(v[4:]),
		OutboundStreams: binary.BigEndian.Uint16(v[8:]),
		InboundStreams:  binary.BigEndian.Uint16(v[10:]),
		InitialTSN:      binary.BigEndian.Uint32(v[12:]),
		// Keep the capacity of the slices for reuse.
		Addresses:          c.Addresses[:0],
		SupportedAddrTypes: c.SupportedAddrTypes[:0],
		SupportedExt:       c.SupportedExt[:0],
		AuthChunks:         c.AuthChunks[:0],
		HMACAlgos:          c.HMACAlgos[:0],
		Unrecognized:       c.Unrecognized[:0],
	}
	switch {
	case c.InitiateTag == 0:
		return fmt.Errorf("chunk: %s with Initiate Tag 0: %w", name, ErrInvalid)
	case c.OutboundStreams == 0:
		return fmt.Errorf("chunk: %s with 0 outbound streams: %w", name, ErrInvalid)
	case c.InboundStreams == 0:
		return fmt.Errorf("chunk: %s with 0 inbound streams: %w", name, ErrInvalid)
	}
	return nil
}
