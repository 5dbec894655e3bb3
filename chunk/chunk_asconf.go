package chunk

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// AsconfParam is one request of an ASCONF chunk (RFC 5061 section 4.2):
// Add IP Address (0xC001), Delete IP Address (0xC002), Set Primary Address
// (0xC004), each with the sender's correlation ID and an address; an
// unspecified address (0.0.0.0 or ::) stands for the packet's source
// (section 4.2.1 and following).
type AsconfParam struct {
	Type          uint16
	CorrelationID uint32
	Addr          netip.Addr
}

// AsconfChunk is an ASCONF chunk (RFC 5061 section 4.1.1).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Type = 0xC1   |  Chunk Flags  |      Chunk Length             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Sequence Number                         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Address Parameter                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    ASCONF Parameter #1                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	/                             ...                               /
//
// Address is one of the sender's addresses, "used to find the
// association" (section 5.2) when the packet's source is new. Unknown
// parameters are kept in Unrecognized for the receiver to act on their
// high bits.
type AsconfChunk struct {
	Serial       uint32
	Address      netip.Addr
	Params       []AsconfParam
	Unrecognized []RawParam
}

// AsconfResult is one answer of an ASCONF-ACK: Success Indication
// (0xC005) or Error Cause Indication (0xC003) with its causes, for the
// request with CorrelationID.
type AsconfResult struct {
	Type          uint16
	CorrelationID uint32
	Causes        []Cause
}

// AsconfAckChunk is an ASCONF-ACK chunk (RFC 5061 section 4.1.2): the
// Sequence Number of the ASCONF it answers and a result per request that
// did not simply succeed (a success may be reported or left out).
type AsconfAckChunk struct {
	Serial  uint32
	Results []AsconfResult
}

// ASCONF error causes (RFC 5061 section 4.3).
const (
	CauseDeleteLastAddress   CauseCode = 0x00A0
	CauseResourceShortage    CauseCode = 0x00A1
	CauseDeleteSourceAddress CauseCode = 0x00A2
	CauseIllegalAsconfAck    CauseCode = 0x00A3
	CauseNoAuthorization     CauseCode = 0x00A4
	CauseUnsupportedHMAC     CauseCode = 0x0105 // RFC 4895 section 4.1
)

func addrParamLen(a netip.Addr) int {
	if a.Is4() {
		return 8
	}
	return 20
}

// appendAddr appends a as an IPv4 or IPv6 Address parameter.
func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		v := a.As4()
		return appendTLV(b, ParamIPv4Address, v[:])
	}
	v := a.As16()
	return appendTLV(b, ParamIPv6Address, v[:])
}

// decodeAddr decodes an IPv4 or IPv6 Address parameter at the start of v
// and returns the rest.
func decodeAddr(v []byte, what string) (netip.Addr, []byte, error) {
	r := tlvReader{buf: v, what: what + " address parameter"}
	typ, val, ok, err := r.next()
	switch {
	case err != nil:
		return netip.Addr{}, nil, err
	case !ok:
		return netip.Addr{}, nil, fmt.Errorf("chunk: %s without an address: %w", what, ErrShort)
	case typ == ParamIPv4Address && len(val) == 4:
		return netip.AddrFrom4([4]byte(val)), r.buf, nil
	case typ == ParamIPv6Address && len(val) == 16:
		return netip.AddrFrom16([16]byte(val)), r.buf, nil
	}
	return netip.Addr{}, nil, fmt.Errorf("chunk: %s address parameter %#04x of %d bytes: %w", what, typ, len(val), ErrInvalid)
}

// Type returns TypeAsconf.
func (c *AsconfChunk) Type() Type { return TypeAsconf }

// Len returns the Chunk Length.
func (c *AsconfChunk) Len() int {
	n := ChunkHeaderLen + 4 + addrParamLen(c.Address)
	for _, p := range c.Params {
		n += 4 + 4 + addrParamLen(p.Addr)
	}
	for _, p := range c.Unrecognized {
		n += p.Len() + pad(p.Len())
	}
	return n - padLast(c)
}

// padLast is the padding of the chunk's last TLV, which the Chunk Length
// leaves out; only an unrecognised parameter can have any.
func padLast(c *AsconfChunk) int {
	if len(c.Unrecognized) == 0 {
		return 0
	}
	return pad(c.Unrecognized[len(c.Unrecognized)-1].Len())
}

// Append appends the chunk and its padding to b.
func (c *AsconfChunk) Append(b []byte) []byte {
	n := c.Len()
	b = appendChunkHeader(b, TypeAsconf, 0, n)
	b = binary.BigEndian.AppendUint32(b, c.Serial)
	b = appendAddr(b, c.Address)
	for _, p := range c.Params {
		l := 4 + 4 + addrParamLen(p.Addr)
		b = binary.BigEndian.AppendUint16(b, p.Type)
		b = binary.BigEndian.AppendUint16(b, uint16(l))
		b = binary.BigEndian.AppendUint32(b, p.CorrelationID)
		b = appendAddr(b, p.Addr)
	}
	for _, p := range c.Unrecognized {
		b = p.Append(b)
	}
	return b
}

// Unmarshal decodes r into c. Add, Delete and Set Primary requests must
// hold exactly a correlation ID and an address; Adaptation Layer
// Indications and unknown parameters go to Unrecognized.
func (c *AsconfChunk) Unmarshal(r Raw) error {
	*c = AsconfChunk{Params: c.Params[:0], Unrecognized: c.Unrecognized[:0]}
	if err := checkType(r, TypeAsconf); err != nil {
		return err
	}
	if len(r.Value) < 4 {
		return fmt.Errorf("chunk: ASCONF value of %d bytes: %w", len(r.Value), ErrShort)
	}
	c.Serial = binary.BigEndian.Uint32(r.Value)
	addr, rest, err := decodeAddr(r.Value[4:], "ASCONF")
	if err != nil {
		return err
	}
	c.Address = addr
	tr := tlvReader{buf: rest, what: "ASCONF parameter"}
	for {
		typ, v, ok, err := tr.next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		switch typ {
		case ParamAddIPAddress, ParamDeleteIPAddress, ParamSetPrimaryAddress:
			if len(v) < 4 {
				return fmt.Errorf("chunk: ASCONF parameter %#04x of %d bytes: %w", typ, len(v), ErrShort)
			}
			a, tail, err := decodeAddr(v[4:], "ASCONF request")
			if err != nil {
				return err
			}
			if len(tail) != 0 {
				return fmt.Errorf("chunk: ASCONF parameter %#04x with %d bytes after its address: %w", typ, len(tail), ErrLength)
			}
			c.Params = append(c.Params, AsconfParam{Type: typ, CorrelationID: binary.BigEndian.Uint32(v), Addr: a})
		default:
			c.Unrecognized = append(c.Unrecognized, RawParam{Type: typ, Value: v})
		}
	}
}

// Type returns TypeAsconfAck.
func (c *AsconfAckChunk) Type() Type { return TypeAsconfAck }

// Len returns the Chunk Length.
func (c *AsconfAckChunk) Len() int {
	n := ChunkHeaderLen + 4
	for _, res := range c.Results {
		n += res.len()
	}
	return n
}

// len is the result's parameter length; its causes are padded inside it,
// so it is a multiple of four.
func (res *AsconfResult) len() int {
	l := 8
	for _, cs := range res.Causes {
		l += cs.Len() + pad(cs.Len())
	}
	return l
}

// Append appends the chunk and its padding to b.
func (c *AsconfAckChunk) Append(b []byte) []byte {
	n := c.Len()
	b = appendChunkHeader(b, TypeAsconfAck, 0, n)
	b = binary.BigEndian.AppendUint32(b, c.Serial)
	for _, res := range c.Results {
		b = binary.BigEndian.AppendUint16(b, res.Type)
		b = binary.BigEndian.AppendUint16(b, uint16(res.len()))
		b = binary.BigEndian.AppendUint32(b, res.CorrelationID)
		for _, cs := range res.Causes {
			b = cs.Append(b)
		}
	}
	return b
}

// Unmarshal decodes r into c. Unknown result types are skipped.
func (c *AsconfAckChunk) Unmarshal(r Raw) error {
	*c = AsconfAckChunk{Results: c.Results[:0]}
	if err := checkType(r, TypeAsconfAck); err != nil {
		return err
	}
	if len(r.Value) < 4 {
		return fmt.Errorf("chunk: ASCONF-ACK value of %d bytes: %w", len(r.Value), ErrShort)
	}
	c.Serial = binary.BigEndian.Uint32(r.Value)
	tr := tlvReader{buf: r.Value[4:], what: "ASCONF-ACK parameter"}
	for {
		typ, v, ok, err := tr.next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if typ != ParamSuccessInd && typ != ParamErrorCauseInd {
			continue
		}
		if len(v) < 4 {
			return fmt.Errorf("chunk: ASCONF-ACK parameter %#04x of %d bytes: %w", typ, len(v), ErrShort)
		}
		res := AsconfResult{Type: typ, CorrelationID: binary.BigEndian.Uint32(v)}
		if typ == ParamErrorCauseInd {
			cs, err := DecodeCauses(v[4:])
			if err != nil {
				return err
			}
			res.Causes = cs
		}
		c.Results = append(c.Results, res)
	}
}
