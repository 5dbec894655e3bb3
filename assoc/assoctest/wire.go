package assoctest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"

	"github.com/pgsctp/pgsctp/chunk"
)

// This file is the harness's own view of the wire: just enough parsing to
// classify packets, print ladders and build hand-made packets for tests.
// It deliberately does not use package chunk's codec, so that the harness
// is an independent check of it.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// DATA chunk flags (RFC 9260 section 3.3.1; I from RFC 7053).
const (
	FlagEnding    uint8 = 0x01 // E
	FlagBeginning uint8 = 0x02 // B
	FlagUnordered uint8 = 0x04 // U
	FlagImmediate uint8 = 0x08 // I
	// FlagT is the T bit of ABORT and SHUTDOWN COMPLETE.
	FlagT uint8 = 0x01
)

// Checksum computes the CRC32c of an SCTP packet over the whole packet with
// the checksum field taken as zero (RFC 9260 section 6.8 and appendix A).
func Checksum(pkt []byte) uint32 {
	if len(pkt) < chunk.HeaderLen {
		return 0
	}
	var zero [4]byte
	c := crc32.Update(0, castagnoli, pkt[:8])
	c = crc32.Update(c, castagnoli, zero[:])
	return crc32.Update(c, castagnoli, pkt[12:])
}

// SetChecksum writes the packet's CRC32c into its common header. The
// checksum goes on the wire in the byte order of RFC 9260 appendix A, the
// one Linux and usrsctp use (the CRC's least significant byte first).
func SetChecksum(pkt []byte) {
	if len(pkt) >= chunk.HeaderLen {
		binary.LittleEndian.PutUint32(pkt[8:12], Checksum(pkt))
	}
}

// ChecksumOK reports whether pkt carries a correct CRC32c.
func ChecksumOK(pkt []byte) bool {
	return len(pkt) >= chunk.HeaderLen && binary.LittleEndian.Uint32(pkt[8:12]) == Checksum(pkt)
}

// RawChunk is one chunk of a packet: the value aliases the packet.
type RawChunk struct {
	Type  chunk.Type
	Flags uint8
	Value []byte // after the 4-byte header, padding excluded
}

// Header reads the common header of pkt (zero if pkt is too short).
func Header(pkt []byte) chunk.Header {
	if len(pkt) < chunk.HeaderLen {
		return chunk.Header{}
	}
	return chunk.Header{
		SrcPort:         binary.BigEndian.Uint16(pkt[0:2]),
		DstPort:         binary.BigEndian.Uint16(pkt[2:4]),
		VerificationTag: binary.BigEndian.Uint32(pkt[4:8]),
		Checksum:        binary.LittleEndian.Uint32(pkt[8:12]),
	}
}

var errMalformed = errors.New("assoctest: malformed packet")

// Chunks splits pkt into its chunks. It checks lengths only (not the
// checksum); a malformed packet returns the chunks before the fault and an
// error.
func Chunks(pkt []byte) ([]RawChunk, error) {
	if len(pkt) < chunk.HeaderLen {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the common header", errMalformed, len(pkt))
	}
	var out []RawChunk
	b := pkt[chunk.HeaderLen:]
	for len(b) > 0 {
		if len(b) < chunk.ChunkHeaderLen {
			return out, fmt.Errorf("%w: %d trailing bytes", errMalformed, len(b))
		}
		n := int(binary.BigEndian.Uint16(b[2:4]))
		if n < chunk.ChunkHeaderLen || n > len(b) {
			return out, fmt.Errorf("%w: chunk type %d length %d with %d bytes left", errMalformed, b[0], n, len(b))
		}
		out = append(out, RawChunk{Type: chunk.Type(b[0]), Flags: b[1], Value: b[4:n]})
		pad := (n + 3) &^ 3
		if pad > len(b) {
			pad = len(b) // the last chunk's padding is missing; wireCheck reports it
		}
		b = b[pad:]
	}
	return out, nil
}

// ChunkTypes lists the chunk types of pkt, as far as it parses.
func ChunkTypes(pkt []byte) []chunk.Type {
	cs, _ := Chunks(pkt)
	ts := make([]chunk.Type, len(cs))
	for i, c := range cs {
		ts[i] = c.Type
	}
	return ts
}

// Contains reports whether pkt has a chunk of type t.
func Contains(pkt []byte, t chunk.Type) bool {
	cs, _ := Chunks(pkt)
	for _, c := range cs {
		if c.Type == t {
			return true
		}
	}
	return false
}

// BuildPacket assembles a packet from chunks, padding each and setting the
// checksum. Tests use it to hand-craft input.
func BuildPacket(srcPort, dstPort uint16, vtag uint32, chunks ...RawChunk) []byte {
	b := make([]byte, chunk.HeaderLen, 64)
	binary.BigEndian.PutUint16(b[0:2], srcPort)
	binary.BigEndian.PutUint16(b[2:4], dstPort)
	binary.BigEndian.PutUint32(b[4:8], vtag)
	for _, c := range chunks {
		b = AppendChunk(b, c)
	}
	SetChecksum(b)
	return b
}

// AppendChunk appends one chunk with its header and padding.
func AppendChunk(b []byte, c RawChunk) []byte {
	n := chunk.ChunkHeaderLen + len(c.Value)
	b = append(b, byte(c.Type), c.Flags, byte(n>>8), byte(n))
	b = append(b, c.Value...)
	for n%4 != 0 {
		b = append(b, 0)
		n++
	}
	return b
}

// DataValue is the value of a DATA chunk (RFC 9260 section 3.3.1).
func DataValue(tsn uint32, sid, ssn uint16, ppid uint32, userData []byte) []byte {
	v := make([]byte, 12, 12+len(userData))
	binary.BigEndian.PutUint32(v[0:4], tsn)
	binary.BigEndian.PutUint16(v[4:6], sid)
	binary.BigEndian.PutUint16(v[6:8], ssn)
	binary.BigEndian.PutUint32(v[8:12], ppid)
	return append(v, userData...)
}

// DataInfo is the header of a DATA chunk, as the ladder prints it.
type DataInfo struct {
	TSN      uint32
	StreamID uint16
	SSN      uint16
	PPID     uint32
	Len      int // user data bytes
}

// ParseData reads a DATA chunk's value.
func ParseData(v []byte) (DataInfo, bool) {
	if len(v) < 12 {
		return DataInfo{}, false
	}
	return DataInfo{
		TSN:      binary.BigEndian.Uint32(v[0:4]),
		StreamID: binary.BigEndian.Uint16(v[4:6]),
		SSN:      binary.BigEndian.Uint16(v[6:8]),
		PPID:     binary.BigEndian.Uint32(v[8:12]),
		Len:      len(v) - 12,
	}, true
}

// SackInfo is the fixed part of a SACK chunk.
type SackInfo struct {
	CumTSNAck     uint32
	AdvRecvWindow uint32
	GapBlocks     int
	DupTSNs       int
}

// ParseSack reads a SACK chunk's value (RFC 9260 section 3.3.4).
func ParseSack(v []byte) (SackInfo, bool) {
	if len(v) < 12 {
		return SackInfo{}, false
	}
	return SackInfo{
		CumTSNAck:     binary.BigEndian.Uint32(v[0:4]),
		AdvRecvWindow: binary.BigEndian.Uint32(v[4:8]),
		GapBlocks:     int(binary.BigEndian.Uint16(v[8:10])),
		DupTSNs:       int(binary.BigEndian.Uint16(v[10:12])),
	}, true
}

// RawCause is an error cause TLV of an ERROR or ABORT chunk.
type RawCause struct {
	Code  chunk.CauseCode
	Value []byte
}

// Causes splits the value of an ERROR or ABORT chunk into causes.
func Causes(v []byte) []RawCause {
	var out []RawCause
	for len(v) >= 4 {
		n := int(binary.BigEndian.Uint16(v[2:4]))
		if n < 4 || n > len(v) {
			break
		}
		out = append(out, RawCause{Code: chunk.CauseCode(binary.BigEndian.Uint16(v[0:2])), Value: v[4:n]})
		n = (n + 3) &^ 3
		if n > len(v) {
			break
		}
		v = v[n:]
	}
	return out
}

// HasCause reports whether pkt has an ERROR or ABORT chunk (type t) with a
// cause of the given code.
func HasCause(pkt []byte, t chunk.Type, code chunk.CauseCode) bool {
	cs, _ := Chunks(pkt)
	for _, c := range cs {
		if c.Type != t {
			continue
		}
		for _, cause := range Causes(c.Value) {
			if cause.Code == code {
				return true
			}
		}
	}
	return false
}

// Param finds the first parameter of type typ among TLVs (the value of an
// INIT, INIT ACK or HEARTBEAT after its fixed part).
func Param(tlvs []byte, typ uint16) ([]byte, bool) {
	for len(tlvs) >= 4 {
		n := int(binary.BigEndian.Uint16(tlvs[2:4]))
		if n < 4 || n > len(tlvs) {
			return nil, false
		}
		if binary.BigEndian.Uint16(tlvs[0:2]) == typ {
			return tlvs[4:n], true
		}
		n = (n + 3) &^ 3
		if n > len(tlvs) {
			return nil, false
		}
		tlvs = tlvs[n:]
	}
	return nil, false
}

var typeNames = map[chunk.Type]string{
	chunk.TypeData: "DATA", chunk.TypeInit: "INIT", chunk.TypeInitAck: "INIT-ACK",
	chunk.TypeSack: "SACK", chunk.TypeHeartbeat: "HEARTBEAT", chunk.TypeHeartbeatAck: "HEARTBEAT-ACK",
	chunk.TypeAbort: "ABORT", chunk.TypeShutdown: "SHUTDOWN", chunk.TypeShutdownAck: "SHUTDOWN-ACK",
	chunk.TypeError: "ERROR", chunk.TypeCookieEcho: "COOKIE-ECHO", chunk.TypeCookieAck: "COOKIE-ACK",
	chunk.TypeECNE: "ECNE", chunk.TypeCWR: "CWR", chunk.TypeShutdownComplete: "SHUTDOWN-COMPLETE",
	chunk.TypeAuth: "AUTH", chunk.TypeIData: "I-DATA", chunk.TypeAsconfAck: "ASCONF-ACK",
	chunk.TypeReconfig: "RE-CONFIG", chunk.TypePad: "PAD", chunk.TypeForwardTSN: "FORWARD-TSN",
	chunk.TypeAsconf: "ASCONF", chunk.TypeIForwardTSN: "I-FORWARD-TSN",
}

// TypeName is the RFC name of a chunk type.
func TypeName(t chunk.Type) string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", uint8(t))
}

var causeNames = map[chunk.CauseCode]string{
	chunk.CauseInvalidStreamID: "Invalid Stream Identifier", chunk.CauseMissingMandatoryParam: "Missing Mandatory Parameter",
	chunk.CauseStaleCookie: "Stale Cookie", chunk.CauseOutOfResource: "Out of Resource",
	chunk.CauseUnresolvableAddress: "Unresolvable Address", chunk.CauseUnrecognizedChunkType: "Unrecognized Chunk Type",
	chunk.CauseInvalidMandatoryParam: "Invalid Mandatory Parameter", chunk.CauseUnrecognizedParams: "Unrecognized Parameters",
	chunk.CauseNoUserData: "No User Data", chunk.CauseCookieWhileShuttingDown: "Cookie Received While Shutting Down",
	chunk.CauseRestartWithNewAddresses: "Restart with New Addresses", chunk.CauseUserInitiatedAbort: "User-Initiated Abort",
	chunk.CauseProtocolViolation: "Protocol Violation",
}

// Describe prints a packet's chunks on one line, with the fields a reader
// of a ladder wants: TSNs, stream, sizes, SACK acks, causes.
func Describe(pkt []byte) string {
	var sb strings.Builder
	cs, err := Chunks(pkt)
	for i, c := range cs {
		if i > 0 {
			sb.WriteString(" ")
		}
		sb.WriteString(TypeName(c.Type))
		switch c.Type {
		case chunk.TypeData:
			if d, ok := ParseData(c.Value); ok {
				fl := ""
				if c.Flags&FlagUnordered != 0 {
					fl += "U"
				}
				if c.Flags&FlagBeginning != 0 {
					fl += "B"
				}
				if c.Flags&FlagEnding != 0 {
					fl += "E"
				}
				if c.Flags&FlagImmediate != 0 {
					fl += "I"
				}
				fmt.Fprintf(&sb, "[tsn=%d sid=%d ssn=%d %s len=%d]", d.TSN, d.StreamID, d.SSN, fl, d.Len)
			}
		case chunk.TypeSack:
			if s, ok := ParseSack(c.Value); ok {
				fmt.Fprintf(&sb, "[cum=%d a_rwnd=%d gaps=%d dups=%d]", s.CumTSNAck, s.AdvRecvWindow, s.GapBlocks, s.DupTSNs)
			}
		case chunk.TypeShutdown:
			if len(c.Value) >= 4 {
				fmt.Fprintf(&sb, "[cum=%d]", binary.BigEndian.Uint32(c.Value))
			}
		case chunk.TypeAbort, chunk.TypeError:
			sb.WriteString("[")
			sep := ""
			if c.Flags&FlagT != 0 && c.Type == chunk.TypeAbort {
				sb.WriteString("T")
				sep = " "
			}
			for _, cause := range Causes(c.Value) {
				sb.WriteString(sep)
				sep = ", "
				if n, ok := causeNames[cause.Code]; ok {
					sb.WriteString(n)
				} else {
					fmt.Fprintf(&sb, "cause %d", cause.Code)
				}
				if cause.Code == chunk.CauseUserInitiatedAbort || cause.Code == chunk.CauseProtocolViolation {
					fmt.Fprintf(&sb, " %q", cause.Value)
				}
			}
			sb.WriteString("]")
		case chunk.TypeShutdownComplete:
			if c.Flags&FlagT != 0 {
				sb.WriteString("[T]")
			}
		case chunk.TypeInit, chunk.TypeInitAck:
			if len(c.Value) >= 16 {
				fmt.Fprintf(&sb, "[tag=%#x a_rwnd=%d os=%d mis=%d tsn=%d]",
					binary.BigEndian.Uint32(c.Value[0:4]), binary.BigEndian.Uint32(c.Value[4:8]),
					binary.BigEndian.Uint16(c.Value[8:10]), binary.BigEndian.Uint16(c.Value[10:12]),
					binary.BigEndian.Uint32(c.Value[12:16]))
			}
		}
	}
	if err != nil {
		if len(cs) > 0 {
			sb.WriteString(" ")
		}
		sb.WriteString("MALFORMED")
	}
	return sb.String()
}

// wireCheck reports what is wrong with a packet an association emitted:
// the rules every sender MUST follow, checked independently of the codec.
func wireCheck(pkt []byte, mtu int) error {
	if len(pkt) < chunk.HeaderLen+chunk.ChunkHeaderLen {
		return fmt.Errorf("packet of %d bytes has no chunk", len(pkt))
	}
	if mtu > 0 && len(pkt) > mtu {
		return fmt.Errorf("packet of %d bytes exceeds the MTU of %d", len(pkt), mtu)
	}
	if !ChecksumOK(pkt) {
		return fmt.Errorf("bad CRC32c: header has %#08x, packet sums to %#08x", binary.LittleEndian.Uint32(pkt[8:12]), Checksum(pkt))
	}
	// RFC 9260 section 3.2: "the sender MUST pad the chunk with all zero
	// bytes" to a multiple of 4 bytes.
	if len(pkt)%4 != 0 {
		return fmt.Errorf("packet length %d is not a multiple of 4 (chunk padding missing)", len(pkt))
	}
	cs, err := Chunks(pkt)
	if err != nil {
		return err
	}
	seenData := false
	for _, c := range cs {
		switch c.Type {
		case chunk.TypeInit, chunk.TypeInitAck, chunk.TypeShutdownComplete:
			// RFC 9260 section 6.10: "INIT, INIT ACK, and SHUTDOWN
			// COMPLETE chunks MUST NOT be bundled with any other chunk
			// in a packet."
			if len(cs) != 1 {
				return fmt.Errorf("%s bundled with other chunks", TypeName(c.Type))
			}
		case chunk.TypeData:
			seenData = true
			if len(c.Value) <= 12 {
				return errors.New("DATA chunk without user data")
			}
			continue
		}
		// RFC 9260 section 6.10: "... all control chunks MUST be placed
		// ahead of all DATA chunks."
		if seenData {
			return fmt.Errorf("control chunk %s after DATA", TypeName(c.Type))
		}
	}
	// RFC 9260 section 8.5.1: a packet carrying INIT "MUST" have the
	// Verification Tag set to 0.
	if cs[0].Type == chunk.TypeInit && Header(pkt).VerificationTag != 0 {
		return fmt.Errorf("INIT with verification tag %#x, not 0", Header(pkt).VerificationTag)
	}
	return nil
}
