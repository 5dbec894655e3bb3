//go:build unix

package rawio

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// canRaw: Go's sockets are non-blocking here, so a raw read or write
// never waits in the kernel.
const canRaw = true

// read makes one raw read(2) of fd into b; ok is false when the socket
// holds nothing yet (the poller waits, then read is called again).
func read(fd uintptr, b []byte) (n int, ok bool, err error) {
	n, again, err := rw(unix.SYS_READ, fd, b)
	return n, !again, err
}

// TryWrite writes what of b the socket fd takes at once, with one raw
// write(2); a full socket buffer is not an error (0, nil).
func TryWrite(fd uintptr, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, err := rw(unix.SYS_WRITE, fd, b)
	return n, err
}

// rw makes one raw read or write of b on fd, again after EINTR; again
// reports EAGAIN.
func rw(trap, fd uintptr, b []byte) (n int, again bool, err error) {
	for {
		r, _, e := unix.RawSyscall(trap, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
		switch e {
		case 0:
			return int(r), false, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, true, nil
		}
		name := "read"
		if trap == unix.SYS_WRITE {
			name = "write"
		}
		return 0, false, os.NewSyscallError(name, e)
	}
}
