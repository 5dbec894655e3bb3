package assoctest

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
)

// WritePcap writes the ladder's packets to w as a pcap file that
// Wireshark opens as SCTP over UDP (RFC 6951; the decoder follows UDP
// port 9899): raw IPv4 frames from A's to Z's address and back, stamped
// with the virtual time they were sent. Packets the link dropped are
// included (they were sent); link duplicates appear twice; injected
// packets appear as coming from the other end.
func (l *Ladder) WritePcap(w io.Writer, a, z netip.AddrPort) error {
	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b23c4d) // nanosecond timestamps
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 101) // LINKTYPE_RAW: IPv4 or IPv6
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("assoctest: pcap header: %w", err)
	}
	for _, e := range l.Entries {
		if e.Kind != KindPacket {
			continue
		}
		src, dst := a, z
		if e.Dir == ZtoA {
			src, dst = z, a
		}
		if e.Src.IsValid() {
			src, dst = e.Src, e.Dst
		}
		if !src.Addr().Is4() || !dst.Addr().Is4() {
			continue // the frames written are IPv4 only
		}
		frame := ipv4UDP(src, dst, e.Data)
		var rec [16]byte
		ns := e.At.UnixNano()
		binary.LittleEndian.PutUint32(rec[0:], uint32(ns/1e9))
		binary.LittleEndian.PutUint32(rec[4:], uint32(ns%1e9))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(frame)))
		if _, err := w.Write(rec[:]); err != nil {
			return fmt.Errorf("assoctest: pcap record: %w", err)
		}
		if _, err := w.Write(frame); err != nil {
			return fmt.Errorf("assoctest: pcap record: %w", err)
		}
	}
	return nil
}

// ipv4UDP wraps payload in IPv4 and UDP headers (UDP checksum 0, which
// IPv4 allows).
func ipv4UDP(src, dst netip.AddrPort, payload []byte) []byte {
	b := make([]byte, 28+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8] = 64 // TTL
	b[9] = 17 // UDP
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(b[10:], ^uint16(sum))
	binary.BigEndian.PutUint16(b[20:], src.Port())
	binary.BigEndian.PutUint16(b[22:], dst.Port())
	binary.BigEndian.PutUint16(b[24:], uint16(8+len(payload)))
	copy(b[28:], payload)
	return b
}
