//go:build unix

package sctp

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// canTryWrite: Go's sockets are non-blocking here, so one write(2) on the
// descriptor takes what the socket buffer has room for and never waits.
const canTryWrite = true

// tryWrite writes what of b the socket takes at once; a full socket
// buffer is not an error. It is a raw system call: it never blocks, and
// the runtime's system-call path would wake its sysmon thread after every
// idle spell (see udpencap's recvmmsg).
func tryWrite(fd uintptr, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	switch e {
	case 0:
		return int(n), nil
	case unix.EAGAIN, unix.EINTR:
		return 0, nil
	}
	return 0, os.NewSyscallError("write", e)
}
