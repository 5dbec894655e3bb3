//go:build unix

package rawio

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

const canRead = true

// read makes one raw read(2) of fd into b; ok is false when the socket
// holds nothing yet (the poller waits, then read is called again).
func read(fd uintptr, b []byte) (n int, ok bool, err error) {
	for {
		r, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
		switch e {
		case 0:
			return int(r), true, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, false, nil
		}
		return 0, true, os.NewSyscallError("read", e)
	}
}
