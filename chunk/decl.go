package chunk

import "net/netip"

// This file is the codec's contract: the types the association core uses.
// Each type moves into its own chunk_*.go / param_*.go / cause_*.go file
// with its codec; names and fields stay as declared here.

// Header is the SCTP common header (RFC 9260 section 3.1).
type Header struct {
	SrcPort         uint16
	DstPort         uint16
	VerificationTag uint32
	Checksum        uint32
}

// HeaderLen is the size of the common header.
const HeaderLen = 12

// DataChunk is a DATA chunk (RFC 9260 section 3.3.1).
type DataChunk struct {
	Unordered bool // U
	Beginning bool // B
	Ending    bool // E
	Immediate bool // I (RFC 7053): the receiver should SACK at once
	TSN       uint32
	StreamID  uint16
	SSN       uint16
	PPID      uint32
	// UserData aliases the packet buffer after decoding.
	UserData []byte
}

// DataHeaderLen is the size of a DATA chunk without user data.
const DataHeaderLen = 16

// GapBlock is a Gap Ack Block: TSNs CumTSNAck+Start .. CumTSNAck+End were
// received.
type GapBlock struct{ Start, End uint16 }

// SackChunk is a SACK chunk (RFC 9260 section 3.3.4). Decoding reuses the
// capacity of GapBlocks and DupTSNs.
type SackChunk struct {
	CumTSNAck     uint32
	AdvRecvWindow uint32
	GapBlocks     []GapBlock
	DupTSNs       []uint32
}

// InitChunk is an INIT chunk (RFC 9260 section 3.3.2). Parameters known to
// pgsctp are decoded into fields; unknown ones are handled by their upper
// two bits as section 3.2.1 says: the ones to report are collected in
// Unrecognized.
type InitChunk struct {
	InitiateTag        uint32
	AdvRecvWindow      uint32
	OutboundStreams    uint16
	InboundStreams     uint16
	InitialTSN         uint32
	Addresses          []netip.Addr // IPv4 (5) and IPv6 (6) Address parameters
	CookiePreservative uint32       // suggested lifetime increment, ms; 0 = absent (9)
	HostName           []byte       // Host Name Address (11), deprecated; non-nil = present
	SupportedAddrTypes []uint16     // Supported Address Types (12)
	ECNCapable         bool         // ECN Capable (0x8000)
	ForwardTSN         bool         // Forward-TSN-Supported (0xC000, RFC 3758)
	SupportedExt       []Type       // Supported Extensions (0x8008, RFC 5061)
	// Unrecognized holds the whole TLVs of unknown parameters whose type
	// asks for a report; the receiver of an INIT returns them in the INIT
	// ACK's Unrecognized Parameter parameters, the receiver of an INIT ACK
	// in an ERROR with an Unrecognized Parameters cause.
	Unrecognized []RawParam
}

// InitAckChunk is an INIT ACK chunk (RFC 9260 section 3.3.3).
type InitAckChunk struct {
	InitChunk
	// StateCookie is the State Cookie parameter (7), mandatory.
	StateCookie []byte
	// UnrecognizedParams are Unrecognized Parameter parameters (8), each
	// holding a parameter of the INIT that the sender did not recognise.
	UnrecognizedParams []RawParam
}

// RawParam is a parameter TLV as found on the wire, padding excluded.
type RawParam struct {
	Type  uint16
	Value []byte
}

// Parameter types (RFC 9260 section 3.3.2.1 and extensions).
const (
	ParamHeartbeatInfo      uint16 = 1
	ParamIPv4Address        uint16 = 5
	ParamIPv6Address        uint16 = 6
	ParamStateCookie        uint16 = 7
	ParamUnrecognized       uint16 = 8
	ParamCookiePreservative uint16 = 9
	ParamHostNameAddress    uint16 = 11
	ParamSupportedAddrTypes uint16 = 12
	ParamECNCapable         uint16 = 0x8000
	ParamSupportedExt       uint16 = 0x8008
	ParamForwardTSN         uint16 = 0xC000
)

// HeartbeatChunk is a HEARTBEAT chunk (RFC 9260 section 3.3.5); Info is the
// opaque Heartbeat Information parameter's value.
type HeartbeatChunk struct{ Info []byte }

// HeartbeatAckChunk is a HEARTBEAT ACK (section 3.3.6), echoing Info.
type HeartbeatAckChunk struct{ Info []byte }

// AbortChunk is an ABORT chunk (section 3.3.7). T set: the verification tag
// is the sender's own, reflected.
type AbortChunk struct {
	T      bool
	Causes []Cause
}

// ShutdownChunk is a SHUTDOWN chunk (section 3.3.8).
type ShutdownChunk struct{ CumTSNAck uint32 }

// ShutdownAckChunk is a SHUTDOWN ACK chunk (section 3.3.9).
type ShutdownAckChunk struct{}

// ErrorChunk is an ERROR chunk (section 3.3.10).
type ErrorChunk struct{ Causes []Cause }

// CookieEchoChunk is a COOKIE ECHO chunk (section 3.3.11).
type CookieEchoChunk struct{ Cookie []byte }

// CookieAckChunk is a COOKIE ACK chunk (section 3.3.12).
type CookieAckChunk struct{}

// ShutdownCompleteChunk is a SHUTDOWN COMPLETE chunk (section 3.3.13).
type ShutdownCompleteChunk struct{ T bool }

// UnknownChunk carries a chunk of a type the codec does not know, so it
// can be round-tripped and quoted.
type UnknownChunk struct {
	ChunkType Type
	Flags     uint8
	Value     []byte
}

// CauseCode is an error cause code (RFC 9260 section 3.3.10).
type CauseCode uint16

// Error cause codes.
const (
	CauseInvalidStreamID         CauseCode = 1
	CauseMissingMandatoryParam   CauseCode = 2
	CauseStaleCookie             CauseCode = 3
	CauseOutOfResource           CauseCode = 4
	CauseUnresolvableAddress     CauseCode = 5
	CauseUnrecognizedChunkType   CauseCode = 6
	CauseInvalidMandatoryParam   CauseCode = 7
	CauseUnrecognizedParams      CauseCode = 8
	CauseNoUserData              CauseCode = 9
	CauseCookieWhileShuttingDown CauseCode = 10
	CauseRestartWithNewAddresses CauseCode = 11
	CauseUserInitiatedAbort      CauseCode = 12
	CauseProtocolViolation       CauseCode = 13
)

// Cause is an error cause, carried in ABORT and ERROR chunks.
type Cause interface {
	CauseCode() CauseCode
	// Append appends the cause TLV with its padding.
	Append(b []byte) []byte
	// Len is the Cause Length field: header and value, no padding.
	Len() int
}

// Error causes (RFC 9260 section 3.3.10.x), one type each.
type (
	InvalidStreamIDCause         struct{ StreamID uint16 }
	MissingMandatoryParamCause   struct{ Types []uint16 }
	StaleCookieCause             struct{ Staleness uint32 } // microseconds
	OutOfResourceCause           struct{}
	UnresolvableAddressCause     struct{ Address []byte } // the address parameter TLV
	UnrecognizedChunkTypeCause   struct{ Chunk []byte }   // the whole chunk
	InvalidMandatoryParamCause   struct{}
	UnrecognizedParamsCause      struct{ Params []byte } // the parameter TLVs
	NoUserDataCause              struct{ TSN uint32 }
	CookieWhileShuttingDownCause struct{}
	RestartWithNewAddressesCause struct{ Addresses []byte } // address TLVs
	UserInitiatedAbortCause      struct{ Reason []byte }
	ProtocolViolationCause       struct{ Info []byte }
	UnknownCause                 struct {
		Code CauseCode
		Info []byte
	}
)
