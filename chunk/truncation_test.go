package chunk

import (
	"errors"
	"reflect"
	"testing"
)

// TestTruncatedChunks cuts every sample chunk at every length short of its
// Chunk Length and checks that the cut chunk is rejected cleanly, never
// with a panic:
//
//   - as found in a packet (the Chunk Length field still says the full
//     length), the Reader rejects every prefix with ErrShort and yields no
//     chunk;
//   - as a chunk whose length field agrees with the shorter value, each
//     Unmarshal either returns an error wrapping one of the package's
//     sentinels, or a value that re-encodes and decodes to itself (a
//     COOKIE ECHO with a shorter cookie is still a COOKIE ECHO); chunks
//     with a fixed layout reject every prefix.
func TestTruncatedChunks(t *testing.T) {
	for _, c := range sampleChunks() {
		full := c.Append(nil)[:c.Len()]
		for n := 1; n < len(full); n++ {
			r := NewReader(full[:n])
			if r.Next() {
				t.Errorf("%v cut to %d bytes: Reader yielded a chunk", c.Type(), n)
			}
			if !errors.Is(r.Err(), ErrShort) {
				t.Errorf("%v cut to %d bytes: Reader error %v, want ErrShort", c.Type(), n, r.Err())
			}
		}
		for n := 0; n < len(full)-ChunkHeaderLen; n++ {
			raw := Raw{Type: c.Type(), Flags: full[1], Value: full[ChunkHeaderLen : ChunkHeaderLen+n]}
			got, err := Decode(raw)
			if err != nil {
				if !isCodecError(err) {
					t.Errorf("%v value cut to %d bytes: error %v wraps no sentinel", c.Type(), n, err)
				}
				continue
			}
			if fixedLayout(c) {
				t.Errorf("%v value cut to %d bytes: accepted as %#v", c.Type(), n, got)
				continue
			}
			again, err := Decode(rawOf(t, got.Append(nil)))
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("%v value cut to %d bytes: decoded %#v, re-decoded %#v (%v)", c.Type(), n, got, again, err)
			}
		}
	}
}

// fixedLayout says whether every shorter value of c's chunk is malformed.
func fixedLayout(c Chunk) bool {
	switch c := c.(type) {
	case *ShutdownChunk, *HeartbeatChunk, *HeartbeatAckChunk:
		return true
	case *SackChunk:
		return true // the counts fix the length
	case *DataChunk:
		return false // shorter user data is still DATA
	case *InitAckChunk:
		return false // once the cookie is in, later parameters are optional
	case *InitChunk:
		return len(c.Addresses)+len(c.Unrecognized) == 0 && c.HostName == nil && c.CookiePreservative == 0 &&
			!c.ECNCapable && len(c.SupportedExt)+len(c.SupportedAddrTypes) == 0
	}
	return false
}

func isCodecError(err error) bool {
	for _, s := range []error{ErrShort, ErrLength, ErrInvalid} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// TestTruncatedPackets: every prefix of a packet bundling all samples,
// with a valid checksum over the prefix, fails to parse (the cut lands
// inside some chunk) or parses to the chunks that fit whole.
func TestTruncatedPackets(t *testing.T) {
	samples := sampleChunks()
	pkt := (&Packet{Header: Header{SrcPort: 1, DstPort: 2, VerificationTag: 3}, Chunks: samples}).Append(nil)
	// Where each chunk ends, with none, some or all of its padding, and
	// how many whole chunks precede that point.
	ends := map[int]int{HeaderLen: 0}
	off := HeaderLen
	for i, c := range samples {
		for p := 0; p <= pad(c.Len()); p++ {
			ends[off+c.Len()+p] = i + 1
		}
		off += c.Len() + pad(c.Len())
	}
	for n := 0; n < len(pkt); n++ {
		cut := append([]byte(nil), pkt[:n]...)
		SetChecksum(cut)
		p, err := ParsePacket(cut)
		whole, atEnd := ends[n]
		switch {
		case atEnd && err != nil:
			t.Errorf("cut at a chunk boundary (%d bytes): %v", n, err)
		case atEnd && len(p.Chunks) != whole:
			t.Errorf("cut at %d bytes: %d chunks, want %d", n, len(p.Chunks), whole)
		case !atEnd && err == nil:
			t.Errorf("cut inside a chunk (%d bytes): parsed %d chunks", n, len(p.Chunks))
		}
	}
}
