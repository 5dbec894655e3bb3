package sctp

import (
	"runtime"
	"testing"
)

func TestBufClass(t *testing.T) {
	for _, c := range []struct{ n, class int }{
		{1, 0}, {256, 0}, {257, 1}, {512, 1}, {1200, 3}, {2048, 3}, {2049, 4},
		{9216, 6}, {64 << 10, 8}, {64<<10 + 1, bufClasses},
	} {
		if got := bufClass(c.n); got != c.class {
			t.Errorf("bufClass(%d) = %d, want %d", c.n, got, c.class)
		}
	}
}

// TestBufPool: a buffer given back is lent again for a message of its
// class, foreign capacities are not kept, and the round trip allocates
// nothing.
func TestBufPool(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	// One P: a sync.Pool then gives back what was put on it last.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var p bufPool
	b := p.Get(1000)
	if len(b) != 1000 || cap(b) != 1024 {
		t.Fatalf("Get(1000): len %d cap %d, want 1000 and 1024", len(b), cap(b))
	}
	b[0] = 42
	p.Put(b)
	if c := p.Get(600); &c[0] != &b[0] {
		t.Error("a buffer given back was not lent again for the same class")
	}
	odd := make([]byte, 1000)
	p.Put(odd)
	if c := p.Get(1000); &c[0] == &odd[0] {
		t.Error("a buffer of a capacity outside the classes was kept")
	}
	b = p.Get(1200)
	p.Put(b)
	if n := testing.AllocsPerRun(1000, func() { p.Put(p.Get(1200)) }); n != 0 {
		t.Errorf("%v allocations per Get and Put, want 0", n)
	}
	if big := p.Get(100 << 10); len(big) != 100<<10 {
		t.Errorf("Get of 100 KiB: len %d", len(big))
	}
}
