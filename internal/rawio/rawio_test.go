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
		if !canRead {
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
