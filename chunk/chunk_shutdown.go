package chunk

import (
	"encoding/binary"
	"fmt"
)

// ShutdownChunk is a SHUTDOWN chunk (section 3.3.8).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Type = 7    | Chunk  Flags  |          Length = 8           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      Cumulative TSN Ack                       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type ShutdownChunk struct{ CumTSNAck uint32 }

// Type returns TypeShutdown.
func (c *ShutdownChunk) Type() Type { return TypeShutdown }

// Len returns 8.
func (c *ShutdownChunk) Len() int { return 8 }

// Append appends the chunk to b.
func (c *ShutdownChunk) Append(b []byte) []byte {
	return binary.BigEndian.AppendUint32(appendChunkHeader(b, TypeShutdown, 0, 8), c.CumTSNAck)
}

// Unmarshal decodes r into c.
func (c *ShutdownChunk) Unmarshal(r Raw) error {
	if err := checkType(r, TypeShutdown); err != nil {
		return err
	}
	if err := fixedLen(r, 4); err != nil {
		return err
	}
	c.CumTSNAck = binary.BigEndian.Uint32(r.Value)
	return nil
}

// ShutdownAckChunk is a SHUTDOWN ACK chunk (section 3.3.9): a header
// with Length 4.
type ShutdownAckChunk struct{}

// Type returns TypeShutdownAck.
func (c *ShutdownAckChunk) Type() Type { return TypeShutdownAck }

// Len returns 4.
func (c *ShutdownAckChunk) Len() int { return ChunkHeaderLen }

// Append appends the chunk to b.
func (c *ShutdownAckChunk) Append(b []byte) []byte {
	return appendChunkHeader(b, TypeShutdownAck, 0, ChunkHeaderLen)
}

// Unmarshal checks r.
func (c *ShutdownAckChunk) Unmarshal(r Raw) error {
	if err := checkType(r, TypeShutdownAck); err != nil {
		return err
	}
	return fixedLen(r, 0)
}

// ShutdownCompleteChunk is a SHUTDOWN COMPLETE chunk (section 3.3.13): a
// header with Length 4 and the T bit, "set to 1 if the sender filled in
// the Verification Tag expected by the peer", i.e. it reflected the tag.
type ShutdownCompleteChunk struct{ T bool }

// Type returns TypeShutdownComplete.
func (c *ShutdownCompleteChunk) Type() Type { return TypeShutdownComplete }

// Len returns 4.
func (c *ShutdownCompleteChunk) Len() int { return ChunkHeaderLen }

// Append appends the chunk to b.
func (c *ShutdownCompleteChunk) Append(b []byte) []byte {
	return appendChunkHeader(b, TypeShutdownComplete, tFlag(c.T), ChunkHeaderLen)
}

// Unmarshal decodes r into c.
func (c *ShutdownCompleteChunk) Unmarshal(r Raw) error {
	if err := checkType(r, TypeShutdownComplete); err != nil {
		return err
	}
	if err := fixedLen(r, 0); err != nil {
		return err
	}
	c.T = r.Flags&flagT != 0
	return nil
}

// fixedLen checks that a fixed-size chunk has a value of exactly n bytes.
func fixedLen(r Raw, n int) error {
	if len(r.Value) == n {
		return nil
	}
	err := ErrShort
	if len(r.Value) > n {
		err = ErrLength
	}
	return fmt.Errorf("chunk: %v with Chunk Length %d, want %d: %w", r.Type, ChunkHeaderLen+len(r.Value), ChunkHeaderLen+n, err)
}
