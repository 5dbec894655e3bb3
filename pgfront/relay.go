package pgfront

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgsctp/pgsctp/internal/rawio"
)

// Relay carries PostgreSQL sessions from the conns a listener accepts to
// conns its Dial function opens, unchanged. It is both the pgsctp server
// (Dial reaches PostgreSQL) and the pgsctp proxy (Dial reaches the server);
// see the package doc.
//
// Set the fields before the first Serve and do not change them after. One
// Relay may Serve several listeners at once (the proxy's Unix socket and
// TCP listener); they share MaxSessions.
type Relay struct {
	// Dial opens the far side of one session. Required.
	Dial DialFunc
	// Target names what Dial reaches in messages to clients and logs,
	// e.g. "PostgreSQL at /var/run/postgresql/.s.PGSQL.5432". Empty:
	// "the server".
	Target string
	// MaxSessions bounds the sessions carried at once; a session beyond it
	// gets an ErrorResponse with SQLSTATE 53300, as PostgreSQL answers
	// when max_connections is reached. Zero means 1000.
	MaxSessions int
	// StartupTimeout bounds the wait for a session's first message. Zero
	// means 60 seconds, PostgreSQL's authentication_timeout default.
	StartupTimeout time.Duration
	// DialTimeout bounds one call to Dial. Zero means 15 seconds.
	DialTimeout time.Duration
	// Linger is how long the relay waits for the other side to finish
	// after one side has ended its direction (a half-close). PostgreSQL
	// never keeps a session going half-closed, so this only bounds how long
	// a client that ignores the end can hold a session. Zero means 30
	// seconds.
	Linger time.Duration
	// BufferSize is the copy buffer per direction of a session, so one
	// session holds at most twice this. Zero means 32 KiB.
	BufferSize int
	// Allow, when set, decides whether a session may be carried, after its
	// first message was read: it gets the peer's addresses and what the
	// message says. A non-nil error refuses the session with an
	// ErrorResponse (SQLSTATE 28000) carrying the error's text.
	Allow func(info SessionInfo) error
	// Logger receives one line per session start, end and refusal. Nil
	// means slog.Default().
	Logger *slog.Logger

	// Guarded by mu.
	mu       sync.Mutex
	nextID   uint64
	sessions map[uint64]*session
	refusing int // goroutines sending a "too many sessions" error

	pool sync.Pool // of *[]byte copy buffers
}

// SessionInfo describes one session as the relay saw it.
type SessionInfo struct {
	ID     uint64
	Remote []net.Addr // the client's addresses (all of them for SCTP)
	Local  net.Addr
	Start  time.Time
	// Kind is the first message: KindStartup, KindSSL, KindGSSEnc or
	// KindCancel. After an SSL or GSS request the real startup message is
	// encrypted, so User and Database stay empty.
	Kind            string
	ProtocolVersion string // of a startup message, "3.0"
	User            string
	Database        string
	Application     string
	Replication     string // the startup "replication" parameter, if any
	CancelPID       uint32 // of a cancel request

	// Bytes copied so far, client to far side and back.
	BytesUp, BytesDown int64
}

func (i *SessionInfo) logAttrs() []any {
	a := []any{"session", i.ID, "remote", addrsString(i.Remote), "kind", i.Kind}
	if i.User != "" {
		a = append(a, "user", i.User, "database", i.Database)
	}
	if i.Application != "" {
		a = append(a, "application", i.Application)
	}
	if i.Replication != "" {
		a = append(a, "replication", i.Replication)
	}
	if i.Kind == KindCancel {
		a = append(a, "pid", i.CancelPID)
	}
	return a
}

type session struct {
	info      SessionInfo // written before the session is published, then constant
	up, down  atomic.Int64
	client    net.Conn
	far       atomic.Pointer[net.Conn]
	closeOnce sync.Once
	closedWhy atomic.Pointer[string] // why the relay closed the session, if it did
}

// close ends the session, for the reason why (shown in the end log line).
func (s *session) close(why string) {
	s.closeOnce.Do(func() {
		s.closedWhy.Store(&why)
		s.client.Close()
		if f := s.far.Load(); f != nil {
			(*f).Close()
		}
	})
}

func (r *Relay) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func (r *Relay) target() string {
	if r.Target != "" {
		return r.Target
	}
	return "the server"
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Sessions returns a snapshot of the sessions being carried.
func (r *Relay) Sessions() []SessionInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]SessionInfo, 0, len(r.sessions))
	for _, s := range r.sessions {
		i := s.info
		i.BytesUp, i.BytesDown = s.up.Load(), s.down.Load()
		out = append(out, i)
	}
	return out
}

// Serve accepts sessions from l and carries each one until it ends. It
// returns when l fails (nil when l was closed), after every session it
// started has ended. So closing l is a graceful stop (no new sessions,
// running ones go on to their end), and cancelling ctx an immediate one
// (l is closed and every session ended at once).
func (r *Relay) Serve(ctx context.Context, l net.Listener) error {
	if r.Dial == nil {
		return errors.New("pgfront: Relay.Dial is nil")
	}
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				// Out of file descriptors and the like: wait, as
				// net/http does, instead of spinning.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				r.logger().Warn("pgsctp: accept failed; retrying", "err", err, "delay", backoff)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
					return nil
				}
				continue
			}
			return fmt.Errorf("pgfront: accepting sessions: %w", err)
		}
		backoff = 0
		s, refusal := r.admit(c)
		if refusal != nil {
			wg.Go(refusal)
			continue
		}
		if s == nil {
			continue
		}
		wg.Go(func() {
			defer r.remove(s)
			r.carry(ctx, s)
		})
	}
}

// admit registers a new session or, beyond MaxSessions, refuses it: it
// then returns the refusal to run on a goroutine of its own (it waits a
// little for the client), or nil and nil when 16 refusals run already and
// the conn was closed without a word.
func (r *Relay) admit(c net.Conn) (*session, func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sessions == nil {
		r.sessions = make(map[uint64]*session)
	}
	r.nextID++
	limit := orDefault(r.MaxSessions, 1000)
	if len(r.sessions) >= limit {
		r.logger().Warn("pgsctp: too many sessions; refusing one",
			"remote", addrsString(RemoteAddrs(c)), "limit", limit)
		if r.refusing >= 16 {
			c.Close()
			return nil, nil
		}
		r.refusing++
		return nil, func() {
			refuse(c, codeTooManySessions, fmt.Sprintf("pgsctp: too many sessions (limit %d)", limit))
			r.mu.Lock()
			r.refusing--
			r.mu.Unlock()
		}
	}
	s := &session{client: c}
	s.info = SessionInfo{ID: r.nextID, Remote: RemoteAddrs(c), Local: c.LocalAddr(), Start: time.Now()}
	r.sessions[s.info.ID] = s
	return s, nil
}

func (r *Relay) remove(s *session) {
	r.mu.Lock()
	delete(r.sessions, s.info.ID)
	r.mu.Unlock()
}

// carry runs one session from its first message to its end.
func (r *Relay) carry(ctx context.Context, s *session) {
	stop := context.AfterFunc(ctx, func() { s.close("relay shutting down") })
	defer stop()
	defer s.close("done")
	log := r.logger()
	// s.info is written only here and under r.mu (Sessions reads it);
	// this goroutine may read it without the lock.
	described := s.info
	first, err := readFirst(s.client, orDefault(r.StartupTimeout, 60*time.Second), &described)
	r.mu.Lock()
	s.info = described
	r.mu.Unlock()
	info := &s.info
	if err != nil {
		switch {
		case ctx.Err() != nil:
		case len(first) == 0 && isEOF(err):
			// A port probe or a health check: nothing to say.
			log.Debug("pgsctp: session closed before its first message", info.logAttrs()...)
		case isTimeout(err):
			log.Warn("pgsctp: no startup packet in time; closing", append(info.logAttrs(), "err", err)...)
		default:
			log.Warn("pgsctp: invalid startup packet; refusing", append(info.logAttrs(), "err", err, "bytes", len(first))...)
			refuse(s.client, codeProtocolViolation, "pgsctp: invalid startup packet: "+err.Error())
		}
		return
	}
	if r.Allow != nil {
		if err := r.Allow(*info); err != nil {
			log.Warn("pgsctp: session refused", append(info.logAttrs(), "err", err)...)
			refuse(s.client, codeRefused, "pgsctp: "+err.Error())
			return
		}
	}

	dctx, cancel := context.WithTimeout(ctx, orDefault(r.DialTimeout, 15*time.Second))
	far, err := r.Dial(dctx)
	cancel()
	if err != nil {
		log.Warn("pgsctp: cannot reach "+r.target(), append(info.logAttrs(), "err", err)...)
		if info.Kind != KindCancel && ctx.Err() == nil {
			refuse(s.client, codeCannotConnect, fmt.Sprintf("pgsctp: cannot reach %s: %v", r.target(), err))
		}
		return
	}
	s.far.Store(&far)
	if ctx.Err() != nil { // raced with shutdown: AfterFunc may have run before far was set
		far.Close()
		return
	}
	log.Info("pgsctp: session start", info.logAttrs()...)

	if _, err := far.Write(first); err != nil {
		log.Warn("pgsctp: session end", append(info.logAttrs(), "err", fmt.Errorf("forwarding startup packet to %s: %w", r.target(), err))...)
		return
	}
	s.up.Add(int64(len(first)))
	end := r.pipe(s, far)
	attrs := append(info.logAttrs(), "up", s.up.Load(), "down", s.down.Load(),
		"duration", time.Since(info.Start).Round(time.Millisecond), "end", end.reason)
	if end.err != nil && ctx.Err() == nil {
		log.Warn("pgsctp: session end", append(attrs, "err", end.err)...)
	} else {
		log.Info("pgsctp: session end", attrs...)
	}
}

type endReason struct {
	reason string
	err    error
}

type halfResult struct {
	up  bool // client to far side
	err error
}

// pipe copies both ways until both directions have ended, an error ends
// the session, or the other side lingers too long after a half-close.
func (r *Relay) pipe(s *session, far net.Conn) endReason {
	results := make(chan halfResult, 2)
	go func() { results <- halfResult{up: true, err: r.copyHalf(far, s.client, r.target(), "client", &s.up)} }()
	go func() {
		results <- halfResult{up: false, err: r.copyHalf(s.client, far, "client", r.target(), &s.down)}
	}()

	first := <-results
	var end endReason
	if first.err != nil {
		end = endReason{reason: "error", err: first.err}
		s.close("error")
	} else {
		sender := "client"
		if !first.up {
			sender = r.target()
		}
		end = endReason{reason: sender + " closed"}
		t := time.AfterFunc(orDefault(r.Linger, 30*time.Second), func() {
			s.close("other side still open after " + end.reason)
		})
		defer t.Stop()
	}
	second := <-results
	if end.err == nil && second.err != nil {
		if why := s.closedWhy.Load(); why != nil {
			end.reason = *why
		} else {
			end = endReason{reason: "error", err: second.err}
		}
	}
	s.close("done")
	return end
}

// copyHalf copies one direction through a buffer from the pool and, at the
// end of src, half-closes dst. It returns nil on an orderly end.
func (r *Relay) copyHalf(dst, src net.Conn, dstName, srcName string, count *atomic.Int64) error {
	if st, ok := src.(copierTo); ok {
		// An SCTP stream writes arriving bytes to dst on the goroutine
		// that receives them, when dst takes them at once (sctp.Stream.CopyTo).
		_, err := st.CopyTo(dst, count)
		if err == nil {
			if err := closeWrite(dst); err != nil && !errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("half-closing toward %s: %w", dstName, err)
			}
			return nil
		}
		return fmt.Errorf("relaying from %s to %s: %w", srcName, dstName, err)
	}
	bp := r.buffer()
	defer r.pool.Put(bp)
	buf := *bp
	// A plain socket is read with raw system calls (rawio: they do not
	// wake the runtime's sysmon thread on every read after an idle spell).
	var rd io.Reader = src
	if raw := rawio.NewReader(src); raw != nil {
		rd = raw
	}
	for {
		n, rerr := rd.Read(buf)
		if n > 0 {
			w, werr := dst.Write(buf[:n])
			count.Add(int64(w))
			if werr != nil {
				return fmt.Errorf("writing to %s: %w", dstName, werr)
			}
		}
		if rerr != nil {
			if isEOF(rerr) {
				if err := closeWrite(dst); err != nil && !errors.Is(err, net.ErrClosed) {
					return fmt.Errorf("half-closing toward %s: %w", dstName, err)
				}
				return nil
			}
			return fmt.Errorf("reading from %s: %w", srcName, rerr)
		}
	}
}

// copierTo is a source that writes itself to a destination
// (*sctp.Stream, and the conns that embed one).
type copierTo interface {
	CopyTo(w io.Writer, count *atomic.Int64) (int64, error)
}

func (r *Relay) buffer() *[]byte {
	if bp, ok := r.pool.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, orDefault(r.BufferSize, 32<<10))
	return &b
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
