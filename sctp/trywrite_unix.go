//go:build unix

package sctp

import (
	"errors"

	"golang.org/x/sys/unix"
)

// canTryWrite: Go's sockets are non-blocking here, so one write(2) on the
// descriptor takes what the socket buffer has room for and never waits.
const canTryWrite = true

// tryWrite writes what of b the socket takes at once; a full socket
// buffer is not an error.
func tryWrite(fd uintptr, b []byte) (int, error) {
	n, err := unix.Write(int(fd), b)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
		return 0, nil
	}
	return n, err
}
