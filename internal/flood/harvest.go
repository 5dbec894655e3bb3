package flood

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// Cookie is a state cookie a server really signed, with what a COOKIE
// ECHO carrying it must say: the tag (the INIT ACK's Initiate Tag) and the
// SCTP source port the INIT came from.
type Cookie struct {
	Tag     uint32
	SrcPort uint16
	Cookie  []byte
}

// Harvest sends n INITs to a loopback target from one socket and collects
// the cookies of the INIT ACKs that come back before ctx ends (a server
// that rate-limits INIT ACKs may answer fewer). Replayed after the
// server's cookie lifetime, they are the ExpiredCookie flood.
func Harvest(ctx context.Context, target netip.AddrPort, dstPort uint16, n int) ([]Cookie, error) {
	if !target.Addr().Unmap().IsLoopback() {
		return nil, fmt.Errorf("%w: %v", ErrNotLoopback, target)
	}
	if n <= 0 || n > 100000 {
		return nil, fmt.Errorf("flood: harvest of %d cookies (want 1 to 100000)", n)
	}
	c, err := loopbackSocket(target, "harvest")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
	defer stop()
	g := newGen(Config{DstPort: dstPort, Kind: Init}, rand.Uint64())
	to := net.UDPAddrFromAddrPort(target)
	buf := make([]byte, 0, 256)
	for range n {
		buf = g.next(buf[:0], time.Now())
		if _, err := c.WriteToUDP(buf, to); err != nil {
			return nil, fmt.Errorf("flood: harvest: %w", err)
		}
	}
	var out []Cookie
	rb := make([]byte, 2048)
	for len(out) < n {
		m, err := c.Read(rb)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			return out, fmt.Errorf("flood: harvest: %w", err)
		}
		h, cs, err := chunk.ParseHeader(rb[:m])
		if err != nil {
			continue
		}
		r := chunk.NewReader(cs)
		if !r.Next() || r.Chunk().Type != chunk.TypeInitAck {
			continue
		}
		var ia chunk.InitAckChunk
		if ia.Unmarshal(r.Chunk()) != nil {
			continue
		}
		out = append(out, Cookie{Tag: ia.InitiateTag, SrcPort: h.DstPort, Cookie: append([]byte(nil), ia.StateCookie...)})
	}
	return out, nil
}

// loopbackSocket opens a UDP socket on the loopback address of target's
// family, on a port the system picks.
func loopbackSocket(target netip.AddrPort, what string) (*net.UDPConn, error) {
	src := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	if target.Addr().Is6() && !target.Addr().Is4In6() {
		src = netip.IPv6Loopback()
	}
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)))
	if err != nil {
		return nil, fmt.Errorf("flood: %s socket: %w", what, err)
	}
	return c, nil
}

// SocketDrops is the number of datagrams the kernel dropped at the UDP
// sockets bound to port (their receive buffers were full), summed over
// /proc/net/udp and /proc/net/udp6: the packets a server never saw.
// Linux only.
func SocketDrops(port uint16) (uint64, error) {
	var total uint64
	found := false
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		n, ok, err := socketDrops(f, port)
		if err != nil {
			return 0, err
		}
		total += n
		found = found || ok
	}
	if !found {
		return 0, fmt.Errorf("flood: no UDP socket bound to port %d", port)
	}
	return total, nil
}

func socketDrops(file string, port uint16) (uint64, bool, error) {
	f, err := os.Open(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("flood: %w", err)
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	var total uint64
	found := false
	sc := bufio.NewScanner(f)
	sc.Scan() // the header line
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
		if len(fs) < 13 || !strings.HasSuffix(fs[1], want) {
			continue
		}
		d, err := strconv.ParseUint(fs[12], 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("flood: %s: drops %q: %w", file, fs[12], err)
		}
		total += d
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, false, fmt.Errorf("flood: %s: %w", file, err)
	}
	return total, found, nil
}
