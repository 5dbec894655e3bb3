package pgfront_test

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/internal/pgtest"
	"github.com/pgsctp/pgsctp/pgfront"
	"github.com/pgsctp/pgsctp/pgfront/pgdial"
	"github.com/pgsctp/pgsctp/sctp"
)

// logRecord is one line a relay logged.
type logRecord struct {
	relay string
	level slog.Level
	msg   string
	attrs map[string]string
}

// logBook records what relays log and echoes it to the test log.
type logBook struct {
	t     testing.TB
	relay string
	mu    *sync.Mutex
	recs  *[]logRecord
}

func newLogBook(t testing.TB) *logBook {
	return &logBook{t: t, mu: new(sync.Mutex), recs: new([]logRecord)}
}

func (b *logBook) logger(relay string) *slog.Logger {
	c := *b
	c.relay = relay
	return slog.New(&c)
}

func (b *logBook) Enabled(context.Context, slog.Level) bool { return true }
func (b *logBook) WithAttrs([]slog.Attr) slog.Handler       { return b }
func (b *logBook) WithGroup(string) slog.Handler            { return b }
func (b *logBook) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{relay: b.relay, level: r.Level, msg: r.Message, attrs: map[string]string{}}
	var sb strings.Builder
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		fmt.Fprintf(&sb, " %s=%q", a.Key, a.Value.String())
		return true
	})
	b.mu.Lock()
	*b.recs = append(*b.recs, rec)
	b.mu.Unlock()
	b.t.Logf("[%s] %s %s%s", b.relay, r.Level, r.Message, sb.String())
	return nil
}

// find returns the records of relay whose message contains msg and whose
// attributes include every key=value in kv.
func (b *logBook) find(relay, msg string, kv ...string) []logRecord {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []logRecord
next:
	for _, r := range *b.recs {
		if r.relay != relay || !strings.Contains(r.msg, msg) {
			continue
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if r.attrs[kv[i]] != kv[i+1] {
				continue next
			}
		}
		out = append(out, r)
	}
	return out
}

// stack is the whole path of the product, with loopback TCP standing in for
// SCTP between proxy and server:
//
//	client -> proxy (Unix socket dir, TCP) -> [TCP] -> server relay -> PostgreSQL
//	Go client + pgdial.Dialer ------------------^
type stack struct {
	pg         *pgtest.Server
	server     *pgfront.Relay
	serverAddr string // the stand-in transport's listening address
	proxy      *pgfront.Relay
	proxyDir   string
	proxyPort  int
	proxyTCP   string // host:port of the proxy's TCP listener
	dialer     *pgdial.Dialer
	logs       *logBook
	stop       func()
}

type stackOptions struct {
	serverMax int
	pgOpts    pgtest.Options
	pg        *pgtest.Server // use this server instead of starting one
	// backendTCP makes the server relay reach PostgreSQL over loopback
	// TCP instead of its Unix socket (PostgreSQL refuses TLS on a socket).
	backendTCP bool
	// serverDial, when set, replaces the server relay's way to PostgreSQL.
	serverDial pgfront.DialFunc
	// sctp carries proxy and Go dialer to the server relay over real SCTP
	// (package sctp, UDP encapsulation on loopback) instead of TCP;
	// multiplex puts every session on one association.
	sctp, multiplex bool
	// muxStreams is the number of outbound streams of a multiplexing
	// client (as pgsctp proxy --multiplex asks for); zero means 1024.
	muxStreams uint16
	// serverStreams is the server's outbound streams: it can answer only
	// on streams below it. Zero means 1024 (see TestMuxServerStreams).
	serverStreams uint16
}

func startStack(t testing.TB, o stackOptions) *stack {
	t.Helper()
	pg := o.pg
	if pg == nil {
		pg = pgtest.Start(t, o.pgOpts)
	}
	s := &stack{pg: pg, logs: newLogBook(t)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	serve := func(r *pgfront.Relay, l net.Listener) {
		wg.Go(func() {
			if err := r.Serve(ctx, l); err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}

	network, address := pgfront.PostgresAddr(pg.SocketDir, pg.Port)
	if o.backendTCP {
		network, address = pgfront.PostgresAddr(pg.Host, pg.Port)
	}
	dial := pgfront.DialNet(network, address)
	if o.serverDial != nil {
		dial = o.serverDial
	}
	s.server = &pgfront.Relay{
		Dial:        dial,
		Target:      "PostgreSQL at " + address,
		MaxSessions: o.serverMax,
		Logger:      s.logs.logger("server"),
	}
	var transport pgfront.DialFunc
	var closeTransport func()
	if o.sctp {
		sl := pgfront.NewSessionListener(pgfront.Limits{}, s.logs.logger("sctp-server"))
		cfg := &sctp.Config{UDPPort: -1}
		cfg.Assoc.Admit = sl.Admit
		cfg.Assoc.MaxInboundStreams = 65535 // the server's default setting
		cfg.Assoc.OutboundStreams = cmp.Or(o.serverStreams, 1024)
		la, err := sl.Listen(ctx, "127.0.0.1:5432", cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.serverAddr = la.String()
		serve(s.server, sl)
		ccfg := &sctp.Config{PeerUDPPort: int(la.(*sctp.Addr).UDPPort)}
		if o.multiplex {
			ccfg.Assoc.OutboundStreams = cmp.Or(o.muxStreams, 1024)
		}
		sd := &pgfront.SCTPDialer{
			Addrs:     []string{s.serverAddr},
			Config:    ccfg,
			Multiplex: o.multiplex,
			Logger:    s.logs.logger("sctp-client"),
		}
		transport, closeTransport = sd.Dial, func() { sd.Close() }
	} else {
		sl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.serverAddr = sl.Addr().String()
		serve(s.server, sl)
		transport, closeTransport = pgfront.DialNet("tcp", s.serverAddr), func() {}
	}

	s.proxy = &pgfront.Relay{
		Dial:   transport,
		Target: "pgsctp server at " + s.serverAddr,
		Logger: s.logs.logger("proxy"),
	}
	s.proxyDir = t.TempDir()
	s.proxyPort = 5432
	ul, err := pgfront.ListenUnix(s.proxyDir, s.proxyPort)
	if err != nil {
		t.Fatal(err)
	}
	serve(s.proxy, ul)
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.proxyTCP = tl.Addr().String()
	serve(s.proxy, tl)

	s.dialer = &pgdial.Dialer{Transport: func(ctx context.Context, addr string) (net.Conn, error) {
		if addr != s.serverAddr {
			return nil, fmt.Errorf("test dialer: asked for %s, the server relay is at %s", addr, s.serverAddr)
		}
		return transport(ctx)
	}}
	s.stop = sync.OnceFunc(func() {
		cancel()
		wg.Wait()
		closeTransport()
	})
	t.Cleanup(s.stop)
	return s
}

// goConnString is a connection string for Go drivers using s.dialer: the
// host and port are the server relay's.
func (s *stack) goConnString(kv ...string) string {
	host, port, _ := net.SplitHostPort(s.serverAddr)
	parts := []string{"host=" + host, "port=" + port, "user=" + pgtest.User,
		"dbname=" + pgtest.Database, "sslmode=disable", "connect_timeout=10"}
	return strings.Join(append(parts, kv...), " ")
}

// proxyConnString is a connection string for the proxy's Unix socket.
func (s *stack) proxyConnString(kv ...string) string {
	parts := []string{"host=" + s.proxyDir, fmt.Sprintf("port=%d", s.proxyPort), "user=" + pgtest.User,
		"dbname=" + pgtest.Database, "sslmode=disable", "connect_timeout=10"}
	return strings.Join(append(parts, kv...), " ")
}

// checkGoroutines fails the test when, after every later cleanup has run,
// more goroutines are left than when it was called. Goroutines take a
// moment to exit after their conns close, so it waits up to 10 seconds for
// the count to come back.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// eachTransport runs an end-to-end test over each stand-in and real
// transport between proxy (or Go dialer) and server relay: loopback TCP,
// SCTP with an association per session, and SCTP with every session on
// one association.
func eachTransport(t *testing.T, test func(t *testing.T, o stackOptions)) {
	for _, tr := range []struct {
		name string
		o    stackOptions
	}{
		{"tcp", stackOptions{}},
		{"sctp", stackOptions{sctp: true}},
		{"sctp-mux", stackOptions{sctp: true, multiplex: true}},
	} {
		t.Run(tr.name, func(t *testing.T) { test(t, tr.o) })
	}
}
