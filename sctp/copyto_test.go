package sctp

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection; with small set,
// both have small buffers, so that a slow reader makes direct writes meet
// a full socket.
func tcpPair(t *testing.T, small bool) (w, r *net.TCPConn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	w, err = net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	r, err = ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	if small {
		w.SetWriteBuffer(32 << 10)
		r.SetReadBuffer(32 << 10)
	}
	t.Cleanup(func() { w.Close(); r.Close() })
	return w, r
}

// TestCopyToSocket: a stream relayed to a TCP socket with CopyTo arrives
// whole and in order, both when the socket is read fast (the reader
// goroutine writes most bytes directly) and when a slow reader fills it
// (most queue for CopyTo's goroutine, later bytes behind them); the counter
// and the result agree with what crossed, and the peer's CloseWrite ends
// CopyTo with nil.
func TestCopyToSocket(t *testing.T) {
	for _, slow := range []bool{false, true} {
		name := "fast"
		if slow {
			name = "slow"
		}
		t.Run(name, func(t *testing.T) {
			_, c, s := pair(t, testConfig(t))
			tw, tr := tcpPair(t, slow)
			src, err := c.OpenStream(3)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(7, 11))
			want := make([]byte, 3<<20)
			for i := range want {
				want[i] = byte(rng.Uint32())
			}
			go func() {
				// Writes of every size, so that messages and socket
				// writes cut the bytes in many ways.
				for b := want; len(b) > 0; {
					n := min(len(b), 1+rng.IntN(40000))
					if _, err := src.Write(b[:n]); err != nil {
						return
					}
					b = b[n:]
				}
				src.CloseWrite()
			}()
			dst, err := s.AcceptStream(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			var count atomic.Int64
			type result struct {
				n   int64
				err error
			}
			done := make(chan result, 1)
			go func() {
				n, err := dst.CopyTo(tw, &count)
				tw.CloseWrite()
				done <- result{n, err}
			}()
			h := sha256.New()
			buf := make([]byte, 1500)
			var got int
			tr.SetReadDeadline(time.Now().Add(testTimeout))
			for {
				if slow && got%(256<<10) < len(buf) {
					time.Sleep(20 * time.Millisecond) // let the socket fill
				}
				n, err := tr.Read(buf)
				h.Write(buf[:n])
				got += n
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("after %d bytes: %v", got, err)
				}
			}
			r := <-done
			if r.err != nil {
				t.Errorf("CopyTo: %v; want nil at the peer's CloseWrite", r.err)
			}
			if got != len(want) || !bytes.Equal(h.Sum(nil), sum(want)) {
				t.Errorf("received %d bytes, digest %x; want %d, %x", got, h.Sum(nil), len(want), sum(want))
			}
			if r.n != int64(len(want)) || count.Load() != int64(len(want)) {
				t.Errorf("CopyTo returned %d, counted %d; want %d", r.n, count.Load(), len(want))
			}
			// How the bytes went depends on timing; TestPushDirect checks
			// each way on its own.
		})
	}
}

// TestCopyToWriter: to a writer that is no socket (here a pipe) CopyTo
// writes from its own goroutine; Close of the Stream ends it with
// net.ErrClosed.
func TestCopyToWriter(t *testing.T) {
	_, c, s := pair(t, testConfig(t))
	src, err := c.OpenStream(1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Write([]byte("through a pipe")); err != nil {
		t.Fatal(err)
	}
	dst, err := s.AcceptStream(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := dst.CopyTo(pw, nil)
		done <- err
	}()
	got := make([]byte, len("through a pipe"))
	if _, err := io.ReadFull(pr, got); err != nil || string(got) != "through a pipe" {
		t.Fatalf("read %q, %v", got, err)
	}
	dst.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("CopyTo after Close: %v; want net.ErrClosed", err)
		}
	case <-testCtx(t).Done():
		t.Fatal("CopyTo did not end at Close")
	}
}

// TestPushDirect: with a sink, a payload that finds the queue empty goes
// straight to the socket and wakes nobody; once the socket is full the rest
// of a payload queues, and so does every later one while anything is
// queued or CopyTo's goroutine is writing, so no byte overtakes another.
func TestPushDirect(t *testing.T) {
	tw, tr := tcpPair(t, true)
	var count atomic.Int64
	st := &Stream{a: &Association{cfg: resolve(nil)}}
	st.sink = newSink(tw, &count)
	if st.sink == nil {
		t.Skip("no direct writes on this system")
	}
	if st.pushLocked(PPIDStream, []byte("direct")) {
		t.Error("a payload written whole asked for a wake-up")
	}
	got := make([]byte, 6)
	if _, err := io.ReadFull(tr, got); err != nil || string(got) != "direct" || count.Load() != 6 {
		t.Fatalf("read %q, %v; counted %d", got, err, count.Load())
	}
	// Fill the socket: nobody reads tr now.
	chunk := bytes.Repeat([]byte{1}, 64<<10)
	pushed := 0
	for len(st.queue) == 0 {
		if pushed > 1000 {
			t.Fatal("the socket never filled")
		}
		st.pushLocked(PPIDStream, chunk)
		pushed++
	}
	wrote := count.Load()
	// The payload the socket took part of is queued whole (its buffer is
	// recycled whole), from the first byte not written.
	queued := -st.off
	for _, b := range st.queue {
		queued += len(b)
	}
	if int(wrote)-6+queued != pushed*len(chunk) {
		t.Errorf("%d bytes written and %d queued of %d pushed", wrote-6, queued, pushed*len(chunk))
	}
	if !st.pushLocked(PPIDStream, []byte("later")) || count.Load() != wrote {
		t.Error("a payload behind a queued one was written directly")
	}
	// CopyTo's goroutine writing: nothing direct either.
	st.queue, st.off = nil, 0
	st.sink.writing = true
	if !st.pushLocked(PPIDStream, []byte("meanwhile")) || count.Load() != wrote {
		t.Error("a payload was written directly while CopyTo's goroutine writes")
	}
	if st.sink.direct != wrote {
		t.Errorf("the sink's direct bytes %d; its counter %d", st.sink.direct, wrote)
	}
}
