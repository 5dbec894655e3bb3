package chunk

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// This file holds the parameters of INIT and INIT ACK (RFC 9260 section
// 3.3.2.1 and extensions): their sizes, encoding and decoding.

// addrParam returns the parameter type that carries a: IPv4 Address (5)
// for an IPv4 address, IPv6 Address (6) for any other valid one (an
// IPv4-mapped IPv6 address stays IPv6). ok is false for the zero Addr.
func addrParam(a netip.Addr) (typ uint16, valueLen int, ok bool) {
	switch {
	case a.Is4():
		return ParamIPv4Address, 4, true
	case a.Is6():
		return ParamIPv6Address, 16, true
	}
	return 0, 0, false
}

// countParams adds the known parameters of c to l.
func (c *InitChunk) countParams(l *tlvLen) {
	for _, a := range c.Addresses {
		if _, n, ok := addrParam(a); ok {
			l.add(n)
		}
	}
	if c.CookiePreservative != 0 {
		l.add(4)
	}
	if c.HostName != nil {
		l.add(len(c.HostName))
	}
	if len(c.SupportedAddrTypes) > 0 {
		l.add(2 * len(c.SupportedAddrTypes))
	}
	if c.ECNCapable {
		l.add(0)
	}
	if len(c.SupportedExt) > 0 {
		l.add(len(c.SupportedExt))
	}
	if c.Random != nil {
		l.add(len(c.Random))
	}
	if len(c.AuthChunks) > 0 {
		l.add(len(c.AuthChunks))
	}
	if len(c.HMACAlgos) > 0 {
		l.add(2 * len(c.HMACAlgos))
	}
}

// countUnrecognized adds c.Unrecognized to l.
func (c *InitChunk) countUnrecognized(l *tlvLen) {
	for _, p := range c.Unrecognized {
		l.add(len(p.Value))
	}
}

// appendParams appends the known parameters of c, each padded.
func (c *InitChunk) appendParams(b []byte) []byte {
	for _, a := range c.Addresses {
		typ, _, ok := addrParam(a)
		if !ok {
			continue
		}
		if typ == ParamIPv4Address {
			v := a.As4()
			b = appendTLV(b, typ, v[:])
		} else {
			v := a.As16()
			b = appendTLV(b, typ, v[:])
		}
	}
	if c.CookiePreservative != 0 {
		b = append(b, 0, byte(ParamCookiePreservative), 0, 8)
		b = binary.BigEndian.AppendUint32(b, c.CookiePreservative)
	}
	if c.HostName != nil {
		b = appendTLV(b, ParamHostNameAddress, c.HostName)
	}
	if len(c.SupportedAddrTypes) > 0 {
		n := 4 + 2*len(c.SupportedAddrTypes)
		b = append(b, 0, byte(ParamSupportedAddrTypes), byte(n>>8), byte(n))
		for _, t := range c.SupportedAddrTypes {
			b = binary.BigEndian.AppendUint16(b, t)
		}
		b = appendPad(b, n)
	}
	if c.ECNCapable {
		b = appendTLV(b, ParamECNCapable, nil)
	}
	if len(c.SupportedExt) > 0 {
		n := 4 + len(c.SupportedExt)
		b = binary.BigEndian.AppendUint16(b, ParamSupportedExt)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
		for _, t := range c.SupportedExt {
			b = append(b, byte(t))
		}
		b = appendPad(b, n)
	}
	return c.AppendAuthParams(b, true)
}

// AppendAuthParams appends the RANDOM, CHUNKS and HMAC-ALGO parameters of
// c (those present), each padded if pad is set. Unpadded, in that order,
// they are the key vector of RFC 4895 section 6.1: "the concatenation of
// the RANDOM parameter, the CHUNKS parameter (if sent) and the HMAC-ALGO
// parameter, as sent", parameter headers included.
func (c *InitChunk) AppendAuthParams(b []byte, pad bool) []byte {
	put := func(typ uint16, n int, body func([]byte) []byte) {
		b = binary.BigEndian.AppendUint16(b, typ)
		b = binary.BigEndian.AppendUint16(b, uint16(4+n))
		b = body(b)
		if pad {
			b = appendPad(b, 4+n)
		}
	}
	if c.Random != nil {
		put(ParamRandom, len(c.Random), func(b []byte) []byte { return append(b, c.Random...) })
	}
	if len(c.AuthChunks) > 0 {
		put(ParamChunks, len(c.AuthChunks), func(b []byte) []byte {
			for _, t := range c.AuthChunks {
				b = append(b, byte(t))
			}
			return b
		})
	}
	if len(c.HMACAlgos) > 0 {
		put(ParamHMACAlgo, 2*len(c.HMACAlgos), func(b []byte) []byte {
			for _, h := range c.HMACAlgos {
				b = binary.BigEndian.AppendUint16(b, h)
			}
			return b
		})
	}
	return b
}

// appendUnrecognized appends c.Unrecognized as they came.
func (c *InitChunk) appendUnrecognized(b []byte) []byte {
	for _, p := range c.Unrecognized {
		b = p.Append(b)
	}
	return b
}

// decodeParams decodes the parameters of an INIT (ack == nil) or INIT ACK
// into c and, for an INIT ACK, ack's own fields.
//
// Unknown parameters follow RFC 9260 section 3.2.1: "00 - Stop processing
// this parameter and do not process any further parameters within this
// chunk. 01 - Stop processing this parameter, do not process any further
// parameters within this chunk, and report the unrecognized parameter
// [...]. 10 - Skip this parameter and continue processing. 11 - Skip this
// parameter and continue processing, but report the unrecognized
// parameter". Stopping is not an error: the parameters before it stand.
// The INIT ACK-only parameters (State Cookie, Unrecognized Parameter) and
// Heartbeat Info have no meaning in an INIT and are skipped there.
func (c *InitChunk) decodeParams(b []byte, ack *InitAckChunk) error {
	name := "INIT"
	if ack != nil {
		name = "INIT ACK"
	}
	r := tlvReader{buf: b, what: name + " parameter"}
	for {
		typ, v, ok, err := r.next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if knownInitParam(typ) {
			if err := c.decodeParam(typ, v, ack, name); err != nil {
				return err
			}
			continue
		}
		a := ParamAction(typ)
		if a.Report() {
			c.Unrecognized = append(c.Unrecognized, RawParam{Type: typ, Value: v})
		}
		if a.Stop() {
			return nil
		}
	}
}

// knownInitParam says whether decodeParam handles typ (decoding it, or
// skipping one that has no meaning in the chunk at hand).
//
// Forward-TSN-Supported (0xC000, RFC 3758 section 3.3.1) is deliberately
// not known: pgsctp has no PR-SCTP, and the upper bits 11 of its type say
// "Skip this parameter and continue processing, but report the
// unrecognized parameter" (RFC 9260 section 3.2.1), so it must land in
// Unrecognized and come back in the INIT ACK. Decoding it into a field hid
// it from that report; the Linux kernel offers it in every INIT.
func knownInitParam(typ uint16) bool {
	switch typ {
	case ParamIPv4Address, ParamIPv6Address, ParamCookiePreservative, ParamHostNameAddress,
		ParamSupportedAddrTypes, ParamECNCapable, ParamSupportedExt,
		ParamStateCookie, ParamUnrecognized, ParamHeartbeatInfo,
		ParamRandom, ParamChunks, ParamHMACAlgo:
		return true
	}
	return false
}

// decodeParam decodes one parameter for which knownInitParam is true.
func (c *InitChunk) decodeParam(typ uint16, v []byte, ack *InitAckChunk, name string) error {
	bad := func(want string) error {
		return fmt.Errorf("chunk: %s parameter %#04x with a %d-byte value, want %s: %w", name, typ, len(v), want, ErrLength)
	}
	switch typ {
	case ParamIPv4Address:
		if len(v) != 4 {
			return bad("4")
		}
		c.Addresses = append(c.Addresses, netip.AddrFrom4([4]byte(v)))
	case ParamIPv6Address:
		if len(v) != 16 {
			return bad("16")
		}
		c.Addresses = append(c.Addresses, netip.AddrFrom16([16]byte(v)))
	case ParamCookiePreservative:
		if len(v) != 4 {
			return bad("4")
		}
		c.CookiePreservative = binary.BigEndian.Uint32(v)
	case ParamHostNameAddress:
		c.HostName = v
	case ParamSupportedAddrTypes:
		if len(v)%2 != 0 {
			return bad("a multiple of 2")
		}
		for i := 0; i < len(v); i += 2 {
			c.SupportedAddrTypes = append(c.SupportedAddrTypes, binary.BigEndian.Uint16(v[i:]))
		}
	case ParamECNCapable:
		if len(v) != 0 {
			return bad("0")
		}
		c.ECNCapable = true
	case ParamSupportedExt:
		for _, t := range v {
			c.SupportedExt = append(c.SupportedExt, Type(t))
		}
	case ParamRandom:
		c.Random = v
	case ParamChunks:
		for _, t := range v {
			c.AuthChunks = append(c.AuthChunks, Type(t))
		}
	case ParamHMACAlgo:
		if len(v)%2 != 0 {
			return bad("a multiple of 2")
		}
		for i := 0; i < len(v); i += 2 {
			c.HMACAlgos = append(c.HMACAlgos, binary.BigEndian.Uint16(v[i:]))
		}
	case ParamStateCookie:
		if ack != nil {
			ack.StateCookie = v
		}
	case ParamUnrecognized:
		if ack != nil {
			ack.addUnrecognizedParams(v)
		}
	}
	return nil
}
