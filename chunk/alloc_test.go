package chunk

import (
	"testing"
)

// TestDecodeAllocs: the hot-path decoders fill reused values without
// allocating (STYLE: "Encode by appending, decode into reused values").
func TestDecodeAllocs(t *testing.T) {
	data := (&DataChunk{Beginning: true, Ending: true, TSN: 7, StreamID: 1, SSN: 2, PPID: 3, UserData: make([]byte, 1000)}).Append(nil)
	sack := (&SackChunk{CumTSNAck: 9, AdvRecvWindow: 1 << 16,
		GapBlocks: []GapBlock{{2, 3}, {5, 9}, {11, 11}}, DupTSNs: []uint32{1, 2}}).Append(nil)
	pkt := (&Packet{Chunks: []Chunk{
		&SackChunk{CumTSNAck: 9, GapBlocks: []GapBlock{{2, 3}}},
		&DataChunk{TSN: 10, UserData: []byte("x")},
		&DataChunk{TSN: 11, UserData: []byte("y")},
	}}).Append(nil)

	var d DataChunk
	var s SackChunk
	rawData, rawSack := rawOf(t, data), rawOf(t, sack)
	tests := []struct {
		name string
		f    func()
	}{
		{"DataChunk.Unmarshal", func() {
			if err := d.Unmarshal(rawData); err != nil {
				t.Fatal(err)
			}
		}},
		{"SackChunk.Unmarshal", func() {
			if err := s.Unmarshal(rawSack); err != nil {
				t.Fatal(err)
			}
		}},
		{"Reader and decode of a packet", func() {
			if !VerifyChecksum(pkt) {
				t.Fatal("checksum")
			}
			_, chunks, err := ParseHeader(pkt)
			if err != nil {
				t.Fatal(err)
			}
			r := NewReader(chunks)
			for r.Next() {
				switch raw := r.Chunk(); raw.Type {
				case TypeData:
					if err := d.Unmarshal(raw); err != nil {
						t.Fatal(err)
					}
				case TypeSack:
					if err := s.Unmarshal(raw); err != nil {
						t.Fatal(err)
					}
				}
			}
			if r.Err() != nil {
				t.Fatal(r.Err())
			}
		}},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", tt.name, n)
		}
	}
	if len(s.GapBlocks) != 1 || d.TSN != 11 {
		t.Fatalf("decoded %v, %v", &s, &d)
	}
}

// TestEncodeAllocs: appending DATA and SACK to a buffer with room does not
// allocate.
func TestEncodeAllocs(t *testing.T) {
	d := &DataChunk{TSN: 7, UserData: make([]byte, 1000)}
	s := &SackChunk{CumTSNAck: 9, GapBlocks: []GapBlock{{2, 3}, {5, 9}}, DupTSNs: []uint32{1}}
	buf := make([]byte, 0, 2048)
	if n := testing.AllocsPerRun(100, func() {
		b := AppendHeader(buf[:0], Header{VerificationTag: 1})
		b = s.Append(b)
		b = d.Append(b)
		SetChecksum(b)
	}); n != 0 {
		t.Errorf("encoding a SACK+DATA packet: %v allocations per run, want 0", n)
	}
}
