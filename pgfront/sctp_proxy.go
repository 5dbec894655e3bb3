package pgfront

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/sctp"
)

// SCTPDialer reaches a pgsctp server over SCTP, one association per
// session, or, with Multiplex, every session as a stream of one shared
// association. Its Dial is the DialFunc of the proxy and of pgdial.
type SCTPDialer struct {
	// Addrs are the server's addresses ("host:port", one SCTP port): the
	// addresses of one multihomed server. The INIT goes to the first and
	// its retransmissions to the next; the association then uses every
	// address the server lists.
	Addrs []string
	// Config configures the associations; read at every Dial, so it may be
	// replaced between Dials with SetConfig.
	Config *sctp.Config
	// Multiplex carries all sessions on one association.
	Multiplex bool
	// Logger receives association up/down lines; nil: slog.Default().
	Logger *slog.Logger

	cfg    atomic.Pointer[sctp.Config]
	addrs  atomic.Pointer[[]string]
	once   sync.Once
	mux    *MuxDialer
	mu     sync.Mutex
	live   map[*sctp.Association]*dialedState
	close  atomic.Bool
	health sctp.PathHealth

	// The address watcher (addrwatch.go), started with the first
	// association.
	watchOnce sync.Once
	watchStop chan struct{}
	watchDone chan struct{}
}

type dialedState struct {
	since    time.Time
	sessions atomic.Int64
}

func (d *SCTPDialer) init() {
	d.once.Do(func() {
		if d.Logger == nil {
			d.Logger = slog.Default()
		}
		if d.cfg.Load() == nil {
			d.cfg.Store(d.Config)
		}
		if d.addrs.Load() == nil {
			a := d.Addrs
			d.addrs.Store(&a)
		}
		d.live = map[*sctp.Association]*dialedState{}
		d.mux = &MuxDialer{DialAssociation: func(ctx context.Context) (Association, error) {
			a, st, err := d.dialAssociation(ctx)
			if err != nil {
				return nil, err
			}
			return &muxAssociation{a: a, st: st}, nil
		}}
	})
}

// SetConfig replaces the configuration for associations dialed from now
// on; running ones take the settings that may change while they run
// (sctp.Association.UpdateTimers), and their addresses follow
// cfg.LocalAddrs (watchAddrs).
func (d *SCTPDialer) SetConfig(cfg *sctp.Config) {
	d.init()
	d.cfg.Store(cfg)
	d.mu.Lock()
	live := make([]*sctp.Association, 0, len(d.live))
	for a := range d.live {
		live = append(live, a)
	}
	d.mu.Unlock()
	for _, a := range live {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		a.UpdateTimers(ctx, cfg)
		cancel()
	}
}

// SetServers replaces the server addresses for associations dialed from now on.
func (d *SCTPDialer) SetServers(addrs []string) {
	d.init()
	d.addrs.Store(&addrs)
}

// Servers are the server addresses in use.
func (d *SCTPDialer) Servers() []string {
	d.init()
	return *d.addrs.Load()
}

// Dial opens one session's stream to the server.
func (d *SCTPDialer) Dial(ctx context.Context) (net.Conn, error) {
	d.init()
	if d.close.Load() {
		return nil, &net.OpError{Op: "dial", Net: "sctp", Err: net.ErrClosed}
	}
	if d.Multiplex {
		c, err := d.mux.Dial(ctx)
		if !errors.Is(err, errStreamsBusy) {
			return c, err
		}
		d.Logger.Debug("shared association full; this session gets its own", "err", err)
	}
	a, st, err := d.dialAssociation(ctx)
	if err != nil {
		return nil, err
	}
	s, err := a.OpenStream(0)
	if err != nil {
		a.Abort("cannot open stream")
		return nil, err
	}
	st.sessions.Add(1)
	return &ownedStream{Stream: s, a: a}, nil
}

func (d *SCTPDialer) dialAssociation(ctx context.Context) (*sctp.Association, *dialedState, error) {
	addrs := *d.addrs.Load()
	if len(addrs) == 0 {
		return nil, nil, errors.New("pgsctp: no server address")
	}
	cfg := d.cfg.Load()
	if d.Multiplex {
		cfg = flowConfig(cfg, true)
	}
	// The sessions' associations tell each other of failed paths, so a
	// dead link moves all of them at the first one's timeout.
	c := sctp.Config{}
	if cfg != nil {
		c = *cfg
	}
	if c.PathHealth == nil {
		c.PathHealth = &d.health
	}
	cfg = &c
	addr, err := JoinAddrs(addrs)
	if err != nil {
		return nil, nil, err
	}
	a, err := sctp.Dial(ctx, addr, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("pgsctp: cannot reach server: %w", err)
	}
	st := &dialedState{since: time.Now()}
	d.mu.Lock()
	d.live[a] = st
	if !d.close.Load() {
		d.watchOnce.Do(func() {
			d.watchStop, d.watchDone = make(chan struct{}), make(chan struct{})
			go d.watchAddrs(d.watchStop, d.watchDone)
		})
	}
	d.mu.Unlock()
	d.Logger.Debug("association up", "server", addr, "local", a.LocalAddr())
	go func() {
		<-a.Done()
		d.mu.Lock()
		delete(d.live, a)
		d.mu.Unlock()
		if err := a.Err(); err != nil {
			d.Logger.Warn("association ended", "server", addr, "err", err)
		}
	}()
	return a, st, nil
}

// JoinAddrs writes "host:port" addresses of one server as the
// "host[,host...]:port" that sctp.Dial takes; they must share the port.
func JoinAddrs(addrs []string) (string, error) {
	var hosts []string
	port := ""
	for _, a := range addrs {
		h, p, err := net.SplitHostPort(a)
		if err != nil {
			return "", fmt.Errorf("pgsctp: server address %q: %w", a, err)
		}
		if port != "" && p != port {
			return "", fmt.Errorf("pgsctp: server addresses %v: one server has one SCTP port", addrs)
		}
		port = p
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		hosts = append(hosts, h)
	}
	return strings.Join(hosts, ",") + ":" + port, nil
}

// Close ends every association this dialer opened.
func (d *SCTPDialer) Close() error {
	d.init()
	d.close.Store(true)
	d.mu.Lock()
	d.watchOnce.Do(func() {}) // no watcher from now on
	stop, done := d.watchStop, d.watchDone
	d.watchStop = nil
	d.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	d.mux.Close()
	d.mu.Lock()
	live := make([]*sctp.Association, 0, len(d.live))
	for a := range d.live {
		live = append(live, a)
	}
	d.mu.Unlock()
	var wg sync.WaitGroup
	for _, a := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			shutdown(a)
		}()
	}
	wg.Wait()
	return nil
}

// Status describes the associations this dialer carries now.
func (d *SCTPDialer) Status() []AssociationStatus {
	d.init()
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]AssociationStatus, 0, len(d.live))
	for a, st := range d.live {
		out = append(out, associationStatus(a, int(st.sessions.Load()), st.since))
	}
	return out
}

// shutdown ends an association gracefully, or aborts it if the peer does
// not answer in time.
func shutdown(a *sctp.Association) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		a.Close()
	}
}

// ownedStream is the only stream of its association: closing the session
// ends the association gracefully.
type ownedStream struct {
	*sctp.Stream
	a    *sctp.Association
	once sync.Once
}

func (s *ownedStream) Close() error {
	err := s.Stream.Close()
	s.once.Do(func() { go shutdown(s.a) })
	return err
}

// muxAssociation adapts an sctp.Association to the Association the
// MuxDialer needs: each OpenStream takes the next free stream number, so a
// number is reused only after its earlier session ended in both
// directions, when the ordered stream holds nothing of that session any
// more.
type muxAssociation struct {
	a  *sctp.Association
	st *dialedState

	mu   sync.Mutex
	next uint16
	used map[uint16]bool
}

// muxStreams is the number of outbound streams a multiplexing proxy asks
// for; each carries one session at a time.
const muxStreams = 1024

func (m *muxAssociation) OpenStream(ctx context.Context) (net.Conn, error) {
	select {
	case <-m.a.Done():
		return nil, &net.OpError{Op: "open stream", Net: "sctp", Err: net.ErrClosed}
	default:
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.used == nil {
		m.used = map[uint16]bool{}
	}
	// A session is answered on the stream it opened, so only streams
	// both ends may send on can carry one.
	limit := uint16(muxStreams)
	for _, n := range []uint16{m.a.OutboundStreams(), m.a.InboundStreams()} {
		if n > 0 && n < limit {
			limit = n
		}
	}
	for range limit {
		id := m.next
		m.next = (m.next + 1) % limit
		if m.used[id] {
			continue
		}
		s, err := m.a.OpenStream(id)
		if errors.Is(err, sctp.ErrStreamInUse) {
			// Its earlier session is closed here but the server has
			// not ended its direction yet.
			continue
		}
		if err != nil {
			return nil, err
		}
		m.used[id] = true
		m.st.sessions.Add(1)
		return &muxStream{Stream: s, m: m}, nil
	}
	return nil, fmt.Errorf("pgsctp: all %d streams of the association carry sessions: %w", limit, errStreamsBusy)
}

// errStreamsBusy: every stream of the shared association carries a
// session; the session gets an association of its own instead.
var errStreamsBusy = errors.New("no free stream")

func (m *muxAssociation) Close() error {
	shutdown(m.a)
	return nil
}

type muxStream struct {
	*sctp.Stream
	m    *muxAssociation
	once sync.Once
}

func (s *muxStream) Close() error {
	err := s.Stream.Close()
	s.once.Do(func() {
		s.m.mu.Lock()
		delete(s.m.used, s.ID())
		s.m.mu.Unlock()
		s.m.st.sessions.Add(-1)
	})
	return err
}

// muxWindows is how many stream windows a multiplexed association's
// receive window holds at least: up to muxWindows-1 sessions whose clients
// stopped reading leave a window's worth for the others (see the sctp
// package's "Per-stream flow control").
const muxWindows = 16

// flowConfig returns a copy of cfg with per-stream flow control on, at
// sctp.DefaultStreamWindow unless cfg sets a window (a negative
// StreamWindow keeps it off), and, for a multiplexed association, a
// receive window of at least muxWindows stream windows (4 MiB by default).
// Flow control is negotiated per stream, so turning it on is harmless
// towards a peer that does not take part.
func flowConfig(cfg *sctp.Config, mux bool) *sctp.Config {
	var c sctp.Config
	if cfg != nil {
		c = *cfg
	}
	if c.StreamWindow == 0 {
		c.StreamWindow = sctp.DefaultStreamWindow
	}
	if mux && c.StreamWindow > 0 {
		want := uint32(min(muxWindows*c.StreamWindow, 1<<30))
		if rw := c.Assoc.RecvWindow; rw < want && (rw != 0 || want > 1<<20) {
			c.Assoc.RecvWindow = want // zero means the core's default, 1 MiB
		}
	}
	return &c
}

// AssociationStatus is what `pgsctp status` shows of one association.
type AssociationStatus struct {
	Local    string      `json:"local"`
	Peer     []string    `json:"peer"`
	Since    time.Time   `json:"since"`
	Sessions int         `json:"sessions"`
	Stats    assoc.Stats `json:"stats"`
	Err      string      `json:"error,omitempty"`
	// Changes are the latest address changes (RFC 5061 ASCONF).
	Changes []sctp.AddressChange `json:"address_changes,omitempty"`
}

func associationStatus(a *sctp.Association, sessions int, since time.Time) AssociationStatus {
	s := AssociationStatus{
		Local:    a.LocalAddr().String(),
		Since:    since,
		Sessions: sessions,
		Stats:    a.Stats(),
		Changes:  a.AddressChanges(),
	}
	for _, ip := range a.PeerAddresses() {
		s.Peer = append(s.Peer, ip.String())
	}
	if err := a.Err(); err != nil {
		s.Err = err.Error()
	}
	return s
}
