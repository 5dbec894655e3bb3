package flood_test

import (
	"context"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/internal/flood"
	"github.com/pgsctp/pgsctp/sctp"
)

// maxIdleBytes is issue 9's bound on the memory of an idle association at
// a server.
const maxIdleBytes = 16 << 10

// TestIdleAssociations holds many idle associations at one sctp.Listener
// (a Swarm: one socket, a tag per association, HEARTBEATs answered) and
// measures what each costs the server: heap after a GC, and goroutines.
// Each must stay under 16 KiB and cost no goroutine of its own; one more
// association from a real client still connects and carries a message;
// and every association ends when the swarm aborts them. CI runs 1,000;
// the full size, with the CPU they cost while idle:
//
//	PGSCTP_SCALE=10000 PGSCTP_SCALE_IDLE=30s go test -count=1 -run TestIdleAssociations -v ./internal/flood
func TestIdleAssociations(t *testing.T) {
	n := 1000
	if v := os.Getenv("PGSCTP_SCALE"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > flood.MaxSwarm {
			t.Fatalf("PGSCTP_SCALE=%q: want 1 to %d", v, flood.MaxSwarm)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg := &sctp.Config{UDPPort: -1, AcceptBacklog: n + 16}
	// One source opens them all, faster than a client would.
	cfg.Assoc.ReplyLimits = assoc.ReplyLimits{InitAckPerSource: -1, OOTBPerSource: -1}
	l, err := sctp.Listen(ctx, "127.0.0.1:5432", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var mu sync.Mutex
	var accepted []*sctp.Association
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			a, err := l.Accept(ctx)
			if err != nil {
				return
			}
			mu.Lock()
			accepted = append(accepted, a)
			mu.Unlock()
		}
	}()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted)
	}
	before := heap()
	g0 := runtime.NumGoroutine()

	addr := l.Addr().(*sctp.Addr)
	target := netip.AddrPortFrom(addr.IP, addr.UDPPort)
	start := time.Now()
	sw, err := flood.NewSwarm(ctx, target, addr.Port, n)
	if err != nil {
		t.Fatal(err)
	}
	setup := time.Since(start)
	for count() < n && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond) // bounded by ctx; not a timing assertion
	}
	if got := count(); got != n {
		t.Fatalf("%d of %d associations accepted", got, n)
	}
	after := heap()
	g1 := runtime.NumGoroutine()
	per := (int64(after) - int64(before)) / int64(n)
	t.Logf("%d idle associations in %v: heap %d -> %d bytes, %d per association; goroutines %d -> %d",
		n, setup.Round(time.Millisecond), before, after, per, g0, g1)
	if per > maxIdleBytes {
		t.Errorf("an idle association costs %d bytes of heap; want at most %d", per, maxIdleBytes)
	}
	if g1-g0 > 8 { // the accept loop and the swarm's reader, not one per association
		t.Errorf("%d goroutines more for %d associations; want none per association", g1-g0, n)
	}

	if d := os.Getenv("PGSCTP_SCALE_IDLE"); d != "" {
		// The full-size run also measures the idle cost: heartbeats
		// (every 5 s per path, jittered) and timers, both ends.
		idle, err := time.ParseDuration(d)
		if err != nil {
			t.Fatalf("PGSCTP_SCALE_IDLE=%q: %v", d, err)
		}
		cpu0, hb0 := processCPU(), sw.Heartbeats.Load()
		time.Sleep(idle)
		cpu, hb := processCPU()-cpu0, sw.Heartbeats.Load()-hb0
		t.Logf("idle for %v: %v CPU (server and swarm), %.1f ms of CPU per second; %d heartbeats answered, %d aborts",
			idle, cpu.Round(time.Millisecond), float64(cpu.Milliseconds())/idle.Seconds(), hb, sw.Aborts.Load())
		if sw.Aborts.Load() != 0 {
			t.Errorf("%d associations aborted while idle", sw.Aborts.Load())
		}
	}

	// One more, from a real client, while they are held.
	dcfg := &sctp.Config{PeerUDPPort: int(addr.UDPPort)}
	c, err := sctp.Dial(ctx, "127.0.0.1:5432", dcfg)
	if err != nil {
		t.Fatalf("one more association: %v", err)
	}
	if err := c.SendMessage(ctx, 0, 0, []byte("still open"), false); err != nil {
		t.Fatal(err)
	}
	for count() < n+1 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	last := accepted[n]
	mu.Unlock()
	if m, err := last.ReceiveMessage(ctx); err != nil || string(m.Data) != "still open" {
		t.Errorf("the extra association received %q, %v", m.Data, err)
	}
	c.Abort("test over")

	// Aborted by the swarm, every association ends.
	if err := sw.Close(); err != nil {
		t.Error(err)
	}
	mu.Lock()
	all := append([]*sctp.Association(nil), accepted[:n]...)
	mu.Unlock()
	for i, a := range all {
		select {
		case <-a.Done():
		case <-ctx.Done():
			t.Fatalf("association %d still open after the swarm's ABORT", i)
		}
	}
	t.Logf("heartbeats answered meanwhile: %d", sw.Heartbeats.Load())
}

// heap is the live heap after a collection.
func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
