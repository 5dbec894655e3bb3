package chunk

import (
	"encoding/binary"
	"fmt"
)

// RawParam is a parameter TLV as found on the wire, padding excluded.
type RawParam struct {
	Type  uint16
	Value []byte
}

// Parameter types (RFC 9260 section 3.3.2.1 and extensions).
const (
	ParamHeartbeatInfo      uint16 = 1
	ParamIPv4Address        uint16 = 5
	ParamIPv6Address        uint16 = 6
	ParamStateCookie        uint16 = 7
	ParamUnrecognized       uint16 = 8
	ParamCookiePreservative uint16 = 9
	ParamHostNameAddress    uint16 = 11
	ParamSupportedAddrTypes uint16 = 12
	ParamECNCapable         uint16 = 0x8000
	ParamSupportedExt       uint16 = 0x8008
	ParamForwardTSN         uint16 = 0xC000
	ParamRandom             uint16 = 0x8002 // RFC 4895
	ParamChunks             uint16 = 0x8003 // RFC 4895
	ParamHMACAlgo           uint16 = 0x8004 // RFC 4895

	// ASCONF parameters (RFC 5061 section 4.2).
	ParamAddIPAddress      uint16 = 0xC001
	ParamDeleteIPAddress   uint16 = 0xC002
	ParamErrorCauseInd     uint16 = 0xC003
	ParamSetPrimaryAddress uint16 = 0xC004
	ParamSuccessInd        uint16 = 0xC005
	ParamAdaptationLayer   uint16 = 0xC006
)

// ParamAction returns what RFC 9260 section 3.2.1 says to do with an
// unrecognised parameter of type t, from its two highest-order bits.
func ParamAction(t uint16) UnknownAction { return UnknownAction(t >> 14) }

// Len is the Parameter Length of p: header and value, no padding.
func (p RawParam) Len() int { return 4 + len(p.Value) }

// Append appends the parameter TLV and its padding to b.
func (p RawParam) Append(b []byte) []byte { return appendTLV(b, p.Type, p.Value) }

// tlvReader walks a run of TLVs (parameters or causes, which share the
// layout: 16-bit type, 16-bit length counting the 4-byte header, value,
// padding to four bytes). As with chunks, the padding of the last TLV may
// be absent.
type tlvReader struct {
	buf  []byte
	what string // "parameter" or "cause", for errors
}

// next returns the next TLV. ok is false at the end or on error.
func (r *tlvReader) next() (typ uint16, value []byte, ok bool, err error) {
	if len(r.buf) == 0 {
		return 0, nil, false, nil
	}
	if len(r.buf) < 4 {
		return 0, nil, false, fmt.Errorf("chunk: %d bytes left, less than a %s header: %w", len(r.buf), r.what, ErrShort)
	}
	typ = binary.BigEndian.Uint16(r.buf)
	n := int(binary.BigEndian.Uint16(r.buf[2:]))
	if n < 4 {
		return 0, nil, false, fmt.Errorf("chunk: %s %#04x with length %d: %w", r.what, typ, n, ErrLength)
	}
	if n > len(r.buf) {
		return 0, nil, false, fmt.Errorf("chunk: %s %#04x with length %d, only %d bytes left: %w", r.what, typ, n, len(r.buf), ErrShort)
	}
	value = r.buf[4:n:n]
	r.buf = r.buf[min(n+pad(n), len(r.buf)):]
	return typ, value, true, nil
}
