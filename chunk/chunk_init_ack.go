package chunk

import "fmt"

// InitAckChunk is an INIT ACK chunk (RFC 9260 section 3.3.3): the layout
// of INIT with type 2, a mandatory State Cookie parameter and Unrecognized
// Parameter parameters.
//
// InitAckChunk embeds InitChunk for its fields, and has its own Type, Len,
// Append and Unmarshal: the promoted ones of InitChunk would encode an
// INIT.
type InitAckChunk struct {
	InitChunk
	// StateCookie is the State Cookie parameter (7), mandatory.
	StateCookie []byte
	// UnrecognizedParams are Unrecognized Parameter parameters (8), each
	// holding a parameter of the INIT that the sender did not recognise.
	// Each RawParam is the quoted INIT parameter itself (its type and
	// value), not the wrapping parameter 8.
	UnrecognizedParams []RawParam
}

// Type returns TypeInitAck.
func (c *InitAckChunk) Type() Type { return TypeInitAck }

// Len returns the Chunk Length.
func (c *InitAckChunk) Len() int {
	var l tlvLen
	l.add(len(c.StateCookie))
	c.countParams(&l)
	for _, p := range c.UnrecognizedParams {
		l.add(p.Len())
	}
	c.countUnrecognized(&l)
	return ChunkHeaderLen + initFixedLen + l.total()
}

// Append appends the chunk and its padding to b. The State Cookie
// parameter is always written, first, even when StateCookie is empty;
// INIT's own unrecognised parameters go last, so that one whose type says
// "stop" cannot hide the others on decoding.
func (c *InitAckChunk) Append(b []byte) []byte {
	b = c.appendFixed(b, TypeInitAck, c.Len())
	b = appendTLV(b, ParamStateCookie, c.StateCookie)
	b = c.appendParams(b)
	for _, p := range c.UnrecognizedParams {
		n := 4 + p.Len()
		b = append(b, 0, byte(ParamUnrecognized), byte(n>>8), byte(n))
		b = append(b, byte(p.Type>>8), byte(p.Type), byte(p.Len()>>8), byte(p.Len()))
		b = append(b, p.Value...)
		b = appendPad(b, n)
	}
	return c.appendUnrecognized(b)
}

// Unmarshal decodes r into c. Byte slices alias r; value slices reuse c's
// capacity. Errors are those of InitChunk.Unmarshal ("The Initiate Tag
// [...] MUST NOT take the value 0"; stream counts likewise, RFC 9260
// section 3.3.3), plus ErrMissingCookie, which wraps ErrInvalid.
func (c *InitAckChunk) Unmarshal(r Raw) error {
	if err := checkType(r, TypeInitAck); err != nil {
		return err
	}
	c.StateCookie = nil
	c.UnrecognizedParams = c.UnrecognizedParams[:0]
	if err := c.decodeFixed(r.Value, "INIT ACK"); err != nil {
		return err
	}
	if err := c.decodeParams(r.Value[initFixedLen:], c); err != nil {
		return err
	}
	if c.StateCookie == nil {
		return fmt.Errorf("chunk: %w", ErrMissingCookie)
	}
	return nil
}

// addUnrecognizedParams decodes the value of an Unrecognized Parameter
// parameter: "This parameter value field will contain unrecognized
// parameters copied from the INIT chunk complete with Parameter Type,
// Length, and Value fields" (RFC 9260 section 3.3.3.1). The parameter is
// informative only, so quoted parameters that do not parse are dropped
// rather than failing the handshake.
func (c *InitAckChunk) addUnrecognizedParams(v []byte) {
	r := tlvReader{buf: v, what: "quoted parameter"}
	for {
		typ, qv, ok, _ := r.next()
		if !ok {
			return
		}
		c.UnrecognizedParams = append(c.UnrecognizedParams, RawParam{Type: typ, Value: qv})
	}
}
