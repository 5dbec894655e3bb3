package netrelay

import (
	"bytes"
	"strings"
	"sync"
)

// RingLog keeps the last Max lines written to it: the interop tests give
// it to pgsctp's debug logger and print it when a test fails.
type RingLog struct {
	Max int

	mu    sync.Mutex
	lines []string
}

func (r *RingLog) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n")) {
		r.lines = append(r.lines, string(l))
	}
	if len(r.lines) > r.Max {
		r.lines = append(r.lines[:0:0], r.lines[len(r.lines)-r.Max:]...)
	}
	return len(b), nil
}

func (r *RingLog) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}
