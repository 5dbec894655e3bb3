package pgfront_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/internal/pgtest"
	"github.com/pgsctp/pgsctp/pgfront"
	"github.com/pgsctp/pgsctp/pgfront/pgdial"
)

// TestTLSEndToEnd: TLS runs between the client and PostgreSQL through both
// relays, with full verification of PostgreSQL's certificate, and client
// certificates authenticate. PostgreSQL offers TLS only over TCP, so here
// the server relay reaches it over loopback TCP.
func TestTLSEndToEnd(t *testing.T) { eachTransport(t, testTLSEndToEnd) }

func testTLSEndToEnd(t *testing.T, o stackOptions) {
	checkGoroutines(t)
	o.pgOpts, o.backendTCP = pgtest.Options{TLS: true}, true
	s := startStack(t, o)
	host, port, _ := net.SplitHostPort(s.proxyTCP)
	const sslQuery = "select ssl::text || ' ' || current_user from pg_stat_ssl where pid = pg_backend_pid()"

	t.Run("psql verify-full via proxy TCP", func(t *testing.T) {
		for _, h := range []string{host, "localhost"} {
			cs := fmt.Sprintf("host=%s port=%s user=%s dbname=%s sslmode=verify-full sslrootcert=%s",
				h, port, pgtest.User, pgtest.Database, s.pg.CAFile)
			if got := psql(t, s.pg, "-d", cs, "-c", sslQuery); got != "true "+pgtest.User {
				t.Errorf("%s: %q", h, got)
			}
		}
		if len(s.logs.find("proxy", "session start", "kind", pgfront.KindSSL)) == 0 {
			t.Error("proxy logged no ssl request")
		}
	})
	t.Run("psql client certificate", func(t *testing.T) {
		cs := fmt.Sprintf("host=%s port=%s user=%s dbname=%s sslmode=verify-full sslrootcert=%s sslcert=%s sslkey=%s",
			host, port, pgtest.CertUser, pgtest.Database, s.pg.CAFile, s.pg.ClientCertFile, s.pg.ClientKeyFile)
		if got := psql(t, s.pg, "-d", cs, "-c", sslQuery); got != "true "+pgtest.CertUser {
			t.Errorf("%q", got)
		}
	})

	// Go drivers name the host "localhost" (the certificate's name) and
	// reach the server relay through Dialer.Addr.
	d := &pgdial.Dialer{Transport: s.dialer.Transport, Addr: s.serverAddr}
	cs := fmt.Sprintf("host=localhost port=5432 user=%s dbname=%s sslmode=verify-full sslrootcert=%s connect_timeout=10",
		pgtest.User, pgtest.Database, s.pg.CAFile)
	ctx := context.Background()

	t.Run("pgx verify-full and cancel", func(t *testing.T) {
		conn, err := d.Connect(ctx, cs)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var got string
		var pid uint32
		if err := conn.QueryRow(ctx, sslQuery).Scan(&got); err != nil || got != "true "+pgtest.User {
			t.Fatalf("%q %v", got, err)
		}
		if err := conn.QueryRow(ctx, "select pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		// pgx encrypts the cancel request like the session: it too
		// travels as an SSLRequest and TLS through the relay.
		qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if _, err := conn.Exec(qctx, "select pg_sleep(30)"); err == nil {
			t.Fatal("pg_sleep(30) was not interrupted")
		}
		want := fmt.Sprintf("[%d] ERROR:  canceling statement due to user request", pid)
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.pg.Log(), want); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("PostgreSQL did not log %q", want)
			}
		}
	})
	t.Run("lib/pq verify-full", func(t *testing.T) {
		db, err := d.OpenPQ(cs)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var got string
		if err := db.QueryRowContext(ctx, sslQuery).Scan(&got); err != nil || got != "true "+pgtest.User {
			t.Fatalf("%q %v", got, err)
		}
	})
	t.Run("wrong name refused", func(t *testing.T) {
		bad := strings.Replace(cs, "host=localhost", "host=not-the-cert-name.invalid", 1)
		if conn, err := d.Connect(ctx, bad); err == nil {
			conn.Close(ctx)
			t.Fatal("verify-full accepted a certificate for another name")
		}
	})
	s.stop()
}

// TestTLSRefusedOverSocket: with the relay on PostgreSQL's Unix socket,
// PostgreSQL answers the SSLRequest with 'N', and the client's sslmode
// decides; the relay changes nothing.
func TestTLSRefusedOverSocket(t *testing.T) {
	checkGoroutines(t)
	s := startStack(t, stackOptions{pgOpts: pgtest.Options{TLS: true}})
	ctx := context.Background()
	if conn, err := s.dialer.Connect(ctx, s.goConnString("sslmode=require")); err == nil {
		conn.Close(ctx)
		t.Error("sslmode=require connected over PostgreSQL's Unix socket")
	}
	conn, err := s.dialer.Connect(ctx, s.goConnString("sslmode=prefer"))
	if err != nil {
		t.Fatalf("sslmode=prefer: %v", err)
	}
	conn.Close(ctx)
	s.stop()
}
