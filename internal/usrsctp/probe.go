package usrsctp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"syscall"
	"time"
)

// WaitListening waits until the program answers an INIT sent to SCTP port
// sctpPort at UDP port udpPort on 127.0.0.1 with an INIT ACK.
//
// usrsctp binds its UDP port in usrsctp_init, a few calls before the
// program's listen; an INIT that arrives in between is answered with ABORT
// (seen under load: pgsctp's Dial then fails with "association aborted by
// peer"). The probe is harmless: RFC 9260 section 5.1.3 makes the server
// keep no state for an INIT, and the probe never sends the COOKIE ECHO.
// The probe socket is made in ns (nil: the caller's namespace), on an
// ephemeral port, so the program must answer to the source port of the
// INIT: a server started with a fixed RemoteUDPPort cannot be probed.
func (p *Process) WaitListening(ctx context.Context, ns *Netns, udpPort, sctpPort int) error {
	err := WaitINITAck(ctx, ns, udpPort, sctpPort, p.done)
	if errors.Is(err, errStopped) {
		return fmt.Errorf("usrsctp: %s exited (%v) before listening; output:\n%s", p.Name, p.ExitErr(), p.Output())
	}
	return err
}

var errStopped = errors.New("stopped")

// WaitINITAck sends INITs to SCTP port sctpPort at UDP port udpPort on
// 127.0.0.1, from an ephemeral UDP port in ns (nil: the caller's
// namespace), until one is answered with INIT ACK: any SCTP endpoint
// listening there (a usrsctp program, or pgsctp in a subprocess) is then
// ready. It gives up when ctx ends or stop is closed.
func WaitINITAck(ctx context.Context, ns *Netns, udpPort, sctpPort int, stop <-chan struct{}) error {
	var conn net.PacketConn
	mk := func() (err error) {
		conn, err = net.ListenPacket("udp4", "127.0.0.1:0")
		return err
	}
	var err error
	if ns != nil {
		err = ns.Do(mk)
	} else {
		err = mk()
	}
	if err != nil {
		return fmt.Errorf("usrsctp: probe: %w", err)
	}
	defer conn.Close()
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: udpPort}
	init := probeInit(uint16(sctpPort))
	buf := make([]byte, 2048)
	for {
		if _, err := conn.WriteTo(init, to); err != nil {
			return fmt.Errorf("usrsctp: probe: %w", err)
		}
		conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, _, err := conn.ReadFrom(buf)
		switch {
		case err == nil && n >= 16 && buf[12] == 2: // INIT ACK
			return nil
		case err != nil && !isTimeout(err) && !errors.Is(err, syscall.ECONNREFUSED):
			return fmt.Errorf("usrsctp: probe: %w", err)
		}
		// ABORT, something else, or no answer yet: try again shortly.
		select {
		case <-stop:
			return errStopped
		case <-ctx.Done():
			return fmt.Errorf("usrsctp: waiting for INIT ACK from SCTP port %d at UDP port %d: %w", sctpPort, udpPort, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// probeInit is an SCTP packet holding one INIT (RFC 9260 section 3.3.2)
// from SCTP port 1 to dst, with a valid CRC32c.
func probeInit(dst uint16) []byte {
	b := make([]byte, 12+20)
	binary.BigEndian.PutUint16(b[0:], 1)           // source port
	binary.BigEndian.PutUint16(b[2:], dst)         // destination port
	b[12] = 1                                      // INIT; the verification tag stays 0
	binary.BigEndian.PutUint16(b[14:], 20)         // chunk length
	binary.BigEndian.PutUint32(b[16:], 0x1badcafe) // initiate tag
	binary.BigEndian.PutUint32(b[20:], 65536)      // a_rwnd
	binary.BigEndian.PutUint16(b[24:], 1)          // outbound streams
	binary.BigEndian.PutUint16(b[26:], 1)          // inbound streams
	binary.BigEndian.PutUint32(b[28:], 1)          // initial TSN
	// Section 6.8: the CRC32c over the whole packet with the checksum
	// field zero (the byte order of RFC 9260 appendix B, as the relay
	// test checks usrsctp's own packets).
	binary.LittleEndian.PutUint32(b[8:], crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	return b
}
