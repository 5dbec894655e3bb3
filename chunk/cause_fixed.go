package chunk

import "encoding/binary"

// This file holds the causes with fixed-size values.

// InvalidStreamIDCause is the Invalid Stream Identifier cause (RFC 9260
// section 3.3.10.1): the sender received DATA for a stream that does not
// exist.
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Cause Code = 1        |       Cause Length = 8        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|        Stream Identifier      |         (Reserved)            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type InvalidStreamIDCause struct{ StreamID uint16 }

// CauseCode returns CauseInvalidStreamID.
func (InvalidStreamIDCause) CauseCode() CauseCode { return CauseInvalidStreamID }

// Len returns 8.
func (InvalidStreamIDCause) Len() int { return 8 }

// Append appends the cause to b.
func (c InvalidStreamIDCause) Append(b []byte) []byte {
	b = appendCauseHeader(b, CauseInvalidStreamID, 8)
	return append(binary.BigEndian.AppendUint16(b, c.StreamID), 0, 0)
}

// StaleCookieCause is the Stale Cookie Error cause (section 3.3.10.3):
// "Measure of Staleness: 32 bits (unsigned integer). This field contains
// the difference, in microseconds, between the current time and the time
// the State Cookie expired."
type StaleCookieCause struct{ Staleness uint32 } // microseconds

// CauseCode returns CauseStaleCookie.
func (StaleCookieCause) CauseCode() CauseCode { return CauseStaleCookie }

// Len returns 8.
func (StaleCookieCause) Len() int { return 8 }

// Append appends the cause to b.
func (c StaleCookieCause) Append(b []byte) []byte {
	return binary.BigEndian.AppendUint32(appendCauseHeader(b, CauseStaleCookie, 8), c.Staleness)
}

// NoUserDataCause is the No User Data cause (section 3.3.10.9): "This
// error cause is returned to the originator of a DATA chunk if a received
// DATA chunk has no user data."
type NoUserDataCause struct{ TSN uint32 }

// CauseCode returns CauseNoUserData.
func (NoUserDataCause) CauseCode() CauseCode { return CauseNoUserData }

// Len returns 8.
func (NoUserDataCause) Len() int { return 8 }

// Append appends the cause to b.
func (c NoUserDataCause) Append(b []byte) []byte {
	return binary.BigEndian.AppendUint32(appendCauseHeader(b, CauseNoUserData, 8), c.TSN)
}

// OutOfResourceCause is the Out of Resource cause (section 3.3.10.4), a
// header only.
type OutOfResourceCause struct{}

// CauseCode returns CauseOutOfResource.
func (OutOfResourceCause) CauseCode() CauseCode { return CauseOutOfResource }

// Len returns 4.
func (OutOfResourceCause) Len() int { return 4 }

// Append appends the cause to b.
func (OutOfResourceCause) Append(b []byte) []byte {
	return appendCauseHeader(b, CauseOutOfResource, 4)
}

// InvalidMandatoryParamCause is the Invalid Mandatory Parameter cause
// (section 3.3.10.7): "This error cause is returned to the originator of
// an INIT or INIT ACK chunk when one of the mandatory parameters is set to
// an invalid value." A header only.
type InvalidMandatoryParamCause struct{}

// CauseCode returns CauseInvalidMandatoryParam.
func (InvalidMandatoryParamCause) CauseCode() CauseCode { return CauseInvalidMandatoryParam }

// Len returns 4.
func (InvalidMandatoryParamCause) Len() int { return 4 }

// Append appends the cause to b.
func (InvalidMandatoryParamCause) Append(b []byte) []byte {
	return appendCauseHeader(b, CauseInvalidMandatoryParam, 4)
}

// CookieWhileShuttingDownCause is the Cookie Received While Shutting Down
// cause (section 3.3.10.10), a header only.
type CookieWhileShuttingDownCause struct{}

// CauseCode returns CauseCookieWhileShuttingDown.
func (CookieWhileShuttingDownCause) CauseCode() CauseCode { return CauseCookieWhileShuttingDown }

// Len returns 4.
func (CookieWhileShuttingDownCause) Len() int { return 4 }

// Append appends the cause to b.
func (CookieWhileShuttingDownCause) Append(b []byte) []byte {
	return appendCauseHeader(b, CauseCookieWhileShuttingDown, 4)
}
