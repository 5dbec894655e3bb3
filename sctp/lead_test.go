package sctp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// goid is the calling goroutine's number, from its stack trace's first
// line ("goroutine 7 [running]:").
func goid() int64 {
	var buf [64]byte
	s := buf[:runtime.Stack(buf[:], false)]
	s = bytes.TrimPrefix(s, []byte("goroutine "))
	id, _ := strconv.ParseInt(string(s[:bytes.IndexByte(s, ' ')]), 10, 64)
	return id
}

// leading waits until a call blocked on a holds the socket's lead and may
// be reading it (a bounded poll, not a timing assertion).
func leading(t *testing.T, a *Association) {
	t.Helper()
	for range 10000 {
		a.mu.Lock()
		for _, w := range a.waiters {
			if w.reading.Load() {
				a.mu.Unlock()
				return
			}
		}
		a.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no call blocked on the association holds the socket's lead")
}

// TestBlockedCallReadsSocket: a message for a call blocked in
// ReceiveMessage is read from the socket and processed on that call's own
// goroutine, not handed to it by another one (issue 7: the hand-off cost
// two thread wake-ups per message).
func TestBlockedCallReadsSocket(t *testing.T) {
	var dataOn atomic.Int64 // the goroutine that processed the last DATA
	cfg := testConfig(t)    // the server's: it sees the DATA it receives
	cfg.Capture = func(_ time.Time, _, _ netip.AddrPort, pkt []byte) {
		if len(pkt) > chunk.HeaderLen && pkt[chunk.HeaderLen] == byte(chunk.TypeData) {
			dataOn.Store(goid())
		}
	}
	c, s := pairWith(t, testConfig(t), cfg)
	ctx := testCtx(t)
	type result struct {
		on  int64
		msg string
		err error
	}
	got := make(chan result)
	go func() {
		for {
			on := goid()
			m, err := s.ReceiveMessage(ctx)
			got <- result{on, string(m.Data), err}
			if err != nil {
				return
			}
		}
	}()
	for i := range 3 {
		leading(t, s)
		want := fmt.Sprint("message ", i)
		if err := c.SendMessage(ctx, 0, 42, []byte(want), false); err != nil {
			t.Fatal(err)
		}
		r := <-got
		if r.err != nil || r.msg != want {
			t.Fatalf("ReceiveMessage: %q, %v; want %q", r.msg, r.err, want)
		}
		if on := dataOn.Load(); on != r.on {
			t.Errorf("%s: DATA processed on goroutine %d, the blocked call is %d", want, on, r.on)
		}
	}
}

// TestLeadGivenBack: a call that holds the lead and is blocked in its read
// returns when its wait ends otherwise (its context, a deadline set
// meanwhile, Close, the peer's ABORT), and the socket is read again
// afterwards: another association on it still receives.
func TestLeadGivenBack(t *testing.T) {
	cfg := testConfig(t)
	l := listenT(t, cfg)
	ctx := testCtx(t)
	accept := func() (*Association, *Association) {
		c := dialT(t, l, cfg)
		s, err := l.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Abort("test over") })
		return c, s
	}
	// other receives a message after each case: the lead came back.
	otherC, otherS := accept()
	check := func(name string) {
		t.Helper()
		if err := otherC.SendMessage(ctx, 0, 42, []byte(name), false); err != nil {
			t.Fatal(err)
		}
		if m, err := otherS.ReceiveMessage(ctx); err != nil || string(m.Data) != name {
			t.Fatalf("after %s, the other association received %q, %v", name, m.Data, err)
		}
	}

	cases := []struct {
		name  string
		block func(c, s *Association) error // the blocked call, on s
		end   func(c, s *Association)       // ends it from elsewhere
		want  error
	}{
		{"context canceled", nil, nil, context.Canceled},
		{"read deadline set", nil, nil, os.ErrDeadlineExceeded},
		{"association closed", nil, nil, nil},
		{"peer aborted", nil, nil, nil},
	}
	var cancel context.CancelFunc
	var stream *Stream
	cases[0].block = func(c, s *Association) error {
		var cctx context.Context
		cctx, cancel = context.WithCancel(ctx)
		_, err := s.ReceiveMessage(cctx)
		return err
	}
	cases[0].end = func(c, s *Association) { cancel() }
	cases[1].block = func(c, s *Association) error {
		_, err := stream.Read(make([]byte, 10))
		return err
	}
	cases[1].end = func(c, s *Association) { stream.SetReadDeadline(time.Unix(1, 0)) }
	cases[2].block = func(c, s *Association) error {
		_, err := s.ReceiveMessage(ctx)
		return err
	}
	cases[2].end = func(c, s *Association) { s.Close() }
	cases[3].block = cases[2].block
	cases[3].end = func(c, s *Association) { c.Abort("test") }

	for _, tc := range cases {
		c, s := accept()
		if tc.name == "read deadline set" {
			cs, err := c.OpenStream(1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cs.Write([]byte("open")); err != nil {
				t.Fatal(err)
			}
			if stream, err = s.AcceptStream(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := stream.Read(make([]byte, 4)); err != nil {
				t.Fatal(err)
			}
		}
		errc := make(chan error, 1)
		go func() { errc <- tc.block(c, s) }()
		leading(t, s)
		tc.end(c, s)
		err := <-errc
		switch {
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: the blocked call returned %v, want %v", tc.name, err, tc.want)
		case tc.want == nil && err == nil:
			t.Errorf("%s: the blocked call returned no error", tc.name)
		}
		check(tc.name)
	}
}

// TestBackgroundTakesLead: once the call that held the lead has returned
// and none blocks, the socket's background reader takes the lead:
// datagrams are still processed with nobody reading: the server
// acknowledges a message no call waits for.
func TestBackgroundTakesLead(t *testing.T) {
	_, c, s := pair(t, testConfig(t))
	ctx := testCtx(t)
	errc := make(chan error, 1)
	go func() {
		_, err := s.ReceiveMessage(ctx)
		errc <- err
	}()
	leading(t, s)
	if err := c.SendMessage(ctx, 0, 42, []byte("first"), false); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := c.SendMessage(ctx, 0, 42, []byte("second"), false); err != nil {
		t.Fatal(err)
	}
	for range 10000 { // a bounded poll, not a timing assertion
		if c.Buffered() == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the second message was never acknowledged: nobody took the lead")
}

// TestLeadLinger walks the lead's hand-overs without a socket (the
// timer's firing is expired, called here): a lead let go stays free for
// the next blocked call; the background reader takes it only when no call
// took it for a whole period; the period doubles up to maxLinger while
// calls come back and is leadLinger again once the background reader took
// over; a call that parks while the background reader holds the lead is
// told to interrupt it, and gets the lead when it is let go.
func TestLeadLinger(t *testing.T) {
	var l lead
	l.init()
	if took, _ := l.takeOrPark(); !took {
		t.Fatal("a free lead was not taken")
	}
	l.release()
	want := leadLinger
	for l.linger < maxLinger {
		if took, _ := l.takeOrPark(); !took { // the call came back
			t.Fatal("a free lead was not taken")
		}
		l.release()
		if l.expired() {
			t.Fatal("the background reader took a lead a call had taken since the timer was set")
		}
		want = min(2*want, maxLinger)
		if l.linger != want {
			t.Fatalf("period %v, want %v", l.linger, want)
		}
	}
	if !l.armed {
		t.Fatal("a free lead has no timer")
	}
	if !l.expired() {
		t.Fatal("the background reader did not take a lead free for a whole period")
	}
	if l.linger != leadLinger || !l.bg {
		t.Fatalf("period %v (want %v), held by the background reader %v", l.linger, leadLinger, l.bg)
	}
	took, interrupt := l.takeOrPark()
	if took || !interrupt {
		t.Fatalf("a call parking while the background reader reads: took %v, interrupt %v", took, interrupt)
	}
	if l.take() {
		t.Fatal("the background reader took the lead again with a call parked")
	}
	l.release()
	select {
	case <-l.free:
	default:
		t.Fatal("the parked call was not told the lead is free")
	}
	l.unpark()
	if took, _ := l.takeOrPark(); !took {
		t.Fatal("the parked call could not take the lead")
	}
}
