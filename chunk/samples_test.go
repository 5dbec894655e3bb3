package chunk

import (
	"net/netip"
)

// sampleChunks returns one chunk of every type the codec knows, each with
// content that exercises its layout (odd lengths for padding, several
// parameters and causes, both address families). Tests encode them, so
// they are the encoder's fixtures and, through Decode, the decoder's.
func sampleChunks() []Chunk {
	return []Chunk{
		&DataChunk{Beginning: true, Ending: true, Immediate: true, TSN: 0xfffffffe, StreamID: 3, SSN: 9, PPID: 51, UserData: []byte("hello")},
		&DataChunk{Unordered: true, TSN: 1, UserData: []byte{}}, // no user data: the codec accepts it
		&InitChunk{
			InitiateTag: 0x01020304, AdvRecvWindow: 1 << 20, OutboundStreams: 10, InboundStreams: 65535, InitialTSN: 0xabcdef01,
			Addresses:          []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")},
			CookiePreservative: 5000,
			HostName:           []byte("db.example"),
			SupportedAddrTypes: []uint16{ParamIPv4Address, ParamIPv6Address, 42},
			ECNCapable:         true,
			SupportedExt:       []Type{TypeForwardTSN, TypeReconfig, TypeIData},
			Random:             []byte("thirty-two random bytes, exactly"),
			AuthChunks:         []Type{TypeAsconf, TypeAsconfAck, TypeData},
			HMACAlgos:          []uint16{HMACSHA256, HMACSHA1},
			Unrecognized:       []RawParam{{Type: 0xC123, Value: []byte{1, 2, 3}}, {Type: ParamForwardTSN, Value: []byte{}}},
		},
		&InitChunk{InitiateTag: 1, OutboundStreams: 1, InboundStreams: 1},
		&InitAckChunk{
			InitChunk: InitChunk{
				InitiateTag: 0x0a0b0c0d, AdvRecvWindow: 65536, OutboundStreams: 5, InboundStreams: 6, InitialTSN: 77,
				Addresses: []netip.Addr{netip.MustParseAddr("::ffff:198.51.100.7"), netip.MustParseAddr("198.51.100.8")},
			},
			StateCookie:        []byte("a state cookie, 29 bytes long"),
			UnrecognizedParams: []RawParam{{Type: 0xC123, Value: []byte{1, 2, 3}}, {Type: 0x8777, Value: nil}},
		},
		&SackChunk{CumTSNAck: 100, AdvRecvWindow: 4096, GapBlocks: []GapBlock{{2, 3}, {5, 9}}, DupTSNs: []uint32{99, 98, 97}},
		&SackChunk{CumTSNAck: 0xffffffff, AdvRecvWindow: 0},
		&SackChunk{CumTSNAck: 5, AdvRecvWindow: 1, DupTSNs: []uint32{4, 3}},
		&HeartbeatChunk{Info: []byte("hb-info-123")},
		&HeartbeatAckChunk{Info: []byte("hb-info-123")},
		&PadChunk{N: 0},
		&PadChunk{N: 1},
		&PadChunk{N: 1331},
		&AbortChunk{T: true, Causes: []Cause{
			UserInitiatedAbortCause{Reason: []byte("bye")},
			InvalidStreamIDCause{StreamID: 7},
			MissingMandatoryParamCause{Types: []uint16{ParamStateCookie}},
			StaleCookieCause{Staleness: 1234567},
			OutOfResourceCause{},
			UnresolvableAddressCause{Address: []byte{0, 5, 0, 8, 192, 0, 2, 9}},
			UnrecognizedChunkTypeCause{Chunk: []byte{0xe0, 0, 0, 5, 0xaa}},
			InvalidMandatoryParamCause{},
			UnrecognizedParamsCause{Params: []byte{0xc1, 0x23, 0, 7, 1, 2, 3}},
			NoUserDataCause{TSN: 55},
			CookieWhileShuttingDownCause{},
			RestartWithNewAddressesCause{Addresses: []byte{0, 5, 0, 8, 192, 0, 2, 10}},
			ProtocolViolationCause{Info: []byte("why")},
			UnknownCause{Code: 0x1234, Info: []byte{9}},
		}},
		&AbortChunk{},
		&ShutdownChunk{CumTSNAck: 0x8598b125},
		&ShutdownAckChunk{},
		&ErrorChunk{Causes: []Cause{InvalidStreamIDCause{StreamID: 65535}, UnrecognizedChunkTypeCause{Chunk: []byte{0x40, 0, 0, 4}}}},
		&CookieEchoChunk{Cookie: []byte("a state cookie, 29 bytes long")},
		&CookieAckChunk{},
		&ShutdownCompleteChunk{T: true},
		&ShutdownCompleteChunk{},
		&AuthChunk{KeyID: 0, HMACID: HMACSHA256, HMAC: []byte("an HMAC-SHA-256 of 32 bytes.....")},
		&AuthChunk{KeyID: 7, HMACID: HMACSHA1, HMAC: []byte("odd length hmac")},
		&AsconfChunk{Serial: 0xfffffff0, Address: netip.MustParseAddr("192.0.2.1"), Params: []AsconfParam{
			{Type: ParamAddIPAddress, CorrelationID: 1, Addr: netip.MustParseAddr("2001:db8::7")},
			{Type: ParamDeleteIPAddress, CorrelationID: 2, Addr: netip.MustParseAddr("192.0.2.9")},
			{Type: ParamSetPrimaryAddress, CorrelationID: 3, Addr: netip.MustParseAddr("0.0.0.0")},
		}, Unrecognized: []RawParam{{Type: ParamAdaptationLayer, Value: []byte{0, 0, 0, 1}}, {Type: 0xC0FF, Value: []byte{9}}}},
		&AsconfChunk{Serial: 1, Address: netip.MustParseAddr("2001:db8::1")},
		&AsconfAckChunk{Serial: 0xfffffff0, Results: []AsconfResult{
			{Type: ParamSuccessInd, CorrelationID: 1},
			{Type: ParamErrorCauseInd, CorrelationID: 2, Causes: []Cause{UnknownCause{Code: CauseDeleteLastAddress, Info: []byte{0, 5, 0, 8, 192, 0, 2, 9}}}},
		}},
		&AsconfAckChunk{Serial: 2},
		&UnknownChunk{ChunkType: 0xC5, Flags: 0x81, Value: []byte{1, 2, 3, 4, 5, 6}},
		&UnknownChunk{ChunkType: TypeForwardTSN, Value: []byte{0, 0, 0, 1}},
	}
}
