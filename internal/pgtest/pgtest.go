// Package pgtest starts a throwaway PostgreSQL server for tests.
//
// Each call to Start runs initdb into a fresh temporary directory and starts
// a postmaster listening on a free loopback TCP port and on a private Unix
// socket directory. The cluster knows three roles, each with its own
// authentication method, so tests can exercise the paths a real client takes:
//
//	User (pgtest)          trust, over the socket and loopback TCP; superuser;
//	                       may also connect for replication
//	PasswordUser (pgpass)  scram-sha-256 with Password
//	CertUser (pgcert)      TLS client certificate (only with Options.TLS)
//
// PostgreSQL refuses to run as root. When the test runs as root, initdb and
// postgres run as the "postgres" system user (Debian's packages create it),
// and the temporary directory is handed to that user; otherwise they run as
// the current user.
//
// The binaries are looked for in Options.BinDir, $PGTEST_BINDIR,
// /usr/lib/postgresql/15/bin, the newest /usr/lib/postgresql/*/bin, then
// PATH. When none is found the test is skipped, except on CI (the CI
// environment variable is set), where a missing PostgreSQL is a failure: CI
// must install it (scripts/install-deps.sh).
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Role names and the password of the cluster Start creates.
const (
	User         = "pgtest"
	PasswordUser = "pgpass"
	Password     = "pgtest-secret"
	CertUser     = "pgcert"
	Database     = "postgres"
)

// Options says what kind of server to start. The zero value is a plain
// server without TLS.
type Options struct {
	// TLS turns on ssl=on with a server certificate for localhost,
	// 127.0.0.1 and ::1 signed by a CA made for this server; the CA and a
	// client certificate for CertUser are written beside it (see
	// Server.CAFile and friends).
	TLS bool
	// Settings are extra run-time parameters given to postgres as -c
	// name=value, after pgtest's own (so they win).
	Settings map[string]string
	// BinDir is where initdb and postgres live; empty: search (see the
	// package doc).
	BinDir string
	// StartTimeout bounds initdb plus the wait for the server to accept
	// connections. Zero means 90 seconds.
	StartTimeout time.Duration
}

// Server is a running PostgreSQL started by Start. Its fields are constant
// after Start returns.
type Server struct {
	Host      string // loopback address of the TCP listener: "127.0.0.1"
	Port      int    // TCP port; the Unix socket uses the same number
	SocketDir string // directory holding .s.PGSQL.<Port>
	DataDir   string // the cluster's data directory
	BinDir    string // where postgres, initdb (and usually psql) are

	// TLS material, set when Options.TLS was true. Files are PEM.
	CAFile         string
	ClientCertFile string // for CertUser
	ClientKeyFile  string

	tb      testing.TB
	baseDir string
	logFile string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the postmaster has exited
	waitErr error         // valid after exited is closed

	// What start needs again for Restart.
	run  runAs
	opts Options
	tls  *tlsFiles

	mu      sync.Mutex // guards stopped; serializes Stop and Restart
	stopped bool
}

// SocketPath is the path of the server's Unix socket.
func (s *Server) SocketPath() string {
	return filepath.Join(s.SocketDir, ".s.PGSQL."+strconv.Itoa(s.Port))
}

// Addr is the server's TCP address as host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// ConnString returns a keyword/value connection string for User over
// loopback TCP with sslmode=disable. Extra keyword=value pairs given in kv
// are appended and override earlier ones (libpq and pgx keep the last
// value), e.g. ConnString("user=pgpass", "password=...").
func (s *Server) ConnString(kv ...string) string {
	parts := []string{
		"host=" + s.Host,
		"port=" + strconv.Itoa(s.Port),
		"user=" + User,
		"dbname=" + Database,
		"sslmode=disable",
		"connect_timeout=10",
	}
	return strings.Join(append(parts, kv...), " ")
}

// SocketConnString is ConnString over the Unix socket directory.
func (s *Server) SocketConnString(kv ...string) string {
	return s.ConnString(append([]string{"host=" + s.SocketDir}, kv...)...)
}

// Log returns what the postmaster has written to its log so far.
func (s *Server) Log() string {
	b, err := os.ReadFile(s.logFile)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", s.logFile, err)
	}
	return string(b)
}

// Running reports whether the postmaster process is still alive.
func (s *Server) Running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Stop shuts the server down ("fast" shutdown: PostgreSQL ends every session
// with an error and exits) and waits for the postmaster to exit; after 30
// seconds it escalates to an immediate shutdown and then to SIGKILL. The data
// directory stays until the test's cleanup. Calling Stop again is harmless.
func (s *Server) Stop() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Server) stopLocked() {
	if s.stopped {
		return
	}
	s.stopped = true
	if err := stopProcess(s.cmd.Process, s.exited, 30*time.Second); err != nil {
		s.tb.Errorf("pgtest: stopping postgres: %v", err)
	}
}

// Restart stops the server if it runs and starts it again on the same data
// directory, port and socket directory, as after a crash or a maintenance
// restart. It fails the test if the server does not come back.
func (s *Server) Restart() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := s.start(ctx, s.run, s.opts, s.tls); err != nil {
		s.tb.Fatalf("pgtest: restarting postgres: %v\n--- postgres log ---\n%s", err, s.Log())
	}
	s.stopped = false
}

// Start creates and starts a PostgreSQL cluster for the test and registers
// its teardown (stop, remove files) with tb.Cleanup.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	binDir, err := findBinDir(opts.BinDir)
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("pgtest: PostgreSQL is required on CI: %v", err)
		}
		tb.Skipf("pgtest: PostgreSQL not installed (%v); skipping", err)
	}
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	run, err := currentRunAs()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	base, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := os.RemoveAll(base); err != nil {
			tb.Logf("pgtest: removing %s: %v", base, err)
		}
	})
	s := &Server{
		Host:      "127.0.0.1",
		SocketDir: filepath.Join(base, "sock"),
		DataDir:   filepath.Join(base, "data"),
		BinDir:    binDir,
		tb:        tb,
		run:       run,
		opts:      opts,
		baseDir:   base,
		logFile:   filepath.Join(base, "postgres.log"),
	}
	for _, d := range []string{s.SocketDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			tb.Fatalf("pgtest: %v", err)
		}
	}
	var tlsFiles *tlsFiles
	if opts.TLS {
		tlsFiles, err = writeCerts(filepath.Join(base, "tls"))
		if err != nil {
			tb.Fatalf("pgtest: making certificates: %v", err)
		}
		s.CAFile, s.ClientCertFile, s.ClientKeyFile = tlsFiles.ca, tlsFiles.clientCert, tlsFiles.clientKey
		s.tls = tlsFiles
	}
	// Everything the server reads or writes goes to the postgres user; the
	// client key stays with the test's user (libpq insists on 0600).
	if err := run.chownTree(base, s.ClientKeyFile); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}

	if err := s.initdb(ctx, run); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	if err := writeHBA(filepath.Join(s.DataDir, "pg_hba.conf"), opts.TLS); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}

	// A free port is found by binding port 0 and closing it; another
	// process may take it before postgres binds, so a failed start is
	// retried on a new port.
	var startErr error
	for attempt := 0; attempt < 3; attempt++ {
		s.Port, err = freePort()
		if err != nil {
			tb.Fatalf("pgtest: %v", err)
		}
		startErr = s.start(ctx, run, opts, tlsFiles)
		if startErr == nil {
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	if startErr != nil {
		tb.Fatalf("pgtest: starting postgres: %v\n--- postgres log ---\n%s", startErr, s.Log())
	}
	tb.Cleanup(func() {
		s.Stop()
		if tb.Failed() {
			tb.Logf("pgtest: postgres log (%s):\n%s", s.logFile, s.Log())
		}
	})
	if err := s.createRoles(ctx); err != nil {
		tb.Fatalf("pgtest: creating roles: %v\n--- postgres log ---\n%s", err, s.Log())
	}
	return s
}

func (s *Server) initdb(ctx context.Context, run runAs) error {
	cmd := exec.CommandContext(ctx, filepath.Join(s.BinDir, "initdb"),
		"-D", s.DataDir, "-U", User, "--auth=trust", "-E", "UTF8",
		"--locale=C", "--no-sync", "--no-instructions")
	cmd.Dir = s.baseDir
	cmd.Env = cleanEnv()
	run.apply(cmd)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

func writeHBA(path string, withTLS bool) error {
	var b strings.Builder
	b.WriteString("# written by pgtest\n")
	for _, line := range []string{
		"local all " + User + " trust",
		"host all " + User + " 127.0.0.1/32 trust",
		"host all " + User + " ::1/128 trust",
		"local replication " + User + " trust",
		"host replication " + User + " 127.0.0.1/32 trust",
		"host replication " + User + " ::1/128 trust",
		"local all " + PasswordUser + " scram-sha-256",
		"host all " + PasswordUser + " 127.0.0.1/32 scram-sha-256",
		"host all " + PasswordUser + " ::1/128 scram-sha-256",
	} {
		b.WriteString(line + "\n")
	}
	if withTLS {
		b.WriteString("hostssl all " + CertUser + " 127.0.0.1/32 cert\n")
		b.WriteString("hostssl all " + CertUser + " ::1/128 cert\n")
	}
	// Keep ownership: the file was created by initdb as the server's user;
	// truncating and rewriting keeps its owner.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("writing pg_hba.conf: %w", err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("writing pg_hba.conf: %w", err)
	}
	return f.Close()
}

func (s *Server) start(ctx context.Context, run runAs, opts Options, tf *tlsFiles) error {
	settings := map[string]string{
		"listen_addresses":        s.Host,
		"port":                    strconv.Itoa(s.Port),
		"unix_socket_directories": s.SocketDir,
		"fsync":                   "off",
		"synchronous_commit":      "off",
		"full_page_writes":        "off",
		"max_connections":         "60",
		"shared_buffers":          "32MB",
		"logging_collector":       "off",
		"log_min_messages":        "warning",
		"log_connections":         "off",
		"wal_level":               "replica",
		"max_wal_senders":         "4",
	}
	if tf != nil {
		settings["ssl"] = "on"
		settings["ssl_cert_file"] = tf.serverCert
		settings["ssl_key_file"] = tf.serverKey
		settings["ssl_ca_file"] = tf.ca
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	args := []string{"-D", s.DataDir}
	for _, k := range keys {
		args = append(args, "-c", k+"="+settings[k])
	}

	logf, err := os.OpenFile(s.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child keeps its own descriptor
	// Not CommandContext: the server outlives ctx, which only bounds start.
	cmd := exec.Command(filepath.Join(s.BinDir, "postgres"), args...)
	cmd.Dir = s.DataDir
	cmd.Env = cleanEnv()
	cmd.Stdout = logf
	cmd.Stderr = logf
	run.apply(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	exited := make(chan struct{})
	s.cmd, s.exited = cmd, exited
	go func() {
		s.waitErr = cmd.Wait()
		close(exited)
	}()

	// Ready when a session over the Unix socket works (the socket appears
	// before the server accepts sessions, so its existence is not enough).
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := pgconn.Connect(cctx, s.SocketConnString())
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("postgres exited during start: %v", s.waitErr)
		case <-ctx.Done():
			stopProcess(cmd.Process, exited, 10*time.Second)
			return fmt.Errorf("postgres not ready in time: %w (last error: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func (s *Server) createRoles(ctx context.Context) error {
	conn, err := pgconn.Connect(ctx, s.SocketConnString())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	// The password is a constant of this package, so quoting is simple.
	sql := fmt.Sprintf(`SET password_encryption = 'scram-sha-256';
CREATE ROLE %s LOGIN PASSWORD '%s';
CREATE ROLE %s LOGIN;`, PasswordUser, Password, CertUser)
	return conn.Exec(ctx, sql).Close()
}

// stopProcess sends SIGINT (fast shutdown), then SIGQUIT (immediate), then
// kills, waiting up to grace for each.
func stopProcess(p *os.Process, exited <-chan struct{}, grace time.Duration) error {
	for _, sig := range shutdownSignals() {
		select {
		case <-exited:
			return nil
		default:
		}
		if err := p.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			continue
		}
		select {
		case <-exited:
			return nil
		case <-time.After(grace):
		}
	}
	if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-exited
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// cleanEnv is the environment for initdb and postgres: the PG* variables of
// the test's environment must not leak into the server.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

func findBinDir(explicit string) (string, error) {
	has := func(dir string) bool {
		for _, name := range []string{"postgres", "initdb"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	var tried []string
	try := func(dir string) bool {
		if dir == "" {
			return false
		}
		tried = append(tried, dir)
		return has(dir)
	}
	if explicit != "" {
		if try(explicit) {
			return explicit, nil
		}
		return "", fmt.Errorf("no postgres and initdb in %s", explicit)
	}
	if d := os.Getenv("PGTEST_BINDIR"); try(d) {
		return d, nil
	}
	if d := "/usr/lib/postgresql/15/bin"; try(d) {
		return d, nil
	}
	if dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin"); len(dirs) > 0 {
		sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
		for _, d := range dirs {
			if try(d) {
				return d, nil
			}
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		// Debian's /usr/local/bin links point into the versioned dir,
		// which also holds initdb: follow the link.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if d := filepath.Dir(p); try(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("no postgres and initdb found (looked in %s and PATH)", strings.Join(tried, ", "))
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// runAs says which user initdb and postgres run as.
type runAs struct {
	asOther  bool // run as uid/gid instead of the current user
	uid, gid int
}

func currentRunAs() (runAs, error) {
	if os.Geteuid() != 0 {
		return runAs{}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return runAs{}, fmt.Errorf("running as root needs the postgres system user to run PostgreSQL: %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return runAs{}, fmt.Errorf("postgres user has non-numeric ids %q/%q", u.Uid, u.Gid)
	}
	return runAs{asOther: true, uid: uid, gid: gid}, nil
}

// chownTree hands every file under dir to the server's user, except the
// ones in keep.
func (r runAs) chownTree(dir string, keep ...string) error {
	if !r.asOther {
		return nil
	}
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		for _, k := range keep {
			if k != "" && path == k {
				return nil
			}
		}
		if err := os.Lchown(path, r.uid, r.gid); err != nil {
			return fmt.Errorf("handing %s to the postgres user: %w", path, err)
		}
		return nil
	})
}
