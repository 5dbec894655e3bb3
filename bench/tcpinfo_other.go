//go:build !linux

package bench

import "net"

// tcpInfo is only implemented on Linux; elsewhere the TCP reference reports
// zeros.
func tcpInfo(c *net.TCPConn) transportStats { return transportStats{} }
