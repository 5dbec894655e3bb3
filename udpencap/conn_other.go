//go:build !linux

package udpencap

import (
	"context"
	"errors"
	"net"
	"net/netip"
)

// DontFragment reports whether datagrams leave with DF set and are never
// fragmented by the host: not here (the portable socket has no option for
// it), so a path MTU probe could pass by being fragmented.
const DontFragment = false

// sysConn is the portable fallback: one datagram per system call, and no
// local address (Message.Local is reported as zero and ignored on write).
// macOS and Windows have the socket options for it, but golang.org/x/net
// does not batch there either, and multihoming is first built on Linux.
type sysConn struct{}

func (s *sysConn) init(*net.UDPConn) error { return nil }

// listenSplit cannot steer here: one socket receives everything.
func listenSplit(ctx context.Context, laddr netip.AddrPort) (*Conn, *Conn, error) {
	c, err := Listen(ctx, laddr)
	return c, nil, err
}

func (s *sysConn) readBatch(uc *net.UDPConn, msgs []Message) (int, error) {
	m := &msgs[0]
	n, _, _, addr, err := uc.ReadMsgUDPAddrPort(m.Buf, nil)
	if err != nil {
		return 0, err
	}
	// A truncated datagram is not detected portably here; its SCTP
	// checksum fails and the association layer drops it.
	m.N, m.Addr, m.Local = n, unmapped(addr), netip.Addr{}
	return 1, nil
}

func (s *sysConn) writeBatch(uc *net.UDPConn, msgs []Message) (int, error) {
	for i := range msgs {
		m := &msgs[i]
		if _, _, err := uc.WriteMsgUDPAddrPort(m.Buf[:m.N], nil, m.Addr); err != nil {
			if i == 0 {
				return 0, err
			}
			return i, err
		}
	}
	if len(msgs) == 0 {
		return 0, errors.New("nothing to send")
	}
	return len(msgs), nil
}

// writeFragment: datagrams may be fragmented here anyway.
func (s *sysConn) writeFragment(uc *net.UDPConn, m *Message) error {
	_, err := s.writeBatch(uc, []Message{*m})
	return err
}
