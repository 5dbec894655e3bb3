package chunk

import (
	"encoding/binary"
	"fmt"

	"github.com/pgsctp/pgsctp/crc32c"
)

// Header is the SCTP common header (RFC 9260 section 3.1).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Source Port Number        |     Destination Port Number   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      Verification Tag                         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           Checksum                            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Checksum is the CRC32c value as crc32c.Checksum computes it: the field's
// four bytes read little-endian, which is how SCTP stores it (see package
// crc32c). ParseHeader fills it; AppendHeader ignores it and writes zero.
type Header struct {
	SrcPort         uint16
	DstPort         uint16
	VerificationTag uint32
	Checksum        uint32
}

// HeaderLen is the size of the common header.
const HeaderLen = 12

// ParseHeader splits an SCTP packet into its common header and the bytes
// of its chunks. It does not verify the checksum (VerifyChecksum does);
// chunks aliases pkt.
func ParseHeader(pkt []byte) (h Header, chunks []byte, err error) {
	if len(pkt) < HeaderLen {
		return Header{}, nil, fmt.Errorf("chunk: packet of %d bytes, shorter than the common header: %w", len(pkt), ErrShort)
	}
	h = Header{
		SrcPort:         binary.BigEndian.Uint16(pkt[0:]),
		DstPort:         binary.BigEndian.Uint16(pkt[2:]),
		VerificationTag: binary.BigEndian.Uint32(pkt[4:]),
		Checksum:        binary.LittleEndian.Uint32(pkt[8:]),
	}
	return h, pkt[HeaderLen:], nil
}

// AppendHeader appends the common header with a zero Checksum field. Append
// the chunks after it, then call SetChecksum on the finished packet.
func AppendHeader(b []byte, h Header) []byte {
	b = binary.BigEndian.AppendUint16(b, h.SrcPort)
	b = binary.BigEndian.AppendUint16(b, h.DstPort)
	b = binary.BigEndian.AppendUint32(b, h.VerificationTag)
	return append(b, 0, 0, 0, 0)
}

// VerifyChecksum reports whether the packet's Checksum field holds the
// CRC32c of the packet: "When an SCTP packet is received, the receiver
// MUST first perform the CRC32c calculation. [...] if the checksum does
// not match, the packet MUST be silently discarded" (RFC 9260 section
// 6.8). A packet shorter than the common header does not verify.
func VerifyChecksum(pkt []byte) bool { return crc32c.Verify(pkt) }

// SetChecksum writes the CRC32c of the finished packet pkt (common header
// first) into its Checksum field, bytes 8 to 11. pkt shorter than the
// common header is left alone.
func SetChecksum(pkt []byte) { crc32c.Set(pkt) }
