package sctp

import (
	"context"
	"io"
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
