package chunk

// CookieEchoChunk is a COOKIE ECHO chunk (section 3.3.11): "This field
// must contain the exact cookie received in the State Cookie parameter
// from the previous INIT ACK chunk."
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Type = 10   | Chunk  Flags  |            Length             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	/                            Cookie                             /
//	\                                                               \
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type CookieEchoChunk struct{ Cookie []byte }

// Type returns TypeCookieEcho.
func (c *CookieEchoChunk) Type() Type { return TypeCookieEcho }

// Len returns the Chunk Length.
func (c *CookieEchoChunk) Len() int { return ChunkHeaderLen + len(c.Cookie) }

// Append appends the chunk and its padding to b.
func (c *CookieEchoChunk) Append(b []byte) []byte {
	n := c.Len()
	return appendPad(append(appendChunkHeader(b, TypeCookieEcho, 0, n), c.Cookie...), n)
}

// Unmarshal decodes r into c; Cookie aliases r. Whether the cookie is
// valid is for the endpoint that made it to say.
func (c *CookieEchoChunk) Unmarshal(r Raw) error {
	if err := checkType(r, TypeCookieEcho); err != nil {
		return err
	}
	c.Cookie = r.Value
	return nil
}

// CookieAckChunk is a COOKIE ACK chunk (section 3.3.12): a header with
// Length 4.
type CookieAckChunk struct{}

// Type returns TypeCookieAck.
func (c *CookieAckChunk) Type() Type { return TypeCookieAck }

// Len returns 4.
func (c *CookieAckChunk) Len() int { return ChunkHeaderLen }

// Append appends the chunk to b.
func (c *CookieAckChunk) Append(b []byte) []byte {
	return appendChunkHeader(b, TypeCookieAck, 0, ChunkHeaderLen)
}

// Unmarshal checks r.
func (c *CookieAckChunk) Unmarshal(r Raw) error {
	if err := checkType(r, TypeCookieAck); err != nil {
		return err
	}
	return fixedLen(r, 0)
}
