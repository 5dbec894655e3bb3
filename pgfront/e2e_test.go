package pgfront_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgsctp/pgsctp/internal/pgtest"
	"github.com/pgsctp/pgsctp/pgfront"
)

func psql(t *testing.T, pg *pgtest.Server, args ...string) string {
	t.Helper()
	bin := filepath.Join(pg.BinDir, "psql")
	if _, err := os.Stat(bin); err != nil {
		if p, err := exec.LookPath("psql"); err == nil {
			bin = p
		} else {
			t.Skip("no psql")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-X", "-A", "-t", "-v", "ON_ERROR_STOP=1"}, args...)...)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql %q: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestPsqlThroughProxy(t *testing.T) { eachTransport(t, testPsqlThroughProxy) }

func testPsqlThroughProxy(t *testing.T, o stackOptions) {
	checkGoroutines(t)
	s := startStack(t, o)
	port := strconv.Itoa(s.proxyPort)
	got := psql(t, s.pg, "-h", s.proxyDir, "-p", port, "-U", pgtest.User, "-d", pgtest.Database,
		"-c", "select 'via socket ' || current_user")
	if got != "via socket "+pgtest.User {
		t.Errorf("psql over the proxy socket printed %q", got)
	}
	host, tport, _ := net.SplitHostPort(s.proxyTCP)
	got = psql(t, s.pg, "-h", host, "-p", tport, "-U", pgtest.User, "-d", pgtest.Database,
		"-c", "select inet_client_addr() is null") // the relay reaches PostgreSQL by its socket
	if got != "t" {
		t.Errorf("psql over the proxy TCP listener printed %q", got)
	}
	// A SCRAM password exchange goes through unchanged.
	cmd := []string{"-h", s.proxyDir, "-p", port, "-U", pgtest.PasswordUser, "-d", pgtest.Database, "-c", "select current_user"}
	t.Setenv("PGPASSWORD", pgtest.Password)
	if got := psql(t, s.pg, cmd...); got != pgtest.PasswordUser {
		t.Errorf("scram through the proxy: %q", got)
	}
	// Both relays named the session in their logs.
	for _, relay := range []string{"proxy", "server"} {
		if len(s.logs.find(relay, "session start", "user", pgtest.PasswordUser, "database", pgtest.Database)) == 0 {
			t.Errorf("%s logged no session start for %s", relay, pgtest.PasswordUser)
		}
	}
	s.stop()
}

func TestGoDrivers(t *testing.T) { eachTransport(t, testGoDrivers) }

func testGoDrivers(t *testing.T, o stackOptions) {
	checkGoroutines(t)
	s := startStack(t, o)
	ctx := context.Background()

	t.Run("pgx", func(t *testing.T) {
		conn, err := s.dialer.Connect(ctx, s.goConnString("application_name=pgx-test"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		if err := conn.QueryRow(ctx, "select $1::int + 1", 41).Scan(&n); err != nil || n != 42 {
			t.Fatalf("select: %d, %v", n, err)
		}
		// The relay sees the session while it runs.
		found := false
		for _, si := range s.server.Sessions() {
			if si.Application == "pgx-test" && si.User == pgtest.User && si.Kind == pgfront.KindStartup {
				found = true
			}
		}
		if !found {
			t.Errorf("server relay's Sessions() has no pgx-test session: %+v", s.server.Sessions())
		}
	})
	t.Run("database/sql over pgx", func(t *testing.T) {
		db, err := s.dialer.OpenDB(s.goConnString())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		checkSQL(t, db)
	})
	t.Run("lib/pq", func(t *testing.T) {
		db, err := s.dialer.OpenPQ(s.goConnString())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		checkSQL(t, db)
	})
	t.Run("scram", func(t *testing.T) {
		conn, err := s.dialer.Connect(ctx, s.goConnString("user="+pgtest.PasswordUser, "password="+pgtest.Password))
		if err != nil {
			t.Fatal(err)
		}
		conn.Close(ctx)
		_, err = s.dialer.Connect(ctx, s.goConnString("user="+pgtest.PasswordUser, "password=wrong"))
		if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
			t.Errorf("wrong password: %v, want SQLSTATE 28P01 from PostgreSQL", err)
		}
	})
	t.Run("replication", func(t *testing.T) {
		cfg, err := pgconn.ParseConfig(s.goConnString("replication=database"))
		if err != nil {
			t.Fatal(err)
		}
		s.dialer.Configure(cfg)
		conn, err := pgconn.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		res, err := conn.Exec(ctx, "IDENTIFY_SYSTEM").ReadAll()
		if err != nil || len(res) != 1 || len(res[0].Rows) != 1 {
			t.Fatalf("IDENTIFY_SYSTEM: %v %v", res, err)
		}
		if len(s.logs.find("server", "session start", "replication", "database")) == 0 {
			t.Error("no replication session logged")
		}
	})
	s.stop()
}

func checkSQL(t *testing.T, db *sql.DB) {
	t.Helper()
	ctx := context.Background()
	var user string
	var n int
	if err := db.QueryRowContext(ctx, "select current_user, $1::int * 2", 21).Scan(&user, &n); err != nil {
		t.Fatal(err)
	}
	if user != pgtest.User || n != 42 {
		t.Errorf("got %q %d", user, n)
	}
	// A short-lived cancel: the driver sends a cancel request through the
	// same dialer, and PostgreSQL reports the query as canceled.
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err := db.ExecContext(cctx, "select pg_sleep(30)")
	if err == nil {
		t.Fatal("pg_sleep(30) was not interrupted")
	}
	t.Logf("canceled query: %v", err)
}

// TestCancel checks that pgx's cancel request reaches PostgreSQL: pgx dials
// the RemoteAddr of the session's conn again, through the same dialer.
func TestCancel(t *testing.T) { eachTransport(t, testCancel) }

func testCancel(t *testing.T, o stackOptions) {
	checkGoroutines(t)
	s := startStack(t, o)
	ctx := context.Background()
	conn, err := s.dialer.Connect(ctx, s.goConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var pid uint32
	if err := conn.QueryRow(ctx, "select pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = conn.Exec(qctx, "select pg_sleep(30)")
	if err == nil {
		t.Fatal("pg_sleep(30) was not interrupted")
	}
	t.Logf("canceled query: %v", err)
	// pgx reports the context's error whatever the server said, so check
	// that the cancel request went through the relay and that PostgreSQL
	// acted on it.
	// pgx sends the cancel request on its own goroutine: wait for it.
	want := fmt.Sprintf("[%d] ERROR:  canceling statement due to user request", pid)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		relayed := len(s.logs.find("server", "session start", "kind", pgfront.KindCancel, "pid", fmt.Sprint(pid))) > 0
		canceled := strings.Contains(s.pg.Log(), want)
		if relayed && canceled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cancel request relayed: %v; PostgreSQL logged %q: %v", relayed, want, canceled)
		}
	}
	conn.Close(ctx)
	s.stop()
}

// TestCopy moves a few MB each way with COPY and compares checksums.
func TestCopy(t *testing.T) { eachTransport(t, testCopy) }

func testCopy(t *testing.T, o stackOptions) {
	checkGoroutines(t)
	s := startStack(t, o)
	ctx := context.Background()
	// Through the proxy's socket: both relays carry the data.
	conn, err := pgconn.Connect(ctx, s.proxyConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "create temp table blob (line text)").ReadAll(); err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	rng := rand.New(rand.NewPCG(1, 2))
	for in.Len() < 4<<20 {
		fmt.Fprintf(&in, "%016x%016x line %d\n", rng.Uint64(), rng.Uint64(), in.Len())
	}
	want := sha256.Sum256(in.Bytes())
	tag, err := conn.CopyFrom(ctx, bytes.NewReader(in.Bytes()), "copy blob from stdin")
	if err != nil {
		t.Fatal(err)
	}
	lines := int64(bytes.Count(in.Bytes(), []byte("\n")))
	if tag.RowsAffected() != lines {
		t.Errorf("COPY FROM: %d rows, want %d", tag.RowsAffected(), lines)
	}
	var out bytes.Buffer
	if _, err := conn.CopyTo(ctx, &out, "copy blob to stdout"); err != nil {
		t.Fatal(err)
	}
	if got := sha256.Sum256(out.Bytes()); got != want {
		t.Errorf("COPY TO returned %d bytes with another checksum than the %d sent", out.Len(), in.Len())
	}
	// PostgreSQL computes the checksum too: the data arrived unchanged.
	res, err := conn.Exec(ctx, "select encode(sha256(convert_to(string_agg(line || E'\\n', '' order by ctid), 'UTF8')), 'hex') from blob").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res[0].Rows[0][0]); got != fmt.Sprintf("%x", want) {
		t.Errorf("PostgreSQL's checksum %s, want %x", got, want)
	}
	conn.Close(ctx)
	s.stop()
}

func TestListenNotify(t *testing.T) { eachTransport(t, testListenNotify) }

func testListenNotify(t *testing.T, o stackOptions) {
	checkGoroutines(t)
	s := startStack(t, o)
	ctx := context.Background()
	listener, err := s.dialer.Connect(ctx, s.goConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(ctx)
	if _, err := listener.Exec(ctx, "listen pgsctp_test"); err != nil {
		t.Fatal(err)
	}
	notifier, err := pgx.Connect(ctx, s.proxyConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer notifier.Close(ctx)
	for i := range 3 {
		if _, err := notifier.Exec(ctx, "select pg_notify('pgsctp_test', $1)", fmt.Sprint("hello ", i)); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		n, err := listener.WaitForNotification(wctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if n.Channel != "pgsctp_test" || n.Payload != fmt.Sprint("hello ", i) {
			t.Errorf("notification %d: %+v", i, n)
		}
	}
	listener.Close(ctx)
	notifier.Close(ctx)
	s.stop()
}

// TestPostgresUnreachable: the client gets PostgreSQL's own kind of
// answer, an ErrorResponse, naming what could not be reached.
func TestPostgresUnreachable(t *testing.T) {
	checkGoroutines(t)
	s := startStack(t, stackOptions{serverDial: pgfront.DialNet("unix", filepath.Join(t.TempDir(), ".s.PGSQL.1"))})
	ctx := context.Background()
	_, err := s.dialer.Connect(ctx, s.goConnString())
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "08001" || !strings.Contains(pgErr.Message, "pgsctp: cannot reach PostgreSQL at") {
		t.Fatalf("connect with PostgreSQL away: %v", err)
	}
	// libpq through the proxy reports the same message.
	bin := filepath.Join(s.pg.BinDir, "psql")
	out, err := exec.Command(bin, "-X", "-h", s.proxyDir, "-p", strconv.Itoa(s.proxyPort), "-U", pgtest.User, "-c", "select 1").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "pgsctp: cannot reach PostgreSQL at") {
		t.Errorf("psql: %v\n%s", err, out)
	}
	s.stop()
}

// TestPostgresStops stops PostgreSQL under running sessions: each one must
// end with a clear error, and the relay must let go of all of them.
func TestPostgresStops(t *testing.T) { eachTransport(t, testPostgresStops) }

func testPostgresStops(t *testing.T, o stackOptions) {
	checkGoroutines(t)
	s := startStack(t, o)
	ctx := context.Background()
	const n = 3
	conns := make([]*pgx.Conn, n)
	for i := range conns {
		var err error
		if i%2 == 0 {
			conns[i], err = s.dialer.Connect(ctx, s.goConnString())
		} else {
			conns[i], err = pgx.Connect(ctx, s.proxyConnString())
		}
		if err != nil {
			t.Fatal(err)
		}
		defer conns[i].Close(ctx)
	}
	sleeping := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		_, err := conns[0].Exec(ctx, "select pg_sleep(60)")
		sleeping <- err
	}()
	<-started
	// Wait until PostgreSQL runs the sleep, so that the stop hits it.
	for {
		var c int
		if err := conns[1].QueryRow(ctx, "select count(*) from pg_stat_activity where query like 'select pg_sleep(60)%' and state = 'active'").Scan(&c); err != nil {
			t.Fatal(err)
		}
		if c > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.pg.Stop()

	var pgErr *pgconn.PgError
	err := <-sleeping
	t.Logf("session 0 (running pg_sleep): %v", err)
	if !errors.As(err, &pgErr) || pgErr.Code != "57P01" {
		t.Errorf("running query: %v, want admin_shutdown (57P01)", err)
	}
	for i := 1; i < n; i++ {
		_, err := conns[i].Exec(ctx, "select 1")
		t.Logf("session %d (idle): %v", i, err)
		if err == nil {
			t.Errorf("session %d still works after PostgreSQL stopped", i)
		}
	}
	// The relays end every session.
	for deadline := time.Now().Add(20 * time.Second); len(s.server.Sessions())+len(s.proxy.Sessions()) > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("sessions left: server %+v, proxy %+v", s.server.Sessions(), s.proxy.Sessions())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err = s.dialer.Connect(ctx, s.goConnString())
	if !errors.As(err, &pgErr) || !strings.Contains(pgErr.Message, "cannot reach PostgreSQL") {
		t.Errorf("new session after the stop: %v", err)
	}
	// The relays keep no state about PostgreSQL: once it is back, new
	// sessions work through the same relays (and the same association).
	s.pg.Restart()
	for i, connect := range []func() (*pgx.Conn, error){
		func() (*pgx.Conn, error) { return s.dialer.Connect(ctx, s.goConnString()) },
		func() (*pgx.Conn, error) { return pgx.Connect(ctx, s.proxyConnString()) },
	} {
		c, err := connect()
		if err != nil {
			t.Fatalf("path %d after PostgreSQL restarted: %v", i, err)
		}
		var one int
		if err := c.QueryRow(ctx, "select 1").Scan(&one); err != nil {
			t.Errorf("path %d after PostgreSQL restarted: %v", i, err)
		}
		c.Close(ctx)
	}
	for _, c := range conns {
		c.Close(ctx)
	}
	s.stop()
}

// TestTooManySessions: beyond MaxSessions a client gets SQLSTATE 53300.
func TestTooManySessions(t *testing.T) {
	checkGoroutines(t)
	s := startStack(t, stackOptions{serverMax: 2})
	ctx := context.Background()
	var open []*pgx.Conn
	for range 2 {
		c, err := s.dialer.Connect(ctx, s.goConnString())
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	_, err := s.dialer.Connect(ctx, s.goConnString())
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "53300" {
		t.Errorf("third session: %v, want too_many_connections (53300)", err)
	}
	open[0].Close(ctx)
	for deadline := time.Now().Add(20 * time.Second); len(s.server.Sessions()) > 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("closed session still counted")
		}
	}
	c, err := s.dialer.Connect(ctx, s.goConnString())
	if err != nil {
		t.Fatalf("after one session ended: %v", err)
	}
	c.Close(ctx)
	open[1].Close(ctx)
	s.stop()
}

// TestManySessions runs sessions in parallel through both paths.
func TestManySessions(t *testing.T) { eachTransport(t, testManySessions) }

func testManySessions(t *testing.T, o stackOptions) {
	checkGoroutines(t)
	s := startStack(t, o)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Go(func() {
			var conn *pgx.Conn
			var err error
			if i%2 == 0 {
				conn, err = s.dialer.Connect(ctx, s.goConnString())
			} else {
				conn, err = pgx.Connect(ctx, s.proxyConnString())
			}
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close(ctx)
			var got int
			if err := conn.QueryRow(ctx, "select $1::int", i).Scan(&got); err != nil || got != i {
				errs <- fmt.Errorf("session %d: %d %v", i, got, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s.stop()
}

var _ = io.EOF

// TestMuxStreamReuse runs more sessions, one after another, than the
// multiplexed association has streams, so stream numbers are reused: a
// long-lived proxy reuses every stream number sooner or later.
func TestMuxStreamReuse(t *testing.T) {
	checkGoroutines(t)
	s := startStack(t, stackOptions{sctp: true, multiplex: true, muxStreams: 4})
	ctx := context.Background()
	for i := range 12 {
		conn, err := pgx.Connect(ctx, s.proxyConnString())
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		var got int
		if err := conn.QueryRow(ctx, "select $1::int", i).Scan(&got); err != nil || got != i {
			t.Fatalf("session %d: %d %v", i, got, err)
		}
		conn.Close(ctx)
	}
	s.stop()
}

// TestMuxServerStreams runs more multiplexed sessions at once than the
// server has outbound streams: the proxy uses only streams both ends may
// send on, and the sessions beyond them get associations of their own.
func TestMuxServerStreams(t *testing.T) {
	checkGoroutines(t)
	s := startStack(t, stackOptions{sctp: true, multiplex: true, serverStreams: 16})
	ctx := context.Background()
	var conns []*pgx.Conn
	defer func() {
		for _, c := range conns {
			c.Close(ctx)
		}
	}()
	for i := range 20 {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		conn, err := pgx.Connect(cctx, s.proxyConnString())
		cancel()
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		conns = append(conns, conn)
	}
}
