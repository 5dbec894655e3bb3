//go:build linux

package udpencap

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DontFragment reports whether datagrams leave with DF set and are never
// fragmented by the host, as path MTU discovery needs: on Linux, with
// IP_PMTUDISC_PROBE (see sysConn.init).
const DontFragment = true

// sysConn batches with recvmmsg/sendmmsg and reads and writes the local
// address through IP_PKTINFO (IPv4 sockets) or IPV6_PKTINFO (IPv6 and
// dual-stack sockets; Linux reports IPv4 datagrams on those with an
// IPv4-mapped destination, and takes the source of an IPv4 datagram sent
// from them in an IP_PKTINFO control message).
//
// The system calls are made directly, through golang.org/x/sys/unix, on
// headers, socket addresses and control messages preallocated per Conn and
// encoded and decoded in place: the batch path allocates nothing in steady
// state. (golang.org/x/net's ReadBatch/WriteBatch cost about ten
// allocations per datagram: a net.UDPAddr and a parsed or marshalled
// control message each way.) The file descriptor stays in the Go runtime's
// poller: the calls run inside syscall.RawConn's Read and Write, which wait
// for readiness, honour deadlines and report a closed socket.
//
// Runs of datagrams to one destination, of one size but a shorter last one,
// leave as one UDP GSO send (UDP_SEGMENT, Linux 4.18): the kernel's IP and
// UDP output path then runs once per run instead of once per datagram, and
// the network carries the same datagrams. Where the kernel or the route
// refuses it (no checksum offload, a segment beyond the path's MTU), the
// batch is sent again without, and GSO stays off for the socket.
//
// The receiving side asks for UDP GRO (UDP_GRO, Linux 5.0): such runs, and
// datagrams the kernel coalesces, arrive as one payload with its segment
// size, read into buffers of the largest UDP payload and cut back into the
// original datagrams in the caller's Messages.
type sysConn struct {
	// Constant after init.
	rc syscall.RawConn
	v6 bool // the socket is AF_INET6 (possibly dual-stack)

	// gso: send runs with UDP_SEGMENT. Set at init where the kernel has
	// the option, cleared for good on the first refusal.
	gso atomic.Bool

	// gro: UDP_GRO is on, so reads go through groRx. Set at init.
	gro bool

	// rx and groRx are used only by the one goroutine in ReadBatch.
	rx    mmsgBatch
	groRx groRx
	// tx holds *mmsgBatch, one per concurrent WriteBatch.
	tx sync.Pool
	// zones caches interface names and indexes of IPv6 zones.
	zones zoneCache
	// dfMu: writeBatch holds it shared, writeFragment alone, for the
	// moment it turns the socket's DF off (the option is per socket).
	dfMu sync.RWMutex
}

// oobSpace is the control-message room of one datagram: one IPV6_PKTINFO
// (the larger of the two we use) with room to spare, so that an unexpected
// extra message truncates nothing we need. A multiple of the control
// message alignment, so every datagram's room starts aligned.
var oobSpace = 2 * unix.CmsgSpace(unix.SizeofInet6Pktinfo)

const (
	// gsoMaxSegments is the kernel's UDP_MAX_SEGMENTS: the most
	// datagrams one GSO send may carry.
	gsoMaxSegments = 64
	// gsoMaxBytes bounds the payload of one GSO send, which travels as
	// one IP packet up to segmentation: its length field has 16 bits.
	gsoMaxBytes = 65000
)

// mmsgBatch is the kernel's view of up to len(hdrs) datagrams: mmsghdr
// entries whose iovec, socket address and control buffer point into the
// slices beside them. The iovec bases point at the caller's buffers only
// for the length of one call.
type mmsgBatch struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6 // large enough for a sockaddr_in too
	oob   []uint64                // control buffers, 8-byte aligned; oobSpace bytes each
	// segs[j] is how many messages header j carries (writes; more than
	// one for a GSO send). Its iovecs start at the header's first
	// message: iovs has one per message, names and oob one per header.
	segs []int

	// One system call's arguments and results, for the closures below.
	count int
	n     int
	errno syscall.Errno
	// recv and send are bound once (method values allocate) and passed
	// to RawConn.Read and Write.
	recv, send func(fd uintptr) bool
}

func newBatch() *mmsgBatch {
	b := &mmsgBatch{}
	b.recv, b.send = b.recvmmsg, b.sendmmsg
	return b
}

// grow makes room for n datagrams and links each header to its iovec,
// name and control buffer.
func (b *mmsgBatch) grow(n int) {
	if len(b.hdrs) >= n {
		return
	}
	b.hdrs = make([]unix.Mmsghdr, n)
	b.iovs = make([]unix.Iovec, n)
	b.names = make([]unix.RawSockaddrInet6, n)
	b.oob = make([]uint64, n*oobSpace/8)
	b.segs = make([]int, n)
	for i := range b.hdrs {
		h := &b.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
		h.Control = (*byte)(unsafe.Pointer(&b.oob[i*oobSpace/8]))
	}
}

// control is datagram i's control buffer.
func (b *mmsgBatch) control(i int) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&b.oob[i*oobSpace/8])), oobSpace)
}

// release drops the references to the caller's buffers, so that a
// batch kept for reuse does not keep them alive.
func (b *mmsgBatch) release(n int) {
	for i := range b.iovs[:n] {
		b.iovs[i].Base = nil
	}
}

// recvmmsg and sendmmsg are raw system calls: the socket is
// non-blocking and MSG_DONTWAIT is set, so they never block, and a raw
// call skips the runtime's entersyscall and exitsyscall. Those woke the
// runtime's sysmon thread whenever the process had been idle, and sysmon
// then polled every 20 µs for a while: a thread wake-up or more per
// message on a request/response path. Raw calls cut a 64-byte round
// trip's CPU by a quarter and raised bulk throughput by 40%
// (docs/benchmarks.md, issue 7, step 4). The cost: the goroutine keeps
// its P for the call's few microseconds, as it would computing.
func (b *mmsgBatch) recvmmsg(fd uintptr) bool {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(b.count), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // not ready: the poller waits
		}
		b.n, b.errno = int(n), e
		return true
	}
}

func (b *mmsgBatch) sendmmsg(fd uintptr) bool {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(b.count), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		b.n, b.errno = int(n), e
		return true
	}
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
		if serr != nil {
			serr = fmt.Errorf("getsockopt SO_DOMAIN: %w", serr)
			return
		}
		if domain == unix.AF_INET6 {
			if err := unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1); err != nil {
				serr = fmt.Errorf("IPV6_RECVPKTINFO: %w", err)
			}
		} else if err := unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1); err != nil {
			serr = fmt.Errorf("IP_PKTINFO: %w", err)
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	// Don't fragment, whatever the kernel learnt of the path: SCTP finds
	// the path MTU itself (RFC 8899 PLPMTUD wants probes sent with DF and
	// not cut by the host), and a datagram larger than the interface
	// fails with EMSGSIZE, which write counts as a lost packet. Best
	// effort: IP_MTU_DISCOVER also covers IPv4 on a dual-stack socket.
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE)
		if domain == unix.AF_INET6 {
			_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_PROBE)
		}
	})
	s.rc = rc
	s.v6 = domain == unix.AF_INET6
	s.rx.recv, s.rx.send = s.rx.recvmmsg, s.rx.sendmmsg
	s.tx.New = func() any { return newBatch() }
	// A kernel without UDP GSO or GRO does not know the option.
	_ = rc.Control(func(fd uintptr) {
		_, err := unix.GetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT)
		s.gso.Store(err == nil)
		s.gro = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_GRO, 1) == nil
	})
	return nil
}

func (s *sysConn) readBatch(_ *net.UDPConn, msgs []Message) (int, error) {
	if s.gro {
		return s.readGRO(msgs)
	}
	b := &s.rx
	b.grow(len(msgs))
	for i := range msgs {
		b.iovs[i].Base = unsafe.SliceData(msgs[i].Buf)
		b.iovs[i].SetLen(len(msgs[i].Buf))
		h := &b.hdrs[i]
		h.Hdr.Iov = &b.iovs[i]
		h.Hdr.SetIovlen(1)
		h.Hdr.Namelen = unix.SizeofSockaddrInet6
		h.Hdr.SetControllen(oobSpace)
		h.Hdr.Flags = 0
		h.Len = 0
	}
	b.count, b.n, b.errno = len(msgs), 0, 0
	err := s.rc.Read(b.recv)
	b.release(len(msgs))
	if err != nil {
		return 0, err
	}
	if b.errno != 0 {
		return 0, os.NewSyscallError("recvmmsg", b.errno)
	}
	for i := range b.n {
		m := &msgs[i]
		h := &b.hdrs[i].Hdr
		m.N, m.Addr, m.Local = int(b.hdrs[i].Len), netip.AddrPort{}, netip.Addr{}
		if h.Flags&unix.MSG_TRUNC != 0 {
			m.N = -1
			continue
		}
		m.Addr = s.decodeName(&b.names[i], h.Namelen)
		m.Local, _ = parseControl(b.control(i)[:min(int(h.Controllen), oobSpace)])
	}
	return b.n, nil
}

const (
	// groSlots is how many payloads one read takes with GRO on, and
	// groBufSize the size of each: the largest UDP payload, since a
	// coalesced payload longer than its buffer would be cut (MSG_TRUNC)
	// and the datagrams in the cut part lost. groSlots*groBufSize bytes
	// per Conn, allocated at its first read.
	groSlots   = 4
	groBufSize = 1 << 16
)

// groRx holds what a GRO read received and ReadBatch has not yet handed
// out: pend[next:], each payload cut into datagrams of its segment size.
type groRx struct {
	buf  []byte // groSlots payload buffers of groBufSize
	pend []groPayload
	next int
}

// groPayload is the rest of one received payload.
type groPayload struct {
	addr  netip.AddrPort
	local netip.Addr
	data  []byte // in groRx.buf
	seg   int    // segment size; 0: one datagram
}

func (s *sysConn) readGRO(msgs []Message) (int, error) {
	g := &s.groRx
	if g.next == len(g.pend) {
		if err := s.recvGRO(min(len(msgs), groSlots)); err != nil {
			return 0, err
		}
	}
	return g.drain(msgs), nil
}

// recvGRO reads up to k payloads into g.buf and queues them in g.pend.
func (s *sysConn) recvGRO(k int) error {
	b, g := &s.rx, &s.groRx
	b.grow(groSlots)
	if g.buf == nil {
		g.buf = make([]byte, groSlots*groBufSize)
		g.pend = make([]groPayload, 0, groSlots)
	}
	for i := range k {
		b.iovs[i].Base = &g.buf[i*groBufSize]
		b.iovs[i].SetLen(groBufSize)
		h := &b.hdrs[i]
		h.Hdr.Iov = &b.iovs[i]
		h.Hdr.SetIovlen(1)
		h.Hdr.Namelen = unix.SizeofSockaddrInet6
		h.Hdr.SetControllen(oobSpace)
		h.Hdr.Flags = 0
		h.Len = 0
	}
	b.count, b.n, b.errno = k, 0, 0
	if err := s.rc.Read(b.recv); err != nil {
		return err
	}
	if b.errno != 0 {
		return os.NewSyscallError("recvmmsg", b.errno)
	}
	g.pend, g.next = g.pend[:0], 0
	for i := range b.n {
		h := &b.hdrs[i].Hdr
		n := int(b.hdrs[i].Len)
		if h.Flags&unix.MSG_TRUNC != 0 || n > groBufSize {
			continue // longer than any UDP payload: cannot happen
		}
		local, seg := parseControl(b.control(i)[:min(int(h.Controllen), oobSpace)])
		g.pend = append(g.pend, groPayload{
			addr:  s.decodeName(&b.names[i], h.Namelen),
			local: local,
			data:  g.buf[i*groBufSize : i*groBufSize+n],
			seg:   seg,
		})
	}
	return nil
}

// drain copies the next datagrams into msgs and returns how many it
// filled; one longer than its Message's buffer is marked truncated
// (N = -1), as a plain read would be.
func (g *groRx) drain(msgs []Message) int {
	j := 0
	for j < len(msgs) && g.next < len(g.pend) {
		p := &g.pend[g.next]
		seg := p.seg
		if seg <= 0 || seg > len(p.data) {
			seg = len(p.data)
		}
		d := p.data[:seg]
		p.data = p.data[seg:]
		if len(p.data) == 0 {
			g.next++
		}
		m := &msgs[j]
		j++
		m.Addr, m.Local = p.addr, p.local
		if len(d) > len(m.Buf) {
			m.N = -1
			continue
		}
		m.N = copy(m.Buf, d)
	}
	return j
}

// decodeName returns the address and port of a sockaddr_in or
// sockaddr_in6 the kernel wrote, with IPv4-mapped addresses unmapped; the
// zero value for anything else.
func (s *sysConn) decodeName(sa *unix.RawSockaddrInet6, namelen uint32) netip.AddrPort {
	switch {
	case sa.Family == unix.AF_INET && namelen >= unix.SizeofSockaddrInet4:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), portOf(&sa4.Port))
	case sa.Family == unix.AF_INET6 && namelen >= unix.SizeofSockaddrInet6:
		a := netip.AddrFrom16(sa.Addr)
		if a.Is4In6() {
			a = a.Unmap()
		} else if sa.Scope_id != 0 {
			a = a.WithZone(s.zones.name(sa.Scope_id))
		}
		return netip.AddrPortFrom(a, portOf(&sa.Port))
	}
	return netip.AddrPort{}
}

// portOf reads a port stored in network byte order.
func portOf(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// setPort stores a port in network byte order.
func setPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

// parseControl walks the control messages of one received datagram and
// returns the destination address of its IP_PKTINFO or IPV6_PKTINFO
// (unmapped; the zero value if none) and the segment size of its UDP_GRO
// (0 if none: the payload is one datagram). oob starts 8-byte aligned;
// lengths the kernel wrote are checked before they are used, and the walk
// stops at the first that does not fit.
func parseControl(oob []byte) (local netip.Addr, seg int) {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := uint64(h.Len)
		if l < unix.SizeofCmsghdr || l > uint64(len(oob)) {
			break
		}
		data := oob[unix.CmsgLen(0):l]
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0]))
			local = netip.AddrFrom4(pi.Addr)
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&data[0]))
			local = netip.AddrFrom16(pi.Addr).Unmap()
		case h.Level == unix.SOL_UDP && h.Type == unix.UDP_GRO && len(data) >= 4:
			seg = max(int(*(*int32)(unsafe.Pointer(&data[0]))), 0)
		}
		next := unix.CmsgSpace(int(l) - unix.CmsgLen(0))
		if next >= len(oob) {
			break
		}
		oob = oob[next:]
	}
	return local, seg
}

// errFamily reports a destination the socket cannot reach: an IPv6
// address on an IPv4 socket.
var errFamily = errors.New("address family not supported by the socket")

// errLength reports a message whose N is not within its Buf: the kernel
// would read past the slice.
var errLength = errors.New("message length outside its buffer")

func (s *sysConn) writeBatch(_ *net.UDPConn, msgs []Message) (int, error) {
	s.dfMu.RLock()
	defer s.dfMu.RUnlock()
	return s.writeBatchDF(msgs)
}

// writeFragment writes one datagram with DF clear: the socket's
// IP_MTU_DISCOVER (and IPV6_MTU_DISCOVER) is IP_PMTUDISC_DONT while it
// goes, and every other write waits. It is rare: a DATA chunk cut for a
// larger PLPMTU than its path has now. IPv4 routers then fragment it;
// IPv6 has only the host, which fragments for the path MTU it knows.
func (s *sysConn) writeFragment(_ *net.UDPConn, m *Message) error {
	s.dfMu.Lock()
	defer s.dfMu.Unlock()
	if err := s.setDF(unix.IP_PMTUDISC_DONT, unix.IPV6_PMTUDISC_DONT); err != nil {
		return fmt.Errorf("clearing DF: %w", err)
	}
	_, err := s.writeBatchDF([]Message{*m})
	if err2 := s.setDF(unix.IP_PMTUDISC_PROBE, unix.IPV6_PMTUDISC_PROBE); err == nil && err2 != nil {
		err = fmt.Errorf("setting DF again: %w", err2)
	}
	return err
}

// setDF sets the socket's path MTU discovery mode, IPv4 (which also rules
// IPv4 on a dual-stack socket) and IPv6.
func (s *sysConn) setDF(v4, v6 int) error {
	var serr error
	if err := s.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, v4)
		if s.v6 && serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, v6)
		}
	}); err != nil {
		return err
	}
	return serr
}

func (s *sysConn) writeBatchDF(msgs []Message) (int, error) {
	b := s.tx.Get().(*mmsgBatch)
	defer s.tx.Put(b)
	if !s.gso.Load() {
		n, _, err := s.send(b, msgs, false)
		return n, err
	}
	n, usedGSO, err := s.send(b, msgs, true)
	if usedGSO && err != nil && gsoRefused(err) {
		// Nothing was sent (sendmmsg fails only on its first header):
		// send the batch again, datagram by datagram. If that works,
		// GSO was the trouble.
		n, _, err = s.send(b, msgs, false)
		if err == nil {
			s.gso.Store(false)
		}
	}
	return n, err
}

// gsoRefused reports whether a send error may be the kernel refusing
// UDP_SEGMENT: EIO (the device cannot checksum GSO segments, or
// SO_NO_CHECK), EINVAL (a segment too large for the path), EMSGSIZE,
// ENOPROTOOPT.
func gsoRefused(err error) bool {
	var e syscall.Errno
	if !errors.As(err, &e) {
		return false
	}
	return e == unix.EIO || e == unix.EINVAL || e == unix.EMSGSIZE || e == unix.ENOPROTOOPT
}

// send makes one sendmmsg of msgs (with GSO runs if gso) and returns how
// many messages were sent and whether a header carried more than one.
func (s *sysConn) send(b *mmsgBatch, msgs []Message, gso bool) (sent int, usedGSO bool, err error) {
	b.grow(len(msgs))
	hdrs := 0
	var encErr error
	for i := 0; i < len(msgs); {
		k := 1
		if gso {
			k = gsoRun(msgs[i:])
		}
		if encErr = s.encode(b, hdrs, i, msgs[i:i+k]); encErr != nil {
			break
		}
		b.segs[hdrs] = k
		usedGSO = usedGSO || k > 1
		hdrs++
		i += k
	}
	if hdrs == 0 {
		return 0, false, encErr
	}
	b.count, b.n, b.errno = hdrs, 0, 0
	err = s.rc.Write(b.send)
	b.release(len(msgs))
	if err != nil {
		return 0, usedGSO, err
	}
	if b.errno != 0 {
		return 0, usedGSO, os.NewSyscallError("sendmmsg", b.errno)
	}
	if b.n <= 0 {
		return 0, usedGSO, errors.New("sendmmsg sent nothing")
	}
	for _, k := range b.segs[:b.n] {
		sent += k
	}
	return sent, usedGSO, nil
}

// gsoRun returns how many messages from the front of msgs can leave as one
// GSO send: same destination and source, every one as long as the first
// but the last, which may be shorter (the kernel cuts the payload into
// segments of the first's size), within the kernel's limits.
func gsoRun(msgs []Message) int {
	first := &msgs[0]
	size := first.N
	if size <= 0 || size > len(first.Buf) {
		return 1
	}
	total, k := size, 1
	for k < len(msgs) && k < gsoMaxSegments {
		m := &msgs[k]
		if m.N <= 0 || m.N > size || m.N > len(m.Buf) || total+m.N > gsoMaxBytes || m.Addr != first.Addr || m.Local != first.Local {
			break
		}
		total += m.N
		k++
		if m.N < size {
			break
		}
	}
	return k
}

// encode fills header h of b from run (messages first... of the batch, to
// one destination): iovecs, destination, and the control messages: the
// source address when the run chooses one of the destination's family
// (one of the other family is ignored: the kernel chooses, as it does for
// one a socket cannot use), and UDP_SEGMENT when the run has more than one
// message.
func (s *sysConn) encode(b *mmsgBatch, h, first int, run []Message) error {
	for i := range run {
		if run[i].N < 0 || run[i].N > len(run[i].Buf) {
			return errLength
		}
		b.iovs[first+i].Base = unsafe.SliceData(run[i].Buf)
		b.iovs[first+i].SetLen(run[i].N)
	}
	m := &run[0]
	hdr := &b.hdrs[h].Hdr
	hdr.Iov = &b.iovs[first]
	hdr.SetIovlen(len(run))
	hdr.Flags = 0
	b.hdrs[h].Len = 0
	dst := m.Addr.Addr()
	src := m.Local
	if src.IsUnspecified() {
		src = netip.Addr{}
	}
	dst4 := dst.Is4() || dst.Is4In6()
	sa := &b.names[h]
	if !s.v6 {
		if !dst4 {
			return errFamily
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: dst.Unmap().As4()}
		setPort(&sa4.Port, m.Addr.Port())
		hdr.Namelen = unix.SizeofSockaddrInet4
	} else {
		*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: dst.As16()}
		if z := dst.Zone(); z != "" {
			sa.Scope_id = s.zones.index(z)
		}
		setPort(&sa.Port, m.Addr.Port())
		hdr.Namelen = unix.SizeofSockaddrInet6
	}
	oob := b.control(h)
	off := 0
	switch {
	case src.IsValid() && dst4 && (src.Is4() || src.Is4In6()):
		// IP_PKTINFO's ipi_spec_dst is the source address, on an IPv4
		// socket and for an IPv4 destination of a dual-stack one.
		data := putCmsg(oob, unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SizeofInet4Pktinfo)
		*(*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0])) = unix.Inet4Pktinfo{Spec_dst: src.Unmap().As4()}
		off = unix.CmsgSpace(unix.SizeofInet4Pktinfo)
	case src.IsValid() && s.v6 && !dst4 && src.Is6() && !src.Is4In6():
		data := putCmsg(oob, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, unix.SizeofInet6Pktinfo)
		*(*unix.Inet6Pktinfo)(unsafe.Pointer(&data[0])) = unix.Inet6Pktinfo{Addr: src.As16()}
		off = unix.CmsgSpace(unix.SizeofInet6Pktinfo)
	}
	if len(run) > 1 {
		// The segment size, a u16 in host byte order.
		data := putCmsg(oob[off:], unix.SOL_UDP, unix.UDP_SEGMENT, 2)
		*(*uint16)(unsafe.Pointer(&data[0])) = uint16(m.N)
		off += unix.CmsgSpace(2)
	}
	hdr.SetControllen(off)
	return nil
}

// putCmsg writes a control message header of the given level, type and
// data length at the front of oob (aligned) and returns its data.
func putCmsg(oob []byte, level, typ int32, n int) []byte {
	ch := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	ch.Level, ch.Type = level, typ
	ch.SetLen(unix.CmsgLen(n))
	return oob[unix.CmsgLen(0) : unix.CmsgLen(0)+n]
}

// zoneCache maps IPv6 zones (scope IDs) between interface indexes and
// names, as the net package writes them. Zones are rare (link-local
// peers); the lookups are cached so that they cost one system call per
// interface, not per datagram.
type zoneCache struct {
	mu      sync.Mutex
	byIndex map[uint32]string
	byName  map[string]uint32
}

func (z *zoneCache) name(idx uint32) string {
	z.mu.Lock()
	defer z.mu.Unlock()
	if n, ok := z.byIndex[idx]; ok {
		return n
	}
	n := strconv.FormatUint(uint64(idx), 10)
	if ifi, err := net.InterfaceByIndex(int(idx)); err == nil {
		n = ifi.Name
	}
	if z.byIndex == nil {
		z.byIndex = make(map[uint32]string)
	}
	if len(z.byIndex) < 256 { // bounded: interfaces come and go
		z.byIndex[idx] = n
	}
	return n
}

func (z *zoneCache) index(name string) uint32 {
	if i, err := strconv.ParseUint(name, 10, 32); err == nil {
		return uint32(i)
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	if i, ok := z.byName[name]; ok {
		return i
	}
	var idx uint32
	if ifi, err := net.InterfaceByName(name); err == nil {
		idx = uint32(ifi.Index)
	}
	if z.byName == nil {
		z.byName = make(map[string]uint32)
	}
	if len(z.byName) < 256 {
		z.byName[name] = idx
	}
	return idx
}
