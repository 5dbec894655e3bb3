package chunk_test

import (
	"errors"
	"fmt"

	"github.com/pgsctp/pgsctp/chunk"
)

// The send side appends the header and chunks to one buffer and sets the
// checksum last; the receive side verifies it, walks the chunks and
// decodes the hot ones into reused values.
func Example() {
	// Send: a SACK bundled with a DATA chunk.
	buf := make([]byte, 0, 1500)
	buf = chunk.AppendHeader(buf, chunk.Header{SrcPort: 9899, DstPort: 9899, VerificationTag: 0x1234})
	buf = (&chunk.SackChunk{CumTSNAck: 41, AdvRecvWindow: 65536}).Append(buf)
	buf = (&chunk.DataChunk{Beginning: true, Ending: true, TSN: 100, StreamID: 1, UserData: []byte("SELECT 1;")}).Append(buf)
	chunk.SetChecksum(buf)

	// Receive.
	if !chunk.VerifyChecksum(buf) {
		return // RFC 9260 section 6.8: silently discard
	}
	h, chunks, _ := chunk.ParseHeader(buf)
	fmt.Printf("tag %#x\n", h.VerificationTag)
	var data chunk.DataChunk // reused across packets
	var sack chunk.SackChunk
	r := chunk.NewReader(chunks)
	for r.Next() {
		raw := r.Chunk()
		switch raw.Type {
		case chunk.TypeData:
			if err := data.Unmarshal(raw); err != nil {
				return
			}
			fmt.Println(&data, string(data.UserData))
		case chunk.TypeSack:
			if err := sack.Unmarshal(raw); err != nil {
				return
			}
			fmt.Println(&sack)
		default:
			if raw.Type.Action().Stop() {
				return
			}
		}
	}
	if err := r.Err(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// tag 0x1234
	// SACK cum=41 a_rwnd=65536 gaps=[] dups=[]
	// DATA --BE TSN=100 SID=1 SSN=0 PPID=0 len=9 SELECT 1;
}

// An INIT ACK without its State Cookie is told apart from other invalid
// INIT ACKs, so the core can answer with a Missing Mandatory Parameter
// cause (RFC 9260 section 3.3.10.2).
func ExampleErrMissingCookie() {
	b := (&chunk.InitAckChunk{InitChunk: chunk.InitChunk{InitiateTag: 1, OutboundStreams: 1, InboundStreams: 1}}).Append(nil)
	b = b[:4+16] // cut off the State Cookie parameter
	b[3] = 20    // and fix the Chunk Length
	r := chunk.NewReader(b)
	r.Next()
	var ack chunk.InitAckChunk
	err := ack.Unmarshal(r.Chunk())
	fmt.Println(errors.Is(err, chunk.ErrMissingCookie), errors.Is(err, chunk.ErrInvalid))
	cause := chunk.MissingMandatoryParamCause{Types: []uint16{chunk.ParamStateCookie}}
	fmt.Printf("% x\n", cause.Append(nil))
	// Output:
	// true true
	// 00 02 00 0a 00 00 00 01 00 07 00 00
}
