package assoctest_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/chunk"
)

// repliesSince returns the packets sent in dir after ladder index from.
func repliesSince(p *assoctest.Pair, dir assoctest.Direction, from int) []assoctest.Entry {
	var out []assoctest.Entry
	for _, e := range p.Ladder.Entries[from:] {
		if e.Kind == assoctest.KindPacket && e.Dir == dir && e.Fate != "injected" && !e.Dup {
			out = append(out, e)
		}
	}
	return out
}

func initValue(tag uint32, os, mis uint16, tsn uint32) []byte {
	v := make([]byte, 16)
	binary.BigEndian.PutUint32(v[0:], tag)
	binary.BigEndian.PutUint32(v[4:], 65536)
	binary.BigEndian.PutUint16(v[8:], os)
	binary.BigEndian.PutUint16(v[10:], mis)
	binary.BigEndian.PutUint32(v[12:], tsn)
	return v
}

// Packets that must be dropped without a word by an established
// association: RFC 9260 section 6.8 (a packet whose CRC32c does not match
// is discarded) and section 8.5: "If the received Verification Tag value
// does not match the receiver's own tag value, the receiver MUST silently
// discard the packet and MUST NOT process it any further except for those
// cases listed in Section 8.5.1 below." Afterwards the association works
// as before.
func TestBadInputEstablished(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{AZ: assoctest.LinkConfig{Delay: 10 * ms}, ZA: assoctest.LinkConfig{Delay: 10 * ms}})
	connect(t, p)
	settle(t, p)
	ztag := p.Z.Assoc.LocalTag()
	rng := newRand(p.Seed)
	mark := len(p.Ladder.Entries)

	// Garbage of every small length.
	for n := range 200 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		p.Z.Inject(b)
	}
	valid := func(tag uint32) []byte {
		return assoctest.BuildPacket(5001, 5432, tag,
			assoctest.RawChunk{Type: chunk.TypeData, Flags: assoctest.FlagBeginning | assoctest.FlagEnding,
				Value: assoctest.DataValue(12345, 0, 0, 0, []byte("forged"))})
	}
	// Right tag, wrong checksum; and every truncation of it (the
	// checksum no longer matches either).
	bad := valid(ztag)
	bad[8] ^= 0xff
	p.Z.Inject(bad)
	for n := range len(bad) {
		p.Z.Inject(valid(ztag)[:n])
	}
	// Right checksum, wrong tag: a forged DATA and a forged ABORT.
	p.Z.Inject(valid(ztag ^ 0x5a5a5a5a))
	p.Z.Inject(assoctest.BuildPacket(5001, 5432, ztag+1, assoctest.RawChunk{Type: chunk.TypeAbort}))
	p.Z.Inject(assoctest.BuildPacket(5001, 5432, ztag+1, assoctest.RawChunk{Type: chunk.TypeShutdown, Value: make([]byte, 4)}))
	p.Drive()
	if r := repliesSince(p, assoctest.ZtoA, mark); len(r) != 0 {
		t.Errorf("Z answered packets it must discard silently; first: %s", r[0].String())
	}
	if p.Z.State() != assoc.StateEstablished || len(p.Z.Messages) != 0 {
		t.Fatalf("after bad input: Z %s with %d messages", p.Z.State(), len(p.Z.Messages))
	}
	p.A.Send(1, 0, []byte("still here"), assoc.SendOptions{})
	p.Z.Send(1, 0, []byte("me too"), assoc.SendOptions{})
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == 1 && len(p.A.Messages) == 1 }, time.Minute) {
		t.Fatalf("association broken after bad input: A %s, Z %s", p.A.State(), p.Z.State())
	}
	if string(p.Z.Messages[0].Data) != "still here" {
		t.Errorf("Z got %q", p.Z.Messages[0].Data)
	}
}

// Well-checksummed, correctly tagged nonsense: malformed chunk lengths,
// every truncation of real packets, random chunk types and flags. The RFC
// leaves room (discard, ERROR, or ABORT with Protocol Violation), so the
// only demands are: no panic, the invariants hold, and a closed
// association says so with a Closed event.
func TestBadInputMalformedNoPanic(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{AZ: assoctest.LinkConfig{Delay: 10 * ms}, ZA: assoctest.LinkConfig{Delay: 10 * ms}})
	connect(t, p)
	p.A.Send(0, 0, make([]byte, 3000), assoc.SendOptions{})
	p.Z.Send(0, 0, make([]byte, 3000), assoc.SendOptions{})
	settle(t, p)
	ztag := p.Z.Assoc.LocalTag()
	rng := newRand(p.Seed)
	// Every truncation of every packet A sent so far, re-checksummed.
	for _, e := range p.Ladder.Entries {
		if e.Kind != assoctest.KindPacket || e.Dir != assoctest.AtoZ || e.Has(chunk.TypeCookieEcho) {
			continue
		}
		for n := chunk.HeaderLen; n < len(e.Data); n++ {
			b := append([]byte(nil), e.Data[:n]...)
			binary.BigEndian.PutUint32(b[4:8], ztag)
			assoctest.SetChecksum(b)
			p.Z.Inject(b)
		}
	}
	// Random chunks.
	for range 300 {
		typ := chunk.Type(rng.IntN(256))
		if typ == chunk.TypeAbort || typ == chunk.TypeShutdown || typ == chunk.TypeShutdownAck {
			continue // legitimate ways to end it
		}
		v := make([]byte, rng.IntN(40))
		for i := range v {
			v[i] = byte(rng.Uint32())
		}
		b := assoctest.BuildPacket(5001, 5432, ztag, assoctest.RawChunk{Type: typ, Flags: uint8(rng.Uint32()), Value: v})
		// Lie about the chunk length now and then.
		if rng.IntN(3) == 0 {
			binary.BigEndian.PutUint16(b[14:16], uint16(rng.IntN(70)))
			assoctest.SetChecksum(b)
		}
		p.Z.Inject(b)
	}
	p.Advance(time.Minute)
	t.Logf("after the nonsense: A %s, Z %s", p.A.State(), p.Z.State())
}

// RFC 9260 section 8.4, out-of-the-blue packets at an endpoint with no
// association: "2) If the OOTB packet contains an ABORT chunk, the
// receiver MUST silently discard the OOTB packet and take no further
// action." "5) If the packet contains a SHUTDOWN ACK chunk, the receiver
// SHOULD respond to the sender of the OOTB packet with a SHUTDOWN
// COMPLETE chunk. When sending the SHUTDOWN COMPLETE chunk, the receiver
// of the OOTB packet MUST fill in the Verification Tag field of the
// outbound packet with the Verification Tag received in the SHUTDOWN ACK
// chunk and set the T bit in the Chunk Flags to indicate that the
// Verification Tag is reflected." "6) If the packet contains a SHUTDOWN
// COMPLETE chunk, the receiver SHOULD silently discard the packet and
// take no further action." "7) If the packet contains a "Stale Cookie"
// ERROR or a COOKIE ACK, the SCTP packet SHOULD be silently discarded."
// "8) The receiver SHOULD respond to the sender of the OOTB packet with an
// ABORT chunk. When sending the ABORT chunk, the receiver of the OOTB
// packet MUST fill in the Verification Tag field of the outbound packet
// with the value found in the Verification Tag field of the OOTB packet
// and set the T bit in the Chunk Flags to indicate that the Verification
// Tag is reflected." Section 8.5.1: "When an endpoint receives an SCTP
// packet with the Verification Tag set to 0, it SHOULD verify that the
// packet contains only an INIT chunk. Otherwise, the receiver MUST
// silently discard the packet."
func TestOutOfTheBlue(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{NoConnect: true})
	p.ZA.Down = true // record the replies, deliver nothing
	p.AZ.Down = true
	const tag = 0x01020304
	staleErr := make([]byte, 8)
	binary.BigEndian.PutUint16(staleErr[0:], uint16(chunk.CauseStaleCookie))
	binary.BigEndian.PutUint16(staleErr[2:], 8)
	sack := make([]byte, 12)
	for _, tc := range []struct {
		name  string
		pkt   []byte
		reply chunk.Type // 0xff: none
		t     bool       // T bit and reflected tag expected
	}{
		{"ABORT", assoctest.BuildPacket(5001, 5432, tag, assoctest.RawChunk{Type: chunk.TypeAbort}), 0xff, false},
		{"SHUTDOWN COMPLETE", assoctest.BuildPacket(5001, 5432, tag, assoctest.RawChunk{Type: chunk.TypeShutdownComplete}), 0xff, false},
		{"COOKIE ACK", assoctest.BuildPacket(5001, 5432, tag, assoctest.RawChunk{Type: chunk.TypeCookieAck}), 0xff, false},
		{"Stale Cookie ERROR", assoctest.BuildPacket(5001, 5432, tag, assoctest.RawChunk{Type: chunk.TypeError, Value: staleErr}), 0xff, false},
		{"SHUTDOWN ACK", assoctest.BuildPacket(5001, 5432, tag, assoctest.RawChunk{Type: chunk.TypeShutdownAck}), chunk.TypeShutdownComplete, true},
		{"DATA", assoctest.BuildPacket(5001, 5432, tag, assoctest.RawChunk{Type: chunk.TypeData, Flags: 3, Value: assoctest.DataValue(1, 0, 0, 0, []byte("x"))}), chunk.TypeAbort, true},
		{"SACK", assoctest.BuildPacket(5001, 5432, tag, assoctest.RawChunk{Type: chunk.TypeSack, Value: sack}), chunk.TypeAbort, true},
		{"DATA with tag 0", assoctest.BuildPacket(5001, 5432, 0, assoctest.RawChunk{Type: chunk.TypeData, Flags: 3, Value: assoctest.DataValue(1, 0, 0, 0, []byte("x"))}), 0xff, false},
		{"bad checksum", func() []byte {
			b := assoctest.BuildPacket(5001, 5432, 0, assoctest.RawChunk{Type: chunk.TypeInit, Value: initValue(tag, 10, 10, 1)})
			b[9] ^= 1
			return b
		}(), 0xff, false},
		{"truncated INIT", func() []byte {
			b := assoctest.BuildPacket(5001, 5432, 0, assoctest.RawChunk{Type: chunk.TypeInit, Value: initValue(tag, 10, 10, 1)})
			b = b[:len(b)-4]
			binary.BigEndian.PutUint16(b[14:16], 20)
			assoctest.SetChecksum(b)
			return b
		}(), 0xff, false},
		// Section 3.3.2: "If the value of the Initiate Tag in a received
		// INIT chunk is found to be 0, the receiver MUST silently discard
		// the packet."
		{"INIT with Initiate Tag 0", assoctest.BuildPacket(5001, 5432, 0, assoctest.RawChunk{Type: chunk.TypeInit, Value: initValue(0, 10, 10, 1)}), 0xff, false},
		{"INIT", assoctest.BuildPacket(5001, 5432, 0, assoctest.RawChunk{Type: chunk.TypeInit, Value: initValue(tag, 10, 10, 1)}), chunk.TypeInitAck, false},
	} {
		mark := len(p.Ladder.Entries)
		p.Z.InjectEndpoint(tc.pkt)
		p.Drive()
		r := repliesSince(p, assoctest.ZtoA, mark)
		if tc.reply == 0xff {
			if len(r) != 0 {
				t.Errorf("%s: Z answered %s, want silence", tc.name, r[0].String())
			}
			continue
		}
		if len(r) != 1 || !r[0].Has(tc.reply) {
			t.Errorf("%s: Z answered %d packets, want one %s", tc.name, len(r), assoctest.TypeName(tc.reply))
			continue
		}
		cs, _ := assoctest.Chunks(r[0].Data)
		h := assoctest.Header(r[0].Data)
		if tc.t && (cs[0].Flags&assoctest.FlagT == 0 || h.VerificationTag != tag) {
			t.Errorf("%s: reply %s with tag %#x, want the T bit and the reflected tag %#x", tc.name, r[0].String(), h.VerificationTag, tag)
		}
		if tc.reply == chunk.TypeInitAck && h.VerificationTag != tag {
			t.Errorf("INIT ACK with tag %#x, want the INIT's Initiate Tag %#x", h.VerificationTag, tag)
		}
	}
	if p.Z.Assoc != nil {
		t.Error("the endpoint made an association from out-of-the-blue packets")
	}

	// An endpoint that does not accept answers an INIT with an ABORT;
	// section 8.4 rule 3: "... the Verification Tag of the packet
	// containing the ABORT chunk MUST be the Initiate Tag of the received
	// INIT chunk, and the T bit of the ABORT chunk has to be set to 0".
	mark := len(p.Ladder.Entries)
	p.A.InjectEndpoint(assoctest.BuildPacket(5432, 5001, 0, assoctest.RawChunk{Type: chunk.TypeInit, Value: initValue(tag, 10, 10, 1)}))
	p.Drive()
	r := repliesSince(p, assoctest.AtoZ, mark)
	if len(r) != 1 || !r[0].Has(chunk.TypeAbort) {
		t.Fatalf("A's non-accepting endpoint answered an INIT with %d packets, want one ABORT", len(r))
	}
	cs, _ := assoctest.Chunks(r[0].Data)
	if h := assoctest.Header(r[0].Data); h.VerificationTag != tag || cs[0].Flags&assoctest.FlagT != 0 {
		t.Errorf("ABORT for an INIT: %s tag %#x, want tag %#x and T=0", r[0].String(), h.VerificationTag, tag)
	}
}

// RFC 9260 section 6.5: "Every DATA chunk MUST carry a valid stream
// identifier. If an endpoint receives a DATA chunk with an invalid stream
// identifier, it SHOULD acknowledge the reception of the DATA chunk
// following the normal procedure, immediately send an ERROR chunk with
// cause set to "Invalid Stream Identifier" (see Section 3.3.10), and
// discard the DATA chunk." The association carries on (on other streams:
// the discarded message leaves a hole in its own stream's sequence).
func TestInvalidStream(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{
		A:  assoc.Config{OutboundStreams: 4},
		Z:  assoc.Config{MaxInboundStreams: 4},
		AZ: assoctest.LinkConfig{Delay: 10 * ms},
		ZA: assoctest.LinkConfig{Delay: 10 * ms},
	})
	connect(t, p)
	if err := p.A.Send(9, 0, []byte("x"), assoc.SendOptions{}); !errors.Is(err, assoc.ErrInvalidStream) {
		t.Errorf("Send on stream 9 of 4: %v, want ErrInvalidStream", err)
	}
	p.AZ.Hooks = []assoctest.Hook{assoctest.Rewrite(chunk.TypeData, 1, func(c *assoctest.RawChunk) {
		binary.BigEndian.PutUint16(c.Value[4:6], 200)
	})}
	p.A.Send(3, 0, []byte("to a stream that does not exist"), assoc.SendOptions{})
	p.Advance(5 * time.Second)
	var found bool
	for _, e := range p.Ladder.Packets(assoctest.ZtoA, chunk.TypeError) {
		found = found || assoctest.HasCause(e.Data, chunk.TypeError, chunk.CauseInvalidStreamID)
	}
	if !found {
		t.Error("no ERROR with an Invalid Stream Identifier cause")
	}
	if len(p.Z.Messages) != 0 {
		t.Errorf("Z delivered %d messages from an invalid stream", len(p.Z.Messages))
	}
	p.A.Send(1, 0, []byte("after"), assoc.SendOptions{})
	p.Z.Send(1, 0, []byte("back"), assoc.SendOptions{})
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == 1 && len(p.A.Messages) == 1 }, time.Minute) {
		t.Fatalf("association stuck after an invalid stream: A %s, Z %s, A buffered %d", p.A.State(), p.Z.State(), p.A.Assoc.Buffered())
	}
	settle(t, p)
}

// RFC 9260 section 6.2: "If an endpoint receives a DATA chunk with no
// user data (i.e., the Length field is set to 16), it MUST send an ABORT
// with a "No User Data" error cause."
func TestEmptyData(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{AZ: assoctest.LinkConfig{Delay: 10 * ms}, ZA: assoctest.LinkConfig{Delay: 10 * ms}})
	connect(t, p)
	p.AZ.Hooks = []assoctest.Hook{assoctest.Rewrite(chunk.TypeData, 1, func(c *assoctest.RawChunk) { c.Value = c.Value[:12] })}
	p.A.Send(0, 0, []byte("emptied on the way"), assoc.SendOptions{})
	if !p.RunUntil(p.Closed, time.Minute) {
		t.Fatalf("not closed after an empty DATA: A %s, Z %s", p.A.State(), p.Z.State())
	}
	aborts := p.Ladder.Packets(assoctest.ZtoA, chunk.TypeAbort)
	if len(aborts) != 1 || !assoctest.HasCause(aborts[0].Data, chunk.TypeAbort, chunk.CauseNoUserData) {
		t.Errorf("Z sent %d ABORTs, want one with a No User Data cause", len(aborts))
	}
	if c, _ := p.A.Closed(); !errors.Is(c.Err, assoc.ErrAborted) {
		t.Errorf("A: Closed.Err = %v, want ErrAborted", c.Err)
	}
	if c, _ := p.Z.Closed(); c.Err == nil {
		t.Error("Z closed gracefully after aborting")
	}
}

// RFC 9260 section 3.2, the two upper bits of an unrecognized chunk type:
// "00 - Stop processing this SCTP packet; discard the unrecognized chunk
// and all further chunks. 01 - Stop processing this SCTP packet, discard
// the unrecognized chunk and all further chunks, and report the
// unrecognized chunk in an ERROR chunk using the 'Unrecognized Chunk
// Type' error cause. 10 - Skip this chunk and continue processing. 11 -
// Skip this chunk and continue processing, but report in an ERROR chunk
// using the 'Unrecognized Chunk Type' error cause." A HEARTBEAT after the
// unknown chunk shows whether processing went on.
func TestUnrecognizedChunkTypes(t *testing.T) {
	for _, tc := range []struct {
		typ            chunk.Type
		report, goesOn bool
	}{
		{0x3e, false, false},
		{0x7e, true, false},
		{0xbe, false, true},
		{0xfe, true, true},
	} {
		t.Run(fmt.Sprintf("type=%#x", uint8(tc.typ)), func(t *testing.T) {
			p := assoctest.New(t, assoctest.Options{AZ: assoctest.LinkConfig{Delay: 10 * ms}, ZA: assoctest.LinkConfig{Delay: 10 * ms}})
			connect(t, p)
			settle(t, p)
			hb := make([]byte, 12)
			binary.BigEndian.PutUint16(hb[0:], chunk.ParamHeartbeatInfo)
			binary.BigEndian.PutUint16(hb[2:], 12)
			copy(hb[4:], "probe123")
			mark := len(p.Ladder.Entries)
			p.Z.Inject(assoctest.BuildPacket(5001, 5432, p.Z.Assoc.LocalTag(),
				assoctest.RawChunk{Type: tc.typ, Value: []byte{1, 2, 3, 4, 5}},
				assoctest.RawChunk{Type: chunk.TypeHeartbeat, Value: hb}))
			p.Drive()
			var reported, acked bool
			for _, e := range repliesSince(p, assoctest.ZtoA, mark) {
				reported = reported || assoctest.HasCause(e.Data, chunk.TypeError, chunk.CauseUnrecognizedChunkType)
				acked = acked || e.Has(chunk.TypeHeartbeatAck)
			}
			if reported != tc.report {
				t.Errorf("Unrecognized Chunk Type reported: %v, want %v", reported, tc.report)
			}
			if acked != tc.goesOn {
				t.Errorf("the HEARTBEAT after it answered: %v, want %v", acked, tc.goesOn)
			}
			if p.Z.State() != assoc.StateEstablished {
				t.Errorf("Z %s", p.Z.State())
			}
		})
	}
}

// RFC 9260 section 3.2.1, unrecognized parameters of an INIT: "01 - Stop
// processing this parameter and do not process any further parameters
// within this chunk, and report the unrecognized parameter, as described
// in Section 3.2.2" and "11 - Skip this parameter and continue processing
// but report the unrecognized parameter, as described in Section 3.2.2";
// for an INIT the report is an Unrecognized Parameter in the INIT ACK
// (section 3.3.3). 00 and 10 are not reported.
func TestUnrecognizedInitParams(t *testing.T) {
	for _, tc := range []struct {
		typ    uint16
		report bool
	}{{0x3ff0, false}, {0x7ff0, true}, {0xbff0, false}, {0xfff0, true}} {
		t.Run(fmt.Sprintf("param=%#x", tc.typ), func(t *testing.T) {
			p := assoctest.New(t, assoctest.Options{NoConnect: true})
			p.ZA.Down = true
			v := initValue(0x0a0b0c0d, 10, 10, 1)
			v = binary.BigEndian.AppendUint16(v, tc.typ)
			v = binary.BigEndian.AppendUint16(v, 8)
			v = append(v, 0xde, 0xad, 0xbe, 0xef)
			mark := len(p.Ladder.Entries)
			p.Z.InjectEndpoint(assoctest.BuildPacket(5001, 5432, 0, assoctest.RawChunk{Type: chunk.TypeInit, Value: v}))
			p.Drive()
			r := repliesSince(p, assoctest.ZtoA, mark)
			if len(r) != 1 || !r[0].Has(chunk.TypeInitAck) {
				t.Fatalf("%d replies, want an INIT ACK", len(r))
			}
			u, found := assoctest.Param(chunkValue(r[0].Data, chunk.TypeInitAck)[16:], chunk.ParamUnrecognized)
			if found != tc.report {
				t.Fatalf("Unrecognized Parameter in the INIT ACK: %v, want %v", found, tc.report)
			}
			if found && (len(u) < 4 || binary.BigEndian.Uint16(u) != tc.typ) {
				t.Errorf("Unrecognized Parameter carries % x, want the parameter of type %#x", u, tc.typ)
			}
		})
	}
}
