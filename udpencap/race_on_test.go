//go:build race

package udpencap

// raceEnabled: the race detector's sync.Pool drops pooled values at
// random, so allocation counts mean nothing under -race.
const raceEnabled = true
