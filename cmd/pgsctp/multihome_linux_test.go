//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
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

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/internal/netns"
	"github.com/pgsctp/pgsctp/internal/pgtest"
	"github.com/pgsctp/pgsctp/pgfront"
)

// These tests put pgsctp server and pgsctp proxy in network namespaces,
// a client with several links and a server with one or more joined by a
// router (internal/netns), and fail a link silently while PostgreSQL
// sessions run through them. PostgreSQL, psql and pgbench stay in the
// test's namespace: they reach the proxy and the server by Unix sockets,
// which cross namespaces.

// nsProc is the pgsctp command running in a namespace.
type nsProc struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

func startInNS(t *testing.T, ns *netns.NS, args ...string) *nsProc {
	t.Helper()
	p := &nsProc{cmd: ns.Command(context.Background(), os.Args[0], args...), log: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), asMainEnv+"=1")
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
			t.Errorf("%v did not stop on SIGTERM; log:\n%s", args, p.log.String())
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", args[0], p.log.String())
		}
	})
	return p
}

func (p *nsProc) waitLog(t *testing.T, substr string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(p.log.String(), substr) {
		select {
		case <-p.done:
			t.Fatalf("exited (%v) before %q; log:\n%s", p.cmd.ProcessState, substr, p.log.String())
		case <-deadline:
			t.Fatalf("no %q in log:\n%s", substr, p.log.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// labBridge is PostgreSQL behind pgsctp server (in the lab's server
// namespace) behind pgsctp proxy (in its client namespace).
type labBridge struct {
	lab                 *netns.Lab
	pg                  *pgtest.Server
	sockDir             string
	port                int
	serverAdm, proxyAdm string
	server, proxy       *nsProc
}

type labOpts struct {
	netns.LabConfig
	multiplex bool
	// serverConf, if set, is the server's pgsctp.conf: it then listens
	// on the addresses the file says (listen_addresses), which a test
	// may change and reload with SIGHUP, and the proxy dials the first
	// server link only.
	serverConf string
}

func startLabBridge(t *testing.T, o labOpts) *labBridge {
	t.Helper()
	return startLabBridgeWith(t, o, nil)
}

// startLabBridgeWith is startLabBridge in front of pg (nil: a PostgreSQL
// of its own).
func startLabBridgeWith(t *testing.T, o labOpts, pg *pgtest.Server) *labBridge {
	t.Helper()
	return startLabBridgeOn(t, netns.NewLabT(t, o.LabConfig), o, pg)
}

// startLabBridgeOn is startLabBridgeWith in a lab the test made.
func startLabBridgeOn(t *testing.T, lab *netns.Lab, o labOpts, pg *pgtest.Server) *labBridge {
	t.Helper()
	if pg == nil {
		pg = pgtest.Start(t, pgtest.Options{})
	}
	b := &labBridge{lab: lab, pg: pg, port: freeTCPPort(t)}
	dir := t.TempDir()
	// The postgres user (PostgreSQL runs as it) and the proxy's clients
	// need to reach the socket directory.
	os.Chmod(dir, 0o755)
	b.sockDir = filepath.Join(dir, "proxy")
	if err := os.Mkdir(b.sockDir, 0o755); err != nil {
		t.Fatal(err)
	}
	b.serverAdm, b.proxyAdm = filepath.Join(dir, "server.admin"), filepath.Join(dir, "proxy.admin")
	var hosts []string
	for _, lk := range lab.ServerLinks {
		hosts = append(hosts, lk.Addr.String())
		if lk.Addr6.IsValid() {
			hosts = append(hosts, "["+lk.Addr6.String()+"]")
		}
	}
	addrs := strings.Join(hosts, ",") + ":5432"
	listen := []string{"--listen", addrs}
	if o.serverConf != "" {
		listen = []string{"-c", o.serverConf}
		addrs = lab.ServerLinks[0].Addr.String() + ":5432"
	}
	b.server = startInNS(t, lab.Server, append(append([]string{"server"}, listen...),
		"--upstream", b.pg.SocketDir, "--upstream-port", strconv.Itoa(b.pg.Port), "--admin-socket", b.serverAdm)...)
	b.server.waitLog(t, "pgsctp server ready")
	pargs := []string{"proxy", "--server", addrs, "--local-addresses", "*",
		"--socket-dir", b.sockDir, "--port", strconv.Itoa(b.port), "--admin-socket", b.proxyAdm}
	if o.multiplex {
		pargs = append(pargs, "--multiplex")
	}
	b.proxy = startInNS(t, lab.Client, pargs...)
	b.proxy.waitLog(t, "pgsctp proxy ready")
	return b
}

func (b *labBridge) pgbench(ctx context.Context, args ...string) *exec.Cmd {
	common := []string{"-h", b.sockDir, "-p", strconv.Itoa(b.port), "-U", pgtest.User}
	return exec.CommandContext(ctx, filepath.Join(b.pg.BinDir, "pgbench"), append(append(args, common...), pgtest.Database)...)
}

// status reads the role's report through its admin socket.
func (b *labBridge) status(t *testing.T, adm string) pgfront.Report {
	t.Helper()
	var out bytes.Buffer
	if code := dispatch(context.Background(), []string{"status", "--json", "--admin-socket", adm}, nil, &out, io.Discard); code != 0 {
		t.Fatalf("status exited %d", code)
	}
	var rs []pgfront.Report
	if err := json.Unmarshal(out.Bytes(), &rs); err != nil || len(rs) != 1 {
		t.Fatalf("status: %v\n%s", err, out.String())
	}
	return rs[0]
}

// connect opens a pgx session through the proxy's Unix socket.
func (b *labBridge) connect(t *testing.T) *pgconn.PgConn {
	t.Helper()
	c, err := pgconn.Connect(context.Background(), fmt.Sprintf("host=%s port=%d user=%s dbname=%s", b.sockDir, b.port, pgtest.User, pgtest.Database))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func query(ctx context.Context, c *pgconn.PgConn, sql string) (string, error) {
	res := c.ExecParams(ctx, sql, nil, nil, nil, nil).Read()
	if res.Err != nil {
		return "", res.Err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		return "", fmt.Errorf("%q: %d rows", sql, len(res.Rows))
	}
	return string(res.Rows[0][0]), nil
}

// pathsOf lists the paths of every association in a report.
func pathsOf(r pgfront.Report) []assoc.PathStats {
	var ps []assoc.PathStats
	for _, a := range r.Associations {
		ps = append(ps, a.Stats.Paths...)
	}
	return ps
}

// runPgbenchFailing runs pgbench for 8 seconds and fails link lk after 3;
// it checks that every client finished with no failed transaction.
func runPgbenchFailing(t *testing.T, b *labBridge, lk *netns.Link) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := b.pgbench(ctx, "-i", "-s", "1", "-q").CombinedOutput(); err != nil {
		t.Fatalf("pgbench -i: %v\n%s", err, out)
	}
	cmd := b.pgbench(ctx, "-c", "4", "-j", "2", "-T", "8", "-P", "1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if err := b.lab.Fail(ctx, lk); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	t.Logf("pgbench with %s failed at 3s:\n%s", lk.Dev, out.String())
	if err != nil {
		t.Fatalf("pgbench: %v (a client lost its session)", err)
	}
	if !strings.Contains(out.String(), "number of failed transactions: 0 ") {
		t.Fatalf("pgbench reports failed transactions")
	}
	m := regexp.MustCompile(`number of transactions actually processed: (\d+)`).FindStringSubmatch(out.String())
	if m == nil || m[1] == "0" {
		t.Fatalf("pgbench processed no transaction")
	}
}

// psqlSession is an interactive psql through the proxy: queries go to
// its stdin, answers come from its stdout.
type psqlSession struct {
	in  io.WriteCloser
	out *syncBuffer
	cmd *exec.Cmd
}

func (b *labBridge) psqlSession(t *testing.T) *psqlSession {
	t.Helper()
	s := &psqlSession{out: &syncBuffer{}}
	s.cmd = exec.Command(filepath.Join(b.pg.BinDir, "psql"), "-X", "-A", "-t", "-h", b.sockDir, "-p", strconv.Itoa(b.port), "-U", pgtest.User, pgtest.Database)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	var err error
	if s.in, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.in.Close(); s.cmd.Process.Kill(); s.cmd.Wait() })
	return s
}

// ask sends a query whose answer is the marker and waits for it.
func (s *psqlSession) ask(t *testing.T, marker string) {
	t.Helper()
	if _, err := fmt.Fprintf(s.in, "select '%s';\n", marker); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for !strings.Contains(s.out.String(), marker+"\n") {
		select {
		case <-deadline:
			t.Fatalf("psql did not answer %q; output:\n%s", marker, s.out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// The asymmetric case: a client with four links, a server with
// one. pgbench runs through proxy and server while the client's first
// link dies silently: no transaction fails, and an idle psql session
// opened before the failure answers its next query.
func TestLabPgbenchFailover4x1(t *testing.T) {
	b := startLabBridge(t, labOpts{LabConfig: netns.LabConfig{ClientLinks: 4, ServerLinks: 1}})
	idle := b.psqlSession(t)
	idle.ask(t, "before the failure")
	runPgbenchFailing(t, b, b.lab.ClientLinks[0])
	idle.ask(t, "after the failure")
	// The proxy's associations each have a path per client link, and
	// the one over the dead link is out of use.
	dead := b.lab.ClientLinks[0].Addr
	r := b.status(t, b.proxyAdm)
	if len(r.Associations) == 0 {
		t.Fatal("proxy reports no association")
	}
	for _, a := range r.Associations {
		if n := len(a.Stats.Paths); n != 4 {
			t.Errorf("association with %d paths, want 4: %+v", n, a.Stats.Paths)
		}
	}
	for _, p := range pathsOf(r) {
		if p.Local == dead && p.State == assoc.PathActive && p.Data {
			t.Errorf("data still goes over the dead link: %+v", p)
		}
	}
}

// Symmetric 2x2 with --multiplex: every session is a stream of one
// association, and they all survive the loss of the server's first link
// together.
func TestLabPgbenchFailover2x2Multiplex(t *testing.T) {
	b := startLabBridge(t, labOpts{LabConfig: netns.LabConfig{ClientLinks: 2, ServerLinks: 2}, multiplex: true})
	runPgbenchFailing(t, b, b.lab.ServerLinks[0])
	r := b.status(t, b.proxyAdm)
	if len(r.Associations) != 1 {
		t.Fatalf("multiplexed proxy has %d associations, want 1", len(r.Associations))
	}
	if n := len(r.Associations[0].Stats.Paths); n != 4 {
		t.Errorf("2x2 association with %d paths, want 4", n)
	}
}

// copyData is the rows of a COPY of size about n bytes, made the same way
// each time.
func copyData(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%d\t%x\n", i, sha256.Sum256([]byte(strconv.Itoa(i))))
	}
	return b.Bytes()
}

// failAfter is an io.Reader (COPY in) or io.Writer (COPY out) that fails
// a link once n bytes went through.
type failAfter struct {
	r     io.Reader
	w     io.Writer
	n     int
	fail  func()
	count int
}

func (f *failAfter) step(k int) {
	if f.count < f.n && f.count+k >= f.n {
		f.fail()
	}
	f.count += k
}

func (f *failAfter) Read(p []byte) (int, error) {
	k, err := f.r.Read(p)
	f.step(k)
	return k, err
}

func (f *failAfter) Write(p []byte) (int, error) {
	f.step(len(p))
	return f.w.Write(p)
}

// 100 MB COPY in and out, each while a link dies: the table and what
// comes back are the bytes sent.
func TestLabCopyFailover(t *testing.T) {
	b := startLabBridge(t, labOpts{LabConfig: netns.LabConfig{ClientLinks: 3, ServerLinks: 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := b.connect(t)
	if err := c.Exec(ctx, "create table copytest (n int, h text)").Close(); err != nil {
		t.Fatal(err)
	}
	data := copyData(100 << 20)
	fail := func(lk *netns.Link) func() {
		return func() {
			if err := b.lab.Fail(ctx, lk); err != nil {
				t.Error(err)
			}
		}
	}
	in := &failAfter{r: bytes.NewReader(data), n: len(data) / 3, fail: fail(b.lab.ClientLinks[0])}
	tag, err := c.CopyFrom(ctx, in, "copy copytest from stdin")
	if err != nil {
		t.Fatalf("COPY in: %v", err)
	}
	if want := int64(bytes.Count(data, []byte("\n"))); tag.RowsAffected() != want {
		t.Fatalf("COPY in: %d rows, want %d", tag.RowsAffected(), want)
	}
	h := sha256.New()
	out := &failAfter{w: h, n: len(data) / 3, fail: fail(b.lab.ClientLinks[1])}
	if _, err := c.CopyTo(ctx, out, "copy (select * from copytest order by n) to stdout"); err != nil {
		t.Fatalf("COPY out: %v", err)
	}
	if got, want := h.Sum(nil), sha256.Sum256(data); !bytes.Equal(got, want[:]) {
		t.Fatalf("COPY out gave %d bytes with another checksum than the %d sent", out.count, len(data))
	}
	if in.count < len(data) || out.count != len(data) {
		t.Fatalf("COPY moved %d in and %d out of %d bytes", in.count, out.count, len(data))
	}
}

// IPv4 and IPv6 on the same association: every client and server
// address of both families is listed, the association pairs each family
// with itself, and when IPv4 stops on the link the session goes on over
// IPv6.
func TestLabMixedFamilies(t *testing.T) {
	b := startLabBridge(t, labOpts{LabConfig: netns.LabConfig{ClientLinks: 1, ServerLinks: 1, IPv6: true}})
	c := b.connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := query(ctx, c, "select 1"); err != nil {
		t.Fatal(err)
	}
	r := b.status(t, b.proxyAdm)
	var v4, v6 bool
	for _, p := range pathsOf(r) {
		v4 = v4 || p.Addr.Addr().Is4()
		v6 = v6 || p.Addr.Addr().Is6()
		if p.Local.Is4() != p.Addr.Addr().Is4() {
			t.Errorf("path mixes families: %+v", p)
		}
	}
	if !v4 || !v6 {
		t.Fatalf("paths %+v: want IPv4 and IPv6 paths", pathsOf(r))
	}
	if err := b.lab.FailIPv4(ctx, b.lab.ClientLinks[0]); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if v, err := query(ctx, c, fmt.Sprintf("select %d", i)); err != nil || v != strconv.Itoa(i) {
			t.Fatalf("query %d over IPv6: %q %v", i, v, err)
		}
	}
	for _, p := range pathsOf(b.status(t, b.proxyAdm)) {
		if p.Data && !p.Addr.Addr().Is6() {
			t.Errorf("data goes to %v with IPv4 dead", p.Addr)
		}
	}
}

// Moving house (RFC 5061): pgbench runs through proxy and server while the
// client gets a new link (its address appears) and then loses its old one
// (the address goes and the link dies), so no link is the same at the end
// as at the start. The proxy follows the host's addresses ('*') and moves
// every association with ASCONF: no transaction fails, and the idle psql
// session opened on the old link answers on the new one.
func TestLabMovingHouse(t *testing.T) {
	lab := netns.NewLabT(t, netns.LabConfig{ClientLinks: 2, ServerLinks: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	oldLink, newLink := lab.ClientLinks[0], lab.ClientLinks[1]
	if err := lab.RemoveAddr(ctx, newLink); err != nil {
		t.Fatal(err)
	}
	b := startLabBridgeOn(t, lab, labOpts{}, nil)
	idle := b.psqlSession(t)
	idle.ask(t, "on the old link")
	if out, err := b.pgbench(ctx, "-i", "-s", "1", "-q").CombinedOutput(); err != nil {
		t.Fatalf("pgbench -i: %v\n%s", err, out)
	}
	cmd := b.pgbench(ctx, "-c", "4", "-j", "2", "-T", "10", "-P", "1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if err := lab.RestoreAddr(ctx, newLink); err != nil {
		t.Fatal(err)
	}
	appeared := time.Now()
	for time.Since(appeared) < 3*time.Second {
		// A measurement for the log, not an assertion: how long from the
		// address appearing to a confirmed path from it.
		if slices.ContainsFunc(pathsOf(b.status(t, b.proxyAdm)), func(p assoc.PathStats) bool {
			return p.Local == newLink.Addr && p.State == assoc.PathActive
		}) {
			t.Logf("new address in use %v after it appeared", time.Since(appeared).Round(time.Millisecond))
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(3*time.Second - time.Since(appeared))
	// The old address goes, the default route moves to the new link (as
	// DHCP would), and the old link dies.
	if err := lab.RemoveAddr(ctx, oldLink); err != nil {
		t.Fatal(err)
	}
	if err := lab.SetDefaultRoute(ctx, newLink); err != nil {
		t.Fatal(err)
	}
	if err := lab.Fail(ctx, oldLink); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	t.Logf("pgbench while moving from %s to %s:\n%s", oldLink.Addr, newLink.Addr, out.String())
	if err != nil || !strings.Contains(out.String(), "number of failed transactions: 0 ") {
		t.Fatalf("pgbench: %v (a client lost its session, or transactions failed)", err)
	}
	idle.ask(t, "on the new link")
	r := b.status(t, b.proxyAdm)
	for _, p := range pathsOf(r) {
		if p.Local == oldLink.Addr {
			t.Errorf("a path from the old address is left: %+v", p)
		}
	}
	if !strings.Contains(b.proxy.log.String(), "address change") {
		t.Errorf("the proxy logged no address change:\n%s", b.proxy.log.String())
	}
	// pgsctp status shows them too: every association added the new
	// address and deleted the old one, both acknowledged.
	for _, a := range r.Associations {
		var added, deleted bool
		for _, c := range a.Changes {
			added = added || (c.Local && c.Op == "add" && c.Addr == newLink.Addr && c.OK)
			deleted = deleted || (c.Local && c.Op == "delete" && c.Addr == oldLink.Addr && c.OK)
		}
		if !added || !deleted {
			t.Errorf("association %v: address changes %+v, want the add of %v and the delete of %v", a.Local, a.Changes, newLink.Addr, oldLink.Addr)
		}
	}
}

// The server's addresses change under load with SIGHUP: listen_addresses
// gains a second address (every running association adds it with ASCONF)
// and then loses the first (deleted, and its link dies). pgbench goes on
// with no failed transaction.
func TestLabServerAddressesReload(t *testing.T) {
	lab := netns.NewLabT(t, netns.LabConfig{ClientLinks: 1, ServerLinks: 2})
	conf := filepath.Join(t.TempDir(), "pgsctp.conf")
	s0, s1 := lab.ServerLinks[0].Addr, lab.ServerLinks[1].Addr
	write := func(addrs string) {
		if err := os.WriteFile(conf, []byte("listen_addresses = '"+addrs+"'\nport = 5432\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(s0.String())
	b := startLabBridgeOn(t, lab, labOpts{serverConf: conf}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := b.pgbench(ctx, "-i", "-s", "1", "-q").CombinedOutput(); err != nil {
		t.Fatalf("pgbench -i: %v\n%s", err, out)
	}
	cmd := b.pgbench(ctx, "-c", "4", "-j", "2", "-T", "9", "-P", "1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	write(s0.String() + "," + s1.String())
	b.server.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(3 * time.Second)
	write(s1.String())
	b.server.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(time.Second)
	if err := lab.Fail(ctx, lab.ServerLinks[0]); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	t.Logf("pgbench while the server moved from %v to %v:\n%s", s0, s1, out.String())
	if err != nil || !strings.Contains(out.String(), "number of failed transactions: 0 ") {
		t.Fatalf("pgbench: %v (a client lost its session, or transactions failed)", err)
	}
	for _, p := range pathsOf(b.status(t, b.proxyAdm)) {
		if p.Addr.Addr() == s0 {
			t.Errorf("the proxy still has a path to the deleted server address: %+v", p)
		}
	}
	if !strings.Contains(b.server.log.String(), "listen addresses changed") {
		t.Errorf("the server did not apply the reload:\n%s", b.server.log.String())
	}
}
