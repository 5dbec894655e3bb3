package chunk

import (
	"encoding/binary"
	"fmt"
)

// DataChunk is a DATA chunk (RFC 9260 section 3.3.1).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Type = 0    |  Res  |I|U|B|E|            Length             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                              TSN                              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|      Stream Identifier S      |   Stream Sequence Number n    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  Payload Protocol Identifier                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	\                                                               \
//	/                 User Data (seq n of Stream S)                 /
//	\                                                               \
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The codec accepts a DATA chunk without user data (Length 16): "If an
// endpoint receives a DATA chunk with no user data (i.e., the Length field
// is set to 16), it MUST send an ABORT chunk with a 'No User Data' error
// cause" (section 3.3.1) is the core's rule, and it needs the TSN.
type DataChunk struct {
	Unordered bool // U
	Beginning bool // B
	Ending    bool // E
	Immediate bool // I (RFC 7053): the receiver should SACK at once
	TSN       uint32
	StreamID  uint16
	SSN       uint16
	PPID      uint32
	// UserData aliases the packet buffer after decoding.
	UserData []byte
}

// DataHeaderLen is the size of a DATA chunk without user data.
const DataHeaderLen = 16

// Flag bits of a DATA chunk (RFC 9260 section 3.3.1, RFC 7053 for I).
const (
	dataFlagEnding    = 1 << 0
	dataFlagBeginning = 1 << 1
	dataFlagUnordered = 1 << 2
	dataFlagImmediate = 1 << 3
)

// Type returns TypeData.
func (c *DataChunk) Type() Type { return TypeData }

// Len returns the Chunk Length: 16 plus the user data.
func (c *DataChunk) Len() int { return DataHeaderLen + len(c.UserData) }

func (c *DataChunk) flags() uint8 {
	var f uint8
	if c.Ending {
		f |= dataFlagEnding
	}
	if c.Beginning {
		f |= dataFlagBeginning
	}
	if c.Unordered {
		f |= dataFlagUnordered
	}
	if c.Immediate {
		f |= dataFlagImmediate
	}
	return f
}

// Append appends the chunk and its padding to b.
func (c *DataChunk) Append(b []byte) []byte {
	n := c.Len()
	b = appendChunkHeader(b, TypeData, c.flags(), n)
	b = binary.BigEndian.AppendUint32(b, c.TSN)
	b = binary.BigEndian.AppendUint16(b, c.StreamID)
	b = binary.BigEndian.AppendUint16(b, c.SSN)
	b = binary.BigEndian.AppendUint32(b, c.PPID)
	b = append(b, c.UserData...)
	return appendPad(b, n)
}

// Unmarshal decodes r into c without allocating; UserData aliases r.
func (c *DataChunk) Unmarshal(r Raw) error {
	if err := checkType(r, TypeData); err != nil {
		return err
	}
	v := r.Value
	if len(v) < DataHeaderLen-ChunkHeaderLen {
		return fmt.Errorf("chunk: DATA value of %d bytes, want at least 12: %w", len(v), ErrShort)
	}
	*c = DataChunk{
		Ending:    r.Flags&dataFlagEnding != 0,
		Beginning: r.Flags&dataFlagBeginning != 0,
		Unordered: r.Flags&dataFlagUnordered != 0,
		Immediate: r.Flags&dataFlagImmediate != 0,
		TSN:       binary.BigEndian.Uint32(v[0:]),
		StreamID:  binary.BigEndian.Uint16(v[4:]),
		SSN:       binary.BigEndian.Uint16(v[6:]),
		PPID:      binary.BigEndian.Uint32(v[8:]),
		UserData:  v[12:],
	}
	return nil
}

// String describes the chunk for logs, without the user data.
func (c *DataChunk) String() string {
	f := []byte("----")
	if c.Immediate {
		f[0] = 'I'
	}
	if c.Unordered {
		f[1] = 'U'
	}
	if c.Beginning {
		f[2] = 'B'
	}
	if c.Ending {
		f[3] = 'E'
	}
	return fmt.Sprintf("DATA %s TSN=%d SID=%d SSN=%d PPID=%d len=%d", f, c.TSN, c.StreamID, c.SSN, c.PPID, len(c.UserData))
}
