package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgsctp/pgsctp/sctp"
)

// Server answers bench clients over SCTP and, with ServerOptions.TCP, TCP.
type Server struct {
	// Constant after Listen.
	opts ServerOptions
	sl   *sctp.Listener
	tl   *net.TCPListener // nil unless opts.TCP
	sem  chan struct{}    // one token per running session

	wg        sync.WaitGroup // Serve's accept loops and sessions
	closeOnce sync.Once
	closed    chan struct{}
}

// Listen opens the server's sockets. Serve then answers clients.
func Listen(ctx context.Context, o ServerOptions) (*Server, error) {
	if o.Listen == "" {
		o.Listen = ":" + strconv.Itoa(DefaultPort)
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = 16
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 60 * time.Second
	}
	var cfg sctp.Config
	if o.Config != nil {
		cfg = *o.Config
	}
	if o.UDPPort != 0 {
		cfg.UDPPort = o.UDPPort
	}
	if cfg.Assoc.OutboundStreams < MaxStreams {
		cfg.Assoc.OutboundStreams = MaxStreams
	}
	host, port, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("bench: listen address: %w", err)
	}
	s := &Server{opts: o, sem: make(chan struct{}, o.MaxSessions), closed: make(chan struct{})}
	if o.TCP {
		var lc net.ListenConfig
		l, err := lc.Listen(ctx, "tcp", o.Listen)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		s.tl = l.(*net.TCPListener)
		port = strconv.Itoa(s.tl.Addr().(*net.TCPAddr).Port)
	}
	if port == "0" {
		port = strconv.Itoa(DefaultPort)
	}
	s.sl, err = sctp.Listen(ctx, net.JoinHostPort(host, port), &cfg)
	if err != nil {
		if s.tl != nil {
			s.tl.Close()
		}
		return nil, fmt.Errorf("bench: %w", err)
	}
	return s, nil
}

// Addr is the SCTP address served, with the UDP port actually bound.
func (s *Server) Addr() *sctp.Addr { return s.sl.Addr().(*sctp.Addr) }

// TCPAddr is the TCP address served, nil without ServerOptions.TCP.
func (s *Server) TCPAddr() net.Addr {
	if s.tl == nil {
		return nil
	}
	return s.tl.Addr()
}

// Close stops accepting sessions and ends running ones. It does not wait
// for them; Serve does.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.sl.Close()
		if s.tl != nil {
			s.tl.Close()
		}
	})
	return nil
}

// Serve answers clients until ctx ends or Close is called, then waits for
// the running sessions to end and returns nil. Failed sessions do not stop
// it; they are reported through ServerOptions.OnSession.
func (s *Server) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
		case <-s.closed:
		}
		s.Close()
		cancel()
	}()

	var errs [2]error
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		errs[0] = s.acceptSCTP(ctx)
	}()
	if s.tl != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			errs[1] = s.acceptTCP(ctx)
		}()
	}
	s.wg.Wait()
	return errors.Join(errs[:]...)
}

func (s *Server) acceptSCTP(ctx context.Context) error {
	for {
		a, err := s.sl.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("bench: accept: %w", err)
		}
		s.start(ctx, "sctp", func(context.Context) conn { return &sctpConn{a: a} })
	}
}

func (s *Server) acceptTCP(ctx context.Context) error {
	for {
		c, err := s.tl.AcceptTCP()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("bench: accept: %w", err)
		}
		s.start(ctx, "tcp", func(sctx context.Context) conn { return newTCPConn(sctx, c) })
	}
}

// start runs a session in its own goroutine if a slot is free, else
// closes the connection at once. mk makes the conn for the session's
// context.
func (s *Server) start(ctx context.Context, transport string, mk func(context.Context) conn) {
	ctx, cancel := context.WithCancelCause(ctx)
	c := mk(ctx)
	select {
	case s.sem <- struct{}{}:
	default:
		c.abort()
		cancel(nil)
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.sem }()
		defer cancel(nil)
		info := s.session(ctx, cancel, transport, c)
		if s.opts.OnSession != nil {
			s.opts.OnSession(info)
		}
	}()
}

// session serves one client: hello, data, done, report, close. cancel
// ends ctx, the session's own context.
func (s *Server) session(ctx context.Context, cancel context.CancelCauseFunc, transport string, c conn) (info ServerSession) {
	info = ServerSession{Transport: transport, Remote: c.remote()}
	fail := func(err error) ServerSession {
		c.abort()
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%w)", err, cause)
		}
		info.Err = err.Error()
		return info
	}
	var progress atomic.Uint64
	go watchIdle(ctx, cancel, &progress, s.opts.IdleTimeout)

	var hello helloMsg
	if err := recvControl(ctx, c, handshakeTimeout, &hello); err != nil {
		return fail(fmt.Errorf("waiting for hello: %w", err))
	}
	info.Mode, info.MessageSize, info.Streams = hello.Mode, hello.Size, hello.Streams
	if err := checkHello(hello); err != nil {
		ready, _ := json.Marshal(readyMsg{Version: protocolVersion, Err: err.Error()})
		c.send(ctx, 0, true, ready)
		return fail(err)
	}
	ready, _ := json.Marshal(readyMsg{Version: protocolVersion})
	if err := c.send(ctx, 0, true, ready); err != nil {
		return fail(fmt.Errorf("sending ready: %w", err))
	}

	cpu := startCPU()
	start := time.Now()
	side := &info.Side
	var last time.Time
	var done *doneMsg
	for done == nil || side.Messages < done.Messages {
		m, err := c.recv(ctx)
		progress.Add(1)
		if err != nil {
			return fail(fmt.Errorf("after %d messages: %w", side.Messages, err))
		}
		if m.control {
			if done != nil {
				return fail(errors.New("second done message"))
			}
			done = new(doneMsg)
			if err := json.Unmarshal(m.data, done); err != nil {
				return fail(fmt.Errorf("done message: %w", err))
			}
			continue
		}
		last = time.Now()
		side.Messages++
		side.Bytes += uint64(len(m.data))
		if hello.Mode == Latency {
			if err := c.send(ctx, m.stream, false, m.data); err != nil {
				return fail(fmt.Errorf("echoing message %d: %w", side.Messages, err))
			}
		}
	}
	if last.IsZero() {
		last = time.Now()
	}
	side.Seconds = last.Sub(start).Seconds()
	ts := c.stats()
	side.Retransmissions = ts.retransmissions
	side.T3Expiries, side.FastRetransmits = ts.t3Expiries, ts.fastRetransmits
	side.PacketsSent, side.PacketsReceived = ts.packetsSent, ts.packetsReceived
	cpu.fill(side)

	rep := reportMsg{Side: *side}
	if side.Messages != done.Messages || side.Bytes != done.Bytes {
		rep.Err = fmt.Sprintf("received %d messages, %d bytes; client announced %d, %d",
			side.Messages, side.Bytes, done.Messages, done.Bytes)
		info.Err = rep.Err
	}
	report, _ := json.Marshal(rep)
	if err := c.send(ctx, 0, true, report); err != nil {
		return fail(fmt.Errorf("sending report: %w", err))
	}
	// The client closes; wait for that so its report is delivered.
	cctx, cancelClose := context.WithTimeout(ctx, closeTimeout)
	defer cancelClose()
	if _, err := c.recv(cctx); err == nil {
		return fail(errors.New("message after the report"))
	} else if !errors.Is(err, io.EOF) {
		c.abort()
		return info
	}
	c.finish(cctx)
	return info
}

// errIdle is the cause of a session's end when its client went quiet.
var errIdle = errors.New("client idle for longer than the idle timeout")

// watchIdle cancels ctx with errIdle if progress stays still for a whole
// period (so after between one and two periods of silence), and returns
// when ctx ends. One cheap counter per message costs less than a timeout
// context per message.
func watchIdle(ctx context.Context, cancel context.CancelCauseFunc, progress *atomic.Uint64, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	seen := progress.Load()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n := progress.Load()
			if n == seen {
				cancel(errIdle)
				return
			}
			seen = n
		}
	}
}

func checkHello(h helloMsg) error {
	if h.Version != protocolVersion {
		return fmt.Errorf("protocol version %d, server speaks %d", h.Version, protocolVersion)
	}
	o := Options{Mode: h.Mode, Size: h.Size, Streams: h.Streams, Duration: time.Second}
	if _, err := o.withDefaults(); err != nil {
		return err
	}
	if h.Size == 0 || h.Streams == 0 {
		return errors.New("hello without size or streams")
	}
	return nil
}
