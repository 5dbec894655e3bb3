package sctp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
)

// testTimeout bounds every blocking step so a broken core fails a test
// instead of hanging it; it is not a timing assertion.
const testTimeout = 60 * time.Second

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// testConfig listens on any free UDP port; PGSCTP_TEST_LOG=1 shows the
// driver's and the core's debug logs.
func testConfig(t *testing.T) *Config {
	cfg := &Config{UDPPort: -1}
	if os.Getenv("PGSCTP_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return cfg
}

func listenT(t *testing.T, cfg *Config) *Listener {
	t.Helper()
	l, err := Listen(testCtx(t), "127.0.0.1:5000", cfg)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func dialT(t *testing.T, l *Listener, cfg *Config) *Association {
	t.Helper()
	c := *cfg
	c.UDPPort = 0
	c.PeerUDPPort = int(l.Addr().(*Addr).UDPPort)
	a, err := Dial(testCtx(t), "127.0.0.1:5000", &c)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { a.Abort("test over") })
	return a
}

// pair returns a listener and the two ends of one association.
func pair(t *testing.T, cfg *Config) (l *Listener, client, server *Association) {
	t.Helper()
	l = listenT(t, cfg)
	client = dialT(t, l, cfg)
	server, err := l.Accept(testCtx(t))
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { server.Abort("test over") })
	return l, client, server
}

func TestDialAccept(t *testing.T) {
	_, c, s := pair(t, testConfig(t))
	ctx := testCtx(t)
	if got := s.LocalAddr().(*Addr); got.Port != 5000 {
		t.Errorf("server local SCTP port %d, want 5000", got.Port)
	}
	if got, want := s.RemoteAddr().(*Addr).Port, c.LocalAddr().(*Addr).Port; got != want {
		t.Errorf("server sees peer port %d, client has %d", got, want)
	}
	if err := c.SendMessage(ctx, 3, 42, []byte("ping"), false); err != nil {
		t.Fatal(err)
	}
	m, err := s.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.StreamID != 3 || m.PPID != 42 || string(m.Data) != "ping" || m.Unordered {
		t.Fatalf("server got %+v", m)
	}
	if err := s.SendMessage(ctx, 3, 43, []byte("pong"), true); err != nil {
		t.Fatal(err)
	}
	m, err = c.ReceiveMessage(ctx)
	if err != nil || string(m.Data) != "pong" || m.PPID != 43 || !m.Unordered {
		t.Fatalf("client got %+v, %v", m, err)
	}
	if st := c.Stats(); st.State != assoc.StateEstablished || st.BytesSent != 4 {
		t.Errorf("client stats %+v: want ESTABLISHED and 4 bytes sent", st)
	}
}

func TestEmptyMessageRefused(t *testing.T) {
	_, c, _ := pair(t, testConfig(t))
	if err := c.SendMessage(testCtx(t), 0, 0, nil, false); err == nil {
		t.Fatal("SendMessage of an empty message succeeded; SCTP cannot carry it")
	}
}

func TestStreamEcho(t *testing.T) {
	_, c, s := pair(t, testConfig(t))
	go func() {
		st, err := s.AcceptStream(context.Background())
		if err != nil {
			return
		}
		io.Copy(st, st) // echo until the client's CloseWrite
		st.CloseWrite()
	}()
	st, err := c.OpenStream(1)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("echo me "), 5000)
	go func() {
		st.Write(want)
		st.CloseWrite()
	}()
	st.SetReadDeadline(time.Now().Add(testTimeout))
	got, err := io.ReadAll(st)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("echo returned %d bytes, want %d", len(got), len(want))
	}
}

// TestLargeTransfer moves 20 MB over one stream and compares SHA-256
// digests; the receive window (1 MiB) is far smaller, so it exercises
// Release and the sender blocking on a full send buffer.
func TestLargeTransfer(t *testing.T) {
	size := 20 << 20
	if testing.Short() {
		size = 2 << 20
	}
	_, c, s := pair(t, testConfig(t))
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	want := sha256.Sum256(data)

	type result struct {
		n   int64
		sum [32]byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := s.AcceptStream(context.Background())
		if err != nil {
			done <- result{err: err}
			return
		}
		h := sha256.New()
		// Odd read sizes cross message boundaries.
		n, err := io.CopyBuffer(h, st, make([]byte, 7777))
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		done <- result{n, sum, err}
	}()
	st, err := c.OpenStream(0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if n, err := st.Write(data); err != nil || n != size {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if err := st.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	var res result
	select {
	case res = <-done:
	case <-time.After(testTimeout):
		t.Fatalf("receiver did not finish; client stats %+v", c.Stats())
	}
	if res.err != nil || res.n != int64(size) || res.sum != want {
		t.Fatalf("received %d bytes (err %v), digest match %v", res.n, res.err, res.sum == want)
	}
	el := time.Since(start)
	t.Logf("%d MB in %v (%.1f MB/s); client stats: %+v", size>>20, el, float64(size)/el.Seconds()/1e6, c.Stats())
	if err := c.Shutdown(testCtx(t)); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestManyStreams(t *testing.T) {
	cfg := testConfig(t)
	cfg.Assoc.OutboundStreams = 100
	_, c, s := pair(t, cfg)
	const streams = 50
	var wg sync.WaitGroup
	for i := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := c.OpenStream(uint16(i))
			if err != nil {
				t.Error(err)
				return
			}
			fmt.Fprintf(st, "stream %d says hello", i)
			st.CloseWrite()
		}()
	}
	got := map[uint16]string{}
	for range streams {
		ctx := testCtx(t)
		st, err := s.AcceptStream(ctx)
		if err != nil {
			t.Fatalf("AcceptStream after %d: %v", len(got), err)
		}
		st.SetReadDeadline(time.Now().Add(testTimeout))
		b, err := io.ReadAll(st)
		if err != nil {
			t.Fatalf("stream %d: %v", st.ID(), err)
		}
		if _, dup := got[st.ID()]; dup {
			t.Fatalf("stream %d accepted twice", st.ID())
		}
		got[st.ID()] = string(b)
	}
	wg.Wait()
	for i := range streams {
		if want := fmt.Sprintf("stream %d says hello", i); got[uint16(i)] != want {
			t.Errorf("stream %d: %q, want %q", i, got[uint16(i)], want)
		}
	}
}

// TestMessagesAndStreams checks the routing rule: an opened stream takes
// its messages, the rest stay in the inbox for ReceiveMessage.
func TestMessagesAndStreams(t *testing.T) {
	_, c, s := pair(t, testConfig(t))
	ctx := testCtx(t)
	st, err := s.OpenStream(2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenStream(2); err == nil {
		t.Error("second OpenStream(2) succeeded")
	}
	for _, m := range []struct {
		sid  uint16
		data string
	}{{1, "one"}, {2, "two-a"}, {1, "uno"}, {2, "two-b"}} {
		if err := c.SendMessage(ctx, m.sid, 7, []byte(m.data), false); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"one", "uno"} {
		m, err := s.ReceiveMessage(ctx)
		if err != nil || string(m.Data) != want || m.StreamID != 1 {
			t.Fatalf("ReceiveMessage = %+v, %v; want %q on stream 1", m, err, want)
		}
	}
	st.SetReadDeadline(time.Now().Add(testTimeout))
	buf := make([]byte, 10)
	if _, err := io.ReadFull(st, buf); err != nil || string(buf) != "two-atwo-b" {
		t.Fatalf("stream 2 read %q, %v", buf, err)
	}
}

func TestDeadlines(t *testing.T) {
	cfg := testConfig(t)
	cfg.Assoc.RecvWindow = 64 << 10
	cfg.Assoc.SendBuffer = 64 << 10
	_, c, s := pair(t, cfg)
	st, err := c.OpenStream(0)
	if err != nil {
		t.Fatal(err)
	}

	// Read with a deadline in the past fails at once.
	st.SetReadDeadline(time.Now().Add(-time.Second))
	_, err = st.Read(make([]byte, 1))
	checkTimeout(t, "Read past deadline", err)

	// A blocked Read is released by moving the deadline into the past.
	st.SetReadDeadline(time.Time{})
	errc := make(chan error, 1)
	go func() {
		_, err := st.Read(make([]byte, 1))
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond) // let it block; the outcome does not depend on it
	st.SetReadDeadline(time.Now())
	select {
	case err := <-errc:
		checkTimeout(t, "blocked Read", err)
	case <-time.After(testTimeout):
		t.Fatal("Read did not return after its deadline passed")
	}

	// The server reads nothing: the windows fill and Write blocks until
	// its deadline.
	_ = s
	st.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
	n, err := st.Write(make([]byte, 1<<20))
	checkTimeout(t, "Write to a full window", err)
	if n >= 1<<20 {
		t.Errorf("Write wrote everything (%d) into a 64 KiB window", n)
	}
	// Clearing the deadline makes the stream usable again.
	st.SetDeadline(time.Time{})
	if st, err := s.AcceptStream(testCtx(t)); err != nil {
		t.Fatal(err)
	} else {
		go io.Copy(io.Discard, st)
	}
	if _, err := st.Write([]byte("after")); err != nil {
		t.Fatalf("Write after clearing the deadline: %v", err)
	}
}

func checkTimeout(t *testing.T, what string, err error) {
	t.Helper()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: %v (%T), want a net.Error timeout wrapping os.ErrDeadlineExceeded", what, err, err)
	}
}

func TestGracefulShutdown(t *testing.T) {
	_, c, s := pair(t, testConfig(t))
	ctx := testCtx(t)
	const count = 100
	for i := range count {
		if err := c.SendMessage(ctx, 0, 1, fmt.Appendf(nil, "message %d", i), false); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// RFC 9260 section 9.2: the SHUTDOWN is sent only when all
	// outstanding data has been acknowledged, so everything is there.
	for i := range count {
		m, err := s.ReceiveMessage(ctx)
		if err != nil || string(m.Data) != fmt.Sprintf("message %d", i) {
			t.Fatalf("message %d: %q, %v", i, m.Data, err)
		}
	}
	if _, err := s.ReceiveMessage(ctx); err != io.EOF {
		t.Fatalf("ReceiveMessage after shutdown: %v, want io.EOF", err)
	}
	<-s.Done()
	<-c.Done()
	if c.Err() != nil || s.Err() != nil {
		t.Fatalf("Err after graceful shutdown: client %v, server %v", c.Err(), s.Err())
	}
	if err := c.SendMessage(ctx, 0, 1, []byte("late"), false); err == nil {
		t.Fatal("SendMessage after shutdown succeeded")
	}
}

func TestAbort(t *testing.T) {
	_, c, s := pair(t, testConfig(t))
	st, err := s.OpenStream(0)
	if err != nil {
		t.Fatal(err)
	}
	c.Abort("testing abort")
	select {
	case <-s.Done():
	case <-time.After(testTimeout):
		t.Fatal("server did not see the ABORT")
	}
	if !errors.Is(s.Err(), assoc.ErrAborted) {
		t.Errorf("server Err = %v, want ErrAborted", s.Err())
	}
	if _, err := st.Read(make([]byte, 1)); !errors.Is(err, assoc.ErrAborted) {
		t.Errorf("Read after abort: %v, want ErrAborted", err)
	}
	if _, err := s.ReceiveMessage(testCtx(t)); !errors.Is(err, assoc.ErrAborted) {
		t.Errorf("ReceiveMessage after abort: %v", err)
	}
	<-c.Done()
	if !errors.Is(c.Err(), assoc.ErrAborted) {
		t.Errorf("client Err = %v, want ErrAborted", c.Err())
	}
}

func TestCloseGivesErrClosed(t *testing.T) {
	l, c, s := pair(t, testConfig(t))
	st, err := c.OpenStream(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Stream.Close: %v", err)
	}
	if _, err := st.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
	if _, err := st.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	// The peer sees the end of the stream.
	pst, err := s.AcceptStream(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	pst.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := pst.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("peer Read after Close: %v, want io.EOF", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReceiveMessage(testCtx(t)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReceiveMessage after Close: %v", err)
	}
	<-c.Done() // Close shuts down gracefully in the background
	<-s.Done()
	if c.Err() != nil || s.Err() != nil {
		t.Errorf("after Close: client %v, server %v; want graceful", c.Err(), s.Err())
	}
	l.Close()
	if _, err := l.Accept(testCtx(t)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v", err)
	}
}

// TestPeerVanishes closes the server's socket without any shutdown. The
// client's DATA goes unacknowledged; RFC 9260 section 8.1: "An endpoint
// SHOULD keep a counter on the total number of consecutive
// retransmissions to its peer ... If the value of this counter exceeds
// the limit indicated in the protocol parameter 'Association.Max.Retrans',
// the endpoint SHOULD consider the peer endpoint unreachable and SHALL stop
// transmitting any more data to it."
func TestPeerVanishes(t *testing.T) {
	cfg := testConfig(t)
	cfg.Assoc.RTOInitial = 20 * time.Millisecond
	cfg.Assoc.RTOMin = 20 * time.Millisecond
	cfg.Assoc.RTOMax = 100 * time.Millisecond
	cfg.Assoc.AssocMaxRetrans = 4
	cfg.Assoc.PathMaxRetrans = 4
	cfg.Assoc.HBInterval = 50 * time.Millisecond
	_, c, s := pair(t, cfg)
	s.sock.conn.Close()
	if err := c.SendMessage(testCtx(t), 0, 0, []byte("anyone there?"), false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(testTimeout):
		t.Fatalf("client still alive; stats %+v", c.Stats())
	}
	if !errors.Is(c.Err(), assoc.ErrTimeout) {
		t.Fatalf("client Err = %v, want ErrTimeout", c.Err())
	}
	if _, err := c.ReceiveMessage(testCtx(t)); !errors.Is(err, assoc.ErrTimeout) {
		t.Errorf("ReceiveMessage: %v", err)
	}
	s.Abort("done")
}

func TestDialNobodyListening(t *testing.T) {
	cfg := testConfig(t)
	cfg.Assoc.RTOInitial = 20 * time.Millisecond
	cfg.Assoc.RTOMin = 20 * time.Millisecond
	cfg.Assoc.RTOMax = 50 * time.Millisecond
	cfg.Assoc.MaxInitRetransmits = 2
	l := listenT(t, cfg) // a socket that answers nothing on port 6000
	c := *cfg
	c.PeerUDPPort = int(l.Addr().(*Addr).UDPPort)
	_, err := Dial(testCtx(t), "127.0.0.1:6000", &c)
	if err == nil {
		t.Fatal("Dial to a port nobody listens on succeeded")
	}
	t.Logf("Dial: %v", err)
}

func TestDialContextCanceled(t *testing.T) {
	cfg := testConfig(t)
	cfg.PeerUDPPort = 9 // discard; nothing answers
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := Dial(ctx, "127.0.0.1:5000", cfg)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial = %v, want context.DeadlineExceeded", err)
	}
}

// TestNoGoroutineLeak opens and closes associations and checks that the
// goroutine count returns to where it was: every socket reader and timer
// ends.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	cfg := testConfig(t)
	l, err := Listen(testCtx(t), "127.0.0.1:5000", cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		c := dialT(t, l, cfg)
		s, err := l.Accept(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		ctx := testCtx(t)
		if err := c.SendMessage(ctx, 0, 0, []byte("hi"), false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReceiveMessage(ctx); err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0:
			err = c.Shutdown(ctx)
		case 1:
			err = s.Shutdown(ctx)
		case 2:
			c.Abort("bye")
		}
		if err != nil {
			t.Fatalf("association %d: %v", i, err)
		}
		<-c.Done()
		<-s.Done()
	}
	// One more that is never accepted: Listener.Close aborts it.
	pending := dialT(t, l, cfg)
	l.Close()
	<-pending.Done()
	var now int
	// Bounded poll, not a timing assertion. The sockets of the
	// client-initiated shutdowns linger (Config.ShutdownLinger) before
	// their readers end.
	for range 1000 {
		if now = runtime.NumGoroutine(); now <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Fatalf("%d goroutines before, %d after:\n%s", before, now, buf[:runtime.Stack(buf, true)])
}
