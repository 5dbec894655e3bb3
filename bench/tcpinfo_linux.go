package bench

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// tcpInfo reads the kernel's counters of a TCP connection (TCP_INFO:
// tcpi_total_retrans, tcpi_rtt, tcpi_segs_out, tcpi_segs_in), so the TCP
// reference reports the same figures SCTP's Stats gives. The segment
// counters are 32 bits wide and wrap on long runs.
func tcpInfo(c *net.TCPConn) (s transportStats) {
	rc, err := c.SyscallConn()
	if err != nil {
		return s
	}
	var info *unix.TCPInfo
	if err := rc.Control(func(fd uintptr) {
		info, _ = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || info == nil {
		return s
	}
	return transportStats{
		retransmissions: uint64(info.Total_retrans),
		srtt:            time.Duration(info.Rtt) * time.Microsecond,
		packetsSent:     uint64(info.Segs_out),
		packetsReceived: uint64(info.Segs_in),
	}
}
