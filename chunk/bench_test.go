package chunk

import (
	"fmt"
	"testing"
)

// Benchmarks of the hot-path codec: DATA and SACK encode and decode. Bytes
// per second count the chunk's encoded size.

func BenchmarkDataEncode(b *testing.B) {
	for _, n := range []int{64, 1200} {
		c := &DataChunk{Beginning: true, Ending: true, TSN: 1, StreamID: 1, PPID: 0, UserData: make([]byte, n)}
		buf := make([]byte, 0, 2048)
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			b.SetBytes(int64(c.Len()))
			b.ReportAllocs()
			for b.Loop() {
				buf = c.Append(buf[:0])
			}
		})
	}
}

func BenchmarkDataDecode(b *testing.B) {
	for _, n := range []int{64, 1200} {
		raw := rawOf(b, (&DataChunk{TSN: 1, UserData: make([]byte, n)}).Append(nil))
		var c DataChunk
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			b.SetBytes(int64(len(raw.Bytes)))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Unmarshal(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func sackWith(gaps, dups int) *SackChunk {
	s := &SackChunk{CumTSNAck: 1000, AdvRecvWindow: 1 << 20}
	for i := range gaps {
		s.GapBlocks = append(s.GapBlocks, GapBlock{uint16(4*i + 2), uint16(4*i + 3)})
	}
	for i := range dups {
		s.DupTSNs = append(s.DupTSNs, uint32(900+i))
	}
	return s
}

func BenchmarkSackEncode(b *testing.B) {
	for _, g := range []int{0, 4, 32} {
		s := sackWith(g, g/4)
		buf := make([]byte, 0, 512)
		b.Run(fmt.Sprintf("gaps=%d", g), func(b *testing.B) {
			b.SetBytes(int64(s.Len()))
			b.ReportAllocs()
			for b.Loop() {
				buf = s.Append(buf[:0])
			}
		})
	}
}

func BenchmarkSackDecode(b *testing.B) {
	for _, g := range []int{0, 4, 32} {
		raw := rawOf(b, sackWith(g, g/4).Append(nil))
		var s SackChunk
		b.Run(fmt.Sprintf("gaps=%d", g), func(b *testing.B) {
			b.SetBytes(int64(len(raw.Bytes)))
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Unmarshal(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReceivePath measures what the core does per received packet of
// one SACK and full-sized DATA: verify the checksum, walk the chunks,
// decode them into reused values.
func BenchmarkReceivePath(b *testing.B) {
	pkt := (&Packet{Header: Header{VerificationTag: 1}, Chunks: []Chunk{
		sackWith(2, 0),
		&DataChunk{TSN: 5, UserData: make([]byte, 1100)},
	}}).Append(nil)
	var d DataChunk
	var s SackChunk
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		if !VerifyChecksum(pkt) {
			b.Fatal("checksum")
		}
		_, chunks, _ := ParseHeader(pkt)
		r := NewReader(chunks)
		for r.Next() {
			raw := r.Chunk()
			switch raw.Type {
			case TypeData:
				_ = d.Unmarshal(raw)
			case TypeSack:
				_ = s.Unmarshal(raw)
			}
		}
	}
}
