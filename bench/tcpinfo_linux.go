package bench

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// tcpInfo reads the kernel's retransmission count and smoothed RTT of a TCP
// connection (TCP_INFO tcpi_total_retrans, tcpi_rtt), so the TCP reference
// reports the same figures SCTP's Stats gives.
func tcpInfo(c *net.TCPConn) (retrans uint64, srtt time.Duration) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, 0
	}
	var info *unix.TCPInfo
	if err := rc.Control(func(fd uintptr) {
		info, _ = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || info == nil {
		return 0, 0
	}
	return uint64(info.Total_retrans), time.Duration(info.Rtt) * time.Microsecond
}
