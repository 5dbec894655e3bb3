package sctp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
)

// echoPair is one association over loopback whose server end echoes every
// byte of stream 0 back; it measures what a request/response costs both
// ends together.
type echoPair struct {
	client *Stream
	buf    []byte
}

func newEchoPair(tb testing.TB) *echoPair {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	tb.Cleanup(cancel)
	l, err := Listen(ctx, "127.0.0.1:5000", &Config{UDPPort: -1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	c, err := Dial(ctx, "127.0.0.1:5000", &Config{PeerUDPPort: int(l.Addr().(*Addr).UDPPort)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Abort("test over") })
	s, err := l.Accept(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Abort("test over") })
	cs, err := c.OpenStream(0)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := cs.Write([]byte("hello")); err != nil {
		tb.Fatal(err)
	}
	ss, err := s.AcceptStream(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := ss.Read(buf)
			if err != nil {
				return
			}
			if _, err := ss.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	p := &echoPair{client: cs, buf: make([]byte, 64<<10)}
	if _, err := io.ReadFull(cs, p.buf[:5]); err != nil {
		tb.Fatal(err)
	}
	return p
}

// round sends msg and reads its echo.
func (p *echoPair) round(tb testing.TB, msg []byte) {
	if _, err := p.client.Write(msg); err != nil {
		tb.Fatal(err)
	}
	if _, err := io.ReadFull(p.client, p.buf[:len(msg)]); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkEchoRound: one 64-byte request and its echo, both ends in this
// process; allocs/op counts both.
func BenchmarkEchoRound(b *testing.B) {
	p := newEchoPair(b)
	msg := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		p.round(b, msg)
	}
}

// TestAllocsPerRound: a request and its echo, both ends together,
// allocate nothing once warm (issue 7), whether 64 bytes or 64 KiB (cut
// into several DATA chunks). Each piece that used to allocate is
// recycled: the copy Send keeps and its chunks' queue entries once
// acknowledged, the received message's buffer once read (bufPool), its
// Message event comes unboxed (PollEventTo), and a blocked Read waits on a
// waiter kept for reuse. The goroutine hand-offs, the datagram copies and
// the per-packet buffers are gone too; a new allocation on this path
// fails here. (Before issue 7's work a 64-byte round trip cost 10
// allocations, a 64 KiB one about 110.)
func TestAllocsPerRound(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	if raceEnabled {
		t.Skip("allocation counts mean nothing under -race")
	}
	for _, c := range []struct{ size, warm, runs int }{{64, 100, 2000}, {64 << 10, 50, 200}} {
		t.Run(fmt.Sprint(c.size), func(t *testing.T) {
			p := newEchoPair(t)
			msg := make([]byte, c.size)
			for range c.warm {
				p.round(t, msg) // warm the pools and queues up
			}
			if n := testing.AllocsPerRun(c.runs, func() { p.round(t, msg) }); n != 0 {
				t.Errorf("%v allocations per round trip of %d bytes; want none", n, c.size)
			}
		})
	}
}

// TestBatchFills: more packets in one flush than a send batch holds go
// out in several writes, every one of them, and the batch stays the
// association's until the flush ends. (A batch given back to the pool as
// soon as it was first written, while the flush went on filling it, lost
// the packets after it and, at two batches' worth, spun for ever.) The
// socket's batches hold two packets here; a 20 KB message is at least
// four DATA packets in the first flush.
func TestBatchFills(t *testing.T) {
	_, c, s := pair(t, testConfig(t))
	c.coreMu.Lock()
	c.sock.batchSize = 2
	c.sock.batches = sync.Pool{}
	c.coreMu.Unlock()
	ctx := testCtx(t)
	msg := bytes.Repeat([]byte("twenty kilobytes "), 1200)
	for i := range 3 {
		if err := c.SendMessage(ctx, 0, uint32(i), msg, false); err != nil {
			t.Fatal(err)
		}
		m, err := s.ReceiveMessage(ctx)
		if err != nil || !bytes.Equal(m.Data, msg) {
			t.Fatalf("message %d: %d bytes, %v", i, len(m.Data), err)
		}
	}
}

// TestRecycle: messages received with ReceiveMessage and given back with
// Recycle allocate nothing, sender and receiver together; a buffer given
// back carries a later message.
func TestRecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	if raceEnabled {
		t.Skip("allocation counts mean nothing under -race")
	}
	_, c, s := pair(t, testConfig(t))
	ctx := testCtx(t)
	msg := make([]byte, 1000)
	round := func() {
		if err := c.SendMessage(ctx, 0, 1, msg, false); err != nil {
			t.Fatal(err)
		}
		m, err := s.ReceiveMessage(ctx)
		if err != nil || len(m.Data) != len(msg) {
			t.Fatalf("%d bytes, %v", len(m.Data), err)
		}
		s.Recycle(m.Data)
	}
	for range 100 {
		round()
	}
	if n := testing.AllocsPerRun(1000, round); n != 0 {
		t.Errorf("%v allocations per message received and recycled; want none", n)
	}
}

// TestPopFront: a short queue keeps its array as it is popped and pushed
// again; a long one is resliced, and order holds either way.
func TestPopFront(t *testing.T) {
	q := make([]int, 0, 4)
	arr := &q[:1][0]
	for i := range 100 {
		q = append(q, i, i+1000)
		if q = popFront(q); q[0] != i+1000 {
			t.Fatalf("round %d: head %d, want %d", i, q[0], i+1000)
		}
		q = popFront(q)
	}
	if len(q) != 0 || &q[:1][0] != arr {
		t.Errorf("a queue of at most 2 moved to a new array (len %d)", len(q))
	}
	long := make([]int, 20)
	for i := range long {
		long[i] = i
	}
	for want := range 20 {
		if long[0] != want {
			t.Fatalf("head %d, want %d", long[0], want)
		}
		long = popFront(long)
	}
}
