//go:build linux

package udpencap

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// sysConn batches with recvmmsg/sendmmsg and reads and writes the local
// address through IP_PKTINFO (IPv4 sockets) or IPV6_PKTINFO (IPv6 and
// dual-stack sockets; Linux reports IPv4 datagrams on those with an
// IPv4-mapped destination, and takes the source of an IPv4 datagram sent
// from them in an IP_PKTINFO control message).
type sysConn struct {
	v6 bool // the socket is AF_INET6 (possibly dual-stack)
	p4 *ipv4.PacketConn
	p6 *ipv6.PacketConn

	// Read scratch, used only by the one goroutine in ReadBatch.
	rmsgs []ipv4.Message // ipv4.Message and ipv6.Message are the same type
	roob  [][]byte
}

func (s *sysConn) init(uc *net.UDPConn) error {
	rc, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var domain int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		domain, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("getsockopt SO_DOMAIN: %w", serr)
	}
	s.v6 = domain == unix.AF_INET6
	if s.v6 {
		s.p6 = ipv6.NewPacketConn(uc)
		if err := s.p6.SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface, true); err != nil {
			return fmt.Errorf("IPV6_RECVPKTINFO: %w", err)
		}
	} else {
		s.p4 = ipv4.NewPacketConn(uc)
		if err := s.p4.SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true); err != nil {
			return fmt.Errorf("IP_PKTINFO: %w", err)
		}
	}
	return nil
}

func (s *sysConn) oobSize() int {
	if s.v6 {
		return len(ipv6.NewControlMessage(ipv6.FlagDst | ipv6.FlagInterface))
	}
	return len(ipv4.NewControlMessage(ipv4.FlagDst | ipv4.FlagInterface))
}

func (s *sysConn) readBatch(_ *net.UDPConn, msgs []Message) (int, error) {
	if len(s.rmsgs) < len(msgs) {
		s.rmsgs = make([]ipv4.Message, len(msgs))
		s.roob = make([][]byte, len(msgs))
		size := s.oobSize()
		for i := range s.roob {
			s.roob[i] = make([]byte, size)
			s.rmsgs[i].Buffers = make([][]byte, 1)
		}
	}
	rm := s.rmsgs[:len(msgs)]
	for i := range rm {
		rm[i].Buffers[0] = msgs[i].Buf
		rm[i].OOB = s.roob[i]
		rm[i].Addr = nil
		rm[i].N, rm[i].NN, rm[i].Flags = 0, 0, 0
	}
	var n int
	var err error
	if s.v6 {
		n, err = s.p6.ReadBatch(rm, 0)
	} else {
		n, err = s.p4.ReadBatch(rm, 0)
	}
	if err != nil {
		return 0, err
	}
	for i := 0; i < n; i++ {
		m := &msgs[i]
		r := &rm[i]
		r.Buffers[0] = nil // do not keep the caller's buffer alive
		m.N, m.Local, m.Addr = r.N, netip.Addr{}, netip.AddrPort{}
		if r.Flags&unix.MSG_TRUNC != 0 {
			m.N = -1
			continue
		}
		if ua, ok := r.Addr.(*net.UDPAddr); ok {
			m.Addr = unmapped(ua.AddrPort())
		}
		m.Local = s.parseLocal(r.OOB[:r.NN])
	}
	return n, nil
}

func (s *sysConn) parseLocal(oob []byte) netip.Addr {
	var ip net.IP
	if s.v6 {
		var cm ipv6.ControlMessage
		if cm.Parse(oob) != nil {
			return netip.Addr{}
		}
		ip = cm.Dst
	} else {
		var cm ipv4.ControlMessage
		if cm.Parse(oob) != nil {
			return netip.Addr{}
		}
		ip = cm.Dst
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}

func (s *sysConn) writeBatch(uc *net.UDPConn, msgs []Message) (int, error) {
	if s.v6 && msgs[0].Addr.Addr().Is4() {
		// golang.org/x/net encodes an IPv4(-mapped) destination as a
		// sockaddr_in, which an AF_INET6 socket refuses; the standard
		// library maps it. IPv4 peers of a dual-stack socket are
		// therefore sent to one datagram per system call.
		// The source address goes in an IP_PKTINFO control message:
		// the kernel sends such a datagram through its IPv4 path.
		m := &msgs[0]
		var oob []byte
		if m.Local.Is4() || m.Local.Is4In6() {
			oob = (&ipv4.ControlMessage{Src: m.Local.Unmap().AsSlice()}).Marshal()
		}
		_, _, err := uc.WriteMsgUDPAddrPort(m.Buf[:m.N], oob, m.Addr)
		if err != nil {
			return 0, err
		}
		return 1, nil
	}
	k := len(msgs)
	if s.v6 {
		for i, m := range msgs {
			if m.Addr.Addr().Is4() {
				k = i
				break
			}
		}
	}
	wm := make([]ipv4.Message, k)
	for i := range wm {
		m := &msgs[i]
		wm[i].Buffers = [][]byte{m.Buf[:m.N]}
		wm[i].Addr = net.UDPAddrFromAddrPort(m.Addr)
		wm[i].OOB = s.marshalLocal(m.Local)
	}
	var n int
	var err error
	if s.v6 {
		n, err = s.p6.WriteBatch(wm, 0)
	} else {
		n, err = s.p4.WriteBatch(wm, 0)
	}
	if err == nil && n <= 0 {
		err = errors.New("sendmmsg sent nothing")
	}
	return n, err
}

// marshalLocal returns the control message choosing local as the source
// address, or nil for the kernel's choice. An address of the wrong family
// for the socket is ignored.
func (s *sysConn) marshalLocal(local netip.Addr) []byte {
	if !local.IsValid() || local.IsUnspecified() {
		return nil
	}
	if s.v6 {
		if local.Is4() {
			local = netip.AddrFrom16(local.As16())
		}
		return (&ipv6.ControlMessage{Src: local.AsSlice()}).Marshal()
	}
	if !local.Is4() && !local.Is4In6() {
		return nil
	}
	return (&ipv4.ControlMessage{Src: local.Unmap().AsSlice()}).Marshal()
}
