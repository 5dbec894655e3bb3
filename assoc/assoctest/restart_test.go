package assoctest_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/chunk"
)

// RFC 9260 section 5.2.1: "Upon receipt of an INIT chunk in the
// COOKIE-WAIT state, an endpoint MUST respond with an INIT ACK chunk using
// the same parameters it sent in its original INIT chunk (including its
// Initiate Tag, unchanged)." Both ends dial each other at the same
// instant (Z as a client too); the INITs cross and one association comes
// up on each side.
func TestSimultaneousOpen(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{
		ZClient: true,
		AZ:      assoctest.LinkConfig{Delay: 20 * ms},
		ZA:      assoctest.LinkConfig{Delay: 20 * ms},
	})
	connect(t, p)
	if p.Ladder.Count(assoctest.AtoZ, chunk.TypeInit) == 0 || p.Ladder.Count(assoctest.ZtoA, chunk.TypeInit) == 0 {
		t.Fatal("the INITs did not cross")
	}
	if p.A.Gen() != 1 || p.Z.Gen() != 1 {
		t.Errorf("associations: A %d, Z %d, want one each", p.A.Gen(), p.Z.Gen())
	}
	a, z := p.A.Assoc, p.Z.Assoc
	if a.LocalTag() != z.PeerTag() || a.PeerTag() != z.LocalTag() {
		t.Errorf("tags: A local %#x peer %#x, Z local %#x peer %#x", a.LocalTag(), a.PeerTag(), z.LocalTag(), z.PeerTag())
	}
	// The INIT ACK an end sends in COOKIE-WAIT carries the tag of its own
	// INIT.
	for _, dir := range []assoctest.Direction{assoctest.AtoZ, assoctest.ZtoA} {
		inits := p.Ladder.Packets(dir, chunk.TypeInit)
		acks := p.Ladder.Packets(dir, chunk.TypeInitAck)
		if len(inits) == 0 || len(acks) == 0 {
			t.Errorf("%s: %d INITs, %d INIT ACKs", dir, len(inits), len(acks))
			continue
		}
		if it, at := chunkValue(inits[0].Data, chunk.TypeInit)[:4], chunkValue(acks[0].Data, chunk.TypeInitAck)[:4]; string(it) != string(at) {
			t.Errorf("%s: INIT tag % x, INIT ACK tag % x", dir, it, at)
		}
	}
	p.A.Send(0, 0, []byte("ping"), assoc.SendOptions{})
	p.Z.Send(0, 0, []byte("pong"), assoc.SendOptions{})
	if !p.RunUntil(func() bool { return len(p.A.Messages) == 1 && len(p.Z.Messages) == 1 }, time.Minute) {
		t.Fatal("no data over the simultaneously opened association")
	}
}

// RFC 9260 section 5.2.4, action A: "In this case, the peer may have
// restarted. When the endpoint recognizes this potential 'restart', the
// existing session is treated the same as if it received an ABORT chunk
// followed by a new COOKIE ECHO chunk with the following exceptions: Any
// SCTP DATA chunks MAY be retained ... The SCTP user MAY be notified of
// the restart" (here, the Restarted event). A restarts: a fresh client
// association with the same ports, while Z still has the old one.
func TestPeerRestart(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{AZ: assoctest.LinkConfig{Delay: 10 * ms}, ZA: assoctest.LinkConfig{Delay: 10 * ms}})
	connect(t, p)
	p.A.Send(0, 0, []byte("before"), assoc.SendOptions{})
	settle(t, p)
	oldZ := p.Z.Assoc
	oldTag := oldZ.PeerTag()

	p.A.Connect()
	if !p.RunUntil(p.A.IsConnected, time.Minute) {
		t.Fatalf("restarted A not connected: A %s, Z %s", p.A.State(), p.Z.State())
	}
	if p.Z.Assoc != oldZ {
		t.Error("Z replaced its association; a restart keeps it (RFC 9260 section 5.2.4)")
	}
	if n := len(assoctest.EventsOf[assoc.Restarted](p.Z)); n != 1 {
		t.Errorf("Z reported %d Restarted events, want 1", n)
	}
	if !p.Z.IsConnected() {
		t.Errorf("Z: %s, closed=%v", p.Z.State(), p.Z.IsClosed())
	}
	if z, a := p.Z.Assoc, p.A.Assoc; z.PeerTag() != a.LocalTag() || z.LocalTag() != a.PeerTag() || z.PeerTag() == oldTag {
		t.Errorf("tags after restart: Z local %#x peer %#x (old peer %#x), A local %#x peer %#x", z.LocalTag(), z.PeerTag(), oldTag, a.LocalTag(), a.PeerTag())
	}
	p.A.Send(0, 0, []byte("after"), assoc.SendOptions{})
	p.Z.Send(0, 0, []byte("welcome back"), assoc.SendOptions{})
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == 2 && len(p.A.Messages) == 1 }, time.Minute) {
		t.Fatalf("no data after restart: Z has %d messages, A %d", len(p.Z.Messages), len(p.A.Messages))
	}
	if string(p.Z.Messages[1].Data) != "after" {
		t.Errorf("Z got %q", p.Z.Messages[1].Data)
	}
}

// The server crashes and comes back with no memory of the association: the
// client's next DATA is out of the blue there, and RFC 9260 section 8.4
// rule 8 answers it with an ABORT (T bit set), which ends the client's
// association (section 9.1).
func TestServerCrash(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{AZ: assoctest.LinkConfig{Delay: 10 * ms}, ZA: assoctest.LinkConfig{Delay: 10 * ms}})
	connect(t, p)
	p.Z.Crash()
	p.A.Send(0, 0, []byte("anyone there?"), assoc.SendOptions{})
	if !p.RunUntil(p.A.IsClosed, time.Minute) {
		t.Fatalf("A still %s", p.A.State())
	}
	if c, _ := p.A.Closed(); !errors.Is(c.Err, assoc.ErrAborted) {
		t.Errorf("A: Closed.Err = %v, want ErrAborted", c.Err)
	}
	// And A can dial again.
	p.A.Connect()
	connect(t, p)
}

// INITs that cross at every phase of the other side's handshake. A dials
// at 0; Z dials A at an offset, before or after A's own handshake reached
// it, over links of different delays. RFC 9260 sections 5.2.1 (INIT in
// COOKIE-WAIT or COOKIE-ECHOED: "respond with an INIT ACK chunk using the
// same parameters it sent in its original INIT chunk"), 5.2.2 (INIT in
// other states: "the endpoint MUST ... respond with an INIT ACK chunk"
// carrying new tags and the existing ones as Tie-Tags) and 5.2.4 (the
// COOKIE ECHO table of actions A to D) decide; whatever the order, one
// association must come up on each side, with agreeing tags, able to carry
// data. (When Z dials after accepting A's association, Z's new client
// forgets the accepted one: a restart, which A may report.)
func TestInitCollision(t *testing.T) {
	for _, az := range []time.Duration{5 * ms, 30 * ms} {
		for _, za := range []time.Duration{5 * ms, 30 * ms, 60 * ms} {
			for _, offset := range []time.Duration{0, 3 * ms, 10 * ms, 25 * ms, 45 * ms, 80 * ms} {
				t.Run(fmt.Sprintf("az=%v/za=%v/z-dials-at=%v", az, za, offset), func(t *testing.T) {
					p := assoctest.New(t, assoctest.Options{AZ: assoctest.LinkConfig{Delay: az}, ZA: assoctest.LinkConfig{Delay: za}})
					p.RunUntil(func() bool { return false }, offset)
					p.Z.Connect()
					if !p.RunUntil(func() bool {
						return p.Connected() && p.AZ.InFlight() == 0 && p.ZA.InFlight() == 0
					}, 5*time.Minute) {
						t.Fatalf("no association: A %s (gen %d), Z %s (gen %d)", p.A.State(), p.A.Gen(), p.Z.State(), p.Z.Gen())
					}
					a, z := p.A.Assoc, p.Z.Assoc
					if a.LocalTag() != z.PeerTag() || a.PeerTag() != z.LocalTag() {
						t.Fatalf("tags: A local %#x peer %#x, Z local %#x peer %#x", a.LocalTag(), a.PeerTag(), z.LocalTag(), z.PeerTag())
					}
					p.A.Send(0, 0, []byte("a"), assoc.SendOptions{})
					p.Z.Send(0, 0, []byte("z"), assoc.SendOptions{})
					if !p.RunUntil(func() bool { return len(p.A.Messages) == 1 && len(p.Z.Messages) == 1 }, time.Minute) {
						t.Fatalf("no data: A got %d, Z got %d; A %s, Z %s", len(p.A.Messages), len(p.Z.Messages), p.A.State(), p.Z.State())
					}
					if !p.Connected() {
						t.Fatalf("association lost: A %s, Z %s", p.A.State(), p.Z.State())
					}
				})
			}
		}
	}
}
