// Command relaypair is the floor that pgsctp's libpq path is measured
// against: two Go processes in the same layout as `pgsctp proxy` and
// `pgsctp server`, that carry PostgreSQL sessions over plain UDP with the
// least protocol that stays correct on loopback, and nothing else (no SCTP,
// no checksums, no retransmission, no multihoming). What pgsctp spends on top
// of this pair is what its protocol and its implementation cost; what this
// pair spends is what Go, two extra processes and the socket calls cost.
// It exists for scripts/bench-pg.sh only.
//
//	client -TCP-> relaypair a -UDP-> relaypair b -TCP-> PostgreSQL
//
//	relaypair a --listen 127.0.0.1:54343 --to 127.0.0.1:29921
//	relaypair b --listen 127.0.0.1:29921 --upstream 127.0.0.1:54339
//
// Role t is the same layout over TCP, the Go TCP relay pair of issue 7's
// COPY goal: two of them chained, each a plain TCP relay.
//
//	client -TCP-> relaypair t -TCP-> relaypair t -TCP-> PostgreSQL
//
//	relaypair t --listen 127.0.0.1:54345 --upstream 127.0.0.1:54346
//	relaypair t --listen 127.0.0.1:54346 --upstream 127.0.0.1:54339
//
// Each session has a UDP socket of its own at each end and, per relay, two
// goroutines with blocking reads: TCP to UDP, and UDP to TCP. That is the
// naive relay: every TCP read becomes datagrams sent one sendto each, every
// datagram is one recvfrom, a TCP read's datagrams are written to TCP in
// one write, and a goroutine wakes on each read (the Go netpoller parks it
// on EAGAIN). No sendmmsg or recvmmsg batching, which pgsctp has.
//
// # Framing
//
// Every datagram starts with one byte, its kind:
//
//	'H' hello: a opens a session at b's listening socket; b answers 'H' from
//	    the session's own socket, whose address a uses from then on
//	'D' data: the rest is bytes of the TCP stream, at most --mtu in all
//	'E' data that ends what the sender got from one TCP read: the receiver
//	    writes everything since the previous 'E' to TCP in one write, as
//	    pgsctp writes a whole SCTP message (one TCP read at the other end)
//	'C' credit: 8 bytes, big endian, the count of data datagrams the sender
//	    of the credit has consumed so far (cumulative, so one lost credit is
//	    made good by the next)
//	'F' finish: the TCP stream in this direction ended; the receiver shuts
//	    down writing on its TCP connection
//
// Credit is the only flow control: a sender keeps at most --window data
// datagrams unconsumed, so a slow reader (psql during a COPY) makes the
// relays wait instead of overflowing a socket buffer. There is no loss
// recovery; on loopback with the window inside the receive buffer nothing is
// lost, and a loss would show as a failed session, which the benchmark
// reports.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Datagram kinds; see the package doc.
const (
	kindHello  = 'H'
	kindData   = 'D'
	kindEnd    = 'E'
	kindCredit = 'C'
	kindFinish = 'F'
)

// options are the settings shared by both roles.
type options struct {
	mtu    int // largest datagram, kind byte included
	window int // data datagrams in flight per direction
}

const usage = `usage: relaypair a --listen HOST:PORT --to HOST:PORT [--mtu N] [--window N]
       relaypair b --listen HOST:PORT --upstream HOST:PORT [--mtu N] [--window N]
       relaypair t --listen HOST:PORT --upstream HOST:PORT
`

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "a" && os.Args[1] != "b" && os.Args[1] != "t") {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	role := os.Args[1]
	fs := flag.NewFlagSet("relaypair "+role, flag.ExitOnError)
	listen := fs.String("listen", "", "a, t: TCP `address` for clients; b: UDP address for a")
	to := fs.String("to", "", "a: b's UDP `address`")
	upstream := fs.String("upstream", "", "b, t: the TCP `address` of PostgreSQL or the next relay")
	var o options
	fs.IntVar(&o.mtu, "mtu", 1200, "largest UDP payload in `bytes` (pgsctp's default MTU, so both carry as many datagrams)")
	fs.IntVar(&o.window, "window", 64, "data `datagrams` unacknowledged per direction")
	fs.Parse(os.Args[2:])
	if *listen == "" || (role == "a" && *to == "") || (role != "a" && *upstream == "") || o.mtu < 64 || o.window < 4 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := func() error {
		if role == "t" {
			ln, err := net.Listen("tcp", *listen)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			return runT(ctx, ln, *upstream)
		}
		if role == "a" {
			peer, err := netip.ParseAddrPort(*to)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			ln, err := net.Listen("tcp", *listen)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			return runA(ctx, ln, peer, o)
		}
		laddr, err := net.ResolveUDPAddr("udp", *listen)
		if err != nil {
			return fmt.Errorf("--listen: %w", err)
		}
		ln, err := net.ListenUDP("udp", laddr)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		return runB(ctx, ln, *upstream, o)
	}()
	if err != nil {
		fmt.Fprintf(os.Stderr, "relaypair %s: %v\n", role, err)
		os.Exit(1)
	}
}

// sessions tracks the sessions of one relay so that it can end them all and
// wait for their goroutines when it stops.
type sessions struct {
	mu     sync.Mutex
	closed bool
	live   map[relayed]struct{}
	wg     sync.WaitGroup
}

// relayed is a session of either kind: over UDP (session) or TCP
// (tcpSession).
type relayed interface {
	run()   // relays until the session ends
	close() // ends the session's I/O
}

// start runs s until it ends, unless the relay is stopping.
func (ss *sessions) start(s relayed) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		s.close()
		return
	}
	if ss.live == nil {
		ss.live = make(map[relayed]struct{})
	}
	ss.live[s] = struct{}{}
	ss.wg.Go(func() {
		s.run()
		ss.mu.Lock()
		delete(ss.live, s)
		ss.mu.Unlock()
	})
}

// stop ends every session and waits for them.
func (ss *sessions) stop() {
	ss.mu.Lock()
	ss.closed = true
	for s := range ss.live {
		s.close()
	}
	ss.mu.Unlock()
	ss.wg.Wait()
}

// runA accepts clients on ln and opens a session at b's listener peer for
// each, until ctx ends; it closes ln.
func runA(ctx context.Context, ln net.Listener, peer netip.AddrPort, o options) error {
	fmt.Fprintf(os.Stderr, "relaypair a: serving on %s, b at %s\n", ln.Addr(), peer)
	return serveTCP(ctx, ln, "a", func(c *net.TCPConn) (relayed, error) {
		return openSession(c, peer, o)
	})
}

// serveTCP accepts clients on ln and starts the session open makes for
// each, until ctx ends; it closes ln and waits for the sessions. A client
// whose session cannot open is closed, and role says so on stderr.
func serveTCP(ctx context.Context, ln net.Listener, role string, open func(c *net.TCPConn) (relayed, error)) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var ss sessions
	defer ss.stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		go func() {
			s, err := open(c.(*net.TCPConn))
			if err != nil {
				fmt.Fprintf(os.Stderr, "relaypair %s: %v\n", role, err)
				c.Close()
				return
			}
			ss.start(s)
		}()
	}
}

// openSession sends hello from a new UDP socket to b's listener and waits
// for b's answer, which comes from b's socket for this session.
func openSession(c *net.TCPConn, listener netip.AddrPort, o options) (*session, error) {
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: listener.Addr().AsSlice()})
	if err != nil {
		return nil, fmt.Errorf("session socket: %w", err)
	}
	setBuffers(u)
	buf := make([]byte, o.mtu)
	for attempt := 0; ; attempt++ {
		if _, err := u.WriteToUDPAddrPort([]byte{kindHello}, listener); err != nil {
			u.Close()
			return nil, fmt.Errorf("hello to %s: %w", listener, err)
		}
		u.SetReadDeadline(time.Now().Add(time.Second))
		n, from, err := u.ReadFromUDPAddrPort(buf)
		if err == nil && n == 1 && buf[0] == kindHello {
			u.SetReadDeadline(time.Time{})
			return newSession(c, u, from, o), nil
		}
		if attempt == 4 {
			u.Close()
			return nil, fmt.Errorf("no answer to hello from %s: %v", listener, err)
		}
	}
}

// runB answers hellos on its UDP listener ln, until ctx ends (it closes
// ln): for each it dials upstream (PostgreSQL) and opens a session socket.
// A repeated hello (its answer was lost) is answered again from the same
// session.
func runB(ctx context.Context, ln *net.UDPConn, upstream string, o options) error {
	laddr := ln.LocalAddr().(*net.UDPAddr)
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	fmt.Fprintf(os.Stderr, "relaypair b: serving on %s, upstream %s\n", ln.LocalAddr(), upstream)
	var ss sessions
	defer ss.stop()
	var mu sync.Mutex
	byPeer := make(map[netip.AddrPort]*session) // sessions by a's address, until they end
	buf := make([]byte, o.mtu)
	for {
		n, from, err := ln.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read: %w", err)
		}
		if n != 1 || buf[0] != kindHello {
			continue
		}
		mu.Lock()
		s := byPeer[from]
		mu.Unlock()
		if s != nil {
			s.udp.WriteToUDPAddrPort([]byte{kindHello}, from)
			continue
		}
		go func() {
			c, err := net.Dial("tcp", upstream)
			if err != nil {
				fmt.Fprintf(os.Stderr, "relaypair b: %v\n", err)
				return
			}
			u, err := net.ListenUDP("udp", &net.UDPAddr{IP: laddr.IP})
			if err != nil {
				fmt.Fprintf(os.Stderr, "relaypair b: session socket: %v\n", err)
				c.Close()
				return
			}
			setBuffers(u)
			s := newSession(c.(*net.TCPConn), u, from, o)
			mu.Lock()
			if byPeer[from] != nil { // a second hello raced the first
				mu.Unlock()
				s.close()
				return
			}
			byPeer[from] = s
			mu.Unlock()
			s.onEnd = func() {
				mu.Lock()
				delete(byPeer, from)
				mu.Unlock()
			}
			if _, err := u.WriteToUDPAddrPort([]byte{kindHello}, from); err != nil {
				fmt.Fprintf(os.Stderr, "relaypair b: hello to %s: %v\n", from, err)
			}
			ss.start(s)
		}()
	}
}

// setBuffers asks for socket buffers that hold a window of datagrams with
// room to spare (the kernel caps them at net.core.[rw]mem_max).
func setBuffers(u *net.UDPConn) {
	u.SetReadBuffer(4 << 20)
	u.SetWriteBuffer(4 << 20)
}

// session is one relayed PostgreSQL session at one relay.
type session struct {
	tcp  *net.TCPConn
	udp  *net.UDPConn
	peer netip.AddrPort // the other relay's socket for this session
	o    options

	// onEnd, if set, runs once the session has ended (set before run).
	onEnd func()

	// sent is owned by the TCP-to-UDP goroutine; credited is stored by the
	// UDP-to-TCP goroutine when a credit arrives, and creditCh wakes the
	// sender if it waits for one.
	sent     uint64
	credited atomic.Uint64
	creditCh chan struct{}

	closeOnce sync.Once
}

func newSession(c *net.TCPConn, u *net.UDPConn, peer netip.AddrPort, o options) *session {
	c.SetNoDelay(true)
	return &session{tcp: c, udp: u, peer: peer, o: o, creditCh: make(chan struct{}, 1)}
}

// close ends the session's I/O: both goroutines return from their reads.
func (s *session) close() {
	s.closeOnce.Do(func() {
		s.tcp.Close()
		s.udp.Close()
	})
}

// run relays both directions until both have finished (this side sent its
// finish, the other side's arrived), then closes the sockets, which ends
// the reader.
func (s *session) run() {
	finished := make(chan struct{}) // closed when the other side's finish arrived
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		if err := s.udpToTCP(finished); err != nil && !errors.Is(err, net.ErrClosed) {
			fmt.Fprintf(os.Stderr, "relaypair: from %s: %v\n", s.peer, err)
			s.close()
		}
	}()
	if err := s.tcpToUDP(); err != nil && !errors.Is(err, net.ErrClosed) {
		fmt.Fprintf(os.Stderr, "relaypair: to %s: %v\n", s.peer, err)
		s.close()
	}
	select {
	case <-finished:
	case <-readerDone:
	}
	s.close()
	<-readerDone
	if s.onEnd != nil {
		s.onEnd()
	}
}

// tcpToUDP reads the TCP stream and sends it as data datagrams, at most a
// window of them unconsumed, then a finish.
func (s *session) tcpToUDP() error {
	buf := make([]byte, 64<<10)
	pkt := make([]byte, s.o.mtu)
	pkt[0] = kindData
	for {
		n, rerr := s.tcp.Read(buf)
		for p := buf[:n]; len(p) > 0; {
			if err := s.waitCredit(); err != nil {
				return err
			}
			k := copy(pkt[1:], p)
			p = p[k:]
			pkt[0] = kindData
			if len(p) == 0 {
				pkt[0] = kindEnd
			}
			if _, err := s.udp.WriteToUDPAddrPort(pkt[:1+k], s.peer); err != nil {
				return fmt.Errorf("send: %w", err)
			}
			s.sent++
		}
		if rerr != nil {
			if _, err := s.udp.WriteToUDPAddrPort([]byte{kindFinish}, s.peer); err != nil {
				return fmt.Errorf("send finish: %w", err)
			}
			if rerr == io.EOF {
				return nil
			}
			return fmt.Errorf("read: %w", rerr)
		}
	}
}

// waitCredit blocks while a window of data datagrams is unconsumed.
func (s *session) waitCredit() error {
	for s.sent-s.credited.Load() >= uint64(s.o.window) {
		select {
		case <-s.creditCh:
		case <-time.After(10 * time.Second):
			return errors.New("no credit for 10 s")
		}
	}
	return nil
}

// udpToTCP receives datagrams from the other relay until the socket is
// closed: data goes to the TCP connection, credit to the sender; a finish
// shuts down TCP writing and closes finished, and credits for the other
// direction keep coming after it. It grants credit every quarter window
// consumed.
func (s *session) udpToTCP(finished chan<- struct{}) error {
	buf := make([]byte, s.o.mtu+1)
	pending := make([]byte, 0, 64<<10) // data since the last 'E'
	credit := make([]byte, 9)
	credit[0] = kindCredit
	var consumed uint64
	for {
		n, from, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		if from != s.peer || n == 0 {
			continue
		}
		switch buf[0] {
		case kindData, kindEnd:
			pending = append(pending, buf[1:n]...)
			if buf[0] == kindEnd || len(pending) > 60<<10 {
				if _, err := s.tcp.Write(pending); err != nil {
					return fmt.Errorf("write: %w", err)
				}
				pending = pending[:0]
			}
			consumed++
			if consumed%uint64(s.o.window/4) == 0 {
				binary.BigEndian.PutUint64(credit[1:], consumed)
				if _, err := s.udp.WriteToUDPAddrPort(credit, s.peer); err != nil {
					return fmt.Errorf("send credit: %w", err)
				}
			}
		case kindCredit:
			if n == 9 {
				if c := binary.BigEndian.Uint64(buf[1:9]); c > s.credited.Load() {
					s.credited.Store(c)
					select {
					case s.creditCh <- struct{}{}:
					default:
					}
				}
			}
		case kindFinish:
			if finished == nil {
				continue // a duplicate
			}
			if err := s.tcp.CloseWrite(); err != nil {
				return fmt.Errorf("shut down writing: %w", err)
			}
			close(finished)
			finished = nil
		}
	}
}

// runT accepts clients on ln and relays each to a connection of its own to
// upstream, until ctx ends; it closes ln.
func runT(ctx context.Context, ln net.Listener, upstream string) error {
	fmt.Fprintf(os.Stderr, "relaypair t: serving on %s, upstream %s\n", ln.Addr(), upstream)
	var d net.Dialer
	return serveTCP(ctx, ln, "t", func(c *net.TCPConn) (relayed, error) {
		up, err := d.DialContext(ctx, "tcp", upstream)
		if err != nil {
			return nil, err
		}
		return &tcpSession{down: c, up: up.(*net.TCPConn)}, nil
	})
}

// tcpSession relays one client's TCP connection to its own upstream one:
// per direction a goroutine that reads into a buffer and writes what it
// read. Not io.Copy, which splices TCP to TCP in the kernel on Linux: a
// relay that carries the bytes over anything else (pgsctp, relaypair a and
// b) cannot, and the reference is for that relay's cost.
type tcpSession struct {
	down, up  *net.TCPConn
	closeOnce sync.Once
}

func (s *tcpSession) close() {
	s.closeOnce.Do(func() {
		s.down.Close()
		s.up.Close()
	})
}

// run relays both directions until each has ended (the reader's end of
// stream passed on as a half close), or one fails; then it closes both.
func (s *tcpSession) run() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.half(s.up, s.down)
	}()
	s.half(s.down, s.up)
	<-done
	s.close()
}

// half copies src to dst, then half-closes dst; an error closes both
// connections, which ends the other direction too.
func (s *tcpSession) half(dst, src *net.TCPConn) {
	buf := make([]byte, 64<<10)
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				if !errors.Is(err, net.ErrClosed) {
					fmt.Fprintf(os.Stderr, "relaypair t: write to %s: %v\n", dst.RemoteAddr(), err)
				}
				s.close()
				return
			}
		}
		if rerr == io.EOF {
			dst.CloseWrite()
			return
		}
		if rerr != nil {
			if !errors.Is(rerr, net.ErrClosed) {
				fmt.Fprintf(os.Stderr, "relaypair t: read from %s: %v\n", src.RemoteAddr(), rerr)
			}
			s.close()
			return
		}
	}
}
