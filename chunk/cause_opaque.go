package chunk

// This file holds the causes whose value is carried as bytes: quoted
// chunks or parameters, or free-form information. Decoded values alias
// the chunk.

// UnresolvableAddressCause is the Unresolvable Address cause (RFC 9260
// section 3.3.10.5); Address is the complete address parameter TLV.
type UnresolvableAddressCause struct{ Address []byte } // the address parameter TLV

// CauseCode returns CauseUnresolvableAddress.
func (UnresolvableAddressCause) CauseCode() CauseCode { return CauseUnresolvableAddress }

// Len returns the Cause Length.
func (c UnresolvableAddressCause) Len() int { return 4 + len(c.Address) }

// Append appends the cause and its padding to b.
func (c UnresolvableAddressCause) Append(b []byte) []byte {
	return appendTLV(b, uint16(CauseUnresolvableAddress), c.Address)
}

// UnrecognizedChunkTypeCause is the Unrecognized Chunk Type cause (section
// 3.3.10.6): "This field contains the unrecognized chunk from the SCTP
// packet complete with Chunk Type, Chunk Flags, and Chunk Length"; Raw.Bytes
// is what goes here.
type UnrecognizedChunkTypeCause struct{ Chunk []byte } // the whole chunk

// CauseCode returns CauseUnrecognizedChunkType.
func (UnrecognizedChunkTypeCause) CauseCode() CauseCode { return CauseUnrecognizedChunkType }

// Len returns the Cause Length.
func (c UnrecognizedChunkTypeCause) Len() int { return 4 + len(c.Chunk) }

// Append appends the cause and its padding to b.
func (c UnrecognizedChunkTypeCause) Append(b []byte) []byte {
	return appendTLV(b, uint16(CauseUnrecognizedChunkType), c.Chunk)
}

// UnrecognizedParamsCause is the Unrecognized Parameters cause (section
// 3.3.10.8): the unrecognised parameter TLVs of an INIT ACK, sent back in
// an ERROR bundled with the COOKIE ECHO.
type UnrecognizedParamsCause struct{ Params []byte } // the parameter TLVs

// CauseCode returns CauseUnrecognizedParams.
func (UnrecognizedParamsCause) CauseCode() CauseCode { return CauseUnrecognizedParams }

// Len returns the Cause Length.
func (c UnrecognizedParamsCause) Len() int { return 4 + len(c.Params) }

// Append appends the cause and its padding to b.
func (c UnrecognizedParamsCause) Append(b []byte) []byte {
	return appendTLV(b, uint16(CauseUnrecognizedParams), c.Params)
}

// RestartWithNewAddressesCause is the Restart of an Association with New
// Addresses cause (section 3.3.10.11): the address TLVs that were added.
type RestartWithNewAddressesCause struct{ Addresses []byte } // address TLVs

// CauseCode returns CauseRestartWithNewAddresses.
func (RestartWithNewAddressesCause) CauseCode() CauseCode { return CauseRestartWithNewAddresses }

// Len returns the Cause Length.
func (c RestartWithNewAddressesCause) Len() int { return 4 + len(c.Addresses) }

// Append appends the cause and its padding to b.
func (c RestartWithNewAddressesCause) Append(b []byte) []byte {
	return appendTLV(b, uint16(CauseRestartWithNewAddresses), c.Addresses)
}

// UserInitiatedAbortCause is the User-Initiated Abort cause (section
// 3.3.10.12): "the Upper Layer Abort Reason", opaque to SCTP.
type UserInitiatedAbortCause struct{ Reason []byte }

// CauseCode returns CauseUserInitiatedAbort.
func (UserInitiatedAbortCause) CauseCode() CauseCode { return CauseUserInitiatedAbort }

// Len returns the Cause Length.
func (c UserInitiatedAbortCause) Len() int { return 4 + len(c.Reason) }

// Append appends the cause and its padding to b.
func (c UserInitiatedAbortCause) Append(b []byte) []byte {
	return appendTLV(b, uint16(CauseUserInitiatedAbort), c.Reason)
}

// ProtocolViolationCause is the Protocol Violation cause (section
// 3.3.10.13): "This field contains additional information about the
// protocol violation", free-form.
type ProtocolViolationCause struct{ Info []byte }

// CauseCode returns CauseProtocolViolation.
func (ProtocolViolationCause) CauseCode() CauseCode { return CauseProtocolViolation }

// Len returns the Cause Length.
func (c ProtocolViolationCause) Len() int { return 4 + len(c.Info) }

// Append appends the cause and its padding to b.
func (c ProtocolViolationCause) Append(b []byte) []byte {
	return appendTLV(b, uint16(CauseProtocolViolation), c.Info)
}

// UnknownCause is a cause of a code the codec does not know, kept so it
// can be logged and round-tripped.
type UnknownCause struct {
	Code CauseCode
	Info []byte
}

// CauseCode returns c.Code.
func (c UnknownCause) CauseCode() CauseCode { return c.Code }

// Len returns the Cause Length.
func (c UnknownCause) Len() int { return 4 + len(c.Info) }

// Append appends the cause and its padding to b.
func (c UnknownCause) Append(b []byte) []byte { return appendTLV(b, uint16(c.Code), c.Info) }
