package pgfront_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestSessionChurn (issue 9, "Scale"): sessions opened and closed as fast
// as the clients can, through the proxy and the server over SCTP, leave
// nothing behind: no goroutine, no file descriptor, no PostgreSQL backend.
// CI runs 200 per transport; PGSCTP_CHURN=1000 runs the size.
func TestSessionChurn(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors in /proc/self/fd")
	}
	n := 200
	if v := os.Getenv("PGSCTP_CHURN"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("PGSCTP_CHURN=%q", v)
		}
	}
	for _, tr := range []struct {
		name string
		o    stackOptions
	}{
		{"sctp", stackOptions{sctp: true}},
		{"sctp-mux", stackOptions{sctp: true, multiplex: true}},
	} {
		t.Run(tr.name, func(t *testing.T) {
			checkGoroutines(t)
			s := startStack(t, tr.o)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			// One session first: a multiplexing proxy keeps its
			// association (and socket) open for the next.
			if conn, err := pgx.Connect(ctx, s.proxyConnString()); err != nil {
				t.Fatal(err)
			} else {
				conn.Close(ctx)
			}
			fds0 := openFDs(t)
			const workers = 8
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			start := time.Now()
			for w := range workers {
				wg.Go(func() {
					for i := w; i < n; i += workers {
						conn, err := pgx.Connect(ctx, s.proxyConnString())
						if err != nil {
							errs <- fmt.Errorf("session %d: %w", i, err)
							return
						}
						var got int
						err = conn.QueryRow(ctx, "select $1::int", i).Scan(&got)
						conn.Close(ctx)
						if err != nil || got != i {
							errs <- fmt.Errorf("session %d: %d, %v", i, got, err)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			t.Logf("%d sessions opened, queried and closed in %v", n, time.Since(start).Round(time.Millisecond))

			// PostgreSQL: only the connection that counts is left.
			pg, err := pgx.Connect(ctx, s.pg.ConnString())
			if err != nil {
				t.Fatal(err)
			}
			defer pg.Close(ctx)
			var backends int
			for range 500 { // bounded poll: backends exit as their sessions end
				err = pg.QueryRow(ctx, "select count(*) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()").Scan(&backends)
				if err != nil || backends == 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err != nil || backends != 0 {
				t.Errorf("%d PostgreSQL backends left (%v)", backends, err)
			}
			pg.Close(ctx)

			// Descriptors: the sessions' sockets are closed (a dialer's
			// lingers for sctp.DefaultShutdownLinger first).
			var fds int
			for range 500 {
				if fds = openFDs(t); fds <= fds0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if fds > fds0 {
				t.Errorf("%d file descriptors open, %d before", fds, fds0)
			}
		})
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
