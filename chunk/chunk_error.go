package chunk

import "fmt"

// ErrorChunk is an ERROR chunk (section 3.3.10).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Type = 9    | Chunk  Flags  |           Length              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	\                                                               \
//	/                    one or more Error Causes                   /
//	\                                                               \
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The codec does not insist on "one or more": an empty ERROR decodes.
type ErrorChunk struct{ Causes []Cause }

// Type returns TypeError.
func (c *ErrorChunk) Type() Type { return TypeError }

// Len returns the Chunk Length.
func (c *ErrorChunk) Len() int { return ChunkHeaderLen + causesLen(c.Causes) }

// Append appends the chunk and its padding to b.
func (c *ErrorChunk) Append(b []byte) []byte {
	return appendCauses(appendChunkHeader(b, TypeError, 0, c.Len()), c.Causes)
}

// Unmarshal decodes r into c; it allocates the causes. On a malformed
// cause it returns the error with the causes before the bad one set.
func (c *ErrorChunk) Unmarshal(r Raw) error {
	if err := checkType(r, TypeError); err != nil {
		return err
	}
	causes, err := DecodeCauses(r.Value)
	c.Causes = causes
	if err != nil {
		return fmt.Errorf("chunk: ERROR: %w", err)
	}
	return nil
}
