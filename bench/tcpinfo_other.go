//go:build !linux

package bench

import (
	"net"
	"time"
)

// tcpInfo is only implemented on Linux; elsewhere the TCP reference reports
// zero retransmissions and an unknown RTT.
func tcpInfo(c *net.TCPConn) (retrans uint64, srtt time.Duration) { return 0, 0 }
