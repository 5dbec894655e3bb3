package pgfront_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgsctp/pgsctp/internal/pgtest"
)

// TestPsqlCancel: Ctrl-C in psql sends a cancel request (libpq's PQcancel)
// to the same socket, which the proxy and the server relay carry to
// PostgreSQL.
func TestPsqlCancel(t *testing.T) { eachTransport(t, testPsqlCancel) }

func testPsqlCancel(t *testing.T, o stackOptions) {
	checkGoroutines(t)
	s := startStack(t, o)
	bin := filepath.Join(s.pg.BinDir, "psql")
	if _, err := os.Stat(bin); err != nil {
		t.Skip("no psql")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-X", "-h", s.proxyDir, "-p", strconv.Itoa(s.proxyPort),
		"-U", pgtest.User, "-d", pgtest.Database, "-c", "select pg_sleep(30)")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	watch, err := pgconn.Connect(context.Background(), s.pg.SocketConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close(context.Background())
	for {
		res, err := watch.Exec(ctx, "select count(*) from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'").ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if string(res[0].Rows[0][0]) != "0" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("psql did not end after SIGINT: %s", out.String())
	}
	if err == nil || !strings.Contains(out.String(), "canceling statement due to user request") {
		t.Errorf("psql after SIGINT: %v\n%s", err, out.String())
	}
	watch.Close(context.Background())
	s.stop()
}

// TestPgbench runs a short pgbench through the proxy's socket: many
// sessions and queries from a libpq program.
func TestPgbench(t *testing.T) { eachTransport(t, testPgbench) }

func testPgbench(t *testing.T, o stackOptions) {
	checkGoroutines(t)
	s := startStack(t, o)
	bin := filepath.Join(s.pg.BinDir, "pgbench")
	if _, err := os.Stat(bin); err != nil {
		t.Skip("no pgbench")
	}
	common := []string{"-h", s.proxyDir, "-p", strconv.Itoa(s.proxyPort), "-U", pgtest.User}
	run := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, append(common, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("pgbench %q: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("-i", "-s", "1", "-q", pgtest.Database)
	out := run("-c", "4", "-j", "2", "-t", "50", "-C", pgtest.Database)
	t.Logf("pgbench:\n%s", out)
	if !strings.Contains(out, "number of transactions actually processed: 200/200") {
		t.Errorf("pgbench did not process all transactions:\n%s", out)
	}
	if !strings.Contains(out, "number of failed transactions: 0") {
		t.Errorf("pgbench had failures:\n%s", out)
	}
	s.stop()
}
