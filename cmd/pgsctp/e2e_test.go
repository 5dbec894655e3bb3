package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/pgsctp/pgsctp/internal/pcapwriter"
	"github.com/pgsctp/pgsctp/internal/pgtest"
	"github.com/pgsctp/pgsctp/pgfront/pgdial"
	"github.com/pgsctp/pgsctp/sctp"
)

// These tests run pgsctp server and pgsctp proxy (in-process, through the
// same dispatch as the command) between real clients (psql, pgbench,
// pg_basebackup, pgx, database/sql, lib/pq) and a real PostgreSQL 15.

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemonProc is a server or proxy running in-process.
type daemonProc struct {
	cancel context.CancelFunc
	done   chan int
	log    *syncBuffer
	once   sync.Once
}

func startDaemon(t *testing.T, args ...string) *daemonProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemonProc{cancel: cancel, done: make(chan int, 1), log: &syncBuffer{}}
	go func() { d.done <- dispatch(ctx, args, nil, io.Discard, d.log) }()
	t.Cleanup(func() { d.stop(t) })
	return d
}

// stop ends the daemon as SIGTERM would and checks it exits 0.
func (d *daemonProc) stop(t *testing.T) {
	d.once.Do(func() {
		d.cancel()
		select {
		case code := <-d.done:
			if code != 0 {
				t.Errorf("daemon exited %d; log:\n%s", code, d.log.String())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("daemon did not stop; log:\n%s", d.log.String())
		}
	})
}

func (d *daemonProc) waitLog(t *testing.T, substr string) {
	t.Helper()
	for i := 0; i < 300; i++ {
		if strings.Contains(d.log.String(), substr) {
			return
		}
		select {
		case code := <-d.done:
			d.done <- code
			t.Fatalf("daemon exited %d before %q; log:\n%s", code, substr, d.log.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no %q in log:\n%s", substr, d.log.String())
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// bridge is PostgreSQL behind pgsctp server behind pgsctp proxy.
type bridge struct {
	pg        *pgtest.Server
	server    *daemonProc
	proxy     *daemonProc
	udpPort   int
	sockDir   string // the proxy's socket directory
	port      int    // the proxy's .s.PGSQL.<port>, and its TCP port
	serverAdm string
}

type bridgeOpts struct {
	tls        bool     // PostgreSQL with TLS, upstream over TCP, proxy TCP listener
	serverArgs []string // more flags for the server
	proxyArgs  []string
}

func startBridge(t *testing.T, o bridgeOpts) *bridge {
	t.Helper()
	udp, _ := strconv.Atoi(freeUDPPort(t))
	b := &bridge{pg: pgtest.Start(t, pgtest.Options{TLS: o.tls}), udpPort: udp, port: freeTCPPort(t)}
	dir := t.TempDir()
	b.sockDir = filepath.Join(dir, "proxy")
	if err := os.Mkdir(b.sockDir, 0o755); err != nil {
		t.Fatal(err)
	}
	b.serverAdm = filepath.Join(dir, "server.admin")
	upstream := []string{"--upstream", b.pg.SocketDir, "--upstream-port", strconv.Itoa(b.pg.Port)}
	if o.tls {
		upstream = []string{"--upstream", b.pg.Addr()}
	}
	sargs := append([]string{"server", "--listen", "127.0.0.1:5432", "--udp-port", strconv.Itoa(b.udpPort),
		"--admin-socket", b.serverAdm, "--sctp-rto-min", "200ms", "--sctp-rto-initial", "500ms"}, upstream...)
	b.server = startDaemon(t, append(sargs, o.serverArgs...)...)
	b.server.waitLog(t, "pgsctp server ready")
	pargs := []string{"proxy", "--server", "127.0.0.1:5432", "--peer-udp-port", strconv.Itoa(b.udpPort),
		"--socket-dir", b.sockDir, "--port", strconv.Itoa(b.port), "--admin-socket", filepath.Join(dir, "proxy.admin")}
	if o.tls {
		pargs = append(pargs, "--listen", "127.0.0.1:"+strconv.Itoa(b.port))
	}
	b.proxy = startDaemon(t, append(pargs, o.proxyArgs...)...)
	b.proxy.waitLog(t, "pgsctp proxy ready")
	return b
}

// psql runs psql through the proxy's Unix socket.
func (b *bridge) psql(t *testing.T, stdin io.Reader, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(b.pg.BinDir, "psql"), append([]string{"-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", b.sockDir, "-p", strconv.Itoa(b.port), "-U", pgtest.User, pgtest.Database}, args...)...)
	cmd.Stdin = stdin
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (b *bridge) goDialer(t *testing.T, multiplex bool) *pgdial.SCTPDialer {
	d := pgdial.SCTP(&sctp.Config{PeerUDPPort: b.udpPort}, multiplex)
	t.Cleanup(func() { d.Close() })
	return d
}

func (b *bridge) goConnString() string {
	return fmt.Sprintf("host=127.0.0.1 port=5432 user=%s dbname=%s sslmode=disable", pgtest.User, pgtest.Database)
}

func TestBridgeClients(t *testing.T) {
	b := startBridge(t, bridgeOpts{})

	t.Run("psql", func(t *testing.T) {
		out, err := b.psql(t, nil, "-c", "select 40 + 2")
		if err != nil || strings.TrimSpace(out) != "42" {
			t.Fatalf("psql: %v: %q", err, out)
		}
	})

	t.Run("pgbench", func(t *testing.T) {
		pgbench := filepath.Join(b.pg.BinDir, "pgbench")
		common := []string{"-h", b.sockDir, "-p", strconv.Itoa(b.port), "-U", pgtest.User}
		if out, err := exec.Command(pgbench, append(append([]string{"-i", "-s", "1", "-q"}, common...), pgtest.Database)...).CombinedOutput(); err != nil {
			t.Fatalf("pgbench -i: %v\n%s", err, out)
		}
		out, err := exec.Command(pgbench, append(append([]string{"-c", "4", "-j", "2", "-t", "100"}, common...), pgtest.Database)...).CombinedOutput()
		if err != nil {
			t.Fatalf("pgbench: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "number of transactions actually processed: 400/400") ||
			!strings.Contains(string(out), "number of failed transactions: 0") {
			t.Fatalf("pgbench did not complete every transaction:\n%s", out)
		}
	})

	t.Run("pgx", func(t *testing.T) {
		ctx := context.Background()
		conn, err := b.goDialer(t, false).Connect(ctx, b.goConnString())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		if err := conn.QueryRow(ctx, "select $1::int * 2", 21).Scan(&n); err != nil || n != 42 {
			t.Fatalf("query: %v %d", err, n)
		}
	})

	for _, mode := range []struct {
		name      string
		multiplex bool
	}{{"database/sql", false}, {"database/sql multiplexed", true}} {
		t.Run(mode.name, func(t *testing.T) {
			db, err := b.goDialer(t, mode.multiplex).OpenDB(b.goConnString())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var got int
					if err := db.QueryRow("select $1::int + pg_backend_pid() * 0", i).Scan(&got); err != nil || got != i {
						errs <- fmt.Errorf("session %d: %v %d", i, err, got)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}

	t.Run("lib/pq", func(t *testing.T) {
		db, err := b.goDialer(t, false).OpenPQ(b.goConnString())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var s string
		if err := db.QueryRow("select 'pq over sctp'").Scan(&s); err != nil || s != "pq over sctp" {
			t.Fatalf("%v %q", err, s)
		}
	})

	t.Run("cancel interrupts pg_sleep", func(t *testing.T) {
		// pgx sends the CancelRequest on a new connection to the
		// session's RemoteAddr, through the same dialer.
		d := b.goDialer(t, false)
		cfg, err := d.ParseConfig(b.goConnString())
		if err != nil {
			t.Fatal(err)
		}
		// Ask pgx to cancel with a CancelRequest (its default closes the
		// connection instead).
		cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
			return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 10 * time.Second}
		}
		conn, err := pgx.ConnectConfig(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = conn.Exec(ctx, "select pg_sleep(60)")
		if err == nil {
			t.Fatal("pg_sleep(60) was not interrupted")
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code != "57014" {
			t.Fatalf("pg_sleep ended with %v, want query_canceled (57014)", err)
		}
		// A cancel, not a dropped connection: the session goes on.
		var one int
		if err := conn.QueryRow(context.Background(), "select 1").Scan(&one); err != nil {
			t.Fatalf("session unusable after the cancel (%v after %v): %v", err, time.Since(start), err)
		}
		b.server.waitLog(t, "cancel request")
	})

	t.Run("LISTEN/NOTIFY", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		d := b.goDialer(t, true)
		l, err := d.Connect(ctx, b.goConnString())
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close(ctx)
		if _, err := l.Exec(ctx, "listen pgsctp_test"); err != nil {
			t.Fatal(err)
		}
		n, err := d.Connect(ctx, b.goConnString())
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close(ctx)
		if _, err := n.Exec(ctx, "select pg_notify('pgsctp_test', 'over sctp')"); err != nil {
			t.Fatal(err)
		}
		note, err := l.WaitForNotification(ctx)
		if err != nil || note.Payload != "over sctp" {
			t.Fatalf("notification %+v, %v", note, err)
		}
	})

	t.Run("COPY 100 MB in and out", func(t *testing.T) {
		if _, err := b.psql(t, nil, "-c", "create table copytest (n int, s text)"); err != nil {
			t.Fatal(err)
		}
		// 100 MB of rows, hashed as they are generated.
		in := sha256.New()
		pr, pw := io.Pipe()
		go func() {
			w := bufio.NewWriterSize(io.MultiWriter(pw, in), 1<<16)
			line := strings.Repeat("x", 90)
			for i := 0; i < 1_000_000; i++ {
				fmt.Fprintf(w, "%d\t%s\n", i, line)
			}
			w.Flush()
			pw.Close()
		}()
		if out, err := b.psql(t, pr, "-c", "copy copytest from stdin"); err != nil {
			t.Fatalf("copy in: %v %s", err, out)
		}
		cmd := exec.Command(filepath.Join(b.pg.BinDir, "psql"), "-X", "-h", b.sockDir, "-p", strconv.Itoa(b.port),
			"-U", pgtest.User, pgtest.Database, "-c", "copy (select * from copytest order by n) to stdout")
		out := sha256.New()
		var n countWriter
		cmd.Stdout = io.MultiWriter(out, &n)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("copy out: %v %s", err, stderr.String())
		}
		if !bytes.Equal(in.Sum(nil), out.Sum(nil)) {
			t.Fatalf("COPY out (%d bytes) differs from what went in", n)
		}
		t.Logf("copied %d bytes in and out, checksums equal", int64(n))
	})

	t.Run("pg_basebackup", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "backup")
		cmd := exec.Command(filepath.Join(b.pg.BinDir, "pg_basebackup"), "-h", b.sockDir, "-p", strconv.Itoa(b.port),
			"-U", pgtest.User, "-D", dst, "-X", "stream", "-c", "fast", "--no-sync")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pg_basebackup: %v\n%s", err, out)
		}
		if out, err := exec.Command(filepath.Join(b.pg.BinDir, "pg_verifybackup"), "-n", dst).CombinedOutput(); err != nil {
			t.Fatalf("pg_verifybackup: %v\n%s", err, out)
		}
	})

	t.Run("garbage instead of a startup packet", func(t *testing.T) {
		c, err := net.Dial("unix", filepath.Join(b.sockDir, ".s.PGSQL."+strconv.Itoa(b.port)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		reply, _ := io.ReadAll(c)
		if len(reply) == 0 || reply[0] != 'E' || !bytes.Contains(reply, []byte("08P01")) {
			t.Fatalf("reply %q, want an ErrorResponse with SQLSTATE 08P01", reply)
		}
		// Others go on.
		if out, err := b.psql(t, nil, "-c", "select 'still here'"); err != nil || strings.TrimSpace(out) != "still here" {
			t.Fatalf("after garbage: %v %q", err, out)
		}
	})

	t.Run("client vanishes mid-COPY", func(t *testing.T) {
		ctx := context.Background()
		conn, err := b.goDialer(t, false).Connect(ctx, b.goConnString())
		if err != nil {
			t.Fatal(err)
		}
		var pid int
		conn.QueryRow(ctx, "select pg_backend_pid()").Scan(&pid)
		pr, pw := io.Pipe()
		go func() {
			pw.Write(bytes.Repeat([]byte("1\tpartial\n"), 10000))
			// then the client dies: its connection is torn down under it
			conn.PgConn().Conn().Close()
			pw.CloseWithError(errors.New("client died"))
		}()
		conn.PgConn().CopyFrom(ctx, pr, "copy copytest from stdin")
		// The backend goes away; others go on.
		for i := 0; ; i++ {
			out, err := b.psql(t, nil, "-c", fmt.Sprintf("select count(*) from pg_stat_activity where pid = %d", pid))
			if err != nil {
				t.Fatalf("psql: %v %s", err, out)
			}
			if strings.TrimSpace(out) == "0" {
				break
			}
			if i == 200 {
				t.Fatalf("backend %d of the vanished client still there", pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("status", func(t *testing.T) {
		var out bytes.Buffer
		if code := dispatch(context.Background(), []string{"status", "--admin-socket", b.serverAdm}, nil, &out, io.Discard); code != 0 {
			t.Fatalf("status exited %d", code)
		}
		if !strings.Contains(out.String(), "pgsctp server") || !strings.Contains(out.String(), "listening: 127.0.0.1:5432") {
			t.Fatalf("status:\n%s", out.String())
		}
	})
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// TLS stays end to end: psql verifies PostgreSQL's certificate through both
// relays (sslmode=verify-full) and binds SCRAM to the TLS channel
// (SCRAM-SHA-256-PLUS, channel_binding=require); a client certificate
// authenticates too.
func TestBridgeTLS(t *testing.T) {
	b := startBridge(t, bridgeOpts{tls: true})
	psql := filepath.Join(b.pg.BinDir, "psql")
	base := fmt.Sprintf("host=127.0.0.1 port=%d dbname=%s sslmode=verify-full sslrootcert=%s", b.port, pgtest.Database, b.pg.CAFile)
	for _, tc := range []struct{ name, conn string }{
		{"scram channel binding", fmt.Sprintf("%s user=%s password=%s channel_binding=require", base, pgtest.PasswordUser, pgtest.Password)},
		{"client certificate", fmt.Sprintf("%s user=%s sslcert=%s sslkey=%s", base, pgtest.CertUser, b.pg.ClientCertFile, b.pg.ClientKeyFile)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(psql, "-X", "-A", "-t", tc.conn, "-c", "select ssl from pg_stat_ssl where pid = pg_backend_pid()").CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "t" {
				t.Fatalf("psql: %v\n%s", err, out)
			}
		})
	}
}

// Access control: a peer outside allowed_networks is refused with an ABORT
// that says why, and the server logs one line.
func TestBridgeRefusesPeer(t *testing.T) {
	b := startBridge(t, bridgeOpts{serverArgs: []string{"--allowed-networks", "10.0.0.0/8"}})
	out, err := b.psql(t, nil, "-c", "select 1")
	if err == nil {
		t.Fatalf("psql got in from outside allowed_networks: %s", out)
	}
	if !strings.Contains(out, "allowed_networks") {
		t.Errorf("psql's error does not say why: %s", out)
	}
	b.server.waitLog(t, "refusing association")
}

// PostgreSQL stopped while sessions run: the session gets an error, a new
// session gets a clear ErrorResponse, the server keeps running, and
// sessions work again once PostgreSQL is back... here, a fresh check that
// the server itself still answers.
func TestBridgePostgresStops(t *testing.T) {
	b := startBridge(t, bridgeOpts{})
	ctx := context.Background()
	conn, err := b.goDialer(t, false).Connect(ctx, b.goConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	b.pg.Stop()
	if _, err := conn.Exec(ctx, "select 1"); err == nil {
		t.Fatal("query succeeded with PostgreSQL stopped")
	}
	out, err := b.psql(t, nil, "-c", "select 1")
	if err == nil || !strings.Contains(out, "cannot reach PostgreSQL") {
		t.Fatalf("new session with PostgreSQL down: %v %q", err, out)
	}
	var status bytes.Buffer
	if code := dispatch(ctx, []string{"status", "--admin-socket", b.serverAdm}, nil, &status, io.Discard); code != 0 {
		t.Fatalf("server gone after PostgreSQL stopped (status exit %d)", code)
	}
}

// openFDs counts this process's open file descriptors (Linux), -1 elsewhere.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// After the daemons stop, their goroutines and sockets are gone.
func TestBridgeNoLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	fdsBefore := openFDs()
	func() {
		b := startBridge(t, bridgeOpts{})
		for range 3 {
			if out, err := b.psql(t, nil, "-c", "select 1"); err != nil {
				t.Fatalf("%v %s", err, out)
			}
		}
		b.proxy.stop(t)
		b.server.stop(t)
	}()
	// Bounded poll, not a timing assertion: the proxy's sockets of
	// sessions it shut down linger (sctp.DefaultShutdownLinger) first.
	// PostgreSQL's cleanup has not run yet: its log file may be open, so
	// allow a couple of descriptors and goroutines.
	for i := 0; ; i++ {
		n, fds := runtime.NumGoroutine(), openFDs()
		if n <= before+2 && fds <= fdsBefore+2 {
			return
		}
		if i == 200 {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines and %d file descriptors before, %d and %d after stopping:\n%s",
				before, fdsBefore, n, fds, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// capture_file: the server and the proxy write every SCTP packet of a psql
// session to pcap files that tshark decodes without a malformed packet or
// a bad checksum.
func TestBridgeCaptureFile(t *testing.T) {
	dir := t.TempDir()
	srvCap, proxyCap := filepath.Join(dir, "server.pcap"), filepath.Join(dir, "proxy.pcap")
	b := startBridge(t, bridgeOpts{serverArgs: []string{"--capture-file", srvCap}, proxyArgs: []string{"--capture-file", proxyCap}})
	if out, err := b.psql(t, nil, "-c", "select 'captured'"); err != nil || strings.TrimSpace(out) != "captured" {
		t.Fatalf("psql: %v: %q", err, out)
	}
	b.proxy.stop(t)
	b.server.stop(t)
	for _, f := range []string{srvCap, proxyCap} {
		fi, err := os.Stat(f)
		if err != nil || fi.Size() <= 24 {
			t.Fatalf("%s: %v, %v bytes: no packets captured", f, err, fi)
		}
		pcapwriter.Check(t, f, b.udpPort)
	}
}
