package crc32c

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

// TestVectors checks the CRC32c test vectors of RFC 3720 (iSCSI) Appendix
// B.4, the CRC that RFC 3309 adopted for SCTP, and the usual "123456789"
// check value of CRC-32C. The RFC lists the bytes as they appear on the
// wire; they are the little-endian encoding of the CRC value.
func TestVectors(t *testing.T) {
	inc := make([]byte, 32)
	dec := make([]byte, 32)
	for i := range inc {
		inc[i] = byte(i)
		dec[i] = byte(31 - i)
	}
	tests := []struct {
		name string
		in   []byte
		wire [4]byte // as RFC 3720 B.4 prints it
	}{
		{"32 bytes of zeroes", make([]byte, 32), [4]byte{0xaa, 0x36, 0x91, 0x8a}},
		{"32 bytes of ones", bytes.Repeat([]byte{0xff}, 32), [4]byte{0x43, 0xab, 0xa8, 0x62}},
		{"32 bytes incrementing", inc, [4]byte{0x4e, 0x79, 0xdd, 0x46}},
		{"32 bytes decrementing", dec, [4]byte{0x5c, 0xdb, 0x3f, 0x11}},
		{"123456789", []byte("123456789"), [4]byte{0x83, 0x92, 0x06, 0xe3}},
	}
	for _, tt := range tests {
		got := Checksum(tt.in)
		if want := binary.LittleEndian.Uint32(tt.wire[:]); got != want {
			t.Errorf("%s: Checksum = %#08x, want %#08x", tt.name, got, want)
		}
		// Update in pieces agrees with the one-shot value.
		if got2 := Update(Update(0, tt.in[:5]), tt.in[5:]); got2 != got {
			t.Errorf("%s: Update in two pieces = %#08x, want %#08x", tt.name, got2, got)
		}
	}
}

// capturedShutdown is the SCTP part of a SHUTDOWN packet captured from a
// real association over IPv4 (the Ethernet frame is in gopacket's
// layers/decode_test.go, TestDecodeSCTPPackets): ports 9999 -> 8888,
// verification tag 0x3280fb42, checksum bytes 3f 29 59 23, SHUTDOWN with
// Cumulative TSN Ack 0x8598b125.
var capturedShutdown = []byte{
	0x27, 0x0f, 0x22, 0xb8, 0x32, 0x80, 0xfb, 0x42, 0x3f, 0x29, 0x59, 0x23,
	0x07, 0x00, 0x00, 0x08, 0x85, 0x98, 0xb1, 0x25,
}

// capturedData is the SCTP part of a DATA packet from the same capture:
// TSN 0xdb856024, stream 0, SSN 1, user data "bizzle!\n\x00" (chunk
// length 25, three bytes of padding).
var capturedData = []byte{
	0x27, 0x0f, 0x22, 0xb8, 0x32, 0x80, 0xfb, 0x42, 0xa1, 0xe3, 0xb2, 0x31,
	0x00, 0x03, 0x00, 0x19, 0xdb, 0x85, 0x60, 0x24, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x62, 0x69, 0x7a, 0x7a, 0x6c, 0x65, 0x21, 0x0a,
	0x00, 0x00, 0x00, 0x00,
}

// TestCapturedPackets checks the byte placement against packets written by
// a real SCTP stack: the CRC over the packet with a zeroed Checksum field,
// stored little-endian, reproduces the captured bytes.
func TestCapturedPackets(t *testing.T) {
	for name, pkt := range map[string][]byte{"SHUTDOWN": capturedShutdown, "DATA": capturedData} {
		if !Verify(pkt) {
			t.Errorf("%s: Verify = false on a captured packet", name)
		}
		want := append([]byte(nil), pkt[8:12]...)
		cp := append([]byte(nil), pkt...)
		binary.BigEndian.PutUint32(cp[8:], 0xdeadbeef) // garbage in the field
		Set(cp)
		if !bytes.Equal(cp[8:12], want) {
			t.Errorf("%s: Set wrote % x, captured % x", name, cp[8:12], want)
		}
		// Equivalent formulation: Checksum with the field literally zero.
		binary.BigEndian.PutUint32(cp[8:], 0)
		if got := Checksum(cp); got != binary.LittleEndian.Uint32(want) {
			t.Errorf("%s: Checksum(zeroed) = %#08x, want %#08x", name, got, binary.LittleEndian.Uint32(want))
		}
		// Big-endian placement would be wrong: make sure it does not verify.
		binary.BigEndian.PutUint32(cp[8:], binary.LittleEndian.Uint32(want))
		if Verify(cp) {
			t.Errorf("%s: big-endian placement verifies too", name)
		}
		// Any single flipped bit is detected.
		for i := range pkt {
			bad := append([]byte(nil), pkt...)
			bad[i] ^= 0x10
			if Verify(bad) {
				t.Errorf("%s: flipped bit in byte %d not detected", name, i)
			}
		}
	}
}

func TestShort(t *testing.T) {
	for n := 0; n < 12; n++ {
		b := make([]byte, n)
		if Verify(b) {
			t.Errorf("Verify(%d bytes) = true", n)
		}
		if Packet(b) != 0 {
			t.Errorf("Packet(%d bytes) != 0", n)
		}
		Set(b) // must not panic
	}
}

func TestPacketDoesNotModify(t *testing.T) {
	pkt := append([]byte(nil), capturedData...)
	Packet(pkt)
	if !bytes.Equal(pkt, capturedData) {
		t.Fatal("Packet modified its input")
	}
}

// BenchmarkChecksum reports throughput (bytes/s) of Checksum at packet
// sizes of interest: a small control packet, a path-MTU sized packet over
// UDP, a jumbo frame, and the largest UDP datagram.
func BenchmarkChecksum(b *testing.B) {
	for _, n := range []int{64, 1200, 9000, 64 << 10} {
		buf := make([]byte, n)
		for i := range buf {
			buf[i] = byte(i * 7)
		}
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			var sink uint32
			for b.Loop() {
				sink += Checksum(buf)
			}
			_ = sink
		})
	}
}

// BenchmarkPacket measures Set, the send-side framing (zero the field,
// checksum, store), against the plain checksum above.
func BenchmarkPacket(b *testing.B) {
	for _, n := range []int{64, 1200, 9000} {
		buf := make([]byte, n)
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				Set(buf)
			}
		})
	}
}

// BenchmarkVerify measures the receive-side check, which cannot write the
// packet and so goes through a copy of the common header.
func BenchmarkVerify(b *testing.B) {
	for _, n := range []int{64, 1200, 9000} {
		buf := make([]byte, n)
		Set(buf)
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				if !Verify(buf) {
					b.Fatal("Verify = false")
				}
			}
		})
	}
}

func TestNoAllocs(t *testing.T) {
	pkt := append([]byte(nil), capturedData...)
	if n := testing.AllocsPerRun(100, func() {
		Set(pkt)
		if !Verify(pkt) {
			t.Fatal("Verify = false")
		}
	}); n != 0 {
		t.Fatalf("Set+Verify: %v allocations per run", n)
	}
}

// TestPacketMatchesZeroed: Packet equals Checksum over a copy with the
// field zeroed, for every length and garbage in the field.
func TestPacketMatchesZeroed(t *testing.T) {
	buf := make([]byte, 100)
	for i := range buf {
		buf[i] = byte(i*37 + 11)
	}
	for n := 12; n <= len(buf); n++ {
		cp := append([]byte(nil), buf[:n]...)
		copy(cp[8:12], []byte{0, 0, 0, 0})
		if got, want := Packet(buf[:n]), Checksum(cp); got != want {
			t.Fatalf("%d bytes: Packet %#08x, want %#08x", n, got, want)
		}
	}
}
