package sctp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

// creditConfig is testConfig with per-stream flow control at window w
// (0: off).
func creditConfig(t *testing.T, w int) *Config {
	cfg := testConfig(t)
	cfg.StreamWindow = w
	return cfg
}

// pairWith is pair with a different configuration for each end.
func pairWith(t *testing.T, clientCfg, serverCfg *Config) (client, server *Association) {
	t.Helper()
	l := listenT(t, serverCfg)
	client = dialT(t, l, clientCfg)
	server, err := l.Accept(testCtx(t))
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { server.Abort("test over") })
	return client, server
}

// openPair opens stream id on c, writes hello and returns both ends of the
// stream once the server has read it.
func openPair(t *testing.T, c, s *Association, id uint16) (cs, ss *Stream) {
	t.Helper()
	cs, err := c.OpenStream(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	ss, err = s.AcceptStream(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if ss.ID() != id {
		t.Fatalf("accepted stream %d, want %d", ss.ID(), id)
	}
	buf := make([]byte, 5)
	ss.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(ss, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("server read %q, %v; want hello (no control bytes)", buf, err)
	}
	return cs, ss
}

// pattern is n deterministic bytes that differ per stream.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

// TestCreditExhaustionBlocksWrite: a writer may have at most the peer's
// window unread on the stream; Write then waits (here until its deadline),
// and the reader's credits let exactly as many more bytes through as it
// read.
func TestCreditExhaustionBlocksWrite(t *testing.T) {
	const w = 16 << 10
	cfg := creditConfig(t, w)
	_, c, s := pair(t, cfg)
	cs, ss := openPair(t, c, s, 1)
	data := pattern(1<<20, 1)

	// The client reads nothing: the server's Write stops after exactly
	// one window. The deadline only ends the wait; what is asserted is
	// the byte count.
	ss.SetWriteDeadline(time.Now().Add(2 * time.Second))
	n, err := ss.Write(data)
	checkTimeout(t, "Write without credit", err)
	if n != w {
		t.Fatalf("Write without the reader reading sent %d bytes, want the window %d", n, w)
	}

	// Reading 10 KiB (more than half the window) returns 10 KiB of credit.
	got := make([]byte, 10<<10)
	cs.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(cs, got); err != nil {
		t.Fatal(err)
	}
	ss.SetWriteDeadline(time.Now().Add(3 * time.Second))
	m, err := ss.Write(data[n:])
	checkTimeout(t, "Write after a credit", err)
	if m != 10<<10 {
		t.Fatalf("after the reader took 10 KiB the writer sent %d more bytes, want %d", m, 10<<10)
	}

	// Everything sent arrives, in order.
	rest := make([]byte, n+m-len(got))
	if _, err := io.ReadFull(cs, rest); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(got, rest...), data[:n+m]) {
		t.Fatal("bytes differ")
	}

	// A Write blocked on credit ends with Close.
	ss.SetWriteDeadline(time.Time{})
	errc := make(chan error, 1)
	go func() {
		_, err := ss.Write(data)
		errc <- err
	}()
	for {
		// Wait until the goroutine has used the credit (bounded by the
		// test's deadline, not a timing assertion).
		s.mu.Lock()
		// The reader's last read returned credit for 16 KiB more.
		blocked := ss.sent >= ss.limit && ss.sent > uint64(n+m)
		s.mu.Unlock()
		if blocked {
			break
		}
		time.Sleep(time.Millisecond)
	}
	ss.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("blocked Write after Close: %v, want net.ErrClosed", err)
		}
	case <-testCtx(t).Done():
		t.Fatal("Close did not end a Write blocked on credit")
	}
}

// TestStalledStreamDoesNotStallOthers: the association's receive window
// holds a few stream windows; a stream nobody reads fills only its own,
// and another stream carries many times the association window meanwhile.
func TestStalledStreamDoesNotStallOthers(t *testing.T) {
	cfg := creditConfig(t, 32<<10)
	cfg.Assoc.RecvWindow = 256 << 10
	_, c, s := pair(t, cfg)
	stalled, sStalled := openPair(t, c, s, 1)
	busy, sBusy := openPair(t, c, s, 2)

	var wg sync.WaitGroup
	defer wg.Wait()
	defer sStalled.Close()
	defer sBusy.Close()
	// The stalled stream's writer fills its window and waits.
	wg.Go(func() {
		sStalled.Write(pattern(8<<20, 1)) // ends with an error when the stream closes
	})
	const total = 16 << 20 // 64 association windows
	data := pattern(total, 2)
	wg.Go(func() {
		if _, err := sBusy.Write(data); err != nil {
			t.Errorf("busy stream Write: %v", err)
		}
		sBusy.CloseWrite()
	})
	busy.SetReadDeadline(time.Now().Add(testTimeout))
	h := sha256.New()
	n, err := io.Copy(h, busy)
	if err != nil || n != total {
		t.Fatalf("busy stream carried %d bytes (%v), want %d", n, err, total)
	}
	if !bytes.Equal(h.Sum(nil), sum(data)) {
		t.Fatal("busy stream's bytes differ")
	}
	// The stalled stream holds what its window allowed, no more.
	s.mu.Lock()
	sent := sStalled.sent
	s.mu.Unlock()
	if sent > 32<<10 {
		t.Errorf("stalled stream's writer sent %d bytes, more than its window", sent)
	}
	// And it resumes when read.
	stalled.SetReadDeadline(time.Now().Add(testTimeout))
	want := pattern(8<<20, 1)
	got := make([]byte, 1<<20)
	if _, err := io.ReadFull(stalled, got); err != nil || !bytes.Equal(got, want[:len(got)]) {
		t.Fatalf("stalled stream after resuming: %v (bytes equal: %v)", err, bytes.Equal(got, want[:len(got)]))
	}
}

func sum(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// TestCreditNegotiation: per-stream flow control is used only when both
// ends have it on; otherwise the stream is plain (the writer is bounded by
// the association alone) and no control message reaches the application.
func TestCreditNegotiation(t *testing.T) {
	for _, tc := range []struct {
		name           string
		client, server int
	}{
		{"client only", 16 << 10, 0},
		{"server only", 0, 16 << 10},
		{"neither", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s := pairWith(t, creditConfig(t, tc.client), creditConfig(t, tc.server))
			cs, ss := openPair(t, c, s, 3)
			// 256 KiB, many windows' worth, go through without the
			// client reading: no credits are in use.
			data := pattern(256<<10, 3)
			ss.SetWriteDeadline(time.Now().Add(testTimeout))
			if n, err := ss.Write(data); err != nil || n != len(data) {
				t.Fatalf("server Write: %d, %v", n, err)
			}
			ss.CloseWrite()
			if _, err := cs.Write([]byte("bye")); err != nil {
				t.Fatal(err)
			}
			cs.CloseWrite()
			cs.SetReadDeadline(time.Now().Add(testTimeout))
			got, err := io.ReadAll(cs)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("client read %d bytes (%v), want %d exact", len(got), err, len(data))
			}
			ss.SetReadDeadline(time.Now().Add(testTimeout))
			got, err = io.ReadAll(ss)
			if err != nil || string(got) != "bye" {
				t.Fatalf("server read %q, %v", got, err)
			}
		})
	}
}

// TestCreditMessageAPIPeer: an end using the message API with
// StreamWindow off never sees the announcement of a Stream opened by an
// end that has it on, and the Stream stays plain.
func TestCreditMessageAPIPeer(t *testing.T) {
	c, s := pairWith(t, creditConfig(t, 16<<10), creditConfig(t, 0))
	cs, err := c.OpenStream(4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	m, err := s.ReceiveMessage(ctx)
	if err != nil || m.PPID != PPIDStream || string(m.Data) != "data" {
		t.Fatalf("message API peer got %+v, %v; want the data message only", m, err)
	}
	// Its messages, any size, are read without credits.
	big := pattern(200<<10, 4)
	if err := s.SendMessage(ctx, 4, PPIDStream, big, false); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(big))
	cs.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(cs, got); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Stream read %v", err)
	}
	// Reading 200 KiB on a stream the peer did not answer sends no credit.
	m2 := make(chan Message, 1)
	go func() {
		m, _ := s.ReceiveMessage(ctx)
		m2 <- m
	}()
	cs.Write([]byte("x"))
	if m := <-m2; m.PPID != PPIDStream || string(m.Data) != "x" {
		t.Fatalf("after reading, the peer got %+v; want only data", m)
	}
}

// TestStreamReuse: a stream number carries a new Stream once the old one
// has ended in both directions; before that OpenStream says it is in use,
// and the peer's new session never sees bytes of the old one.
func TestStreamReuse(t *testing.T) {
	for _, w := range []int{0, 16 << 10} {
		t.Run(map[bool]string{true: "credits", false: "plain"}[w > 0], func(t *testing.T) {
			_, c, s := pair(t, creditConfig(t, w))
			for round := range 3 {
				cs, ss := openPair(t, c, s, 7)
				msg := []byte{'r', byte('0' + round)}
				ss.Write(msg)
				ss.CloseWrite()
				cs.SetReadDeadline(time.Now().Add(testTimeout))
				got, err := io.ReadAll(cs)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("round %d: client read %q, %v", round, got, err)
				}
				if _, err := c.OpenStream(7); !errors.Is(err, ErrStreamInUse) {
					t.Fatalf("round %d: OpenStream of an open stream: %v, want ErrStreamInUse", round, err)
				}
				cs.Close() // sends the client's CloseWrite marker
				ss.SetReadDeadline(time.Now().Add(testTimeout))
				if _, err := io.ReadAll(ss); err != nil {
					t.Fatalf("round %d: server read: %v", round, err)
				}
				ss.Close()
			}
		})
	}
}

// TestCreditNoGoroutineLeak: Writes blocked on credit end when the
// association ends, and no goroutine is left.
func TestCreditNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		cfg := creditConfig(t, 8<<10)
		l, err := Listen(testCtx(t), "127.0.0.1:5000", cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		c := dialT(t, l, cfg)
		s, err := l.Accept(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for id := range uint16(4) {
			_, ss := openPair(t, c, s, id)
			wg.Go(func() {
				if _, err := ss.Write(make([]byte, 1<<20)); err == nil {
					t.Errorf("stream %d: Write to a reader that never reads succeeded", id)
				}
			})
		}
		c.Abort("test over")
		<-c.Done()
		<-s.Done()
		wg.Wait()
	}()
	var now int
	for range 500 { // bounded poll, not a timing assertion
		if now = runtime.NumGoroutine(); now <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Fatalf("%d goroutines before, %d after:\n%s", before, now, buf[:runtime.Stack(buf, true)])
}

// TestCreditPeerClosed: when the reader closes its Stream, a writer
// waiting for credit fails with ErrPeerClosed (no credit will come) instead
// of waiting; after the reader's CloseWrite alone credits go on.
func TestCreditPeerClosed(t *testing.T) {
	const w = 8 << 10
	_, c, s := pair(t, creditConfig(t, w))

	// Half-close: the client ends its direction and goes on reading many
	// windows' worth.
	cs, ss := openPair(t, c, s, 1)
	if err := cs.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	data := pattern(40*w, 5)
	go func() {
		ss.SetWriteDeadline(time.Now().Add(testTimeout))
		ss.Write(data)
		ss.CloseWrite()
	}()
	cs.SetReadDeadline(time.Now().Add(testTimeout))
	got, err := io.ReadAll(cs)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("reading after CloseWrite: %d bytes, %v", len(got), err)
	}

	// Close: the server's Write, stuck without credit, ends.
	cs2, ss2 := openPair(t, c, s, 2)
	errc := make(chan error, 1)
	go func() {
		ss2.SetWriteDeadline(time.Now().Add(testTimeout))
		_, err := ss2.Write(pattern(1<<20, 6))
		errc <- err
	}()
	cs2.Close()
	if err := <-errc; !errors.Is(err, ErrPeerClosed) {
		t.Fatalf("Write after the peer's Close: %v, want ErrPeerClosed", err)
	}
}

// TestCreditMalformedControl: control messages of the wrong size, credits
// for streams that never announced, and a second announcement are
// ignored, and none reaches the application. (The sender here uses the
// message API with StreamWindow off, so it drops the answer: control
// messages never reach the application.)
func TestCreditMalformedControl(t *testing.T) {
	c, s := pairWith(t, creditConfig(t, 0), creditConfig(t, 16<<10))
	ctx := testCtx(t)
	for _, m := range []struct {
		ppid uint32
		data []byte
	}{
		{PPIDCredit, []byte{1, 2, 3}},             // wrong size, no stream
		{PPIDStreamWindow, []byte{0, 0, 1}},       // wrong size
		{PPIDCredit, []byte{0, 0, 0x40, 0}},       // a credit before any announcement
		{PPIDStreamWindow, []byte{0, 0, 0x40, 0}}, // opens stream 9 with 16 KiB
		{PPIDStreamWindow, []byte{0, 0, 0x80, 0}}, // again: ignored
		{PPIDCredit, []byte{0, 0, 0, 1, 2}},       // wrong size
		{PPIDStream, []byte("data")},
	} {
		if err := c.SendMessage(ctx, 9, m.ppid, m.data, false); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.AcceptStream(ctx)
	if err != nil || st.ID() != 9 {
		t.Fatalf("AcceptStream: %v", err)
	}
	buf := make([]byte, 4)
	st.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(st, buf); err != nil || string(buf) != "data" {
		t.Fatalf("read %q, %v", buf, err)
	}
	// It holds its writes to the peer's window: 16 KiB, not 32.
	st.SetWriteDeadline(time.Now().Add(time.Second))
	n, err := st.Write(make([]byte, 64<<10))
	checkTimeout(t, "Write beyond the announced window", err)
	if n != 16<<10 {
		t.Fatalf("wrote %d bytes, want the announced 16 KiB", n)
	}
}

// BenchmarkStreamWindow is one stream's throughput on loopback without
// and with per-stream flow control (the credit round trip every half
// window is the cost).
func BenchmarkStreamWindow(b *testing.B) {
	for _, w := range []int{0, DefaultStreamWindow} {
		b.Run(map[bool]string{true: "credits", false: "off"}[w > 0], func(b *testing.B) {
			cfg := &Config{UDPPort: -1, StreamWindow: w}
			l, err := Listen(context.Background(), "127.0.0.1:5000", cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			cc := *cfg
			cc.UDPPort, cc.PeerUDPPort = 0, int(l.Addr().(*Addr).UDPPort)
			c, err := Dial(context.Background(), "127.0.0.1:5000", &cc)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Abort("over")
			s, err := l.Accept(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Abort("over")
			got := make(chan int64, 1)
			go func() {
				st, err := s.AcceptStream(context.Background())
				if err != nil {
					got <- 0
					return
				}
				n, _ := io.Copy(io.Discard, st)
				got <- n
			}()
			st, _ := c.OpenStream(0)
			buf := make([]byte, 1<<20)
			b.SetBytes(int64(len(buf)))
			var total int64
			for b.Loop() {
				n, err := st.Write(buf)
				total += int64(n)
				if err != nil {
					b.Fatal(err)
				}
			}
			st.CloseWrite()
			if n := <-got; n != total { // end to end: every byte read
				b.Fatalf("read %d of %d bytes", n, total)
			}
		})
	}
}

// TestCreditOpenerAssumesWindow: once the peer has answered on one stream,
// the opener of a later stream holds its writes to the peer's window from
// the first byte, before that stream's answer.
func TestCreditOpenerAssumesWindow(t *testing.T) {
	const w = 16 << 10
	_, c, s := pair(t, creditConfig(t, w))
	cs1, ss1 := openPair(t, c, s, 1) // the server answers here
	// Its answer precedes its data: once the client reads a byte, the
	// answer has arrived.
	ss1.Write([]byte{1})
	cs1.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(cs1, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	cs, err := c.OpenStream(2)
	if err != nil {
		t.Fatal(err)
	}
	cs.SetWriteDeadline(time.Now().Add(2 * time.Second))
	n, err := cs.Write(pattern(1<<20, 9))
	checkTimeout(t, "Write on a new stream nobody reads", err)
	if n != w {
		t.Fatalf("the opener wrote %d bytes before any credit, want the window %d", n, w)
	}
	ss, err := s.AcceptStream(testCtx(t))
	if err != nil || ss.ID() != 2 {
		t.Fatalf("AcceptStream: %v", err)
	}
	got := make([]byte, w)
	ss.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(ss, got); err != nil || !bytes.Equal(got, pattern(1<<20, 9)[:w]) {
		t.Fatalf("server read: %v", err)
	}
}
