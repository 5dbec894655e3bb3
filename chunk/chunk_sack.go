package chunk

import (
	"encoding/binary"
	"fmt"
)

// GapBlock is a Gap Ack Block: TSNs CumTSNAck+Start .. CumTSNAck+End were
// received.
type GapBlock struct{ Start, End uint16 }

// SackChunk is a SACK chunk (RFC 9260 section 3.3.4). Decoding reuses the
// capacity of GapBlocks and DupTSNs.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Type = 3    |Chunk  Flags   |         Chunk Length          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      Cumulative TSN Ack                       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Advertised Receiver Window Credit (a_rwnd)           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Number of Gap Ack Blocks = N  |  Number of Duplicate TSNs = M |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Gap Ack Block #1 Start     |     Gap Ack Block #1 End      |
//	/                              ...                              /
//	|    Gap Ack Block #N Start     |     Gap Ack Block #N End      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Duplicate TSN 1                        |
//	/                              ...                              /
//	|                        Duplicate TSN M                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The codec checks the layout only; whether the blocks are ordered and
// within range is the core's business.
type SackChunk struct {
	CumTSNAck     uint32
	AdvRecvWindow uint32
	GapBlocks     []GapBlock
	DupTSNs       []uint32
}

// sackFixedLen is the SACK value before the blocks.
const sackFixedLen = 12

// Type returns TypeSack.
func (c *SackChunk) Type() Type { return TypeSack }

// Len returns the Chunk Length. The counts must fit 16 bits each.
func (c *SackChunk) Len() int {
	return ChunkHeaderLen + sackFixedLen + 4*len(c.GapBlocks) + 4*len(c.DupTSNs)
}

// Append appends the chunk to b (a SACK needs no padding).
func (c *SackChunk) Append(b []byte) []byte {
	b = appendChunkHeader(b, TypeSack, 0, c.Len())
	b = binary.BigEndian.AppendUint32(b, c.CumTSNAck)
	b = binary.BigEndian.AppendUint32(b, c.AdvRecvWindow)
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.GapBlocks)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.DupTSNs)))
	for _, g := range c.GapBlocks {
		b = binary.BigEndian.AppendUint16(b, g.Start)
		b = binary.BigEndian.AppendUint16(b, g.End)
	}
	for _, d := range c.DupTSNs {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return b
}

// Unmarshal decodes r into c. It allocates only when GapBlocks or DupTSNs
// lack the capacity for the blocks in r; a SackChunk reused across packets
// stops allocating once it has seen the largest SACK.
func (c *SackChunk) Unmarshal(r Raw) error {
	if err := checkType(r, TypeSack); err != nil {
		return err
	}
	v := r.Value
	if len(v) < sackFixedLen {
		return fmt.Errorf("chunk: SACK value of %d bytes, want at least 12: %w", len(v), ErrShort)
	}
	ng := int(binary.BigEndian.Uint16(v[8:]))
	nd := int(binary.BigEndian.Uint16(v[10:]))
	if want := sackFixedLen + 4*ng + 4*nd; len(v) != want {
		err := ErrShort
		if len(v) > want {
			err = ErrLength
		}
		return fmt.Errorf("chunk: SACK with %d gap blocks and %d duplicates has a %d-byte value, want %d: %w", ng, nd, len(v), want, err)
	}
	c.CumTSNAck = binary.BigEndian.Uint32(v[0:])
	c.AdvRecvWindow = binary.BigEndian.Uint32(v[4:])
	c.GapBlocks = c.GapBlocks[:0]
	if cap(c.GapBlocks) < ng {
		c.GapBlocks = make([]GapBlock, 0, ng)
	}
	c.DupTSNs = c.DupTSNs[:0]
	if cap(c.DupTSNs) < nd {
		c.DupTSNs = make([]uint32, 0, nd)
	}
	p := v[sackFixedLen:]
	for i := 0; i < ng; i++ {
		c.GapBlocks = append(c.GapBlocks, GapBlock{
			Start: binary.BigEndian.Uint16(p[4*i:]),
			End:   binary.BigEndian.Uint16(p[4*i+2:]),
		})
	}
	p = p[4*ng:]
	for i := 0; i < nd; i++ {
		c.DupTSNs = append(c.DupTSNs, binary.BigEndian.Uint32(p[4*i:]))
	}
	return nil
}

// String describes the chunk for logs.
func (c *SackChunk) String() string {
	return fmt.Sprintf("SACK cum=%d a_rwnd=%d gaps=%v dups=%v", c.CumTSNAck, c.AdvRecvWindow, c.GapBlocks, c.DupTSNs)
}
