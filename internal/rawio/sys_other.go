//go:build !unix

package rawio

// canRaw: elsewhere (Windows) sockets are read and written the ordinary
// way.
const canRaw = false

func read(uintptr, []byte) (int, bool, error) { return 0, true, nil }

// TryWrite is never called here (CanWrite is false).
func TryWrite(uintptr, []byte) (int, error) { return 0, nil }
