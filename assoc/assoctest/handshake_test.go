package assoctest_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/chunk"
)

// RFC 9260 section 5.1: "A) 'A' first sends an INIT chunk to 'Z'. ...
// B) 'Z' shall respond immediately with an INIT ACK chunk. ... C) Upon
// reception of the INIT ACK from 'Z', 'A' ... sends the State Cookie
// received in the INIT ACK chunk in a COOKIE ECHO chunk ... D) Upon
// reception of the COOKIE ECHO chunk, endpoint 'Z' will reply with a
// COOKIE ACK chunk after building a TCB and moving to the ESTABLISHED
// state."
//
// Section 5.1.1: "After the four-way handshake, the endpoint MUST
// determine the number of outbound streams ... [as] the minimum of its
// requested number of outbound streams and the peer's MIS."
func TestHandshakeLadder(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{
		A:  assoc.Config{OutboundStreams: 10, MaxInboundStreams: 5},
		Z:  assoc.Config{OutboundStreams: 7, MaxInboundStreams: 20},
		AZ: assoctest.LinkConfig{Delay: 5 * ms},
		ZA: assoctest.LinkConfig{Delay: 5 * ms},
	})
	connect(t, p)
	want := []assoctest.FlowStep{
		{Dir: assoctest.AtoZ, Chunks: []chunk.Type{chunk.TypeInit}},
		{Dir: assoctest.ZtoA, Chunks: []chunk.Type{chunk.TypeInitAck}},
		{Dir: assoctest.AtoZ, Chunks: []chunk.Type{chunk.TypeCookieEcho}},
		{Dir: assoctest.ZtoA, Chunks: []chunk.Type{chunk.TypeCookieAck}},
	}
	if got := flowString(p.Ladder.Flow()); got != flowString(want) {
		t.Errorf("handshake ladder:\n%swant:\n%s", got, flowString(want))
	}
	ca, _ := p.A.Connected()
	cz, _ := p.Z.Connected()
	if ca != (assoc.Connected{OutboundStreams: 10, InboundStreams: 5}) {
		t.Errorf("A: %+v, want OS=min(10, 20)=10 IS=min(7, 5)=5", ca)
	}
	if cz != (assoc.Connected{OutboundStreams: 5, InboundStreams: 10}) {
		t.Errorf("Z: %+v, want OS=min(7, 5)=5 IS=min(10, 20)=10", cz)
	}
	if p.A.State() != assoc.StateEstablished || p.Z.State() != assoc.StateEstablished {
		t.Errorf("states A %s, Z %s", p.A.State(), p.Z.State())
	}
	if a, z := p.A.Assoc, p.Z.Assoc; a.LocalTag() != z.PeerTag() || a.PeerTag() != z.LocalTag() {
		t.Errorf("tags: A local %#x peer %#x, Z local %#x peer %#x", a.LocalTag(), a.PeerTag(), z.LocalTag(), z.PeerTag())
	}
	// Section 5.1.3: the server keeps no state for an INIT: the
	// association appears only with the COOKIE ECHO.
	if p.Z.Gen() != 1 {
		t.Errorf("Z made %d associations", p.Z.Gen())
	}
}

// One lost packet at each step of the handshake. RFC 9260 section 5.1:
// "If the timer expires, the endpoint MUST retransmit INIT and restart the
// T1-init timer without changing state." and "If the T1-cookie timer
// expires, the endpoint MUST retransmit COOKIE ECHO and restart the
// T1-cookie timer without changing state." A lost INIT ACK looks like a
// lost INIT to A; a lost COOKIE ACK like a lost COOKIE ECHO, and Z answers
// the repeated COOKIE ECHO of an association it already has (section
// 5.2.4, action D: "... the endpoint ... SHOULD ... send a COOKIE ACK").
func TestHandshakeLoss(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dir     assoctest.Direction
		lost    chunk.Type
		resent  chunk.Type // what A sends again
		ztimers bool
	}{
		{"INIT", assoctest.AtoZ, chunk.TypeInit, chunk.TypeInit, false},
		{"INIT-ACK", assoctest.ZtoA, chunk.TypeInitAck, chunk.TypeInit, false},
		{"COOKIE-ECHO", assoctest.AtoZ, chunk.TypeCookieEcho, chunk.TypeCookieEcho, false},
		{"COOKIE-ACK", assoctest.ZtoA, chunk.TypeCookieAck, chunk.TypeCookieEcho, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := assoctest.Options{AZ: assoctest.LinkConfig{Delay: 5 * ms}, ZA: assoctest.LinkConfig{Delay: 5 * ms}}
			h := assoctest.DropFirst(tc.lost, 1)
			if tc.dir == assoctest.AtoZ {
				o.AZ.Hooks = []assoctest.Hook{h}
			} else {
				o.ZA.Hooks = []assoctest.Hook{h}
			}
			p := assoctest.New(t, o)
			connect(t, p)
			sent := p.Ladder.Packets(assoctest.AtoZ, tc.resent)
			if len(sent) != 2 {
				t.Fatalf("A sent %s %d times, want 2 (one retransmission)", assoctest.TypeName(tc.resent), len(sent))
			}
			// RTO.Initial is 1 s (section 16): T1 fires no earlier.
			if gap := sent[1].At.Sub(sent[0].At); gap < time.Second {
				t.Errorf("%s retransmitted after %v, before RTO.Initial", assoctest.TypeName(tc.resent), gap)
			}
			if n := len(assoctest.EventsOf[assoc.Connected](p.Z)); n != 1 {
				t.Errorf("Z reported Connected %d times", n)
			}
			if p.Z.Gen() != 1 {
				t.Errorf("Z made %d associations, want 1", p.Z.Gen())
			}
		})
	}
}

// RFC 9260 section 5.1: "If the number of retransmissions exceeds
// Max.Init.Retransmits, the endpoint MUST abort the initialization
// process and report the error to the SCTP user."
func TestHandshakeInitTimeout(t *testing.T) {
	const maxInit = 3
	p := assoctest.New(t, assoctest.Options{
		A:  assoc.Config{MaxInitRetransmits: maxInit},
		AZ: assoctest.LinkConfig{Hooks: []assoctest.Hook{assoctest.DropAll(chunk.TypeInit)}},
	})
	if !p.RunUntil(p.A.IsClosed, time.Hour) {
		t.Fatalf("A still %s after an hour of lost INITs", p.A.State())
	}
	c, _ := p.A.Closed()
	if !errors.Is(c.Err, assoc.ErrInitTimeout) {
		t.Errorf("Closed.Err = %v, want ErrInitTimeout", c.Err)
	}
	if n := p.Ladder.Count(assoctest.AtoZ, chunk.TypeInit); n != 1+maxInit {
		t.Errorf("%d INITs sent, want 1 + Max.Init.Retransmits = %d", n, 1+maxInit)
	}
	// Section 6.3.3 E2 applies to T1 too ("the RTO is doubled"): the
	// gaps between INITs grow.
	inits := p.Ladder.Packets(assoctest.AtoZ, chunk.TypeInit)
	for i := 2; i < len(inits); i++ {
		if inits[i].At.Sub(inits[i-1].At) <= inits[i-1].At.Sub(inits[i-2].At) {
			t.Errorf("INIT %d: no back-off (%v after %v)", i, inits[i].At.Sub(inits[i-1].At), inits[i-1].At.Sub(inits[i-2].At))
		}
	}
	if p.Z.Assoc != nil {
		t.Error("Z has an association")
	}
}

// RFC 9260 section 5.1.5 (COOKIE ECHO): "3) Compare the port numbers and
// the Verification Tag contained within the COOKIE ECHO chunk ... If the
// State Cookie is older than its lifespan ... send ERROR chunk ... Stale
// Cookie", and section 5.2.6: "Upon receipt of an ERROR chunk with a
// 'Stale Cookie' error cause, an endpoint in the COOKIE-ECHOED state ...
// MAY ... 2) Send a new INIT chunk to the endpoint, adding a Cookie
// Preservative parameter requesting an extension to the life time of the
// State Cookie."
//
// The first COOKIE ECHO is held back past Valid.Cookie.Life and its
// retransmissions (same cookie) are lost, so the cookie Z finally sees is
// stale; A must start again and succeed.
func TestHandshakeStaleCookie(t *testing.T) {
	const life = 3 * time.Second
	var first []byte
	stale := func(p *assoctest.Packet) assoctest.Verdict {
		if !p.Has(chunk.TypeCookieEcho) {
			return assoctest.Pass
		}
		c := chunkValue(p.Data, chunk.TypeCookieEcho)
		switch {
		case first == nil:
			first = append([]byte(nil), c...)
			p.Delay += life + time.Second
		case bytes.Equal(c, first):
			return assoctest.Drop
		}
		return assoctest.Pass
	}
	p := assoctest.New(t, assoctest.Options{
		Z:  assoc.Config{ValidCookieLife: life},
		AZ: assoctest.LinkConfig{Delay: 5 * ms, Hooks: []assoctest.Hook{stale}},
		ZA: assoctest.LinkConfig{Delay: 5 * ms},
	})
	connect(t, p)
	var staleAt time.Time
	for _, e := range p.Ladder.Packets(assoctest.ZtoA, chunk.TypeError) {
		if assoctest.HasCause(e.Data, chunk.TypeError, chunk.CauseStaleCookie) {
			staleAt = e.At
			break
		}
	}
	if staleAt.IsZero() {
		t.Fatal("Z sent no ERROR with a Stale Cookie cause")
	}
	if len(sentAfter(p, assoctest.AtoZ, staleAt)) == 0 || p.Ladder.Count(assoctest.AtoZ, chunk.TypeInit) < 2 {
		t.Fatal("A did not send a new INIT after the Stale Cookie error")
	}
	for _, e := range sentAfter(p, assoctest.AtoZ, staleAt) {
		if e.Has(chunk.TypeInit) {
			// Section 5.2.6 asks for a Cookie Preservative; it is a
			// "MAY" path, so its absence is only logged.
			if _, ok := assoctest.Param(chunkValue(e.Data, chunk.TypeInit)[16:], chunk.ParamCookiePreservative); !ok {
				t.Logf("the new INIT carries no Cookie Preservative")
			}
			break
		}
	}
	if p.Z.Gen() != 1 {
		t.Errorf("Z made %d associations, want 1", p.Z.Gen())
	}
}

// RFC 9260 section 5.1.5: "2) Compute a MAC using the TCB data carried in
// the State Cookie and the secret key ... 3) Compare the MAC ... If the two
// MACs are different, discard the COOKIE ECHO chunk silently."
func TestHandshakeTamperedCookie(t *testing.T) {
	tamper := assoctest.Rewrite(chunk.TypeCookieEcho, 1, func(c *assoctest.RawChunk) {
		c.Value[len(c.Value)/2] ^= 0x40
	})
	p := assoctest.New(t, assoctest.Options{
		AZ: assoctest.LinkConfig{Delay: 5 * ms, Hooks: []assoctest.Hook{tamper}},
		ZA: assoctest.LinkConfig{Delay: 5 * ms},
	})
	connect(t, p)
	echoes := p.Ladder.Packets(assoctest.AtoZ, chunk.TypeCookieEcho)
	if len(echoes) < 2 {
		t.Fatalf("%d COOKIE ECHOs: the tampered one cannot have been accepted and retransmitted", len(echoes))
	}
	// Nothing from Z between the tampered echo's arrival and the genuine
	// retransmission's arrival.
	for _, e := range sentAfter(p, assoctest.ZtoA, echoes[0].Arrive) {
		if e.At.Before(echoes[1].Arrive) {
			t.Errorf("Z answered a tampered cookie: %s", e.String())
		}
	}
	if p.Z.Gen() != 1 {
		t.Errorf("Z made %d associations, want 1", p.Z.Gen())
	}
}
