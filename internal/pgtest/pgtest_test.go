package pgtest_test

import (
	"context"
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgsctp/pgsctp/internal/pgtest"
)

func query(t *testing.T, connString, sql string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, connString)
	if err != nil {
		t.Fatalf("connect %q: %v", connString, err)
	}
	defer conn.Close(ctx)
	res, err := conn.Exec(ctx, sql).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return string(res[0].Rows[0][0])
}

func TestStartAuthMethods(t *testing.T) {
	s := pgtest.Start(t, pgtest.Options{})
	if got := query(t, s.ConnString(), "select current_user"); got != pgtest.User {
		t.Errorf("tcp trust: current_user = %q", got)
	}
	if got := query(t, s.SocketConnString(), "select current_user"); got != pgtest.User {
		t.Errorf("socket trust: current_user = %q", got)
	}
	pw := s.ConnString("user="+pgtest.PasswordUser, "password="+pgtest.Password)
	if got := query(t, pw, "select current_user"); got != pgtest.PasswordUser {
		t.Errorf("scram: current_user = %q", got)
	}
	if got := query(t, s.ConnString(), "select current_setting('password_encryption')"); got != "scram-sha-256" {
		t.Errorf("password_encryption = %q", got)
	}
	// A wrong password must fail: the password role is not trusted.
	_, err := pgconn.Connect(context.Background(), s.ConnString("user="+pgtest.PasswordUser, "password=wrong"))
	if err == nil || !strings.Contains(err.Error(), "28P01") {
		t.Errorf("wrong password: err = %v, want SQLSTATE 28P01", err)
	}
	if _, err := os.Stat(s.SocketPath()); err != nil {
		t.Errorf("socket: %v", err)
	}
	s.Stop()
	if s.Running() {
		t.Error("still running after Stop")
	}
	if _, err := pgconn.Connect(context.Background(), s.ConnString()); err == nil {
		t.Error("connect after Stop succeeded")
	}
	s.Stop() // harmless again

	s.Restart()
	if got := query(t, pw, "select current_user"); got != pgtest.PasswordUser {
		t.Errorf("after Restart: current_user = %q", got)
	}
	s.Restart() // from running, too
	if got := query(t, s.SocketConnString(), "select 1"); got != "1" {
		t.Errorf("after a second Restart: %q", got)
	}
}

func TestStartTLS(t *testing.T) {
	s := pgtest.Start(t, pgtest.Options{TLS: true})
	for _, host := range []string{"127.0.0.1", "localhost"} {
		cs := s.ConnString("host="+host, "sslmode=verify-full", "sslrootcert="+s.CAFile)
		if got := query(t, cs, "select ssl::text from pg_stat_ssl where pid = pg_backend_pid()"); got != "true" {
			t.Errorf("%s: ssl = %q", host, got)
		}
	}
	cert := s.ConnString("user="+pgtest.CertUser, "sslmode=verify-full", "sslrootcert="+s.CAFile,
		"sslcert="+s.ClientCertFile, "sslkey="+s.ClientKeyFile)
	if got := query(t, cert, "select current_user"); got != pgtest.CertUser {
		t.Errorf("cert auth: current_user = %q", got)
	}
	// Without the client certificate the cert role is refused.
	cfg, err := pgconn.ParseConfig(s.ConnString("user="+pgtest.CertUser, "sslmode=require"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	if c, err := pgconn.ConnectConfig(context.Background(), cfg); err == nil {
		c.Close(context.Background())
		t.Error("cert role connected without a certificate")
	}
}

// TestPsql checks that libpq programs work against the server, the way the
// end-to-end tests use them.
func TestPsql(t *testing.T) {
	s := pgtest.Start(t, pgtest.Options{})
	psql := filepath.Join(s.BinDir, "psql")
	if _, err := os.Stat(psql); err != nil {
		t.Skipf("no psql: %v", err)
	}
	out, err := exec.Command(psql, "-X", "-A", "-t", "-h", s.SocketDir, "-p", s.Addr()[len(s.Host)+1:],
		"-U", pgtest.User, "-d", pgtest.Database, "-c", "select 40+2").CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != "42" {
		t.Errorf("psql printed %q", out)
	}
}
