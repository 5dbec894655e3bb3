package chunk

import (
	"bytes"
	"math/bits"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestGopacketCrossCheck has gopacket's SCTP decoder, written
// independently of this codec, read packets that our encoder produced and
// checks that it finds the same fields. gopacket does not verify the
// checksum, so the test computes one its own way too: the standard CRC32c
// of the packet with the field zeroed, compared with the field gopacket
// read big-endian, byte-swapped.
func TestGopacketCrossCheck(t *testing.T) {
	h := Header{SrcPort: 9899, DstPort: 5432, VerificationTag: 0xcafef00d}
	for _, c := range sampleChunks() {
		switch c.(type) {
		case *UnknownChunk, *AuthChunk, *AsconfChunk, *AsconfAckChunk, *PadChunk:
			continue // gopacket decodes no AUTH (RFC 4895), ASCONF (RFC 5061) or PAD (RFC 4820) chunks
		}
		pkt := (&Packet{Header: h, Chunks: []Chunk{c}}).Append(nil)
		p := gopacket.NewPacket(pkt, layers.LayerTypeSCTP, gopacket.Default)
		if el := p.ErrorLayer(); el != nil {
			t.Errorf("%v: gopacket: %v", c.Type(), el.Error())
			continue
		}
		s, ok := p.Layer(layers.LayerTypeSCTP).(*layers.SCTP)
		if !ok {
			t.Errorf("%v: no SCTP layer", c.Type())
			continue
		}
		if uint16(s.SrcPort) != h.SrcPort || uint16(s.DstPort) != h.DstPort || s.VerificationTag != h.VerificationTag {
			t.Errorf("%v: gopacket header %d->%d tag %#x", c.Type(), s.SrcPort, s.DstPort, s.VerificationTag)
		}
		zeroed := bytes.Clone(pkt)
		copy(zeroed[8:12], []byte{0, 0, 0, 0})
		if want := bits.ReverseBytes32(crcCastagnoli(zeroed)); s.Checksum != want {
			t.Errorf("%v: checksum field (big-endian) %#08x, want byte-swapped CRC32c %#08x", c.Type(), s.Checksum, want)
		}
		crossCheck(t, c, p)
	}
}

// crcCastagnoli is a bitwise CRC32c (reflected polynomial 0x82F63B78),
// independent of hash/crc32 and package crc32c.
func crcCastagnoli(b []byte) uint32 {
	crc := ^uint32(0)
	for _, x := range b {
		crc ^= uint32(x)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x82F63B78
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

// crossCheck compares chunk c with the layer gopacket decoded from it.
func crossCheck(t *testing.T, c Chunk, p gopacket.Packet) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%v: "+format, append([]any{c.Type()}, args...)...)
	}
	layer := func(lt gopacket.LayerType) gopacket.Layer {
		l := p.Layer(lt)
		if l == nil {
			fail("gopacket found no %v layer; layers: %v", lt, p.Layers())
		}
		return l
	}
	switch c := c.(type) {
	case *DataChunk:
		l, _ := layer(layers.LayerTypeSCTPData).(*layers.SCTPData)
		if l == nil {
			return
		}
		if l.TSN != c.TSN || l.StreamId != c.StreamID || l.StreamSequence != c.SSN || uint32(l.PayloadProtocol) != c.PPID ||
			l.Unordered != c.Unordered || l.BeginFragment != c.Beginning || l.EndFragment != c.Ending ||
			!bytes.Equal(l.Payload, c.UserData) || int(l.Length) != c.Len() {
			fail("gopacket read %+v", l)
		}
	case *InitChunk:
		l, _ := layer(layers.LayerTypeSCTPInit).(*layers.SCTPInit)
		if l == nil {
			return
		}
		checkInit(fail, l, c)
		checkInitParams(fail, l.Parameters, c, nil)
	case *InitAckChunk:
		l, _ := layer(layers.LayerTypeSCTPInitAck).(*layers.SCTPInit)
		if l == nil {
			return
		}
		checkInit(fail, l, &c.InitChunk)
		checkInitParams(fail, l.Parameters, &c.InitChunk, c)
	case *SackChunk:
		l, _ := layer(layers.LayerTypeSCTPSack).(*layers.SCTPSack)
		if l == nil {
			return
		}
		var gaps []uint16
		for _, g := range c.GapBlocks {
			gaps = append(gaps, g.Start, g.End)
		}
		// gopacket v1.7.7 reads a Gap Ack Block as one 16-bit value
		// (decodeSCTPSack appends NumGapACKs uint16s), where RFC 9260
		// section 3.3.4 has two per block, "Gap Ack Block #1 Start | Gap
		// Ack Block #1 End"; TestRFCLayouts checks our layout against the
		// RFC diagram. So gopacket's GapACKs are the first NumGapACKs
		// 16-bit values of our blocks, and its duplicate TSNs are right
		// only when there are no gap blocks.
		if l.CumulativeTSNAck != c.CumTSNAck || l.AdvertisedReceiverWindowCredit != c.AdvRecvWindow ||
			int(l.NumGapACKs) != len(c.GapBlocks) || int(l.NumDuplicateTSNs) != len(c.DupTSNs) ||
			!equalSlices(l.GapACKs, gaps[:len(c.GapBlocks)]) || int(l.Length) != c.Len() {
			fail("gopacket read %+v", l)
		}
		if len(c.GapBlocks) == 0 && !equalSlices(l.DuplicateTSNs, c.DupTSNs) {
			fail("gopacket read duplicates %v, want %v", l.DuplicateTSNs, c.DupTSNs)
		}
	case *HeartbeatChunk:
		l, _ := layer(layers.LayerTypeSCTPHeartbeat).(*layers.SCTPHeartbeat)
		if l != nil && (len(l.Parameters) != 1 || l.Parameters[0].Type != ParamHeartbeatInfo || !bytes.Equal(l.Parameters[0].Value, c.Info)) {
			fail("gopacket read %+v", l)
		}
	case *HeartbeatAckChunk:
		l, _ := layer(layers.LayerTypeSCTPHeartbeatAck).(*layers.SCTPHeartbeat)
		if l != nil && (len(l.Parameters) != 1 || l.Parameters[0].Type != ParamHeartbeatInfo || !bytes.Equal(l.Parameters[0].Value, c.Info)) {
			fail("gopacket read %+v", l)
		}
	case *AbortChunk:
		l, _ := layer(layers.LayerTypeSCTPAbort).(*layers.SCTPError)
		if l != nil {
			checkCauses(fail, l, c.Causes)
			if l.Flags&1 != tFlag(c.T) {
				fail("flags %#x", l.Flags)
			}
		}
	case *ErrorChunk:
		l, _ := layer(layers.LayerTypeSCTPError).(*layers.SCTPError)
		if l != nil {
			checkCauses(fail, l, c.Causes)
		}
	case *ShutdownChunk:
		l, _ := layer(layers.LayerTypeSCTPShutdown).(*layers.SCTPShutdown)
		if l != nil && l.CumulativeTSNAck != c.CumTSNAck {
			fail("gopacket read %+v", l)
		}
	case *ShutdownAckChunk:
		layer(layers.LayerTypeSCTPShutdownAck)
	case *CookieEchoChunk:
		l, _ := layer(layers.LayerTypeSCTPCookieEcho).(*layers.SCTPCookieEcho)
		if l != nil && !bytes.Equal(l.Cookie, c.Cookie) {
			fail("gopacket read cookie % x", l.Cookie)
		}
	case *CookieAckChunk:
		layer(layers.LayerTypeSCTPCookieAck)
	case *ShutdownCompleteChunk:
		l, _ := layer(layers.LayerTypeSCTPShutdownComplete).(*layers.SCTPEmptyLayer)
		if l != nil && l.Flags&1 != tFlag(c.T) {
			fail("flags %#x", l.Flags)
		}
	default:
		fail("no cross-check for %T", c)
	}
}

func checkInit(fail func(string, ...any), l *layers.SCTPInit, c *InitChunk) {
	if l.InitiateTag != c.InitiateTag || l.AdvertisedReceiverWindowCredit != c.AdvRecvWindow ||
		l.OutboundStreams != c.OutboundStreams || l.InboundStreams != c.InboundStreams || l.InitialTSN != c.InitialTSN {
		fail("gopacket read %+v", l)
	}
}

// checkInitParams rebuilds the parameters of c (and ack) from gopacket's
// list of TLVs.
func checkInitParams(fail func(string, ...any), params []layers.SCTPInitParameter, c *InitChunk, ack *InitAckChunk) {
	var got InitChunk
	var cookie []byte
	var quoted []RawParam
	for _, p := range params {
		if int(p.Length) != 4+len(p.Value) {
			fail("parameter %#04x: length %d with %d bytes", p.Type, p.Length, len(p.Value))
		}
		switch p.Type {
		case ParamIPv4Address, ParamIPv6Address:
			a, ok := netip.AddrFromSlice(p.Value)
			if !ok {
				fail("address parameter % x", p.Value)
			}
			got.Addresses = append(got.Addresses, a)
		case ParamCookiePreservative:
			got.CookiePreservative = be32(p.Value)
		case ParamHostNameAddress:
			got.HostName = p.Value
		case ParamSupportedAddrTypes:
			for i := 0; i+1 < len(p.Value); i += 2 {
				got.SupportedAddrTypes = append(got.SupportedAddrTypes, uint16(p.Value[i])<<8|uint16(p.Value[i+1]))
			}
		case ParamECNCapable:
			got.ECNCapable = true
		case ParamSupportedExt:
			for _, t := range p.Value {
				got.SupportedExt = append(got.SupportedExt, Type(t))
			}
		case ParamRandom:
			got.Random = p.Value
		case ParamChunks:
			for _, t := range p.Value {
				got.AuthChunks = append(got.AuthChunks, Type(t))
			}
		case ParamHMACAlgo:
			for i := 0; i+1 < len(p.Value); i += 2 {
				got.HMACAlgos = append(got.HMACAlgos, uint16(p.Value[i])<<8|uint16(p.Value[i+1]))
			}
		case ParamStateCookie:
			cookie = p.Value
		case ParamUnrecognized:
			if len(p.Value) < 4 {
				fail("Unrecognized Parameter % x", p.Value)
				continue
			}
			quoted = append(quoted, RawParam{Type: uint16(p.Value[0])<<8 | uint16(p.Value[1]), Value: p.Value[4:]})
		default:
			got.Unrecognized = append(got.Unrecognized, RawParam{Type: p.Type, Value: p.Value})
		}
	}
	if len(got.Addresses) != len(c.Addresses) {
		fail("gopacket found addresses %v, want %v", got.Addresses, c.Addresses)
	}
	for i := range min(len(got.Addresses), len(c.Addresses)) {
		if got.Addresses[i] != c.Addresses[i] {
			fail("gopacket found address %v, want %v", got.Addresses[i], c.Addresses[i])
		}
	}
	if got.CookiePreservative != c.CookiePreservative || !bytes.Equal(got.HostName, c.HostName) || (got.HostName == nil) != (c.HostName == nil) ||
		!equalSlices(got.SupportedAddrTypes, c.SupportedAddrTypes) || got.ECNCapable != c.ECNCapable ||
		!equalSlices(got.SupportedExt, c.SupportedExt) || len(got.Unrecognized) != len(c.Unrecognized) ||
		!bytes.Equal(got.Random, c.Random) || !equalSlices(got.AuthChunks, c.AuthChunks) || !equalSlices(got.HMACAlgos, c.HMACAlgos) {
		fail("gopacket found parameters %+v, want %+v", got, *c)
	}
	for i := range min(len(got.Unrecognized), len(c.Unrecognized)) {
		if got.Unrecognized[i].Type != c.Unrecognized[i].Type || !bytes.Equal(got.Unrecognized[i].Value, c.Unrecognized[i].Value) {
			fail("gopacket found unknown parameter %v, want %v", got.Unrecognized[i], c.Unrecognized[i])
		}
	}
	if ack == nil {
		if cookie != nil || quoted != nil {
			fail("INIT with INIT ACK parameters")
		}
		return
	}
	if !bytes.Equal(cookie, ack.StateCookie) || len(quoted) != len(ack.UnrecognizedParams) {
		fail("gopacket found cookie %q and quoted %v, want %q and %v", cookie, quoted, ack.StateCookie, ack.UnrecognizedParams)
	}
	for i := range min(len(quoted), len(ack.UnrecognizedParams)) {
		if quoted[i].Type != ack.UnrecognizedParams[i].Type || !bytes.Equal(quoted[i].Value, ack.UnrecognizedParams[i].Value) {
			fail("quoted %v, want %v", quoted[i], ack.UnrecognizedParams[i])
		}
	}
}

// checkCauses compares causes with gopacket's TLVs, cause by cause: code,
// length, and value as our encoder wrote it.
func checkCauses(fail func(string, ...any), l *layers.SCTPError, causes []Cause) {
	if len(l.Parameters) != len(causes) {
		fail("gopacket found %d causes, want %d", len(l.Parameters), len(causes))
		return
	}
	for i, c := range causes {
		p := l.Parameters[i]
		enc := c.Append(nil)
		if CauseCode(p.Type) != c.CauseCode() || int(p.Length) != c.Len() || !bytes.Equal(p.Value, enc[4:c.Len()]) {
			fail("cause %d: gopacket found %#04x len %d % x, want %v len %d", i, p.Type, p.Length, p.Value, c.CauseCode(), c.Len())
		}
	}
}

func equalSlices[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
