package chunk

import (
	"encoding/binary"
	"fmt"
)

// Raw is one chunk as found in a packet, validated only for its length.
type Raw struct {
	Type  Type
	Flags uint8
	// Value is the chunk value: after the 4-byte header, before padding.
	Value []byte
	// Bytes is the whole chunk, header included, padding excluded; the
	// Unrecognized Chunk Type cause quotes it.
	Bytes []byte
}

// Reader walks the chunks of a packet without allocating.
//
//	r := chunk.NewReader(chunks)
//	for r.Next() { raw := r.Chunk(); ... }
//	if err := r.Err(); err != nil { ... }
//
// Each chunk's Chunk Length must be at least 4 and fit in the buffer. The
// padding after the last chunk may be absent (or cut short); anything
// else after a chunk must be another whole chunk header.
type Reader struct {
	buf []byte
	at  []byte // buf as it was when cur was read: cur and what follows
	cur Raw
	err error
}

// NewReader returns a Reader over the chunks of a packet (the bytes after
// the common header). The Raw values it returns alias chunks.
func NewReader(chunks []byte) Reader { return Reader{buf: chunks} }

// Next advances to the next chunk. It returns false at the end of the
// chunks or at the first malformed one; Err tells which.
func (r *Reader) Next() bool {
	if r.err != nil || len(r.buf) == 0 {
		r.cur = Raw{}
		return false
	}
	if len(r.buf) < ChunkHeaderLen {
		r.err = fmt.Errorf("chunk: %d bytes left, less than a chunk header: %w", len(r.buf), ErrShort)
		r.cur = Raw{}
		return false
	}
	n := int(binary.BigEndian.Uint16(r.buf[2:]))
	if n < ChunkHeaderLen {
		r.err = fmt.Errorf("chunk: %v with Chunk Length %d: %w", Type(r.buf[0]), n, ErrLength)
		r.cur = Raw{}
		return false
	}
	if n > len(r.buf) {
		r.err = fmt.Errorf("chunk: %v with Chunk Length %d, only %d bytes left: %w", Type(r.buf[0]), n, len(r.buf), ErrShort)
		r.cur = Raw{}
		return false
	}
	r.at = r.buf
	// Full slice expressions: appending to a decoded value cannot
	// overwrite the next chunk.
	r.cur = Raw{
		Type:  Type(r.buf[0]),
		Flags: r.buf[1],
		Value: r.buf[ChunkHeaderLen:n:n],
		Bytes: r.buf[:n:n],
	}
	// "The receiver MUST ignore the padding bytes" (RFC 9260 section 3.2).
	next := min(n+pad(n), len(r.buf))
	r.buf = r.buf[next:]
	return true
}

// Chunk returns the current chunk. It is valid after Next returned true.
func (r *Reader) Chunk() Raw { return r.cur }

// FromChunk returns the bytes from the start of the current chunk to the
// end of the packet: what an AUTH chunk's HMAC covers (RFC 4895 section
// 6.2). It is valid after Next returned true.
func (r *Reader) FromChunk() []byte { return r.at }

// Err returns the error that stopped Next, nil at a clean end.
func (r *Reader) Err() error { return r.err }
