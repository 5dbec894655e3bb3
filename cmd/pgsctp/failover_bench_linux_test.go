//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgsctp/pgsctp/internal/netns"
	"github.com/pgsctp/pgsctp/internal/pgtest"
)

// TestFailoverBenchmark is the failover comparison of docs/benchmarks.md,
// run by scripts/bench-failover.sh: it is a benchmark, not a test, and is
// skipped unless PGSCTP_BENCH_FAILOVER names the file for its Markdown
// table. Each transport runs in the same lab (client, router, server
// namespaces), PostgreSQL outside it: pgsctp (proxy and server), MPTCP
// (pgbench under mptcpize, a Go MPTCP relay in front of PostgreSQL, the
// kernel's path manager with an endpoint per extra address) and plain TCP.
// A trial runs pgbench -S with 4 clients for 5 s, fails the client's first
// link silently at 2 s, and sends one query on an idle session 0.5 s after
// the failure. It records the stall (the largest latency of a transaction
// that ended after the failure), the failed transactions, and the time
// the idle query took. Then, the link healed, it fails it again with only
// an idle session open, and times that session's first query 0.5 s
// later: pgsctp's associations of one proxy share what they learn of a
// path (sctp.PathHealth), so the first figure shows an idle session among
// busy ones, the second one alone.
func TestFailoverBenchmark(t *testing.T) {
	out := os.Getenv("PGSCTP_BENCH_FAILOVER")
	if out == "" {
		t.Skip("a benchmark: scripts/bench-failover.sh runs it")
	}
	trials := 20
	if n, err := strconv.Atoi(os.Getenv("PGSCTP_BENCH_TRIALS")); err == nil && n > 0 {
		trials = n
	}
	pg := pgtest.Start(t, pgtest.Options{Settings: map[string]string{"fsync": "off", "synchronous_commit": "off", "max_connections": "200"}})
	if o, err := exec.Command(filepath.Join(pg.BinDir, "pgbench"), "-i", "-s", "1", "-q", "-h", pg.SocketDir, "-p", strconv.Itoa(pg.Port),
		"-U", pgtest.User, pgtest.Database).CombinedOutput(); err != nil {
		t.Fatalf("pgbench -i: %v\n%s", err, o)
	}
	type benchCase struct {
		name   string
		kind   string // pgsctp, mptcp, tcp, tcp-uto
		lab    netns.LabConfig
		trials int
	}
	cases := []benchCase{
		{"pgsctp, 4 client links, 1 server link", "pgsctp", netns.LabConfig{ClientLinks: 4, ServerLinks: 1}, trials},
		{"MPTCP, 4 client links, 1 server link", "mptcp", netns.LabConfig{ClientLinks: 4, ServerLinks: 1}, trials},
		{"pgsctp, 2x2 links", "pgsctp", netns.LabConfig{ClientLinks: 2, ServerLinks: 2}, trials},
		{"MPTCP, 2x2 links", "mptcp", netns.LabConfig{ClientLinks: 2, ServerLinks: 2}, trials},
		{"TCP, libpq tcp_user_timeout=1000", "tcp-uto", netns.LabConfig{ClientLinks: 2, ServerLinks: 1}, min(trials, 5)},
		{"TCP, libpq defaults", "tcp", netns.LabConfig{ClientLinks: 2, ServerLinks: 1}, min(trials, 3)},
	}
	var report bytes.Buffer
	fmt.Fprintf(&report, "| transport | trials | stall p50 | stall p99 | failed transactions (total) | sessions lost | idle query among busy sessions p50 | p99 | idle session alone p50 | p99 |\n|---|---|---|---|---|---|---|---|---|---|\n")
	results := map[string][]trialResult{}
	for _, c := range cases {
		t.Run(c.kind+fmt.Sprint(c.lab.ClientLinks, c.lab.ServerLinks), func(t *testing.T) {
			s := newFailoverStack(t, pg, c.kind, c.lab)
			for i := range c.trials {
				r := s.trial(t, i)
				t.Logf("%s trial %d: stall %v, failed %d, lost %v, idle query %v, alone %v", c.name, i, r.stall, r.failed, r.lost, r.idle, r.alone)
				results[c.name] = append(results[c.name], r)
			}
		})
		rs := results[c.name]
		var stalls, idles, alones []time.Duration
		failed, lost := 0, 0
		for _, r := range rs {
			stalls = append(stalls, r.stall)
			idles = append(idles, r.idle)
			alones = append(alones, r.alone)
			failed += r.failed
			if r.lost {
				lost++
			}
		}
		fmt.Fprintf(&report, "| %s | %d | %s | %s | %d | %d of %d trials | %s | %s | %s | %s |\n", c.name, len(rs),
			fmtMs(pct(stalls, 50)), fmtMs(pct(stalls, 99)), failed, lost, len(rs), fmtMs(pct(idles, 50)), fmtMs(pct(idles, 99)),
			fmtMs(pct(alones, 50)), fmtMs(pct(alones, 99)))
	}
	ratio := func(a, b string, p float64, f func(trialResult) time.Duration) string {
		var x, y []time.Duration
		for _, r := range results[a] {
			x = append(x, f(r))
		}
		for _, r := range results[b] {
			y = append(y, f(r))
		}
		if len(x) == 0 || len(y) == 0 || pct(y, p) == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f", float64(pct(x, p))/float64(pct(y, p)))
	}
	stall := func(r trialResult) time.Duration { return r.stall }
	idle := func(r trialResult) time.Duration { return r.idle }
	alone := func(r trialResult) time.Duration { return r.alone }
	for _, shape := range []string{"4 client links, 1 server link", "2x2 links"} {
		a, b := "pgsctp, "+shape, "MPTCP, "+shape
		fmt.Fprintf(&report, "\npgsctp / MPTCP, %s: stall p50 %s, p99 %s; idle query among busy sessions p50 %s, p99 %s; idle session alone p50 %s, p99 %s\n", shape,
			ratio(a, b, 50, stall), ratio(a, b, 99, stall), ratio(a, b, 50, idle), ratio(a, b, 99, idle), ratio(a, b, 50, alone), ratio(a, b, 99, alone))
	}
	if err := os.WriteFile(out, report.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", report.String())
}

type trialResult struct {
	stall  time.Duration // largest latency of a transaction that ended after the failure
	failed int           // failed transactions pgbench reported
	lost   bool          // a pgbench client aborted (its session was lost) or pgbench hung
	idle   time.Duration // the idle session's first query after the failure, among busy sessions
	alone  time.Duration // the same with no other session open
}

// failoverStack is one transport set up in a lab.
type failoverStack struct {
	kind    string
	lab     *netns.Lab
	pg      *pgtest.Server
	sockDir string // pgsctp: the proxy's socket directory
	port    int
	dir     string
}

func newFailoverStack(t *testing.T, pg *pgtest.Server, kind string, cfg netns.LabConfig) *failoverStack {
	t.Helper()
	s := &failoverStack{kind: kind, pg: pg, dir: t.TempDir()}
	os.Chmod(s.dir, 0o777)
	if kind == "pgsctp" {
		b := startLabBridgeWith(t, labOpts{LabConfig: cfg}, pg)
		s.lab, s.sockDir, s.port = b.lab, b.sockDir, b.port
		return s
	}
	if _, err := exec.LookPath("mptcpize"); err != nil && kind == "mptcp" {
		t.Skip("mptcpize not installed (scripts/bench-failover.sh installs it)")
	}
	lab := netns.NewLabT(t, cfg)
	s.lab, s.port = lab, 5432
	ctx := context.Background()
	if kind == "mptcp" {
		for _, set := range []struct {
			ns    *netns.NS
			links []*netns.Link
			flag  string
		}{{lab.Client, lab.ClientLinks, "subflow"}, {lab.Server, lab.ServerLinks, "signal"}} {
			if err := set.ns.Run(ctx, "ip", "mptcp", "limits", "set", "subflow", "8", "add_addr_accepted", "8"); err != nil {
				t.Fatal(err)
			}
			for _, lk := range set.links[1:] {
				args := []string{"mptcp", "endpoint", "add", lk.Addr.String(), "dev", lk.Dev, set.flag}
				if set.flag == "subflow" {
					args = append(args, "fullmesh")
				}
				if err := set.ns.Run(ctx, "ip", args...); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// The relay in front of PostgreSQL, listening in the server namespace.
	var l net.Listener
	if err := lab.Server.Do(func() (err error) {
		var lc net.ListenConfig
		lc.SetMultipathTCP(kind == "mptcp")
		l, err = lc.Listen(ctx, "tcp", net.JoinHostPort(lab.ServerLinks[0].Addr.String(), "5432"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("unix", pg.SocketPath())
				if err != nil {
					return
				}
				defer u.Close()
				go func() { io.Copy(u, c); u.Close() }()
				io.Copy(c, u)
			}()
		}
	}()
	return s
}

// conninfo is pgbench's and the idle session's connection string.
func (s *failoverStack) conninfo() string {
	if s.kind == "pgsctp" {
		return fmt.Sprintf("host=%s port=%d user=%s dbname=%s", s.sockDir, s.port, pgtest.User, pgtest.Database)
	}
	ci := fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", s.lab.ServerLinks[0].Addr, s.port, pgtest.User, pgtest.Database)
	if s.kind == "tcp-uto" {
		ci += " tcp_user_timeout=1000"
	}
	return ci
}

// pgbench starts pgbench -S with a per-transaction log.
func (s *failoverStack) pgbench(ctx context.Context, logPrefix string) *exec.Cmd {
	args := []string{"-S", "-c", "4", "-j", "2", "-T", "5", "-l", "--log-prefix", logPrefix, s.conninfo()}
	bin := filepath.Join(s.pg.BinDir, "pgbench")
	var cmd *exec.Cmd
	switch s.kind {
	case "pgsctp":
		cmd = exec.CommandContext(ctx, bin, args...)
	case "mptcp":
		cmd = s.lab.Client.Command(ctx, "mptcpize", append([]string{"run", bin}, args...)...)
	default:
		cmd = s.lab.Client.Command(ctx, bin, args...)
	}
	cmd.Dir = s.dir
	return cmd
}

// idleConn opens the idle session, from the client namespace for TCP and
// MPTCP (the proxy's socket for pgsctp).
func (s *failoverStack) idleConn(ctx context.Context) (*pgconn.PgConn, error) {
	cfg, err := pgconn.ParseConfig(s.conninfo())
	if err != nil {
		return nil, err
	}
	if s.kind != "pgsctp" {
		cfg.DialFunc = func(ctx context.Context, network, addr string) (c net.Conn, err error) {
			err = s.lab.Client.Do(func() error {
				var d net.Dialer
				d.SetMultipathTCP(s.kind == "mptcp")
				c, err = d.DialContext(ctx, network, addr)
				return err
			})
			if err == nil && s.kind == "tcp-uto" {
				// libpq's tcp_user_timeout=1000, which pgx does not read.
				if rc, e := c.(*net.TCPConn).SyscallConn(); e == nil {
					rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, 18 /* TCP_USER_TIMEOUT */, 1000) })
				}
			}
			return c, err
		}
	}
	return pgconn.ConnectConfig(ctx, cfg)
}

// trial runs one failure and heals the link afterwards.
func (s *failoverStack) trial(t *testing.T, i int) trialResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var r trialResult
	idle, err := s.idleConn(ctx)
	if err != nil {
		t.Fatalf("idle session: %v", err)
	}
	defer idle.Close(context.Background())
	if _, err := query(ctx, idle, "select 1"); err != nil {
		t.Fatalf("idle session: %v", err)
	}
	prefix := filepath.Join(s.dir, fmt.Sprintf("trial%d", i))
	pctx, pcancel := context.WithTimeout(ctx, 20*time.Second)
	defer pcancel()
	cmd := s.pgbench(pctx, prefix)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	failedAt := time.Now()
	if err := s.lab.Fail(ctx, s.lab.ClientLinks[0]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	qctx, qcancel := context.WithTimeout(ctx, 10*time.Second)
	start := time.Now()
	if _, err := query(qctx, idle, "select 2"); err != nil {
		r.idle = 10 * time.Second // gave up: the session is lost or hangs
	} else {
		r.idle = time.Since(start)
	}
	qcancel()
	werr := cmd.Wait()
	if werr != nil || pctx.Err() != nil {
		r.lost = true
	}
	if m := regexp.MustCompile(`number of failed transactions: (\d+)`).FindStringSubmatch(out.String()); m != nil {
		r.failed, _ = strconv.Atoi(m[1])
	}
	r.stall = stallAfter(t, prefix, failedAt)
	if r.lost {
		// A hung or aborted session stalled at least until the end.
		r.stall = max(r.stall, time.Since(failedAt))
	}
	if err := s.lab.Heal(context.Background(), s.lab.ClientLinks[0]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	r.alone = s.idleAlone(t)
	return r
}

// idleAlone opens one session, fails the link with nothing else open and
// times the session's first query 0.5 s later; then it heals the link.
func (s *failoverStack) idleAlone(t *testing.T) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := s.idleConn(ctx)
	if err != nil {
		t.Fatalf("idle session: %v", err)
	}
	defer c.Close(context.Background())
	if _, err := query(ctx, c, "select 1"); err != nil {
		t.Fatalf("idle session: %v", err)
	}
	time.Sleep(time.Second) // a quiet session: its data acknowledged
	if err := s.lab.Fail(ctx, s.lab.ClientLinks[0]); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.lab.Heal(context.Background(), s.lab.ClientLinks[0]); err != nil {
			t.Error(err)
		}
		time.Sleep(time.Second)
	}()
	time.Sleep(500 * time.Millisecond)
	qctx, qcancel := context.WithTimeout(ctx, 10*time.Second)
	defer qcancel()
	start := time.Now()
	if _, err := query(qctx, c, "select 2"); err != nil {
		return 10 * time.Second
	}
	return time.Since(start)
}

// stallAfter reads pgbench's transaction logs (prefix.PID[.thread]): each
// line is "client tx latency_us script epoch_s epoch_us"; the stall is
// the largest latency of a transaction that ended after t0.
func stallAfter(t *testing.T, prefix string, t0 time.Time) time.Duration {
	files, _ := filepath.Glob(prefix + ".*")
	var worst time.Duration
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 6 {
				continue
			}
			lat, _ := strconv.ParseInt(fs[2], 10, 64)
			sec, _ := strconv.ParseInt(fs[4], 10, 64)
			us, _ := strconv.ParseInt(fs[5], 10, 64)
			if time.Unix(sec, us*1000).After(t0) {
				worst = max(worst, time.Duration(lat)*time.Microsecond)
			}
		}
		fh.Close()
		os.Remove(f)
	}
	return worst
}

// pct is the p-th percentile (nearest rank) of ds.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))]
}

func fmtMs(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf(">= %.0f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}
