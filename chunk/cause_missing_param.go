package chunk

import (
	"encoding/binary"
	"fmt"
)

// MissingMandatoryParamCause is the Missing Mandatory Parameter cause (RFC
// 9260 section 3.3.10.2): "Indicates that one or more mandatory TLV
// parameters are missing in a received INIT or INIT ACK chunk."
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Cause Code = 2        |      Cause Length = 8 + N * 2 |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   Number of missing params = N                |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Missing Param Type #1       |   Missing Param Type #2       |
//	|   Missing Param Type #N-1     |   Missing Param Type #N       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type MissingMandatoryParamCause struct{ Types []uint16 }

// CauseCode returns CauseMissingMandatoryParam.
func (MissingMandatoryParamCause) CauseCode() CauseCode { return CauseMissingMandatoryParam }

// Len returns 8 + 2N.
func (c MissingMandatoryParamCause) Len() int { return 8 + 2*len(c.Types) }

// Append appends the cause and its padding to b.
func (c MissingMandatoryParamCause) Append(b []byte) []byte {
	n := c.Len()
	b = appendCauseHeader(b, CauseMissingMandatoryParam, n)
	b = binary.BigEndian.AppendUint32(b, uint32(len(c.Types)))
	for _, t := range c.Types {
		b = binary.BigEndian.AppendUint16(b, t)
	}
	return appendPad(b, n)
}

func decodeMissingMandatoryParam(v []byte) (Cause, error) {
	if len(v) < 4 {
		return nil, fmt.Errorf("chunk: %v cause with Cause Length %d, want at least 8: %w", CauseMissingMandatoryParam, 4+len(v), ErrShort)
	}
	n := binary.BigEndian.Uint32(v)
	if uint64(len(v)-4) != 2*uint64(n) {
		return nil, fmt.Errorf("chunk: %v cause for %d parameters with Cause Length %d: %w", CauseMissingMandatoryParam, n, 4+len(v), ErrLength)
	}
	var c MissingMandatoryParamCause
	if n > 0 {
		c.Types = make([]uint16, n)
		for i := range c.Types {
			c.Types[i] = binary.BigEndian.Uint16(v[4+2*i:])
		}
	}
	return c, nil
}
