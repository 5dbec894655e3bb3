package usrsctp

import (
	"errors"
	"fmt"
	"net"
)

// FreeUDPPorts returns n distinct UDP ports that were free on the wildcard
// address (IPv4 and IPv6) a moment ago, in ns (nil: the caller's
// namespace). Another process may take one before it is used; in a private
// Netns nothing else runs, so fixed ports are simpler there.
func FreeUDPPorts(ns *Netns, n int) ([]int, error) {
	var ports []int
	grab := func() error {
		var conns []net.PacketConn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for len(ports) < n {
			c, err := net.ListenPacket("udp", ":0")
			if err != nil {
				return fmt.Errorf("usrsctp: free UDP port: %w", err)
			}
			conns = append(conns, c)
			ua, ok := c.LocalAddr().(*net.UDPAddr)
			if !ok {
				return errors.New("usrsctp: free UDP port: not a UDP address")
			}
			ports = append(ports, ua.Port)
		}
		return nil
	}
	var err error
	if ns != nil {
		err = ns.Do(grab)
	} else {
		err = grab()
	}
	if err != nil {
		return nil, err
	}
	return ports, nil
}
