package netrelay

import (
	"slices"
	"testing"
)

func TestCheckShutdown(t *testing.T) {
	rep := func(s string, n int) []string { return slices.Repeat([]string{s}, n) }
	// What CI saw once: usrsctp stalled, pgsctp answered each of its
	// retransmitted DATA packets with a SHUTDOWN, then usrsctp answered
	// each queued SHUTDOWN (and once sent a SHUTDOWN of its own).
	stalled := slices.Concat(rep("0:SHUTDOWN", 53), rep("1:SHUTDOWN-ACK", 24), []string{"1:SHUTDOWN"},
		rep("1:SHUTDOWN-ACK", 5), []string{"0:SHUTDOWN-COMPLETE", "1:SHUTDOWN-ACK", "0:SHUTDOWN-COMPLETE(T)", "0:SHUTDOWN-COMPLETE"})
	for _, c := range []struct {
		name      string
		ladder    []string
		initiator Direction
		minimal   bool
		ok        bool
	}{
		{"quiet", []string{"0:SHUTDOWN", "1:SHUTDOWN-ACK", "0:SHUTDOWN-COMPLETE"}, ToServer, true, true},
		{"peer initiates", []string{"1:SHUTDOWN", "0:SHUTDOWN-ACK", "1:SHUTDOWN-COMPLETE"}, ToClient, true, true},
		{"stalled peer", stalled, ToServer, false, true},
		{"repeats", []string{"1:SHUTDOWN", "1:SHUTDOWN", "0:SHUTDOWN-ACK", "0:SHUTDOWN-ACK", "1:SHUTDOWN-COMPLETE"}, ToClient, false, true},
		{"wrong side first", []string{"1:SHUTDOWN", "0:SHUTDOWN-ACK", "1:SHUTDOWN-COMPLETE"}, ToServer, false, false},
		{"complete before ack", []string{"0:SHUTDOWN", "0:SHUTDOWN-COMPLETE", "1:SHUTDOWN-ACK"}, ToServer, false, false},
		{"no complete", []string{"0:SHUTDOWN", "1:SHUTDOWN-ACK"}, ToServer, false, false},
		{"abort", []string{"0:SHUTDOWN", "1:ABORT", "1:SHUTDOWN-ACK", "0:SHUTDOWN-COMPLETE"}, ToServer, false, false},
		{"shutdown after complete", []string{"0:SHUTDOWN", "1:SHUTDOWN-ACK", "0:SHUTDOWN-COMPLETE", "0:SHUTDOWN"}, ToServer, false, false},
		{"empty", nil, ToServer, false, false},
	} {
		note, err := CheckShutdown(c.ladder, c.initiator)
		if minimal := note == "" && err == nil; minimal != c.minimal || (err == nil) != c.ok {
			t.Errorf("%s: CheckShutdown = %v, %v; want minimal %v, ok %v", c.name, note, err, c.minimal, c.ok)
		}
		if c.ok && !ShutdownDone(c.ladder, c.initiator) {
			t.Errorf("%s: ShutdownDone = false", c.name)
		}
	}
}
