package chunk

import (
	"encoding/binary"
	"fmt"
)

// HeartbeatChunk is a HEARTBEAT chunk (RFC 9260 section 3.3.5); Info is the
// opaque Heartbeat Information parameter's value.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Type = 4    |  Chunk Flags  |      Heartbeat Length         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	\                                                               \
//	/          Heartbeat Information TLV (Variable-Length)          /
//	\                                                               \
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type HeartbeatChunk struct{ Info []byte }

// HeartbeatAckChunk is a HEARTBEAT ACK (section 3.3.6), echoing Info: "the
// Heartbeat Information field copied from the received HEARTBEAT chunk".
type HeartbeatAckChunk struct{ Info []byte }

// Type returns TypeHeartbeat.
func (c *HeartbeatChunk) Type() Type { return TypeHeartbeat }

// Len returns the Chunk Length.
func (c *HeartbeatChunk) Len() int { return ChunkHeaderLen + 4 + len(c.Info) }

// Append appends the chunk and its padding to b.
func (c *HeartbeatChunk) Append(b []byte) []byte {
	return appendTLV(appendChunkHeader(b, TypeHeartbeat, 0, c.Len()), ParamHeartbeatInfo, c.Info)
}

// Unmarshal decodes r into c; Info aliases r.
func (c *HeartbeatChunk) Unmarshal(r Raw) error {
	if err := checkType(r, TypeHeartbeat); err != nil {
		return err
	}
	info, err := decodeHeartbeatInfo(r.Value, "HEARTBEAT")
	c.Info = info
	return err
}

// Type returns TypeHeartbeatAck.
func (c *HeartbeatAckChunk) Type() Type { return TypeHeartbeatAck }

// Len returns the Chunk Length.
func (c *HeartbeatAckChunk) Len() int { return ChunkHeaderLen + 4 + len(c.Info) }

// Append appends the chunk and its padding to b.
func (c *HeartbeatAckChunk) Append(b []byte) []byte {
	return appendTLV(appendChunkHeader(b, TypeHeartbeatAck, 0, c.Len()), ParamHeartbeatInfo, c.Info)
}

// Unmarshal decodes r into c; Info aliases r.
func (c *HeartbeatAckChunk) Unmarshal(r Raw) error {
	if err := checkType(r, TypeHeartbeatAck); err != nil {
		return err
	}
	info, err := decodeHeartbeatInfo(r.Value, "HEARTBEAT ACK")
	c.Info = info
	return err
}

// decodeHeartbeatInfo returns the value of the one Heartbeat Information
// parameter that makes up a HEARTBEAT or HEARTBEAT ACK value. Nothing but
// that parameter's padding may follow it.
func decodeHeartbeatInfo(v []byte, name string) ([]byte, error) {
	if len(v) < 4 {
		return nil, fmt.Errorf("chunk: %s value of %d bytes, want a Heartbeat Information parameter: %w", name, len(v), ErrShort)
	}
	typ := binary.BigEndian.Uint16(v)
	n := int(binary.BigEndian.Uint16(v[2:]))
	switch {
	case typ != ParamHeartbeatInfo:
		return nil, fmt.Errorf("chunk: %s carries parameter %#04x, want Heartbeat Information (1): %w", name, typ, ErrInvalid)
	case n < 4:
		return nil, fmt.Errorf("chunk: %s Heartbeat Information length %d: %w", name, n, ErrLength)
	case n > len(v):
		return nil, fmt.Errorf("chunk: %s Heartbeat Information length %d, only %d bytes: %w", name, n, len(v), ErrShort)
	case len(v) > n+pad(n):
		return nil, fmt.Errorf("chunk: %s has %d bytes after its Heartbeat Information: %w", name, len(v)-n-pad(n), ErrLength)
	}
	return v[4:n:n], nil
}
