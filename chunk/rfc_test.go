package chunk

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

// TestRFCLayouts decodes chunks written byte by byte from the diagrams of
// RFC 9260 section 3.3 and checks every field, then re-encodes them.
func TestRFCLayouts(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Chunk
		// canonical: Append reproduces in exactly (otherwise the input
		// has parameters in an order or form the encoder does not use).
		canonical bool
	}{
		{
			// RFC 9260 3.3.1: "Type = 0 | Res |I|U|B|E| Length", TSN,
			// Stream Identifier S, Stream Sequence Number n, Payload
			// Protocol Identifier, User Data. "The Length field [...]
			// does not include any padding."
			name: "3.3.1 DATA, U and E set, 3 bytes of user data",
			in: []byte{
				0x00, 0x05, 0x00, 0x13, // type 0, flags U|E, length 19
				0x00, 0x00, 0x10, 0x00, // TSN 4096
				0x00, 0x07, 0x00, 0x02, // stream 7, SSN 2
				0x00, 0x00, 0x00, 0x33, // PPID 51
				'a', 'b', 'c', 0x00, // user data, one byte of padding
			},
			want:      &DataChunk{Unordered: true, Ending: true, TSN: 4096, StreamID: 7, SSN: 2, PPID: 51, UserData: []byte("abc")},
			canonical: true,
		},
		{
			// RFC 7053 section 3: "I bit: The (I)mmediate Bit MAY be set
			// by the sender"; it is the bit after U.
			name: "RFC 7053 DATA with I and B set",
			in: []byte{
				0x00, 0x0a, 0x00, 0x14,
				0xff, 0xff, 0xff, 0xff,
				0xff, 0xff, 0xff, 0xff,
				0x00, 0x00, 0x00, 0x00,
				1, 2, 3, 4,
			},
			want:      &DataChunk{Immediate: true, Beginning: true, TSN: 0xffffffff, StreamID: 0xffff, SSN: 0xffff, UserData: []byte{1, 2, 3, 4}},
			canonical: true,
		},
		{
			// RFC 9260 3.3.1: a DATA chunk with Length 16 carries no user
			// data; the codec accepts it so the core can send the "No
			// User Data" cause with its TSN.
			name:      "3.3.1 DATA with Length 16",
			in:        []byte{0x00, 0x03, 0x00, 0x10, 0, 0, 0, 9, 0, 1, 0, 0, 0, 0, 0, 0},
			want:      &DataChunk{Beginning: true, Ending: true, TSN: 9, StreamID: 1, UserData: []byte{}},
			canonical: true,
		},
		{
			// RFC 9260 3.3.2: fixed fields, then "IPv4 Address (Note 1)
			// Optional", "Supported Address Types (Note 4) Optional",
			// "Reserved for ECN Capable (Note 2) Optional" (0x8000),
			// and RFC 3758's Forward-TSN-Supported (0xC000), which pgsctp
			// (no PR-SCTP) does not know: its upper bits 11 ask for a
			// report (3.2.1), so it lands in Unrecognized, which Append
			// writes after the known parameters (so not canonical).
			name: "3.3.2 INIT with IPv4 address, supported address types, ECN, Forward-TSN",
			in: []byte{
				0x01, 0x00, 0x00, 0x32, // type 1, length 50
				0xde, 0xad, 0xbe, 0xef, // Initiate Tag
				0x00, 0x01, 0x00, 0x00, // a_rwnd 65536
				0x00, 0x0a, 0x00, 0x0b, // OS 10, MIS 11
				0x12, 0x34, 0x56, 0x78, // Initial TSN
				0x00, 0x05, 0x00, 0x08, 127, 0, 0, 1, // IPv4 Address 127.0.0.1
				0x00, 0x0c, 0x00, 0x06, 0x00, 0x05, 0x00, 0x00, // Supported Address Types: IPv4, padded
				0x80, 0x00, 0x00, 0x04, // ECN Capable
				0xc0, 0x00, 0x00, 0x04, // Forward-TSN-Supported
				0x80, 0x08, 0x00, 0x06, 0xc0, 0x82, // Supported Extensions: FORWARD TSN, RE-CONFIG; last, no padding counted
				0x00, 0x00, // chunk padding
			},
			want: &InitChunk{
				InitiateTag: 0xdeadbeef, AdvRecvWindow: 65536, OutboundStreams: 10, InboundStreams: 11, InitialTSN: 0x12345678,
				Addresses:          []netip.Addr{netip.MustParseAddr("127.0.0.1")},
				SupportedAddrTypes: []uint16{5},
				ECNCapable:         true,
				SupportedExt:       []Type{TypeForwardTSN, TypeReconfig},
				Unrecognized:       []RawParam{{Type: ParamForwardTSN, Value: []byte{}}},
			},
		},
		{
			// RFC 9260 3.3.2.1: IPv6 Address (6), Cookie Preservative (9),
			// Host Name Address (11).
			name: "3.3.2.1 INIT with IPv6 address, cookie preservative, host name",
			in: []byte{
				0x01, 0x00, 0x00, 0x37, // length 55
				0x00, 0x00, 0x00, 0x01,
				0x00, 0x00, 0x10, 0x00,
				0x00, 0x01, 0x00, 0x01,
				0x00, 0x00, 0x00, 0x00,
				0x00, 0x06, 0x00, 0x14, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // IPv6 2001:db8::2
				0x00, 0x09, 0x00, 0x08, 0x00, 0x00, 0x03, 0xe8, // Cookie Preservative 1000 ms
				0x00, 0x0b, 0x00, 0x07, 'd', 'b', '1', 0x00, // Host Name "db1", last parameter
			},
			want: &InitChunk{
				InitiateTag: 1, AdvRecvWindow: 4096, OutboundStreams: 1, InboundStreams: 1,
				Addresses:          []netip.Addr{netip.MustParseAddr("2001:db8::2")},
				CookiePreservative: 1000,
				HostName:           []byte("db1"),
			},
			canonical: true,
		},
		{
			// RFC 9260 3.2.1: the upper two bits of an unrecognised
			// parameter's type. 10 (0x8123): skip. 11 (0xC124): skip and
			// report. 01 (0x4125): stop and report, so the IPv4 address
			// after it is not processed.
			name: "3.2.1 INIT with unknown parameters: skip, skip+report, stop+report",
			in: []byte{
				0x01, 0x00, 0x00, 0x30,
				0x00, 0x00, 0x00, 0x07,
				0x00, 0x00, 0x00, 0x00,
				0x00, 0x02, 0x00, 0x03,
				0x00, 0x00, 0x00, 0x00,
				0x81, 0x23, 0x00, 0x05, 0xaa, 0x00, 0x00, 0x00, // skip
				0xc1, 0x24, 0x00, 0x06, 0xbb, 0xcc, 0x00, 0x00, // skip, report
				0x41, 0x25, 0x00, 0x04, // stop, report
				0x00, 0x05, 0x00, 0x08, 10, 0, 0, 1, // not processed
			},
			want: &InitChunk{
				InitiateTag: 7, OutboundStreams: 2, InboundStreams: 3,
				Unrecognized: []RawParam{{0xc124, []byte{0xbb, 0xcc}}, {0x4125, []byte{}}},
			},
		},
		{
			// RFC 9260 3.2.1 "00 - Stop processing this parameter and do
			// not process any further parameters within this chunk":
			// nothing reported, the address after it ignored.
			name: "3.2.1 INIT with an unknown stop parameter",
			in: []byte{
				0x01, 0x00, 0x00, 0x20,
				0x00, 0x00, 0x00, 0x07,
				0x00, 0x00, 0x00, 0x00,
				0x00, 0x02, 0x00, 0x03,
				0x00, 0x00, 0x00, 0x00,
				0x00, 0x63, 0x00, 0x04, // type 99: stop
				0x00, 0x05, 0x00, 0x08, 10, 0, 0, 1,
			},
			want: &InitChunk{InitiateTag: 7, OutboundStreams: 2, InboundStreams: 3},
		},
		{
			// RFC 9260 3.3.3: INIT ACK, "State Cookie Mandatory",
			// "Unrecognized Parameter Optional" quoting "unrecognized
			// parameters copied from the INIT chunk complete with
			// Parameter Type, Length, and Value fields".
			name: "3.3.3 INIT ACK with State Cookie and Unrecognized Parameter",
			in: []byte{
				0x02, 0x00, 0x00, 0x29, // type 2, length 41
				0x01, 0x02, 0x03, 0x04,
				0x00, 0x00, 0xff, 0xff,
				0x00, 0x20, 0x00, 0x20,
				0x00, 0x00, 0x00, 0x2a,
				0x00, 0x07, 0x00, 0x09, 'c', 'o', 'o', 'k', 'i', 0x00, 0x00, 0x00, // State Cookie "cooki", padded
				0x00, 0x08, 0x00, 0x09, 0xc1, 0x24, 0x00, 0x05, 0xbb, // Unrecognized Parameter quoting 0xC124
				0x00, 0x00, 0x00, // chunk padding
			},
			want: &InitAckChunk{
				InitChunk:          InitChunk{InitiateTag: 0x01020304, AdvRecvWindow: 0xffff, OutboundStreams: 32, InboundStreams: 32, InitialTSN: 42},
				StateCookie:        []byte("cooki"),
				UnrecognizedParams: []RawParam{{0xc124, []byte{0xbb}}},
			},
			canonical: true,
		},
		{
			// RFC 9260 3.3.4: SACK with two Gap Ack Blocks and one
			// Duplicate TSN.
			name: "3.3.4 SACK",
			in: []byte{
				0x03, 0x00, 0x00, 0x1c, // type 3, length 28
				0x00, 0x00, 0x00, 0x64, // Cumulative TSN Ack 100
				0x00, 0x00, 0x80, 0x00, // a_rwnd 32768
				0x00, 0x02, 0x00, 0x01, // N=2, M=1
				0x00, 0x02, 0x00, 0x03, // gap 1: 102-103
				0x00, 0x05, 0x00, 0x05, // gap 2: 105
				0x00, 0x00, 0x00, 0x63, // duplicate TSN 99
			},
			want:      &SackChunk{CumTSNAck: 100, AdvRecvWindow: 32768, GapBlocks: []GapBlock{{2, 3}, {5, 5}}, DupTSNs: []uint32{99}},
			canonical: true,
		},
		{
			// RFC 9260 3.3.5: "Heartbeat Information TLV", 3.3.6 the
			// HEARTBEAT ACK echoes it.
			name: "3.3.5 HEARTBEAT",
			in: []byte{
				0x04, 0x00, 0x00, 0x0b,
				0x00, 0x01, 0x00, 0x07, 'x', 'y', 'z', 0x00,
			},
			want:      &HeartbeatChunk{Info: []byte("xyz")},
			canonical: true,
		},
		{
			name:      "3.3.6 HEARTBEAT ACK",
			in:        []byte{0x05, 0x00, 0x00, 0x08, 0x00, 0x01, 0x00, 0x04},
			want:      &HeartbeatAckChunk{Info: []byte{}},
			canonical: true,
		},
		{
			// RFC 9260 3.3.7: "T bit: The T bit is set to 0 if the sender
			// filled in the Verification Tag expected by the peer. [...]
			// set to 1 if the sender filled in the Verification Tag of its
			// own"; with a User-Initiated Abort cause (3.3.10.12).
			name: "3.3.7 ABORT with T bit and User-Initiated Abort",
			in: []byte{
				0x06, 0x01, 0x00, 0x0b,
				0x00, 0x0c, 0x00, 0x07, 'b', 'y', 'e', 0x00,
			},
			want:      &AbortChunk{T: true, Causes: []Cause{UserInitiatedAbortCause{Reason: []byte("bye")}}},
			canonical: true,
		},
		{
			name:      "3.3.8 SHUTDOWN",
			in:        []byte{0x07, 0x00, 0x00, 0x08, 0x85, 0x98, 0xb1, 0x25},
			want:      &ShutdownChunk{CumTSNAck: 0x8598b125},
			canonical: true,
		},
		{
			name:      "3.3.9 SHUTDOWN ACK",
			in:        []byte{0x08, 0x00, 0x00, 0x04},
			want:      &ShutdownAckChunk{},
			canonical: true,
		},
		{
			// RFC 9260 3.3.10: ERROR with Missing Mandatory Parameter
			// (3.3.10.2, "Cause Length = 8 + N * 2") naming the State
			// Cookie, padded, then No User Data (3.3.10.9).
			name: "3.3.10 ERROR with Missing Mandatory Parameter and No User Data",
			in: []byte{
				0x09, 0x00, 0x00, 0x18,
				0x00, 0x02, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x07, 0x00, 0x00,
				0x00, 0x09, 0x00, 0x08, 0x00, 0x00, 0x00, 0x2a,
			},
			want:      &ErrorChunk{Causes: []Cause{MissingMandatoryParamCause{Types: []uint16{7}}, NoUserDataCause{TSN: 42}}},
			canonical: true,
		},
		{
			// RFC 9260 3.3.10.1 Invalid Stream Identifier ("Stream
			// Identifier | (Reserved)"), 3.3.10.3 Stale Cookie, 3.3.10.4
			// Out of Resource.
			name: "3.3.10.1, .3, .4 causes",
			in: []byte{
				0x09, 0x00, 0x00, 0x18,
				0x00, 0x01, 0x00, 0x08, 0x00, 0x05, 0x00, 0x00,
				0x00, 0x03, 0x00, 0x08, 0x00, 0x0f, 0x42, 0x40,
				0x00, 0x04, 0x00, 0x04,
			},
			want:      &ErrorChunk{Causes: []Cause{InvalidStreamIDCause{StreamID: 5}, StaleCookieCause{Staleness: 1000000}, OutOfResourceCause{}}},
			canonical: true,
		},
		{
			name:      "3.3.11 COOKIE ECHO",
			in:        []byte{0x0a, 0x00, 0x00, 0x09, 'c', 'o', 'o', 'k', 'i', 0, 0, 0},
			want:      &CookieEchoChunk{Cookie: []byte("cooki")},
			canonical: true,
		},
		{
			name:      "3.3.12 COOKIE ACK",
			in:        []byte{0x0b, 0x00, 0x00, 0x04},
			want:      &CookieAckChunk{},
			canonical: true,
		},
		{
			name:      "3.3.13 SHUTDOWN COMPLETE with T bit",
			in:        []byte{0x0e, 0x01, 0x00, 0x04},
			want:      &ShutdownCompleteChunk{T: true},
			canonical: true,
		},
		{
			// RFC 9260 3.2: a chunk type the codec does not decode
			// (RFC 3758 FORWARD TSN here) is carried as is.
			name:      "3.2 unknown chunk",
			in:        []byte{0xc0, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x05},
			want:      &UnknownChunk{ChunkType: 0xc0, Value: []byte{0, 0, 0, 5}},
			canonical: true,
		},
	}
	for _, tt := range tests {
		got, err := Decode(rawOf(t, tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got  %#v\n want %#v", tt.name, got, tt.want)
		}
		if tt.canonical {
			if b := got.Append(nil); !bytes.Equal(b, tt.in) {
				t.Errorf("%s: re-encoded\n  % x\nwant\n  % x", tt.name, b, tt.in)
			}
		}
	}
}

// TestRFCViolations decodes chunks that break a rule of the layout or a
// "MUST" of RFC 9260 that the codec checks.
func TestRFCViolations(t *testing.T) {
	init := func(tag uint32, os, mis uint16, params ...byte) []byte {
		b := []byte{0x01, 0x00, 0x00, 0x00, byte(tag >> 24), byte(tag >> 16), byte(tag >> 8), byte(tag), 0, 0, 0, 0, byte(os >> 8), byte(os), byte(mis >> 8), byte(mis), 0, 0, 0, 0}
		b = append(b, params...)
		b[3] = byte(len(b))
		return b
	}
	initAck := func(params ...byte) []byte {
		b := init(1, 1, 1, params...)
		b[0] = 0x02
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		// 3.3.2: "If the value of the Initiate Tag in a received INIT
		// chunk is found to be 0, the receiver MUST silently discard the
		// packet."
		{"3.3.2 INIT with Initiate Tag 0", init(0, 1, 1), ErrInvalid},
		// 3.3.2: "A receiver of an INIT chunk with the OS value set to 0
		// MUST discard the packet".
		{"3.3.2 INIT with OS 0", init(1, 0, 1), ErrInvalid},
		// 3.3.2: "A receiver of an INIT chunk with the MIS value set to 0
		// MUST discard the packet".
		{"3.3.2 INIT with MIS 0", init(1, 1, 0), ErrInvalid},
		{"3.3.2 INIT shorter than its fixed fields", []byte{0x01, 0, 0, 8, 0, 0, 0, 1}, ErrShort},
		{"3.3.2.1 IPv4 Address of 5 bytes", init(1, 1, 1, 0, 5, 0, 9, 1, 2, 3, 4, 5, 0, 0, 0), ErrLength},
		{"3.3.2.1 IPv6 Address of 4 bytes", init(1, 1, 1, 0, 6, 0, 8, 1, 2, 3, 4), ErrLength},
		{"3.3.2.1 Cookie Preservative of 2 bytes", init(1, 1, 1, 0, 9, 0, 6, 1, 2, 0, 0), ErrLength},
		{"3.3.2.1 Supported Address Types of odd length", init(1, 1, 1, 0, 12, 0, 7, 0, 5, 0, 0), ErrLength},
		{"3.3.2.1 ECN Capable with a value", init(1, 1, 1, 0x80, 0, 0, 8, 0, 0, 0, 0), ErrLength},
		{"3.2.1 parameter length 3", init(1, 1, 1, 0x80, 0x99, 0, 3, 0), ErrLength},
		{"3.2.1 parameter longer than the chunk", init(1, 1, 1, 0x80, 0x99, 0, 12, 0, 0, 0, 0), ErrShort},
		{"3.2.1 parameter header cut", init(1, 1, 1, 0x80, 0x99), ErrShort},
		// 3.3.3: "The Initiate Tag [...] MUST NOT take the value 0".
		{"3.3.3 INIT ACK with Initiate Tag 0", func() []byte { b := initAck(0, 7, 0, 5, 1, 0, 0, 0); b[7] = 0; return b }(), ErrInvalid},
		// 3.3.3: the State Cookie is mandatory.
		{"3.3.3 INIT ACK without State Cookie", initAck(), ErrMissingCookie},
		{"3.3.3 INIT ACK whose cookie is hidden behind a stop parameter", initAck(0x00, 0x63, 0, 4, 0, 7, 0, 5, 1, 0, 0, 0), ErrMissingCookie},
		{"3.3.4 SACK with more gap blocks than bytes", []byte{0x03, 0, 0, 0x14, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 2}, ErrShort},
		{"3.3.4 SACK with bytes beyond its blocks", []byte{0x03, 0, 0, 0x14, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2}, ErrLength},
		{"3.3.1 DATA shorter than 16", []byte{0x00, 0, 0, 0x0c, 0, 0, 0, 1, 0, 0, 0, 0}, ErrShort},
		{"3.3.5 HEARTBEAT with a parameter that is not Heartbeat Info", []byte{0x04, 0, 0, 8, 0, 2, 0, 4}, ErrInvalid},
		{"3.3.5 HEARTBEAT without a parameter", []byte{0x04, 0, 0, 4}, ErrShort},
		{"3.3.5 HEARTBEAT with bytes after its parameter", []byte{0x04, 0, 0, 12, 0, 1, 0, 4, 1, 2, 3, 4}, ErrLength},
		{"3.3.8 SHUTDOWN of length 12", []byte{0x07, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0}, ErrLength},
		{"3.3.9 SHUTDOWN ACK of length 8", []byte{0x08, 0, 0, 8, 0, 0, 0, 0}, ErrLength},
		{"3.3.12 COOKIE ACK of length 8", []byte{0x0b, 0, 0, 8, 0, 0, 0, 0}, ErrLength},
		{"3.3.13 SHUTDOWN COMPLETE of length 5", []byte{0x0e, 0, 0, 5, 0, 0, 0, 0}, ErrLength},
		{"3.3.10.1 Invalid Stream Identifier of length 6", []byte{0x09, 0, 0, 10, 0, 1, 0, 6, 0, 5, 0, 0}, ErrShort},
		{"3.3.10.2 Missing Mandatory Parameter count beyond its length", []byte{0x09, 0, 0, 16, 0, 2, 0, 12, 0, 0, 0, 3, 0, 7, 0, 5}, ErrLength},
		{"3.3.10.2 Missing Mandatory Parameter with a huge count", []byte{0x09, 0, 0, 12, 0, 2, 0, 8, 0xff, 0xff, 0xff, 0xff}, ErrLength},
		{"3.3.10.4 Out of Resource with a value", []byte{0x09, 0, 0, 12, 0, 4, 0, 8, 0, 0, 0, 0}, ErrLength},
		{"3.3.10 cause of length 2", []byte{0x06, 0, 0, 8, 0, 12, 0, 2}, ErrLength},
		{"3.3.10 cause longer than the chunk", []byte{0x06, 0, 0, 8, 0, 12, 0, 9}, ErrShort},
	}
	for _, tt := range tests {
		_, err := Decode(rawOf(t, tt.in))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	// The fixed fields are filled in before the checks, so the core has
	// the Initiate Tag to answer an INIT with OS 0 (3.3.2: "SHOULD send a
	// packet in response containing an ABORT chunk and using the Initiate
	// Tag as the Verification Tag").
	var c InitChunk
	if err := c.Unmarshal(rawOf(t, init(0xabc, 0, 1))); !errors.Is(err, ErrInvalid) || c.InitiateTag != 0xabc {
		t.Errorf("INIT with OS 0: err %v, Initiate Tag %#x", err, c.InitiateTag)
	}
	// ErrMissingCookie is an ErrInvalid too.
	var a InitAckChunk
	if err := a.Unmarshal(rawOf(t, initAck())); !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrMissingCookie) {
		t.Errorf("INIT ACK without cookie: %v", err)
	}
}

// TestUnrecognizedParamsFlow follows an unknown parameter from an INIT to
// the INIT ACK built from it: RFC 9260 3.2.1 "report the unrecognized
// parameter in an 'Unrecognized Parameter', as described in Section
// 3.3.3.1".
func TestUnrecognizedParamsFlow(t *testing.T) {
	in := (&InitChunk{InitiateTag: 1, OutboundStreams: 1, InboundStreams: 1,
		Unrecognized: []RawParam{{0xc00f, []byte("abcde")}}}).Append(nil)
	var init InitChunk
	if err := init.Unmarshal(rawOf(t, in)); err != nil {
		t.Fatal(err)
	}
	ack := &InitAckChunk{InitChunk: InitChunk{InitiateTag: 2, OutboundStreams: 1, InboundStreams: 1},
		StateCookie: []byte{1}, UnrecognizedParams: init.Unrecognized}
	var got InitAckChunk
	if err := got.Unmarshal(rawOf(t, ack.Append(nil))); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.UnrecognizedParams, []RawParam{{0xc00f, []byte("abcde")}}) || got.Unrecognized != nil {
		t.Fatalf("UnrecognizedParams %v, Unrecognized %v", got.UnrecognizedParams, got.Unrecognized)
	}
}

// TestForwardTSNSupportedReported: an endpoint without PR-SCTP reports
// the peer's Forward-TSN-Supported parameter (RFC 3758 section 3.3.1,
// type 0xC000) in its INIT ACK. Its upper bits 11 say "Skip this
// parameter and continue processing, but report the unrecognized
// parameter in an 'Unrecognized Parameter'" (RFC 9260 section 3.2.1).
// Regression: the codec used to decode it into a field, so the INIT ACK
// to the Linux kernel's INIT (which always offers it) reported nothing.
// The INIT below is the kernel's parameter order: addresses, Supported
// Address Types, ECN, Forward-TSN-Supported, Supported Extensions.
func TestForwardTSNSupportedReported(t *testing.T) {
	in := []byte{
		0x01, 0x00, 0x00, 0x2c, // INIT, length 44
		0x11, 0x22, 0x33, 0x44, // Initiate Tag
		0x00, 0x01, 0xc0, 0x00, // a_rwnd
		0x00, 0x0a, 0xff, 0xff, // OS 10, MIS 65535
		0x00, 0x00, 0x00, 0x01, // Initial TSN
		0x00, 0x05, 0x00, 0x08, 10, 0, 2, 15, // IPv4 Address 10.0.2.15
		0x00, 0x0c, 0x00, 0x06, 0x00, 0x05, 0x00, 0x00, // Supported Address Types: IPv4
		0x80, 0x00, 0x00, 0x04, // ECN Capable: skip silently (10)
		0xc0, 0x00, 0x00, 0x04, // Forward-TSN-Supported: skip and report (11)
	}
	var init InitChunk
	if err := init.Unmarshal(rawOf(t, in)); err != nil {
		t.Fatal(err)
	}
	if want := []RawParam{{ParamForwardTSN, []byte{}}}; !reflect.DeepEqual(init.Unrecognized, want) {
		t.Fatalf("Unrecognized = %v, want %v (ECN is skipped without a report)", init.Unrecognized, want)
	}
	if !init.ECNCapable || len(init.Addresses) != 1 {
		t.Errorf("the parameters around it were not decoded: %+v", init)
	}
	ack := &InitAckChunk{InitChunk: InitChunk{InitiateTag: 2, OutboundStreams: 1, InboundStreams: 1},
		StateCookie: []byte{1}, UnrecognizedParams: init.Unrecognized}
	b := ack.Append(nil)
	// Section 3.3.3.1: the Unrecognized Parameter (8) holds the whole
	// parameter, header included: 00 08 00 08 c0 00 00 04.
	if !bytes.Contains(b, []byte{0x00, 0x08, 0x00, 0x08, 0xc0, 0x00, 0x00, 0x04}) {
		t.Fatalf("INIT ACK % x does not report 0xC000 in an Unrecognized Parameter", b)
	}
	// And pgsctp never claims PR-SCTP: no 0xC000 parameter of its own.
	var got InitAckChunk
	if err := got.Unmarshal(rawOf(t, b)); err != nil {
		t.Fatal(err)
	}
	if len(got.Unrecognized) != 0 {
		t.Errorf("INIT ACK carries parameters of its own that it does not know: %v", got.Unrecognized)
	}
}
