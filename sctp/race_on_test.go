//go:build race

package sctp

// raceEnabled: the race detector's sync.Pool drops pooled values at
// random, so allocation counts mean nothing under -race.
const raceEnabled = true
