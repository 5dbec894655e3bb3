package chunk

import (
	"encoding/binary"
	"fmt"
)

// CauseCode is an error cause code (RFC 9260 section 3.3.10).
type CauseCode uint16

// Error cause codes.
const (
	CauseInvalidStreamID         CauseCode = 1
	CauseMissingMandatoryParam   CauseCode = 2
	CauseStaleCookie             CauseCode = 3
	CauseOutOfResource           CauseCode = 4
	CauseUnresolvableAddress     CauseCode = 5
	CauseUnrecognizedChunkType   CauseCode = 6
	CauseInvalidMandatoryParam   CauseCode = 7
	CauseUnrecognizedParams      CauseCode = 8
	CauseNoUserData              CauseCode = 9
	CauseCookieWhileShuttingDown CauseCode = 10
	CauseRestartWithNewAddresses CauseCode = 11
	CauseUserInitiatedAbort      CauseCode = 12
	CauseProtocolViolation       CauseCode = 13
)

var causeNames = [...]string{
	CauseInvalidStreamID:         "Invalid Stream Identifier",
	CauseMissingMandatoryParam:   "Missing Mandatory Parameter",
	CauseStaleCookie:             "Stale Cookie Error",
	CauseOutOfResource:           "Out of Resource",
	CauseUnresolvableAddress:     "Unresolvable Address",
	CauseUnrecognizedChunkType:   "Unrecognized Chunk Type",
	CauseInvalidMandatoryParam:   "Invalid Mandatory Parameter",
	CauseUnrecognizedParams:      "Unrecognized Parameters",
	CauseNoUserData:              "No User Data",
	CauseCookieWhileShuttingDown: "Cookie Received While Shutting Down",
	CauseRestartWithNewAddresses: "Restart of an Association with New Addresses",
	CauseUserInitiatedAbort:      "User-Initiated Abort",
	CauseProtocolViolation:       "Protocol Violation",
}

// String returns the cause's name as RFC 9260 section 3.3.10 writes it,
// or "CauseCode(N)".
func (c CauseCode) String() string {
	if int(c) < len(causeNames) && causeNames[c] != "" {
		return causeNames[c]
	}
	switch c {
	case CauseDeleteLastAddress:
		return "Request to Delete Last Remaining IP Address"
	case CauseResourceShortage:
		return "Operation Refused Due to Resource Shortage"
	case CauseDeleteSourceAddress:
		return "Request to Delete Source IP Address"
	case CauseIllegalAsconfAck:
		return "Association Aborted Due to Illegal ASCONF-ACK"
	case CauseNoAuthorization:
		return "Request Refused - No Authorization"
	case CauseUnsupportedHMAC:
		return "Unsupported HMAC Identifier"
	}
	return fmt.Sprintf("CauseCode(%d)", uint16(c))
}

// Cause is an error cause, carried in ABORT and ERROR chunks.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Cause Code          |         Cause Length          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	/                    Cause-Specific Information                 /
//	\                                                               \
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The cause types have value receivers, and DecodeCauses returns values:
// switch on chunk.NoUserDataCause, not *chunk.NoUserDataCause.
type Cause interface {
	CauseCode() CauseCode
	// Append appends the cause TLV with its padding.
	Append(b []byte) []byte
	// Len is the Cause Length field: header and value, no padding.
	Len() int
}

// DecodeCauses decodes a run of error causes, the value of an ABORT or
// ERROR chunk. Causes of unknown codes become UnknownCause. Byte slices in
// the causes alias b. On error, the causes decoded before the bad one are
// returned with it.
func DecodeCauses(b []byte) ([]Cause, error) {
	var causes []Cause
	r := tlvReader{buf: b, what: "cause"}
	for {
		code, v, ok, err := r.next()
		if err != nil {
			return causes, err
		}
		if !ok {
			return causes, nil
		}
		c, err := decodeCause(CauseCode(code), v)
		if err != nil {
			return causes, err
		}
		causes = append(causes, c)
	}
}

// decodeCause decodes the value v of one cause.
func decodeCause(code CauseCode, v []byte) (Cause, error) {
	switch code {
	case CauseInvalidStreamID:
		if err := causeValueLen(code, v, 4); err != nil {
			return nil, err
		}
		return InvalidStreamIDCause{StreamID: uint16(v[0])<<8 | uint16(v[1])}, nil
	case CauseMissingMandatoryParam:
		return decodeMissingMandatoryParam(v)
	case CauseStaleCookie:
		if err := causeValueLen(code, v, 4); err != nil {
			return nil, err
		}
		return StaleCookieCause{Staleness: be32(v)}, nil
	case CauseOutOfResource:
		return OutOfResourceCause{}, causeValueLen(code, v, 0)
	case CauseUnresolvableAddress:
		return UnresolvableAddressCause{Address: v}, nil
	case CauseUnrecognizedChunkType:
		return UnrecognizedChunkTypeCause{Chunk: v}, nil
	case CauseInvalidMandatoryParam:
		return InvalidMandatoryParamCause{}, causeValueLen(code, v, 0)
	case CauseUnrecognizedParams:
		return UnrecognizedParamsCause{Params: v}, nil
	case CauseNoUserData:
		if err := causeValueLen(code, v, 4); err != nil {
			return nil, err
		}
		return NoUserDataCause{TSN: be32(v)}, nil
	case CauseCookieWhileShuttingDown:
		return CookieWhileShuttingDownCause{}, causeValueLen(code, v, 0)
	case CauseRestartWithNewAddresses:
		return RestartWithNewAddressesCause{Addresses: v}, nil
	case CauseUserInitiatedAbort:
		return UserInitiatedAbortCause{Reason: v}, nil
	case CauseProtocolViolation:
		return ProtocolViolationCause{Info: v}, nil
	}
	return UnknownCause{Code: code, Info: v}, nil
}

// causeValueLen checks that a fixed-size cause has a value of n bytes.
func causeValueLen(code CauseCode, v []byte, n int) error {
	if len(v) == n {
		return nil
	}
	err := ErrShort
	if len(v) > n {
		err = ErrLength
	}
	return fmt.Errorf("chunk: %v cause with Cause Length %d, want %d: %w", code, 4+len(v), 4+n, err)
}

func be32(v []byte) uint32 { return binary.BigEndian.Uint32(v) }

// causesLen is the length of a run of causes in a chunk: every cause's
// padding but the last one's.
func causesLen(causes []Cause) int {
	var l tlvLen
	for _, c := range causes {
		l.add(c.Len() - 4)
	}
	return l.total()
}

// appendCauses appends causes, each padded.
func appendCauses(b []byte, causes []Cause) []byte {
	for _, c := range causes {
		b = c.Append(b)
	}
	return b
}

// appendCauseHeader appends Cause Code and Cause Length.
func appendCauseHeader(b []byte, code CauseCode, length int) []byte {
	return append(b, byte(code>>8), byte(code), byte(length>>8), byte(length))
}
