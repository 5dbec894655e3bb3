package assoctest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/chunk"
)

// RFC 9260 section 9.2: "Upon receipt of the SHUTDOWN primitive from its
// upper layer, the endpoint enters the SHUTDOWN-PENDING state and remains
// there until all outstanding data has been acknowledged by its peer. The
// endpoint accepts no new data from its upper layer, but retransmits data
// to the far end if necessary to fill gaps." From either side, with data
// queued both ways and some loss.
func TestShutdownGracefulWithQueuedData(t *testing.T) {
	for _, side := range []string{"A", "Z"} {
		t.Run(side, func(t *testing.T) {
			link := assoctest.LinkConfig{Delay: 10 * ms, Jitter: 5 * ms, Loss: 0.05}
			p := assoctest.New(t, assoctest.Options{AZ: link, ZA: link})
			connect(t, p)
			closer, other := p.A, p.Z
			if side == "Z" {
				closer, other = p.Z, p.A
			}
			toOther := makeMessages(newRand(p.Seed), 100, 3, []int{100, 1500, 4000}, 0.2)
			toCloser := makeMessages(newRand(p.Seed+1), 30, 3, []int{100, 1500, 4000}, 0.2)
			for _, m := range toOther {
				if err := closer.Send(m.sid, 51, m.data, assoc.SendOptions{Unordered: m.unordered}); err != nil {
					t.Fatalf("Send: %v", err)
				}
			}
			for _, m := range toCloser {
				if err := other.Send(m.sid, 51, m.data, assoc.SendOptions{Unordered: m.unordered}); err != nil {
					t.Fatalf("Send: %v", err)
				}
			}
			closer.Shutdown()
			if err := closer.Send(0, 0, []byte("late"), assoc.SendOptions{}); err == nil {
				t.Error("Send after Shutdown succeeded")
			} else if !errors.Is(err, assoc.ErrShuttingDown) {
				t.Errorf("Send after Shutdown: %v, want ErrShuttingDown", err)
			}
			if !p.RunUntil(p.Closed, time.Hour) {
				t.Fatalf("not closed: A %s, Z %s", p.A.State(), p.Z.State())
			}
			checkGracefulClose(t, p, closer)
			verifyDelivery(t, toOther, other.Messages)
			// Section 9.2: the peer of the SHUTDOWN "... MUST NOT accept
			// new data from its SCTP user", but data it had queued still
			// goes out before the SHUTDOWN ACK.
			verifyDelivery(t, toCloser, closer.Messages)
			if n := p.Ladder.Count(assoctest.ZtoA, chunk.TypeShutdownComplete) + p.Ladder.Count(assoctest.AtoZ, chunk.TypeShutdownComplete); n == 0 {
				t.Error("no SHUTDOWN COMPLETE on the wire")
			}
		})
	}
}

// RFC 9260 section 9.2: "If an endpoint is in the SHUTDOWN-SENT state
// and receives a SHUTDOWN chunk from its peer, the endpoint shall respond
// immediately with a SHUTDOWN ACK to its peer and move into the
// SHUTDOWN-ACK-SENT state" and "Upon the receipt of the SHUTDOWN ACK, the
// sender of the SHUTDOWN chunk MUST ... send a SHUTDOWN COMPLETE chunk to
// its peer, and remove all record of the association."
func TestShutdownSimultaneous(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{AZ: assoctest.LinkConfig{Delay: 20 * ms}, ZA: assoctest.LinkConfig{Delay: 20 * ms}})
	connect(t, p)
	p.A.Shutdown()
	p.Z.Shutdown()
	if !p.RunUntil(p.Closed, 5*time.Minute) {
		t.Fatalf("not closed: A %s, Z %s", p.A.State(), p.Z.State())
	}
	for _, s := range []*assoctest.Peer{p.A, p.Z} {
		if c, _ := s.Closed(); c.Err != nil {
			t.Errorf("%s: Closed.Err = %v, want nil", s.Name, c.Err)
		}
	}
	if p.Ladder.Count(assoctest.AtoZ, chunk.TypeShutdown) == 0 || p.Ladder.Count(assoctest.ZtoA, chunk.TypeShutdown) == 0 {
		t.Error("the SHUTDOWNs did not cross")
	}
}

// RFC 9260 section 9.1: "Upon receipt of the ABORT primitive from its
// upper layer, ... the endpoint sends an ABORT chunk with a User-Initiated
// Abort cause ... and removes the association" and "Upon receipt of the
// ABORT chunk, the receiving endpoint MUST verify the Verification Tag ...
// then ... remove the association from its record and report the
// termination to its upper layer."
func TestAbort(t *testing.T) {
	for _, side := range []string{"A", "Z"} {
		t.Run(side, func(t *testing.T) {
			p := assoctest.New(t, assoctest.Options{AZ: assoctest.LinkConfig{Delay: 10 * ms}, ZA: assoctest.LinkConfig{Delay: 10 * ms}})
			connect(t, p)
			aborter, other, dir := p.A, p.Z, assoctest.AtoZ
			if side == "Z" {
				aborter, other, dir = p.Z, p.A, assoctest.ZtoA
			}
			// Data in flight does not delay an ABORT.
			aborter.Send(0, 0, make([]byte, 5000), assoc.SendOptions{})
			const reason = "maintenance window"
			aborter.Abort(reason)
			if !p.RunUntil(p.Closed, time.Minute) {
				t.Fatalf("not closed: A %s, Z %s", p.A.State(), p.Z.State())
			}
			if c, _ := aborter.Closed(); !errors.Is(c.Err, assoc.ErrAborted) {
				t.Errorf("%s (aborter): Closed.Err = %v, want ErrAborted", aborter.Name, c.Err)
			}
			c, _ := other.Closed()
			if !errors.Is(c.Err, assoc.ErrAborted) {
				t.Errorf("%s: Closed.Err = %v, want ErrAborted", other.Name, c.Err)
			} else if !strings.Contains(c.Err.Error(), reason) {
				t.Errorf("%s: Closed.Err = %q does not carry the reason %q", other.Name, c.Err, reason)
			}
			aborts := p.Ladder.Packets(dir, chunk.TypeAbort)
			if len(aborts) != 1 || !assoctest.HasCause(aborts[0].Data, chunk.TypeAbort, chunk.CauseUserInitiatedAbort) {
				t.Errorf("%d ABORTs from %s, want one with a User-Initiated Abort cause", len(aborts), aborter.Name)
			}
		})
	}
}

// RFC 9260 section 8.1: "An endpoint SHOULD keep a counter on the total
// number of consecutive retransmissions to its peer (this includes data
// retransmissions to all the destination transport addresses of the peer
// if it is multi-homed), including the number of unacknowledged HEARTBEAT
// chunks observed on the path that is currently used for data transfer.
// ... If the value of this counter exceeds the limit indicated in the
// protocol parameter 'Association.Max.Retrans', the endpoint SHOULD
// consider the peer endpoint unreachable and SHALL stop transmitting any
// more data to it (and thus the association enters the CLOSED state)."
//
// The network goes away: A (with data outstanding) and Z (idle, through
// its heartbeats) both give up.
func TestAssociationFailure(t *testing.T) {
	const maxRetrans = 4
	p := assoctest.New(t, assoctest.Options{
		A:  assoc.Config{AssocMaxRetrans: maxRetrans, PathMaxRetrans: maxRetrans},
		Z:  assoc.Config{AssocMaxRetrans: maxRetrans, PathMaxRetrans: maxRetrans, HBInterval: 5 * time.Second},
		AZ: assoctest.LinkConfig{Delay: 10 * ms},
		ZA: assoctest.LinkConfig{Delay: 10 * ms},
	})
	connect(t, p)
	settle(t, p)
	p.Note("the network goes down")
	p.AZ.Down, p.ZA.Down = true, true
	cut := p.Now()
	if err := p.A.Send(0, 0, []byte("into the void"), assoc.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if !p.RunUntil(p.Closed, 2*time.Hour) {
		t.Fatalf("after 2 hours without network: A %s, Z %s", p.A.State(), p.Z.State())
	}
	for _, s := range []*assoctest.Peer{p.A, p.Z} {
		if c, _ := s.Closed(); !errors.Is(c.Err, assoc.ErrTimeout) {
			t.Errorf("%s: Closed.Err = %v, want ErrTimeout", s.Name, c.Err)
		}
	}
	// The original DATA plus Association.Max.Retrans retransmissions; the
	// next expiry closes the association.
	if n := len(sentAfter(p, assoctest.AtoZ, cut)); n < 1+maxRetrans {
		t.Errorf("A sent %d packets into the void, want at least 1 + %d", n, maxRetrans)
	}
	data := 0
	for _, e := range sentAfter(p, assoctest.AtoZ, cut) {
		if e.Has(chunk.TypeData) {
			data++
		}
	}
	if data != 1+maxRetrans {
		t.Errorf("DATA sent %d times, want 1 + Association.Max.Retrans = %d", data, 1+maxRetrans)
	}
	ev := assoctest.EventsOf[assoc.SendFailed](p.A)
	if len(ev) == 0 {
		t.Error("A got no SendFailed for the undelivered message")
	}
}
