package chunk

import "fmt"

// Packet is a whole SCTP packet, decoded: for tests, fuzzing, logging and
// building packets where speed does not matter. The core works on the
// bytes with ParseHeader, Reader and the Unmarshal methods instead.
type Packet struct {
	Header Header
	Chunks []Chunk
}

// Append appends the encoded packet to b: the common header, each chunk
// with its padding, and the checksum over them. Header.Checksum is
// ignored.
func (p *Packet) Append(b []byte) []byte {
	start := len(b)
	b = AppendHeader(b, p.Header)
	for _, c := range p.Chunks {
		b = c.Append(b)
	}
	SetChecksum(b[start:])
	return b
}

// ParsePacket verifies the checksum of pkt and decodes its header and all
// its chunks with Decode. Byte slices in the chunks alias pkt.
func ParsePacket(pkt []byte) (*Packet, error) {
	h, chunks, err := ParseHeader(pkt)
	if err != nil {
		return nil, err
	}
	if !VerifyChecksum(pkt) {
		return nil, fmt.Errorf("chunk: checksum field %#08x: %w", h.Checksum, ErrChecksum)
	}
	p := &Packet{Header: h}
	r := NewReader(chunks)
	for r.Next() {
		c, err := Decode(r.Chunk())
		if err != nil {
			return nil, err
		}
		p.Chunks = append(p.Chunks, c)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return p, nil
}
