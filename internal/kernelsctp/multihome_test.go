//go:build linux

package kernelsctp_test

import (
	"context"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/internal/kernelsctp"
	"github.com/pgsctp/pgsctp/sctp"
)

// Multihoming (RFC 9260 6.4, 8.2; SCTP-PF, RFC 7829) against the kernel:
// both ends on two links, every (local, peer) address pair a path; one
// link dies silently under an echo of messages from 1 to 65,000 bytes and
// the echo goes on over the other.

// failoverCase runs the shared part: both ends see the paths, data goes
// both ways, link dead dies, data goes on, both ends mark what crossed it
// as not active, the link heals, every path is active again, data goes
// on, pgsctp shuts down gracefully.
func failoverCase(e *env, a *sctp.Association, p *kernelsctp.Peer, dead int, kernelPrimary netip.Addr) {
	t := e.t
	t.Helper()
	locals, peers := []netip.Addr{host0, host1}, []netip.Addr{guest0, guest1}
	want := cross(locals, peers)
	e.waitPaths(a, p, want, locals)
	if kp := e.kernelPaths(p); !strings.HasSuffix(kp[kernelPrimary], "+primary") {
		t.Errorf("kernel's paths %v; want %v primary (the handshake's)", kp, kernelPrimary)
	}
	e.exchange(a, 21, 22)

	e.failLink(dead)
	deadHost, deadGuest := locals[dead], peers[dead]
	e.exchange(a, 22, 22) // every message and its echo, byte for byte
	// The kernel sent echoes to its primary, over the dead link: its T3
	// timer marked that address potentially failed (or inactive), and
	// no HEARTBEAT could bring it back.
	kp := e.kernelPaths(p)
	if strings.HasPrefix(kp[deadHost], "active") {
		t.Errorf("kernel's paths with link %d dead: %v; want %v not active", dead, kp, deadHost)
	}
	if len(kp) != 2 {
		t.Errorf("kernel's paths with link %d dead: %v; want both addresses still", dead, kp)
	}
	// pgsctp's data path led to the dead link's guest address: some
	// path there is not active, and none of the paths is gone.
	all, active := pairs(a)
	if !samePairs(all, want) {
		t.Errorf("pgsctp's paths with link %d dead: %v; want %v", dead, all, want)
	}
	deadSeen := false
	for _, pr := range want {
		deadSeen = deadSeen || pr.peer == deadGuest && !slices.Contains(active, pr)
	}
	if !deadSeen {
		t.Errorf("pgsctp's active paths with link %d dead: %v; want a path to %v not active", dead, active, deadGuest)
	}
	if st := a.Stats(); st.State != assoc.StateEstablished {
		t.Errorf("association state %v with link %d dead; want established", st.State, dead)
	}
	t.Logf("link %d dead: kernel %v; pgsctp active %v", dead, kp, active)

	e.healLink(dead)
	e.waitPaths(a, p, want, locals)
	e.exchange(a, 23, 11)
	if err := a.Shutdown(e.ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	out, err := p.Wait(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "echo done msgs=55 ") {
		t.Errorf("kernel peer said %q; want 55 messages echoed", out)
	}
}

// TestKernelMultihomeDial: pgsctp, on two addresses, dials the kernel's two
// (INIT to the first); each end lists both of its addresses, pgsctp has a
// path from each of its addresses to each of the kernel's (four) and the
// kernel one to each of pgsctp's; link 0, the primary of both, dies.
func TestKernelMultihomeDial(t *testing.T) {
	e := multiEnv(t)
	port := sctpPort()
	p := e.startCtl(port, []netip.Addr{guest0, guest1}, nil)
	a := e.dialDirect(port, e.directConfig(host0, host1), guest0, guest1)
	failoverCase(e, a, p, 0, host0)
}

// TestKernelMultihomeListen: the kernel, bound to its two addresses with
// sctp_bindx, connects to a pgsctp listener on two (sctp_connectx, the
// second link's addresses first, so the primary paths cross link 1), and
// link 1 dies.
func TestKernelMultihomeListen(t *testing.T) {
	e := multiEnv(t)
	port := sctpPort()
	l := e.listenDirect(port, e.directConfig(), host0, host1)
	p := e.startCtl(port, []netip.Addr{guest1, guest0}, []netip.Addr{host1, host0})
	a, err := l.Accept(e.ctx)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { a.Abort("test over") })
	failoverCase(e, a, p, 1, host1)
}

// tickPPID marks the messages that measure failover (cpeer/peer.c's
// TICK_PPID): not echoed, only timed.
const tickPPID = 0x40000000

// TestKernelFailoverFigures measures how long data stops when the link
// of both ends' primary path dies silently, each way: the largest gap
// between two 100-byte messages sent every 10 ms, as the receiver sees
// it, counting only gaps that end after the failure (less 20 ms for what
// was in flight) and before the 400 ticks of each end (4 s) are done. pgsctp -> kernel is pgsctp's failover (its defaults: RTO.Min
// 100 ms, SCTP-PF); kernel -> pgsctp is the kernel's, with its defaults
// (pf_enable 1, pf_retrans 0, rto_min 1000 ms; rto_max 3000 ms as the
// guest sets it) and tuned (rto_min 100 ms). Figures, not assertions:
// it runs only with PGSCTP_KERNEL_FAILOVER=TRIALS and logs a table for
// docs/benchmarks.md.
func TestKernelFailoverFigures(t *testing.T) {
	trials, _ := strconv.Atoi(os.Getenv("PGSCTP_KERNEL_FAILOVER"))
	if trials <= 0 {
		t.Skip("set PGSCTP_KERNEL_FAILOVER=TRIALS to measure failover times")
	}
	type row struct {
		name    string
		sysctls []string
	}
	rows := []row{
		{"kernel defaults (rto_min 1000 ms)", nil},
		{"kernel tuned (rto_min 100 ms)", []string{"net.sctp.rto_min=100"}},
	}
	for _, r := range rows {
		var ours, theirs []time.Duration
		for i := range trials {
			o, k := failoverTrial(t, r.sysctls)
			t.Logf("%s, trial %d: pgsctp -> kernel %v, kernel -> pgsctp %v", r.name, i+1, o, k)
			ours, theirs = append(ours, o), append(theirs, k)
		}
		slices.Sort(ours)
		slices.Sort(theirs)
		t.Logf("| %s | %d | %v | %v | %v | %v | %v | %v |", r.name, trials,
			ours[0], ours[len(ours)/2], ours[len(ours)-1], theirs[0], theirs[len(theirs)/2], theirs[len(theirs)-1])
	}
}

// failoverTrial runs one measurement in its own association and returns
// the largest gap each way.
func failoverTrial(t *testing.T, sysctls []string) (ours, theirs time.Duration) {
	var o, k time.Duration
	t.Run("trial", func(t *testing.T) {
		e := multiEnv(t)
		for _, s := range sysctls {
			if _, err := e.g.Run(e.ctx, "sysctl -w "+s); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() { e.g.Run(context.Background(), "sysctl -w net.sctp.rto_min=1000") })
		port := sctpPort()
		p := e.startCtl(port, []netip.Addr{guest0, guest1}, nil)
		a := e.dialDirect(port, e.directConfig(host0, host1), guest0, guest1)
		locals := []netip.Addr{host0, host1}
		e.waitPaths(a, p, cross(locals, []netip.Addr{guest0, guest1}), locals)
		const n, every = 400, 10 * time.Millisecond
		if _, err := p.Command(e.ctx, "tick "+strconv.Itoa(n)+" 10"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var sentMu sync.Mutex
		sent := 0 // pgsctp's ticks sent so far
		wg.Add(2)
		go func() { // pgsctp's ticks
			defer wg.Done()
			tick := time.NewTicker(every)
			defer tick.Stop()
			for i := range n {
				<-tick.C
				sentMu.Lock()
				sent = i
				sentMu.Unlock()
				if err := a.SendMessage(e.ctx, 1, tickPPID+uint32(i), kernelsctp.Pattern(tickPPID+uint32(i), 100), false); err != nil {
					t.Errorf("tick %d: %v", i, err)
					return
				}
			}
		}()
		arrivals := make(chan time.Time, n)
		go func() { // the kernel's ticks
			defer wg.Done()
			defer close(arrivals)
			for range n {
				m, err := a.ReceiveMessage(e.ctx)
				if err != nil {
					t.Errorf("kernel's ticks: %v", err)
					return
				}
				arrivals <- time.Now()
				if m.PPID < tickPPID {
					t.Errorf("message with PPID %d among the ticks", m.PPID)
				}
			}
		}()
		time.Sleep(time.Second) // pacing: a second of ticks before the failure
		// Gaps count from ticks sent up to 20 ms before the failure
		// (those in flight when it came; the round trip is a few ms),
		// not earlier: a stall of the emulated guest before then is
		// not failover.
		sentMu.Lock()
		from := max(sent-2, 0)
		sentMu.Unlock()
		failAt := time.Now()
		var dataPath []string
		for _, ps := range a.Stats().Paths {
			if ps.Data {
				dataPath = append(dataPath, pair{ps.Local, ps.Addr.Addr()}.String())
			}
		}
		e.failLink(0)
		wg.Wait()
		var last time.Time
		for at := range arrivals {
			if !last.IsZero() && at.After(failAt.Add(-20*time.Millisecond)) {
				k = max(k, at.Sub(last))
			}
			last = at
		}
		lines, err := p.Command(e.ctx, "gaps "+strconv.Itoa(from))
		if err != nil {
			t.Fatal(err)
		}
		var us int64
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "gap ") {
			t.Fatalf("gaps: %q", lines)
		}
		us, err = strconv.ParseInt(strings.Fields(lines[0])[1], 10, 64)
		if err != nil {
			t.Fatalf("gaps: %q: %v", lines, err)
		}
		o = time.Duration(us) * time.Microsecond
		t.Logf("pgsctp's data path at the failure %v; kernel: %s (failure after tick %d)", dataPath, lines[0], from+2)
	})
	return o, k
}
