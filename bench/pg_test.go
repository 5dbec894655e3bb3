package bench

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgsctp/pgsctp/internal/pgtest"
)

// startPGBench starts a throwaway PostgreSQL with pgbench's tables at scale
// 1, and returns it with a Connect function over TCP.
func startPGBench(t *testing.T) (*pgtest.Server, func(context.Context) (*pgx.Conn, error)) {
	t.Helper()
	srv := pgtest.Start(t, pgtest.Options{Settings: map[string]string{"fsync": "off"}})
	pgbench := filepath.Join(srv.BinDir, "pgbench")
	out, err := exec.Command(pgbench, "-i", "-s", "1", "-q", "-h", srv.Host, "-p", strconv.Itoa(srv.Port),
		"-U", pgtest.User, pgtest.Database).CombinedOutput()
	if err != nil {
		t.Fatalf("pgbench -i: %v\n%s", err, out)
	}
	return srv, func(ctx context.Context) (*pgx.Conn, error) { return pgx.Connect(ctx, srv.ConnString()) }
}

func TestRunPGTPCBKeepsTheBooksBalanced(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	_, connect := startPGBench(t)
	ctx := context.Background()

	r, err := RunPG(ctx, PGOptions{Connect: connect, Workload: PGTPCB, Clients: 3, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 0 || r.Transactions == 0 {
		t.Fatalf("%d transactions, %d errors (first: %s)", r.Transactions, r.Errors, r.FirstError)
	}
	if !r.CPUMeasured || r.CPUUserSecs+r.CPUSystemSecs <= 0 || r.CPUMicrosPerTx <= 0 {
		t.Errorf("no CPU time measured over %d transactions: %+v", r.Transactions, r)
	}
	if r.Latency == nil || r.Latency.Samples != r.Transactions {
		t.Fatalf("latency samples %+v, want %d", r.Latency, r.Transactions)
	}

	// Every committed transaction added the same delta to one account, one
	// teller and one branch, and wrote one history row: the four sums agree
	// and the history counts exactly the transactions RunPG reported.
	c, err := connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var accounts, tellers, branches, history, rows int64
	err = c.QueryRow(ctx, `select (select sum(abalance) from pgbench_accounts), (select sum(tbalance) from pgbench_tellers),
		(select sum(bbalance) from pgbench_branches), (select coalesce(sum(delta), 0) from pgbench_history),
		(select count(*) from pgbench_history)`).Scan(&accounts, &tellers, &branches, &history, &rows)
	if err != nil {
		t.Fatal(err)
	}
	if accounts != tellers || tellers != branches || branches != history {
		t.Errorf("balances disagree: accounts %d, tellers %d, branches %d, history %d", accounts, tellers, branches, history)
	}
	if rows != int64(r.Transactions) {
		t.Errorf("pgbench_history has %d rows, RunPG reported %d transactions", rows, r.Transactions)
	}

	var text strings.Builder
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"workload=tpcb-like ", "clients=3 ", "errors=0 ", "transactions=" + strconv.Itoa(r.Transactions) + " ", "p99_ms="} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("WriteText %q lacks %q", text.String(), want)
		}
	}
}

func TestRunPGSelectOnlyAndCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	_, connect := startPGBench(t)
	ctx := context.Background()

	r, err := RunPG(ctx, PGOptions{Connect: connect, Workload: PGSelectOnly, Clients: 2, Duration: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 0 || r.Transactions == 0 || r.TPS <= 0 {
		t.Fatalf("%+v", r)
	}

	// 1000 rows of 9 characters and a newline: exactly 10,000 bytes.
	r, err = RunPG(ctx, PGOptions{Connect: connect, Workload: PGCopyOut,
		CopyQuery: "copy (select repeat('y', 9) from generate_series(1, 1000)) to stdout"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 0 || r.Transactions != 1 || r.Bytes != 10000 {
		t.Fatalf("copy-out: %+v, want 10000 bytes in one transaction", r)
	}

	// A failing COPY is reported as an error of the run, not of RunPG.
	r, err = RunPG(ctx, PGOptions{Connect: connect, Workload: PGCopyOut, CopyQuery: "copy no_such_table to stdout"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 1 || !strings.Contains(r.FirstError, "no_such_table") {
		t.Fatalf("copy of a missing table: %+v", r)
	}
}

func TestRunPGRefusesBadOptions(t *testing.T) {
	ctx := context.Background()
	if _, err := RunPG(ctx, PGOptions{}); err == nil {
		t.Error("RunPG without Connect succeeded")
	}
	connect := func(context.Context) (*pgx.Conn, error) { return nil, nil }
	if _, err := RunPG(ctx, PGOptions{Connect: connect, Workload: "tpcc"}); err == nil || !strings.Contains(err.Error(), "tpcc") {
		t.Errorf("unknown workload: %v", err)
	}
}
