package pgfront_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgsctp/pgsctp/pgfront"
	"github.com/pgsctp/pgsctp/sctp"
)

// muxPattern is the n bytes the upstream sends to session seed.
func muxPattern(n int, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*13 + seed*7 + i>>11)
	}
	return b
}

// startBulkUpstream is a stand-in for PostgreSQL that, after a session's
// startup packet, sends the number of bytes named by its "database"
// parameter (made by muxPattern, seeded by its "user" parameter) and
// closes. How each seed's sending ended (below 16) arrives on sent[seed].
func startBulkUpstream(t *testing.T) (addr string, sent []chan error) {
	for range 16 {
		sent = append(sent, make(chan error, 1))
	}
	return startFakeBackend(t, func(c net.Conn) {
		be := pgproto3.NewBackend(c, c)
		m, err := be.ReceiveStartupMessage()
		if err != nil {
			return
		}
		sm, ok := m.(*pgproto3.StartupMessage)
		if !ok {
			return
		}
		n, _ := strconv.Atoi(sm.Parameters["database"])
		seed, _ := strconv.Atoi(sm.Parameters["user"])
		_, err = c.Write(muxPattern(n, seed)) // fails when the session is cut short
		if seed >= 0 && seed < len(sent) {
			sent[seed] <- err
		}
	}).l.Addr().String(), sent
}

// TestMuxSlowSession: through one real SCTP association in multiplexed
// mode (pgfront.SCTPDialer with Multiplex, pgfront.SessionListener and a
// server Relay to an upstream that sends a lot), sessions whose clients
// never read do not keep the others from completing, and every byte the
// others get is right. Without per-stream flow control the stalled
// sessions' bytes fill the association's receive window and every session
// stalls (the test then hits its deadline). And when a stalled client goes
// away, the server relay, blocked writing to its stream, learns it at once
// (a zero credit) and ends the session and its upstream connection.
func TestMuxSlowSession(t *testing.T) {
	checkGoroutines(t)
	const (
		stalled   = 3        // sessions whose clients stop reading (3 * 256 KiB << 4 MiB)
		stallSize = 64 << 20 // what the upstream tries to send them
		active    = 4        // sessions that read everything
		size      = 8 << 20  // 2 association windows each
	)
	logs := newLogBook(t)
	upstream, sent := startBulkUpstream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a failure bound only
	defer cancel()

	sl := pgfront.NewSessionListener(pgfront.Limits{}, logs.logger("sctp-server"))
	cfg := &sctp.Config{UDPPort: -1}
	cfg.Assoc.Admit = sl.Admit
	cfg.Assoc.MaxInboundStreams = 65535
	la, err := sl.Listen(ctx, "127.0.0.1:5432", cfg)
	if err != nil {
		t.Fatal(err)
	}
	server := &pgfront.Relay{
		Dial:   pgfront.DialNet("tcp", upstream),
		Target: "bulk upstream",
		// Only the end of the client's reading (its zero credit) may end
		// a session blocked writing to it, not the relay's linger.
		Linger: time.Hour,
		Logger: logs.logger("server"),
	}
	serveCtx, stopServe := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- server.Serve(serveCtx, sl) }()

	ccfg := &sctp.Config{PeerUDPPort: int(la.(*sctp.Addr).UDPPort)}
	ccfg.Assoc.OutboundStreams = 1024
	d := &pgfront.SCTPDialer{
		Addrs:     []string{la.String()},
		Config:    ccfg,
		Multiplex: true,
		Logger:    logs.logger("sctp-client"),
	}
	defer func() {
		d.Close()
		stopServe()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		sl.Close()
	}()

	open := func(seed, n int) net.Conn {
		t.Helper()
		c, err := d.Dial(ctx)
		if err != nil {
			t.Fatalf("session %d: %v", seed, err)
		}
		if dl, ok := ctx.Deadline(); ok {
			c.SetDeadline(dl)
		}
		sp, err := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
			Parameters: map[string]string{"user": strconv.Itoa(seed), "database": strconv.Itoa(n)}}).Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(sp); err != nil {
			t.Fatalf("session %d: writing the startup packet: %v", seed, err)
		}
		return c
	}

	// The stalled sessions: each reads its first 4 KiB, so the upstream
	// is sending, then nothing more.
	var stalls []net.Conn
	for i := range stalled {
		c := open(i, stallSize)
		defer c.Close()
		head := make([]byte, 4<<10)
		if _, err := io.ReadFull(c, head); err != nil || !bytes.Equal(head, muxPattern(stallSize, i)[:len(head)]) {
			t.Fatalf("stalled session %d: first bytes: %v", i, err)
		}
		stalls = append(stalls, c)
	}

	// The others, concurrently, carry everything, exactly.
	var wg sync.WaitGroup
	errs := make(chan error, active)
	for i := range active {
		seed := stalled + i
		c := open(seed, size)
		wg.Go(func() {
			defer c.Close()
			h := sha256.New()
			n, err := io.Copy(h, c)
			if err != nil || n != size {
				errs <- fmt.Errorf("session %d got %d of %d bytes: %v", seed, n, size, err)
				return
			}
			if want := sha256.Sum256(muxPattern(size, seed)); !bytes.Equal(h.Sum(nil), want[:]) {
				errs <- fmt.Errorf("session %d: bytes differ", seed)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// Every session shared one association.
	if st := d.Status(); len(st) != 1 || st[0].Sessions != stalled {
		t.Errorf("dialer status: %d associations (want 1), sessions %v (want the %d stalled)", len(st), sessions(st), stalled)
	}

	// A stalled session is intact: reading resumes where it stopped.
	more := make([]byte, 1<<20)
	if _, err := io.ReadFull(stalls[0], more); err != nil || !bytes.Equal(more, muxPattern(stallSize, 0)[4<<10:4<<10+len(more)]) {
		t.Fatalf("stalled session after resuming: %v", err)
	}

	// A stalled client goes away: the relay's blocked write to it fails,
	// the session ends, and the upstream's sending is cut short.
	stalls[1].Close()
	select {
	case err := <-sent[1]:
		if err == nil {
			t.Error("the upstream sent everything to a client that went away")
		}
	case <-ctx.Done():
		t.Fatal("the session of a client that went away did not end")
	}
}

func sessions(st []pgfront.AssociationStatus) []int {
	var out []int
	for _, s := range st {
		out = append(out, s.Sessions)
	}
	return out
}
