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
// directly to PostgreSQL with the same through the relays: the Go dialer
// to the server relay, and the proxy's socket through both relays, over
// loopback TCP, SCTP, and multiplexed SCTP.
func BenchmarkPostgres(b *testing.B) {
	ctx := context.Background()
	bench := func(b *testing.B, name string, connect func() (*pgconn.PgConn, error)) {
		conn, err := connect()
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		b.Run("select1/"+name, func(b *testing.B) {
			for b.Loop() {
				if _, err := conn.Exec(ctx, "select 1").ReadAll(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("copy10MB/"+name, func(b *testing.B) {
			b.SetBytes(10000 * 1001) // rows of 1000 bytes and a newline
			for b.Loop() {
				if _, err := conn.CopyTo(ctx, io.Discard, "copy (select repeat('x', 1000) from generate_series(1, 10000)) to stdout"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, tr := range []struct {
		name string
		o    stackOptions
	}{
		{"tcp", stackOptions{}},
		{"sctp", stackOptions{sctp: true}},
		{"sctp-mux", stackOptions{sctp: true, multiplex: true}},
	} {
		s := startStack(b, tr.o)
		if tr.name == "tcp" {
			bench(b, "direct-socket", func() (*pgconn.PgConn, error) { return pgconn.Connect(ctx, s.pg.SocketConnString()) })
		}
		bench(b, "dialer-"+tr.name, func() (*pgconn.PgConn, error) {
			cfg, err := pgconn.ParseConfig(s.goConnString())
			if err != nil {
				return nil, err
			}
			s.dialer.Configure(cfg)
			return pgconn.ConnectConfig(ctx, cfg)
		})
		bench(b, "proxy-"+tr.name, func() (*pgconn.PgConn, error) { return pgconn.Connect(ctx, s.proxyConnString()) })
		s.stop()
	}
}
