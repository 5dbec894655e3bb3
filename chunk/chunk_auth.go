package chunk

import (
	"encoding/binary"
	"fmt"
)

// HMAC identifiers (RFC 4895 section 3.3).
const (
	HMACSHA1   uint16 = 1 // 20-byte HMAC; every implementation has it
	HMACSHA256 uint16 = 3 // 32-byte HMAC
)

// AuthChunk is an AUTH chunk (RFC 4895 section 4.1): the chunks after it
// in the packet are authenticated by HMAC, computed over this chunk (with
// the HMAC field zero) and everything after it.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Type = 0x0F   |   Flags=0     |             Length            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Shared Key Identifier     |   HMAC Identifier             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	\                             HMAC                              /
//	/                                                               \
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type AuthChunk struct {
	KeyID  uint16
	HMACID uint16
	HMAC   []byte // aliases the packet after Unmarshal
}

// Type returns TypeAuth.
func (c *AuthChunk) Type() Type { return TypeAuth }

// Len returns the Chunk Length.
func (c *AuthChunk) Len() int { return ChunkHeaderLen + 4 + len(c.HMAC) }

// Append appends the chunk and its padding to b.
func (c *AuthChunk) Append(b []byte) []byte {
	n := c.Len()
	b = appendChunkHeader(b, TypeAuth, 0, n)
	b = binary.BigEndian.AppendUint16(b, c.KeyID)
	b = binary.BigEndian.AppendUint16(b, c.HMACID)
	b = append(b, c.HMAC...)
	return appendPad(b, n)
}

// Unmarshal decodes r into c; HMAC aliases r.
func (c *AuthChunk) Unmarshal(r Raw) error {
	*c = AuthChunk{}
	if err := checkType(r, TypeAuth); err != nil {
		return err
	}
	if len(r.Value) < 4 {
		return fmt.Errorf("chunk: AUTH value of %d bytes, want at least 4: %w", len(r.Value), ErrShort)
	}
	c.KeyID = binary.BigEndian.Uint16(r.Value)
	c.HMACID = binary.BigEndian.Uint16(r.Value[2:])
	c.HMAC = r.Value[4:]
	return nil
}
