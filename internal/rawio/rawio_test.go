package rawio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair returns both ends of a TCP connection over loopback.
func tcpPair(t *testing.T) (a, b *net.TCPConn) {
	t.Helper()
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.DialTCP("tcp", nil, l.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// TestReader: bytes arrive whole and in order, a Read waits for data
// (it is written after the Read began), the writer's close is io.EOF, and
// a deadline and Close end a blocked Read with net.Conn's errors.
func TestReader(t *testing.T) {
	c, s := tcpPair(t)
	r := NewReader(s)
	if r == nil {
		if !canRaw {
			t.Skip("no raw reads here")
		}
		t.Fatal("no Reader for a *net.TCPConn")
	}
	want := bytes.Repeat([]byte("0123456789"), 100000)
	go func() {
		time.Sleep(10 * time.Millisecond) // so that the first Read waits (not asserted)
		c.Write(want)
		c.CloseWrite()
	}()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes (equal %v), %v; want %d bytes", len(got), bytes.Equal(got, want), err, len(want))
	}

	c2, s2 := tcpPair(t)
	_ = c2
	r2 := NewReader(s2)
	s2.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := r2.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past its deadline: %v", err)
	}
	s2.SetReadDeadline(time.Time{})
	errc := make(chan error, 1)
	go func() {
		_, err := r2.Read(make([]byte, 10))
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	s2.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read of a closed conn: %v", err)
	}
}

// TestNewReaderOnlyPlainConns: a wrapper that embeds a *net.TCPConn may
// hold bytes of its own, so it gets no Reader.
func TestNewReaderOnlyPlainConns(t *testing.T) {
	_, s := tcpPair(t)
	type wrapped struct{ *net.TCPConn }
	if NewReader(wrapped{s}) != nil {
		t.Error("a wrapper got a raw Reader")
	}
	p, q := net.Pipe()
	defer p.Close()
	defer q.Close()
	if NewReader(p) != nil {
		t.Error("a net.Pipe got a raw Reader")
	}
}

// TestTryWrite: a write goes whole while the socket has room, and one
// into a full socket buffer takes nothing and is no error (the caller
// queues the rest); the bytes arrive in order.
func TestTryWrite(t *testing.T) {
	if !CanWrite {
		t.Skip("no raw writes here")
	}
	c, s := tcpPair(t)
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	try := func(b []byte) (n int, werr error) {
		if err := rc.Write(func(fd uintptr) bool { n, werr = TryWrite(fd, b); return true }); err != nil {
			t.Fatal(err)
		}
		return n, werr
	}
	if n, err := try([]byte("hello")); n != 5 || err != nil {
		t.Fatalf("TryWrite of 5 bytes: %d, %v", n, err)
	}
	chunk := bytes.Repeat([]byte{'x'}, 1<<16)
	total := 5
	for i := 0; ; i++ {
		n, err := try(chunk)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if n == 0 {
			break // the buffers are full: nobody reads s yet
		}
		if i > 10000 {
			t.Fatal("the socket never filled")
		}
	}
	c.CloseWrite()
	got, err := io.ReadAll(s)
	if err != nil || len(got) != total || string(got[:5]) != "hello" {
		t.Fatalf("read %d bytes (%q...), %v; want %d", len(got), got[:min(5, len(got))], err, total)
	}
}
