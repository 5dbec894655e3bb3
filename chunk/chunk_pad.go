package chunk

import "slices"

// PadChunk is a PAD chunk (RFC 4820 section 3): N bytes of Padding Data
// that the receiver discards. It makes a packet a chosen size, as the
// probes of packetization layer path MTU discovery need (RFC 8899 section
// 6.2.1.1: "the PAD chunk ... is used to pad an SCTP packet to an
// arbitrary size"). Its type's upper bits (10) tell a receiver that does
// not know it to skip it silently.
type PadChunk struct{ N int }

// Type returns TypePad.
func (c *PadChunk) Type() Type { return TypePad }

// Len returns the Chunk Length.
func (c *PadChunk) Len() int { return ChunkHeaderLen + c.N }

// Append appends the chunk, its zero padding data and its trailing
// padding to b.
func (c *PadChunk) Append(b []byte) []byte {
	n := c.Len()
	b = appendChunkHeader(b, TypePad, 0, n)
	k := c.N + pad(n)
	b = slices.Grow(b, k)[:len(b)+k]
	clear(b[len(b)-k:])
	return b
}

// Unmarshal decodes r into c: only the padding's length is kept (the
// sender "SHOULD" fill it with zeros; the receiver "MUST ignore" it).
func (c *PadChunk) Unmarshal(r Raw) error {
	if err := checkType(r, TypePad); err != nil {
		return err
	}
	c.N = len(r.Value)
	return nil
}
