package chunk

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"
)

// The fuzz targets decode arbitrary bytes, and whenever decoding succeeds
// they encode the result and decode that again: the second decoding must
// succeed, equal the first, and encode to the same bytes. Seeds are the
// sample chunks and the RFC layout tests' inputs.

type unmarshaler = decoder

// checkStable runs the decode -> encode -> decode cycle on raw with fresh
// values from mk.
func checkStable(t *testing.T, mk func() unmarshaler, raw Raw) {
	t.Helper()
	first := mk()
	if err := first.Unmarshal(raw); err != nil {
		if !isCodecError(err) {
			t.Fatalf("%v: error %v wraps no sentinel", raw.Type, err)
		}
		return
	}
	b := first.Append(nil)
	if len(b)%4 != 0 || int(binary.BigEndian.Uint16(b[2:])) != first.Len() || len(b) != first.Len()+pad(first.Len()) {
		t.Fatalf("%v: Append wrote %d bytes, length field %d, Len %d", raw.Type, len(b), binary.BigEndian.Uint16(b[2:]), first.Len())
	}
	second := mk()
	if err := second.Unmarshal(rawOf(t, b)); err != nil {
		t.Fatalf("%v: re-decoding % x: %v (first decoded %#v)", raw.Type, b, err, first)
	}
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("%v: decoded\n  %#v\nre-decoded\n  %#v", raw.Type, first, second)
	}
	if b2 := second.Append(nil); !bytes.Equal(b, b2) {
		t.Fatalf("%v: encoded\n  % x\nthen\n  % x", raw.Type, b, b2)
	}
}

// addSeeds adds the values of the sample chunks of type typ (all types
// if typ is 0xff) as seeds, with their flags when withFlags.
func addSeeds(f *testing.F, typ Type, withType, withFlags bool) {
	for _, c := range sampleChunks() {
		if typ != 0xff && c.Type() != typ {
			continue
		}
		b := c.Append(nil)
		v := b[ChunkHeaderLen:c.Len()]
		switch {
		case withType:
			f.Add(b[0], b[1], v)
		case withFlags:
			f.Add(b[1], v)
		default:
			f.Add(v)
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add((&Packet{Chunks: sampleChunks()}).Append(nil)[HeaderLen:])
	f.Add([]byte{0, 0, 0, 3})
	f.Add([]byte{11, 0, 0, 4, 11, 0, 0, 4, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(data)
		total := 0
		for r.Next() {
			raw := r.Chunk()
			if len(raw.Bytes) != ChunkHeaderLen+len(raw.Value) || len(raw.Bytes) > len(data) {
				t.Fatalf("Bytes %d, Value %d", len(raw.Bytes), len(raw.Value))
			}
			u := &UnknownChunk{ChunkType: raw.Type, Flags: raw.Flags, Value: raw.Value}
			if b := u.Append(nil); !bytes.Equal(b[:u.Len()], raw.Bytes) {
				t.Fatalf("re-encoded % x, read % x", b, raw.Bytes)
			}
			total += len(raw.Bytes)
			if total > len(data) {
				t.Fatal("chunks longer than the input")
			}
		}
		if r.Err() != nil && !isCodecError(r.Err()) {
			t.Fatalf("error %v wraps no sentinel", r.Err())
		}
	})
}

func FuzzData(f *testing.F) {
	addSeeds(f, TypeData, false, true)
	f.Fuzz(func(t *testing.T, flags byte, v []byte) {
		checkStable(t, func() unmarshaler { return new(DataChunk) }, Raw{Type: TypeData, Flags: flags, Value: v})
	})
}

func FuzzSack(f *testing.F) {
	addSeeds(f, TypeSack, false, false)
	f.Fuzz(func(t *testing.T, v []byte) {
		checkStable(t, func() unmarshaler { return new(SackChunk) }, Raw{Type: TypeSack, Value: v})
		// A reused value decodes the same as a fresh one.
		reused := &SackChunk{GapBlocks: make([]GapBlock, 5, 9), DupTSNs: []uint32{1, 2, 3}}
		fresh := new(SackChunk)
		e1, e2 := reused.Unmarshal(Raw{Type: TypeSack, Value: v}), fresh.Unmarshal(Raw{Type: TypeSack, Value: v})
		if (e1 == nil) != (e2 == nil) {
			t.Fatalf("reused: %v, fresh: %v", e1, e2)
		}
		if e1 == nil && (len(reused.GapBlocks) != len(fresh.GapBlocks) || len(reused.DupTSNs) != len(fresh.DupTSNs) ||
			!bytes.Equal(reused.Append(nil), fresh.Append(nil))) {
			t.Fatalf("reused %v, fresh %v", reused, fresh)
		}
	})
}

func FuzzInit(f *testing.F) {
	addSeeds(f, TypeInit, false, false)
	f.Fuzz(func(t *testing.T, v []byte) {
		checkStable(t, func() unmarshaler { return new(InitChunk) }, Raw{Type: TypeInit, Value: v})
	})
}

func FuzzInitAck(f *testing.F) {
	addSeeds(f, TypeInitAck, false, false)
	f.Fuzz(func(t *testing.T, v []byte) {
		checkStable(t, func() unmarshaler { return new(InitAckChunk) }, Raw{Type: TypeInitAck, Value: v})
	})
}

// FuzzChunk covers the other decoders through Decode.
func FuzzChunk(f *testing.F) {
	addSeeds(f, 0xff, true, false)
	f.Fuzz(func(t *testing.T, typ, flags byte, v []byte) {
		raw := Raw{Type: Type(typ), Flags: flags, Value: v}
		checkStable(t, func() unmarshaler { return newChunk(Type(typ)) }, raw)
	})
}

func FuzzCauses(f *testing.F) {
	for _, c := range sampleChunks() {
		switch c := c.(type) {
		case *AbortChunk:
			f.Add(appendCauses(nil, c.Causes))
		case *ErrorChunk:
			f.Add(appendCauses(nil, c.Causes))
		}
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		causes, err := DecodeCauses(v)
		if err != nil {
			if !isCodecError(err) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		b := appendCauses(nil, causes)
		if n := causesLen(causes); len(b) != n+pad(n) {
			t.Fatalf("causes of %d bytes, causesLen %d", len(b), n)
		}
		again, err := DecodeCauses(b)
		if err != nil {
			t.Fatalf("re-decoding % x: %v", b, err)
		}
		if !reflect.DeepEqual(causes, again) {
			t.Fatalf("decoded %#v, re-decoded %#v", causes, again)
		}
		for _, c := range causes {
			if cb := c.Append(nil); int(binary.BigEndian.Uint16(cb[2:])) != c.Len() || CauseCode(binary.BigEndian.Uint16(cb)) != c.CauseCode() {
				t.Fatalf("%v: encoded % x, Len %d", c.CauseCode(), cb, c.Len())
			}
		}
	})
}

// FuzzPacket decodes whole packets. The fuzzer's bytes get a valid
// checksum first, or it would hardly ever get past VerifyChecksum.
func FuzzPacket(f *testing.F) {
	h := Header{SrcPort: 9899, DstPort: 5432, VerificationTag: 42}
	f.Add((&Packet{Header: h, Chunks: sampleChunks()}).Append(nil))
	for _, c := range sampleChunks() {
		f.Add((&Packet{Header: h, Chunks: []Chunk{c}}).Append(nil))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkt := append([]byte(nil), data...)
		SetChecksum(pkt)
		p, err := ParsePacket(pkt)
		if err != nil {
			if !isCodecError(err) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		b := p.Append(nil)
		if !VerifyChecksum(b) {
			t.Fatal("Append wrote a bad checksum")
		}
		again, err := ParsePacket(b)
		if err != nil {
			t.Fatalf("re-parsing: %v", err)
		}
		p.Header.Checksum, again.Header.Checksum = 0, 0
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("parsed %#v, re-parsed %#v", p, again)
		}
	})
}
