package pgfront_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// stallWriter takes bytes until it has held `after`, then blocks until
// release is closed: a client that stops reading in the middle of a COPY.
type stallWriter struct {
	n       atomic.Int64
	after   int64
	stalled chan struct{} // closed when it starts to block
	release chan struct{}
	once    sync.Once
}

func (w *stallWriter) Write(p []byte) (int, error) {
	if w.n.Add(int64(len(p))) >= w.after {
		w.once.Do(func() { close(w.stalled) })
		<-w.release
	}
	return len(p), nil
}

// TestSlowReaderCopy (issue 9, "Slow readers and big results"): clients
// stop reading in the middle of a COPY out through proxy and server (one
// per association, and three sessions of one multiplexed association).
// Meanwhile the heap of proxy and server (in this process) stays bounded
// by their windows, not by what PostgreSQL has left to send; another
// session runs its queries; and when the clients read again every byte
// arrives.
func TestSlowReaderCopy(t *testing.T) {
	const (
		rows  = 100_000  // of 1000 bytes with the newline: 100 MB each
		bound = 16 << 20 // a stalled association holds about its windows: 1 MiB each way
	)
	copySQL := fmt.Sprintf("copy (select repeat('x', 999) from generate_series(1, %d)) to stdout", rows)
	for _, tr := range []struct {
		name    string
		o       stackOptions
		stalled int
	}{
		{"sctp", stackOptions{sctp: true}, 1},
		{"sctp-mux", stackOptions{sctp: true, multiplex: true}, 3},
	} {
		t.Run(tr.name, func(t *testing.T) {
			checkGoroutines(t)
			s := startStack(t, tr.o)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a failure bound only
			defer cancel()
			heap0 := liveHeap()
			release := make(chan struct{})
			var wg sync.WaitGroup
			writers := make([]*stallWriter, tr.stalled)
			errs := make(chan error, tr.stalled)
			for i := range writers {
				w := &stallWriter{after: 1 << 20, stalled: make(chan struct{}), release: release}
				writers[i] = w
				conn, err := pgx.Connect(ctx, s.proxyConnString())
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(context.Background())
				wg.Go(func() {
					if _, err := conn.PgConn().CopyTo(ctx, w, copySQL); err != nil {
						errs <- fmt.Errorf("COPY %d: %w", i, err)
					}
				})
			}
			for _, w := range writers {
				select {
				case <-w.stalled:
				case <-ctx.Done():
					t.Fatal("no COPY reached its stall")
				}
			}
			// While they are stalled, another session works.
			other, err := pgx.Connect(ctx, s.proxyConnString())
			if err != nil {
				t.Fatal(err)
			}
			for i := range 20 {
				var got int
				if err := other.QueryRow(ctx, "select $1::int", i).Scan(&got); err != nil || got != i {
					t.Fatalf("query %d beside the stalled COPY: %d, %v", i, got, err)
				}
			}
			other.Close(ctx)
			// Everything in flight has come to rest by now: what the
			// sessions hold is their windows and socket buffers.
			time.Sleep(time.Second)
			heap1 := liveHeap()
			time.Sleep(time.Second)
			heap2 := liveHeap()
			held := int64(0)
			for _, w := range writers {
				held += w.n.Load()
			}
			t.Logf("%d stalled COPY of %d MB: heap %d -> %d -> %d KiB (clients took %d KiB before stalling)",
				tr.stalled, rows/1000, heap0>>10, heap1>>10, heap2>>10, held>>10)
			if grow := int64(heap2) - int64(heap0); grow > bound {
				t.Errorf("heap grew by %d MiB while clients stalled; want at most %d", grow>>20, bound>>20)
			}
			close(release)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			for i, w := range writers {
				if got := w.n.Load(); got != rows*1000 {
					t.Errorf("COPY %d: %d bytes; want %d", i, got, rows*1000)
				}
			}
		})
	}
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
