package chunk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

// encodeOne encodes c alone and returns its bytes with padding.
func encodeOne(t testing.TB, c Chunk) []byte {
	t.Helper()
	b := c.Append(nil)
	if len(b)%4 != 0 {
		t.Fatalf("%v: Append wrote %d bytes, not a multiple of 4", c.Type(), len(b))
	}
	if got := int(binary.BigEndian.Uint16(b[2:])); got != c.Len() {
		t.Fatalf("%v: Chunk Length field %d, Len() %d", c.Type(), got, c.Len())
	}
	if len(b)-c.Len() != pad(c.Len()) {
		t.Fatalf("%v: %d bytes after Len() %d, want the padding %d", c.Type(), len(b)-c.Len(), c.Len(), pad(c.Len()))
	}
	if Type(b[0]) != c.Type() {
		t.Fatalf("%v: type byte %d", c.Type(), b[0])
	}
	return b
}

// rawOf reads the single chunk in b.
func rawOf(t testing.TB, b []byte) Raw {
	t.Helper()
	r := NewReader(b)
	if !r.Next() {
		t.Fatalf("Reader: no chunk in % x: %v", b, r.Err())
	}
	raw := r.Chunk()
	if r.Next() || r.Err() != nil {
		t.Fatalf("Reader: more than one chunk in % x (err %v)", b, r.Err())
	}
	return raw
}

// TestEncodeDecodeSamples decodes every sample chunk after encoding it and
// expects the same value back, and the same bytes when encoded again.
func TestEncodeDecodeSamples(t *testing.T) {
	for _, c := range sampleChunks() {
		b := encodeOne(t, c)
		got, err := Decode(rawOf(t, b))
		if err != nil {
			t.Errorf("%v: Decode: %v", c.Type(), err)
			continue
		}
		if reflect.TypeOf(got) != reflect.TypeOf(c) {
			t.Errorf("%v: Decode returned %T, want %T", c.Type(), got, c)
			continue
		}
		if !reflect.DeepEqual(normalize(got), normalize(c)) {
			t.Errorf("%v: decoded\n  %#v\nwant\n  %#v", c.Type(), got, c)
		}
		if b2 := got.Append(nil); !bytes.Equal(b, b2) {
			t.Errorf("%v: re-encoded\n  % x\nwant\n  % x", c.Type(), b2, b)
		}
	}
}

// normalize maps empty slices to nil in the fields where the codec does
// not promise to tell them apart, so DeepEqual compares content.
func normalize(c Chunk) Chunk {
	switch c := c.(type) {
	case *DataChunk:
		cp := *c
		if len(cp.UserData) == 0 {
			cp.UserData = nil
		}
		return &cp
	case *InitAckChunk:
		cp := *c
		for i, p := range cp.UnrecognizedParams {
			if len(p.Value) == 0 {
				cp.UnrecognizedParams[i].Value = nil
			}
		}
		return &cp
	}
	return c
}

func TestReader(t *testing.T) {
	// Three chunks; the last one's padding absent.
	b := (&CookieAckChunk{}).Append(nil)
	b = (&DataChunk{TSN: 1, UserData: []byte{1}}).Append(b)
	b = (&HeartbeatChunk{Info: []byte{1, 2, 3, 4, 5}}).Append(b)
	b = b[:len(b)-3]
	r := NewReader(b)
	var types []Type
	at := 0 // where the chunk starts in b: 0, then 4, then 4 + 20 (DATA of 17 bytes, padded)
	for r.Next() {
		raw := r.Chunk()
		types = append(types, raw.Type)
		if got := r.FromChunk(); len(got) != len(b)-at || &got[0] != &b[at] {
			t.Errorf("%v: FromChunk is %d bytes, want b[%d:] (%d bytes)", raw.Type, len(got), at, len(b)-at)
		}
		at += len(raw.Bytes) + pad(len(raw.Bytes))
		if len(raw.Bytes) != ChunkHeaderLen+len(raw.Value) {
			t.Errorf("%v: Bytes %d, Value %d", raw.Type, len(raw.Bytes), len(raw.Value))
		}
		if cap(raw.Value) != len(raw.Value) {
			t.Errorf("%v: Value has spare capacity %d over the next chunk", raw.Type, cap(raw.Value)-len(raw.Value))
		}
	}
	if r.Err() != nil {
		t.Fatalf("Err = %v", r.Err())
	}
	if want := []Type{TypeCookieAck, TypeData, TypeHeartbeat}; !reflect.DeepEqual(types, want) {
		t.Fatalf("types %v, want %v", types, want)
	}

	bad := []struct {
		name string
		b    []byte
		want error
	}{
		{"length below 4", []byte{0, 0, 0, 3}, ErrLength},
		{"length 0", []byte{11, 0, 0, 0}, ErrLength},
		{"length beyond the buffer", []byte{11, 0, 0, 8, 0, 0, 0}, ErrShort},
		{"trailing bytes after a chunk", []byte{11, 0, 0, 4, 0, 0}, ErrShort},
		{"lone byte", []byte{11}, ErrShort},
	}
	for _, tt := range bad {
		r := NewReader(tt.b)
		for r.Next() {
		}
		if !errors.Is(r.Err(), tt.want) {
			t.Errorf("%s: Err = %v, want %v", tt.name, r.Err(), tt.want)
		}
		if r.Next() {
			t.Errorf("%s: Next true after an error", tt.name)
		}
	}
	if r := NewReader(nil); r.Next() || r.Err() != nil {
		t.Errorf("empty: Next or Err")
	}
}

func TestHeader(t *testing.T) {
	h := Header{SrcPort: 5000, DstPort: 5432, VerificationTag: 0xdeadbeef, Checksum: 0x12345678}
	b := AppendHeader([]byte{0xff}, h)
	want := []byte{0xff, 0x13, 0x88, 0x15, 0x38, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0}
	if !bytes.Equal(b, want) {
		t.Fatalf("AppendHeader = % x, want % x", b, want)
	}
	pkt := append(b[1:], (&CookieAckChunk{}).Append(nil)...)
	SetChecksum(pkt)
	if !VerifyChecksum(pkt) {
		t.Fatal("VerifyChecksum false after SetChecksum")
	}
	got, chunks, err := ParseHeader(pkt)
	if err != nil {
		t.Fatal(err)
	}
	h.Checksum = binary.LittleEndian.Uint32(pkt[8:])
	if got != h || !bytes.Equal(chunks, pkt[12:]) {
		t.Fatalf("ParseHeader = %+v, % x", got, chunks)
	}
	pkt[13] ^= 1
	if VerifyChecksum(pkt) {
		t.Fatal("VerifyChecksum true after a bit flip")
	}
	if _, err := ParsePacket(pkt); !errors.Is(err, ErrChecksum) {
		t.Fatalf("ParsePacket of a corrupted packet: %v, want ErrChecksum", err)
	}
	for n := 0; n < HeaderLen; n++ {
		if _, _, err := ParseHeader(pkt[:n]); !errors.Is(err, ErrShort) {
			t.Errorf("ParseHeader(%d bytes): %v", n, err)
		}
		if _, err := ParsePacket(pkt[:n]); !errors.Is(err, ErrShort) {
			t.Errorf("ParsePacket(%d bytes): %v", n, err)
		}
	}
}

// TestRoundTripPacket puts every sample chunk through Packet.Append and
// ParsePacket, alone and all bundled in one packet. A chunk type that
// encodes as another (an embedded type's methods promoted by mistake, as
// InitAckChunk over InitChunk) comes back as the wrong Go type.
func TestRoundTripPacket(t *testing.T) {
	h := Header{SrcPort: 9899, DstPort: 9899, VerificationTag: 0x11223344}
	samples := sampleChunks()
	for _, c := range samples {
		p := &Packet{Header: h, Chunks: []Chunk{c}}
		b := p.Append(nil)
		got, err := ParsePacket(b)
		if err != nil {
			t.Errorf("%v: ParsePacket: %v", c.Type(), err)
			continue
		}
		if len(got.Chunks) != 1 {
			t.Errorf("%v: %d chunks back", c.Type(), len(got.Chunks))
			continue
		}
		if reflect.TypeOf(got.Chunks[0]) != reflect.TypeOf(c) || got.Chunks[0].Type() != c.Type() {
			t.Errorf("%v: came back as %T (%v)", c.Type(), got.Chunks[0], got.Chunks[0].Type())
		}
		if !reflect.DeepEqual(normalize(got.Chunks[0]), normalize(c)) {
			t.Errorf("%v: got\n  %#v\nwant\n  %#v", c.Type(), got.Chunks[0], c)
		}
		got.Header.Checksum = 0
		if got.Header != h {
			t.Errorf("%v: header %+v", c.Type(), got.Header)
		}
	}
	p := &Packet{Header: h, Chunks: samples}
	b := p.Append([]byte("prefix"))
	got, err := ParsePacket(b[len("prefix"):])
	if err != nil {
		t.Fatalf("bundle: %v", err)
	}
	if len(got.Chunks) != len(samples) {
		t.Fatalf("bundle: %d chunks, want %d", len(got.Chunks), len(samples))
	}
	for i := range samples {
		if !reflect.DeepEqual(normalize(got.Chunks[i]), normalize(samples[i])) {
			t.Errorf("bundle chunk %d: got %#v, want %#v", i, got.Chunks[i], samples[i])
		}
	}
}

// TestInitAckHasOwnMethods guards the embedding hazard directly.
func TestInitAckHasOwnMethods(t *testing.T) {
	c := &InitAckChunk{InitChunk: InitChunk{InitiateTag: 1, OutboundStreams: 1, InboundStreams: 1}, StateCookie: []byte{1}}
	if c.Type() != TypeInitAck {
		t.Fatalf("Type = %v", c.Type())
	}
	b := c.Append(nil)
	if Type(b[0]) != TypeInitAck || c.Len() != 4+16+5 {
		t.Fatalf("Append wrote type %v, Len %d", Type(b[0]), c.Len())
	}
	var init InitChunk
	if err := init.Unmarshal(rawOf(t, b)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("InitChunk.Unmarshal of an INIT ACK: %v, want ErrInvalid", err)
	}
}

// TestUnmarshalWrongType: each Unmarshal refuses another chunk type.
func TestUnmarshalWrongType(t *testing.T) {
	raw := Raw{Type: 0xEE, Value: make([]byte, 64)}
	for _, c := range sampleChunks() {
		u, ok := c.(interface{ Unmarshal(Raw) error })
		if !ok {
			t.Fatalf("%T has no Unmarshal", c)
		}
		if _, unknown := c.(*UnknownChunk); unknown {
			continue
		}
		if err := u.Unmarshal(raw); !errors.Is(err, ErrInvalid) {
			t.Errorf("%T.Unmarshal(type 0xEE) = %v, want ErrInvalid", c, err)
		}
	}
}

func TestStrings(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{TypeInitAck.String(), "INIT ACK"},
		{TypeShutdownComplete.String(), "SHUTDOWN COMPLETE"},
		{TypeIForwardTSN.String(), "I-FORWARD-TSN"},
		{Type(0x3f).String(), "Type(0x3f)"},
		{Type(0xff).String(), "Type(0xff)"},
		{CauseNoUserData.String(), "No User Data"},
		{CauseCode(99).String(), "CauseCode(99)"},
		{(&DataChunk{Unordered: true, Beginning: true, TSN: 5, UserData: []byte{1, 2}}).String(), "DATA -UB- TSN=5 SID=0 SSN=0 PPID=0 len=2"},
		{(&SackChunk{CumTSNAck: 3, GapBlocks: []GapBlock{{2, 4}}}).String(), "SACK cum=3 a_rwnd=0 gaps=[{2 4}] dups=[]"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestUnknownActions(t *testing.T) {
	// RFC 9260 section 3.2: "00 - Stop processing this SCTP packet [...]
	// 01 - [...] and report [...] 10 - Skip this chunk and continue
	// processing. 11 - Skip this chunk and continue processing, but
	// report".
	for _, tt := range []struct {
		t            Type
		stop, report bool
	}{{0x3f, true, false}, {0x40, true, true}, {0x80, false, false}, {0xC5, false, true}} {
		a := tt.t.Action()
		if a.Stop() != tt.stop || a.Report() != tt.report {
			t.Errorf("%v: stop %v report %v", tt.t, a.Stop(), a.Report())
		}
	}
	if a := ParamAction(0x4001); !a.Stop() || !a.Report() {
		t.Errorf("ParamAction(0x4001) = %v", a)
	}
}
