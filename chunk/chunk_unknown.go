package chunk

// UnknownChunk carries a chunk of a type the codec does not know, so it
// can be round-tripped and quoted. What to do with it is in the two
// highest bits of its type (Type.Action, RFC 9260 section 3.2); the
// Unrecognized Chunk Type cause quotes Raw.Bytes.
type UnknownChunk struct {
	ChunkType Type
	Flags     uint8
	Value     []byte
}

// Type returns c.ChunkType.
func (c *UnknownChunk) Type() Type { return c.ChunkType }

// Len returns the Chunk Length.
func (c *UnknownChunk) Len() int { return ChunkHeaderLen + len(c.Value) }

// Append appends the chunk and its padding to b.
func (c *UnknownChunk) Append(b []byte) []byte {
	n := c.Len()
	return appendPad(append(appendChunkHeader(b, c.ChunkType, c.Flags, n), c.Value...), n)
}

// Unmarshal copies r's header fields into c; Value aliases r. Any type
// is accepted, so a known chunk can be carried opaquely too.
func (c *UnknownChunk) Unmarshal(r Raw) error {
	*c = UnknownChunk{ChunkType: r.Type, Flags: r.Flags, Value: r.Value}
	return nil
}
