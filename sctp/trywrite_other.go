//go:build !unix

package sctp

// canTryWrite: elsewhere (Windows) CopyTo writes from its own goroutine
// only.
const canTryWrite = false

func tryWrite(uintptr, []byte) (int, error) { return 0, nil }
