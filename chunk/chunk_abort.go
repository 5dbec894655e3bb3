package chunk

import "fmt"

// AbortChunk is an ABORT chunk (section 3.3.7). T set: the verification tag
// is the sender's own, reflected.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Type = 6    |  Reserved   |T|            Length             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	\                                                               \
//	/                   zero or more Error Causes                   /
//	\                                                               \
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type AbortChunk struct {
	T      bool
	Causes []Cause
}

// flagT is the T bit of ABORT and SHUTDOWN COMPLETE.
const flagT = 1

func tFlag(t bool) uint8 {
	if t {
		return flagT
	}
	return 0
}

// Type returns TypeAbort.
func (c *AbortChunk) Type() Type { return TypeAbort }

// Len returns the Chunk Length.
func (c *AbortChunk) Len() int { return ChunkHeaderLen + causesLen(c.Causes) }

// Append appends the chunk and its padding to b.
func (c *AbortChunk) Append(b []byte) []byte {
	return appendCauses(appendChunkHeader(b, TypeAbort, tFlag(c.T), c.Len()), c.Causes)
}

// Unmarshal decodes r into c; it allocates the causes. On a malformed
// cause it returns the error with T and the causes before the bad one
// set: the ABORT itself may still be acted on, its causes are only
// information.
func (c *AbortChunk) Unmarshal(r Raw) error {
	if err := checkType(r, TypeAbort); err != nil {
		return err
	}
	c.T = r.Flags&flagT != 0
	causes, err := DecodeCauses(r.Value)
	c.Causes = causes
	if err != nil {
		return fmt.Errorf("chunk: ABORT: %w", err)
	}
	return nil
}
