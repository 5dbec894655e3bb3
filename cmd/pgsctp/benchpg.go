package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/pgsctp/pgsctp/bench"
	"github.com/pgsctp/pgsctp/pgfront/pgdial"
	"github.com/pgsctp/pgsctp/sctp"
)

const benchPGUsage = `usage: pgsctp bench-pg [--sctp [--peer-udp-port N] [--multiplex]] [flags] CONNSTRING

A PostgreSQL load generator in Go, the in-process counterpart of pgbench:
N sessions (goroutines) run pgbench's select-only or tpcb-like transactions
for a duration, or one session counts the bytes of a COPY ... TO STDOUT. It
prints one line of name=value pairs (TPS, mean, p50 and p99 latency in ms,
COPY bytes and MB/s), or JSON.

CONNSTRING is a libpq-style connection string for pgx. Without --sctp pgx
dials it over TCP (the reference); with --sctp its host and port name a
pgsctp server's SCTP address and pgx dials through pgdial.SCTP, in-process.
The transaction workloads need the tables of pgbench -i.

  pgsctp bench-pg --workload tpcb-like "host=127.0.0.1 port=5432 user=postgres"
  pgsctp bench-pg --sctp --peer-udp-port 19899 "host=127.0.0.1 port=5432 user=postgres"
  pgsctp bench-pg --workload copy-out --sctp "host=127.0.0.1 port=5432 user=postgres"

Flags (- or --):
`

// runBenchPG is `pgsctp bench-pg`: flags to bench.PGOptions, the run, the
// report. It exits 1 when any transaction failed, after reporting.
func runBenchPG(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pgsctp bench-pg", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchPGUsage)
		fs.PrintDefaults()
	}
	var (
		overSCTP    = fs.Bool("sctp", false, "dial through pgdial.SCTP (in-process SCTP over UDP) instead of TCP")
		peerUDPPort = fs.Int("peer-udp-port", 9899, "with --sctp: the pgsctp server's UDP encapsulation `port`")
		multiplex   = fs.Bool("multiplex", false, "with --sctp: carry every session as a stream of one association")
		mtu         = fs.Int("mtu", 0, "with --sctp: largest SCTP packet in `bytes` this side sends (default the sctp default, 1200)")
		workload    = fs.String("workload", string(bench.PGSelectOnly), "`select-only`, tpcb-like or copy-out")
		clients     = fs.Int("clients", 4, "concurrent sessions (pgbench -c); copy-out uses one")
		duration    = fs.Duration("duration", bench.DefaultDuration, "how long to run transactions (pgbench -T)")
		copyQuery   = fs.String("copy-query", bench.DefaultPGCopyQuery, "copy-out: the COPY ... TO STDOUT `statement`")
		asJSON      = fs.Bool("json", false, "print one JSON object")
	)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "pgsctp bench-pg: want exactly one connection string")
		fmt.Fprintln(stderr, "run pgsctp bench-pg --help for usage")
		return 2
	}
	if *mtu < 0 || *mtu > maxBenchMTU {
		fmt.Fprintf(stderr, "pgsctp bench-pg: --mtu %d out of range 0..%d\n", *mtu, maxBenchMTU)
		return 2
	}
	connString := pos[0]
	if _, err := pgx.ParseConfig(connString); err != nil {
		fmt.Fprintf(stderr, "pgsctp bench-pg: %v\n", err)
		return 2
	}

	o := bench.PGOptions{
		Workload:  bench.PGWorkload(*workload),
		Clients:   *clients,
		Duration:  *duration,
		CopyQuery: *copyQuery,
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			return pgx.Connect(ctx, connString)
		},
	}
	if *overSCTP {
		cfg := &sctp.Config{PeerUDPPort: *peerUDPPort}
		if *mtu > 0 {
			cfg.Assoc.MTU = *mtu
		}
		d := pgdial.SCTP(cfg, *multiplex)
		defer d.Close()
		o.Connect = func(ctx context.Context) (*pgx.Conn, error) {
			return d.Connect(ctx, connString)
		}
	}

	r, err := bench.RunPG(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "pgsctp bench-pg: %v\n", err)
		return 1
	}
	if *asJSON {
		err = json.NewEncoder(stdout).Encode(r)
	} else {
		err = r.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "pgsctp bench-pg: writing the result: %v\n", err)
		return 1
	}
	if r.Errors > 0 {
		fmt.Fprintf(stderr, "pgsctp bench-pg: %d failed transactions; the first: %s\n", r.Errors, r.FirstError)
		return 1
	}
	return 0
}
