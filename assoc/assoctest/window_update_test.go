package assoctest_test

import (
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/chunk"
)

// RFC 9260 section 6.2: "An SCTP receiver MUST NOT generate more than one
// SACK chunk for every incoming packet, other than to update the offered
// window as the receiving application consumes new data."
//
// A sends one 65,000-byte message into Z's default 1 MiB window; Z's
// application reads it only later. The SACKs while it is unread advertise
// the window minus the message; once the application has consumed it, a
// SACK must reopen the window, although no new DATA arrives to carry one.
// Regression: seen against the Linux kernel, the last SACK stayed at
// 1 MiB - 65,000 (the core only updated windows that had closed below
// half).
func TestWindowUpdateAfterRead(t *testing.T) {
	const size = 65000
	p := assoctest.New(t, assoctest.Options{
		ManualReleaseZ: true,
		AZ:             assoctest.LinkConfig{Delay: 10 * ms},
		ZA:             assoctest.LinkConfig{Delay: 10 * ms},
	})
	connect(t, p)
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	if err := p.A.Send(1, 42, msg, assoc.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == 1 }, time.Minute) {
		t.Fatal("the message did not arrive")
	}
	// Let every SACK for the message (delayed ones too) go out and land.
	p.Advance(time.Second)
	const window = 1 << 20
	sacks := p.Ladder.Packets(assoctest.ZtoA, chunk.TypeSack)
	if len(sacks) == 0 {
		t.Fatal("no SACK")
	}
	last, _ := assoctest.ParseSack(chunkValue(sacks[len(sacks)-1].Data, chunk.TypeSack))
	if last.AdvRecvWindow != window-size {
		t.Fatalf("a_rwnd %d with the message unread; want %d", last.AdvRecvWindow, window-size)
	}

	before := len(sacks)
	read := p.Now()
	p.Z.ReleaseAll()
	p.Advance(time.Second)
	sacks = p.Ladder.Packets(assoctest.ZtoA, chunk.TypeSack)
	if len(sacks) == before {
		t.Fatalf("no SACK after the application read the message; the peer still sees a_rwnd %d", last.AdvRecvWindow)
	}
	upd := sacks[before]
	s, _ := assoctest.ParseSack(chunkValue(upd.Data, chunk.TypeSack))
	if s.AdvRecvWindow != window {
		t.Errorf("window update advertises a_rwnd %d; want the whole window %d", s.AdvRecvWindow, window)
	}
	// Sent at the read itself (no timer involved): virtual time is exact.
	if !upd.At.Equal(read) {
		t.Errorf("window update sent %v after the read; want at once", upd.At.Sub(read))
	}
	if len(sacks) != before+1 {
		t.Errorf("%d SACKs after the read; want exactly one window update", len(sacks)-before)
	}
	if got := p.A.Stats().PeerRecvWindow; got != window {
		t.Errorf("A's view of Z's window is %d; want %d", got, window)
	}
}

// Reads of a few bytes at a time must not each cost a SACK: the update
// waits until the window has opened by a significant amount.
func TestWindowUpdateNotPerSmallRead(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{ManualReleaseZ: true})
	connect(t, p)
	for i := range 20 {
		if err := p.A.Send(0, 0, make([]byte, 100), assoc.SendOptions{}); err != nil {
			t.Fatal(i, err)
		}
	}
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == 20 }, time.Minute) {
		t.Fatal("messages did not arrive")
	}
	p.Advance(time.Second)
	before := p.Ladder.Count(assoctest.ZtoA, chunk.TypeSack)
	for range 20 {
		p.Z.Release(100)
		p.Drive()
	}
	p.Advance(time.Second)
	if n := p.Ladder.Count(assoctest.ZtoA, chunk.TypeSack) - before; n != 0 {
		t.Errorf("%d SACKs for 2,000 bytes read 100 at a time in a 1 MiB window; want none", n)
	}
}
