package pgfront_test

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgsctp/pgsctp/pgfront"
)

// BenchmarkRelayBytes measures raw relaying over loopback TCP: one session
// streams to a backend that discards, with and without the relay between.
func BenchmarkRelayBytes(b *testing.B) {
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer backend.Close()
	go func() {
		for {
			c, err := backend.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	r := &pgfront.Relay{Dial: pgfront.DialNet("tcp", backend.Addr().String())}
	relayAddr := startRelay(b, r)
	chunk := make([]byte, 1<<20)
	run := func(b *testing.B, addr string, startup []byte) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if startup != nil {
			c.Write(startup)
		}
		b.SetBytes(int64(len(chunk)))
		for b.Loop() {
			if _, err := c.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("direct", func(b *testing.B) { run(b, backend.Addr().String(), nil) })
	b.Run("relay", func(b *testing.B) {
		run(b, relayAddr, startupPacket(b, map[string]string{"user": "bench"}))
	})
}

// BenchmarkPostgres compares a query round trip and a 10 MB COPY TO
// directly to PostgreSQL, through the server relay, and through proxy and
// server relay (loopback TCP standing in for SCTP).
func BenchmarkPostgres(b *testing.B) {
	s := startStack(b, stackOptions{})
	ctx := context.Background()
	paths := []struct{ name, connString string }{
		{"direct-socket", s.pg.SocketConnString()},
		{"relay", s.goConnString()},
		{"proxy+relay", s.proxyConnString()},
	}
	for _, p := range paths {
		conn, err := pgconn.Connect(ctx, p.connString)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("select1/"+p.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := conn.Exec(ctx, "select 1").ReadAll(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("copy10MB/"+p.name, func(b *testing.B) {
			b.SetBytes(10000 * 1001) // rows of 1000 bytes and a newline
			for b.Loop() {
				if _, err := conn.CopyTo(ctx, io.Discard, "copy (select repeat('x', 1000) from generate_series(1, 10000)) to stdout"); err != nil {
					b.Fatal(err)
				}
			}
		})
		conn.Close(ctx)
	}
}
