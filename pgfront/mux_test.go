package pgfront_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/pgfront"
)

// fakeAssociation hands out net.Pipe ends as streams.
type fakeAssociation struct {
	id     int
	mu     sync.Mutex
	dead   bool
	full   bool // OpenStream fails as when no stream is free
	closed bool
	peers  []net.Conn
}

func (a *fakeAssociation) OpenStream(ctx context.Context) (net.Conn, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.dead || a.closed:
		return nil, fmt.Errorf("association %d: %w", a.id, net.ErrClosed)
	case a.full:
		return nil, fmt.Errorf("association %d: no free stream", a.id)
	}
	c, peer := net.Pipe()
	a.peers = append(a.peers, peer)
	return c, nil
}

func (a *fakeAssociation) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	for _, p := range a.peers {
		p.Close()
	}
	return nil
}

func TestMuxDialer(t *testing.T) {
	var assocs []*fakeAssociation
	m := &pgfront.MuxDialer{DialAssociation: func(ctx context.Context) (pgfront.Association, error) {
		a := &fakeAssociation{id: len(assocs)}
		assocs = append(assocs, a)
		return a, nil
	}}
	ctx := context.Background()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	dial := func() error {
		c, err := m.Dial(ctx)
		if err == nil {
			conns = append(conns, c)
		}
		return err
	}
	for range 3 {
		if err := dial(); err != nil {
			t.Fatal(err)
		}
	}
	if len(assocs) != 1 {
		t.Fatalf("3 sessions opened %d associations, want 1", len(assocs))
	}

	// A dead association is replaced, once, and closed.
	assocs[0].mu.Lock()
	assocs[0].dead = true
	assocs[0].mu.Unlock()
	if err := dial(); err != nil {
		t.Fatalf("after the association died: %v", err)
	}
	if len(assocs) != 2 || !assocs[0].closed {
		t.Errorf("%d associations, first closed: %v; want 2, true", len(assocs), assocs[0].closed)
	}

	// Other failures are the caller's: no new association.
	assocs[1].mu.Lock()
	assocs[1].full = true
	assocs[1].mu.Unlock()
	if err := dial(); err == nil || errors.Is(err, net.ErrClosed) {
		t.Errorf("no free stream: err = %v", err)
	}
	if len(assocs) != 2 {
		t.Errorf("a full association was replaced")
	}

	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if !assocs[1].closed {
		t.Error("Close left the association open")
	}
	if err := dial(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Dial after Close: %v, want net.ErrClosed", err)
	}
}

func TestMuxDialerConcurrent(t *testing.T) {
	var mu sync.Mutex
	n := 0
	m := &pgfront.MuxDialer{DialAssociation: func(ctx context.Context) (pgfront.Association, error) {
		mu.Lock()
		n++
		mu.Unlock()
		return &fakeAssociation{}, nil
	}}
	defer m.Close()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			c, err := m.Dial(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			c.Close()
		})
	}
	wg.Wait()
	if n != 1 {
		t.Errorf("%d associations for 20 concurrent sessions, want 1", n)
	}
}

// TestMuxDialerCanceled: a Dial waiting behind a slow association dial
// gives up with its context.
func TestMuxDialerCanceled(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	m := &pgfront.MuxDialer{DialAssociation: func(ctx context.Context) (pgfront.Association, error) {
		close(entered)
		<-release
		return &fakeAssociation{}, nil
	}}
	defer m.Close()
	first := make(chan error, 1)
	go func() {
		c, err := m.Dial(context.Background())
		if err == nil {
			c.Close()
		}
		first <- err
	}()
	<-entered // the first Dial holds the association lock
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(10 * time.Millisecond) // let Dial wait first (not needed for correctness)
		cancel()
	}()
	if _, err := m.Dial(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled Dial: %v", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Error(err)
	}
}
