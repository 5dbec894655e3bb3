package assoctest

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
)

// Options configure a Pair. The zero value is a client and a server with
// default configurations over perfect, instantaneous links.
type Options struct {
	// Seed drives every random choice: the links' and, unless a Config
	// sets Rand, both cores' (tags, initial TSNs, cookie secrets). Zero
	// derives it from the test's name. The environment variable
	// ASSOCTEST_SEED overrides it for every Pair of the process.
	Seed uint64

	// A and Z configure the two ends. Zero LocalPort becomes 5001 (A)
	// and 5432 (Z); nil Rand becomes a ChaCha8 source seeded from Seed.
	A, Z assoc.Config

	// AZ and ZA are the two directions of the network.
	AZ, ZA LinkConfig

	// AAddrs and ZAddrs make an end multihomed: its IP addresses, the
	// first being the one it starts from (A) or is dialed at (Z). Nil:
	// 127.0.0.1 for A, 127.0.0.2 for Z. With two or more, the end's
	// Config.LocalAddrs defaults to them. Every (from, to) pair of
	// addresses travels over the direction's link (AZ or ZA) unless the
	// test gives the pair a link of its own with Pair.Link.
	AAddrs, ZAddrs []netip.Addr

	// ManualReleaseA and ManualReleaseZ make that side an application
	// that does not read: delivered data stays counted against the
	// receive window until the test calls Release or ReleaseAll. By
	// default each Message is released as soon as it is polled.
	ManualReleaseA, ManualReleaseZ bool

	// ZClient makes Z a client too: instead of a listening endpoint it
	// starts its own association towards A at once, for simultaneous
	// open (RFC 9260 section 5.2.1). A's endpoint then stays
	// non-accepting, so the two INITs must meet inside the associations.
	ZClient bool

	// NoConnect leaves A idle: the test calls A.Connect itself.
	NoConnect bool

	// LadderTail is how many ladder lines are logged when the test
	// fails; zero: 300, negative: all of them.
	LadderTail int
}

// Bounds that keep a buggy core from hanging a test.
const (
	maxDriveSteps      = 100000  // steps at one instant before Drive gives up
	maxRunIterations   = 2000000 // clock jumps in one RunUntil
	maxStuckIterations = 100     // jumps that do not move the clock
	maxPolls           = 100000  // packets from one PollTransmit loop
)

// TB is the part of testing.TB a Pair uses; *testing.T, *testing.B and
// *testing.F satisfy it, and a program that is not a test can supply its
// own (Fatalf must not return).
type TB interface {
	Helper()
	Name() string
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Failed() bool
	Cleanup(func())
}

// Pair is two SCTP ends, A and Z, joined by two Links and a virtual Clock.
// A Pair belongs to one test goroutine.
type Pair struct {
	TB     TB
	Seed   uint64
	Clock  *Clock
	A, Z   *Peer
	AZ, ZA *Link
	Ladder *Ladder

	// links are the links of address pairs (Pair.Link), in creation order.
	links []*Link

	// Check, if set, runs after every input to either end, after the
	// built-in invariants. It may call TB.Fatalf.
	Check func()

	seq uint64
}

// New builds a Pair and, unless o.NoConnect, has A send its INIT (it is
// delivered by the first Step). The seed is logged; when the test fails,
// the tail of the ladder is logged too.
func New(tb TB, o Options) *Pair {
	tb.Helper()
	seed := o.Seed
	if env := os.Getenv("ASSOCTEST_SEED"); env != "" {
		v, err := strconv.ParseUint(env, 0, 64)
		if err != nil {
			tb.Fatalf("assoctest: ASSOCTEST_SEED=%q: %v", env, err)
		}
		seed = v
	}
	if seed == 0 {
		h := fnv.New64a()
		h.Write([]byte(tb.Name()))
		seed = h.Sum64()
	}
	tb.Logf("assoctest: seed %d (ASSOCTEST_SEED=%d reproduces this run)", seed, seed)

	p := &Pair{TB: tb, Seed: seed, Clock: NewClock(), Ladder: &Ladder{}}
	p.AZ = &Link{LinkConfig: o.AZ, Dir: AtoZ, pair: p, rng: rand.New(rand.NewPCG(seed, mix(seed, 1)))}
	p.ZA = &Link{LinkConfig: o.ZA, Dir: ZtoA, pair: p, rng: rand.New(rand.NewPCG(seed, mix(seed, 2)))}

	cfgA, cfgZ := o.A, o.Z
	if cfgA.LocalPort == 0 {
		cfgA.LocalPort = 5001
	}
	if cfgZ.LocalPort == 0 {
		cfgZ.LocalPort = 5432
	}
	if cfgA.Rand == nil {
		cfgA.Rand = rand.NewChaCha8(seedBytes(mix(seed, 3)))
	}
	if cfgZ.Rand == nil {
		cfgZ.Rand = rand.NewChaCha8(seedBytes(mix(seed, 4)))
	}
	udpA := uint16(49152 + seed%16000)
	addrsA, addrsZ := o.AAddrs, o.ZAddrs
	if len(addrsA) == 0 {
		addrsA = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	}
	if len(addrsZ) == 0 {
		addrsZ = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 2})}
	}
	if len(addrsA) > 1 && cfgA.LocalAddrs == nil {
		cfgA.LocalAddrs = addrsA
	}
	if len(addrsZ) > 1 && cfgZ.LocalAddrs == nil {
		cfgZ.LocalAddrs = addrsZ
	}
	p.A = newPeer(p, "A", netip.AddrPortFrom(addrsA[0], udpA), cfgA, p.AZ)
	p.Z = newPeer(p, "Z", netip.AddrPortFrom(addrsZ[0], 9899), cfgZ, p.ZA)
	p.A.Addrs, p.Z.Addrs = addrsA, addrsZ
	p.A.peer, p.Z.peer = p.Z, p.A
	p.A.AutoRelease = !o.ManualReleaseA
	p.Z.AutoRelease = !o.ManualReleaseZ

	tail := o.LadderTail
	if tail == 0 {
		tail = 300
	}
	tb.Cleanup(func() {
		if dir := os.Getenv("ASSOCTEST_PCAP"); dir != "" && tb.Failed() {
			name := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(tb.Name())+".pcap")
			if err := p.writePcapFile(name); err != nil {
				tb.Logf("assoctest: %v", err)
			} else {
				tb.Logf("assoctest: packets written to %s", name)
			}
		}
		if tb.Failed() {
			n := tail
			if n < 0 {
				n = len(p.Ladder.Entries)
			}
			tb.Logf("assoctest: seed %d, ladder at %s:\n%s", seed, fmtDur(p.Clock.Since()), p.Ladder.Tail(n))
		}
	})

	now := p.Clock.Now()
	p.guard("NewEndpoint(A)", func() { p.A.Endpoint = mustEndpoint(tb, now, cfgA, false) })
	p.guard("NewEndpoint(Z)", func() { p.Z.Endpoint = mustEndpoint(tb, now, cfgZ, !o.ZClient) })
	if !o.NoConnect {
		p.A.Connect()
	}
	if o.ZClient {
		p.Z.Connect()
	}
	return p
}

func mustEndpoint(tb TB, now time.Time, cfg assoc.Config, accept bool) *assoc.Endpoint {
	tb.Helper()
	e, err := assoc.NewEndpoint(now, cfg, accept)
	if err != nil {
		tb.Fatalf("assoctest: NewEndpoint: %v", err)
	}
	return e
}

func (p *Pair) writePcapFile(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("pcap: %w", err)
	}
	if err := p.Ladder.WritePcap(f, p.A.Addr, p.Z.Addr); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// mix is splitmix64: independent streams from one seed.
func mix(seed, k uint64) uint64 {
	z := seed + k*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func seedBytes(s uint64) (b [32]byte) {
	for i := range 4 {
		v := mix(s, uint64(i))
		for j := range 8 {
			b[i*8+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// Now is the virtual time.
func (p *Pair) Now() time.Time { return p.Clock.Now() }

// Note writes a line into the ladder.
func (p *Pair) Note(format string, args ...any) {
	p.Ladder.add(Entry{Kind: KindNote, At: p.Now(), Note: fmt.Sprintf(format, args...)})
}

// Fatalf fails the test now (the ladder is logged by the cleanup).
func (p *Pair) Fatalf(format string, args ...any) {
	p.TB.Helper()
	p.Note("FATAL: "+format, args...)
	p.TB.Fatalf(format, args...)
}

// LogLadder logs the whole ladder.
func (p *Pair) LogLadder() {
	p.TB.Helper()
	p.TB.Logf("ladder (seed %d):\n%s", p.Seed, p.Ladder.String())
}

// guard runs a call into the core and turns a panic into a test failure
// with the stack, so the ladder and seed get logged.
func (p *Pair) guard(what string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			p.Fatalf("assoctest: %s panicked at %s: %v\n%s", what, fmtDur(p.Clock.Since()), r, debug.Stack())
		}
	}()
	f()
}

// Connected reports whether both ends have reported Connected (and not
// Closed) on their current associations.
func (p *Pair) Connected() bool { return p.A.IsConnected() && p.Z.IsConnected() }

// Closed reports whether both ends' current associations reported Closed.
func (p *Pair) Closed() bool { return p.A.IsClosed() && p.Z.IsClosed() }

// Step runs one round at the current instant: due timers, user calls'
// output and the packets that are due, each followed by polling the
// receiver. It reports whether anything moved: a packet sent or delivered,
// an event. Packets sent during the step with no delay are delivered by
// the next step.
func (p *Pair) Step() bool {
	now := p.Now()
	progress := false
	for _, s := range []*Peer{p.A, p.Z} {
		if a := s.Assoc; a != nil {
			var d time.Time
			p.guard(s.Name+".NextTimeout", func() { d = a.NextTimeout() })
			if !d.IsZero() && !d.After(now) {
				p.guard(s.Name+".HandleTimeout", func() { a.HandleTimeout(now) })
				s.check("HandleTimeout")
			}
		}
		if s.poll() {
			progress = true
		}
	}
	limit := p.seq
	for {
		l := p.dueLink(now, limit)
		if l == nil {
			break
		}
		f := l.queue[0]
		l.queue = l.queue[1:]
		progress = true
		f.to.receive(append([]byte(nil), f.data...), f.src, f.dst, false)
	}
	return progress
}

// dueLink is the link whose head packet is due first (arrival, then send
// order), among packets queued before limit.
func (p *Pair) dueLink(now time.Time, limit uint64) *Link {
	var best *Link
	for _, l := range p.allLinks() {
		if len(l.queue) == 0 {
			continue
		}
		h := l.queue[0]
		if h.at.After(now) || h.seq > limit {
			continue
		}
		if best == nil || h.at.Before(best.queue[0].at) || (h.at.Equal(best.queue[0].at) && h.seq < best.queue[0].seq) {
			best = l
		}
	}
	return best
}

// Drive steps until nothing moves at the current instant.
func (p *Pair) Drive() {
	for range maxDriveSteps {
		if !p.Step() {
			return
		}
	}
	p.Fatalf("assoctest: still busy after %d steps at %s: a livelock at one instant", maxDriveSteps, fmtDur(p.Clock.Since()))
}

// nextDeadline is the earliest of the ends' timers and the links'
// arrivals; zero if nothing is scheduled.
func (p *Pair) nextDeadline() time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, s := range []*Peer{p.A, p.Z} {
		if a := s.Assoc; a != nil {
			p.guard(s.Name+".NextTimeout", func() { consider(a.NextTimeout()) })
		}
	}
	for _, l := range p.allLinks() {
		consider(l.next())
	}
	return next
}

func (p *Pair) allLinks() []*Link { return append([]*Link{p.AZ, p.ZA}, p.links...) }

// Link returns the link that carries packets from the address from to the
// address to (one of A's and one of Z's, either way round), making it on
// first use with a copy of its direction's configuration without the
// hooks. A test then fails one path alone: Link(a2, z1).Down = true.
func (p *Pair) Link(from, to netip.Addr) *Link {
	p.TB.Helper()
	for _, l := range p.links {
		if l.From == from && l.To == to {
			return l
		}
	}
	var dir *Link
	switch {
	case slices.Contains(p.A.Addrs, from) && slices.Contains(p.Z.Addrs, to):
		dir = p.AZ
	case slices.Contains(p.Z.Addrs, from) && slices.Contains(p.A.Addrs, to):
		dir = p.ZA
	default:
		p.Fatalf("assoctest: Link(%v, %v): not an address of each end", from, to)
	}
	cfg := dir.LinkConfig
	cfg.Hooks = nil
	k := uint64(len(p.links)) + 10
	l := &Link{LinkConfig: cfg, Dir: dir.Dir, From: from, To: to, pair: p, rng: rand.New(rand.NewPCG(p.Seed, mix(p.Seed, k)))}
	p.links = append(p.links, l)
	return l
}

// linkFor is the link a packet from src to dst travels on.
func (p *Pair) linkFor(dir *Link, src, dst netip.Addr) *Link {
	for _, l := range p.links {
		if l.From == src && l.To == dst {
			return l
		}
	}
	return dir
}

// RunUntil drives the pair and jumps the clock from deadline to deadline
// until cond holds or limit of virtual time has passed (the clock then
// stands at now+limit). It reports whether cond held. cond is checked
// whenever the pair is quiet at an instant.
func (p *Pair) RunUntil(cond func() bool, limit time.Duration) bool {
	p.TB.Helper()
	end := p.Now().Add(limit)
	stuck := 0
	for range maxRunIterations {
		p.Drive()
		if cond() {
			return true
		}
		now := p.Now()
		next := p.nextDeadline()
		if next.IsZero() || next.After(end) {
			p.Clock.Set(end)
			return cond()
		}
		if !next.After(now) {
			stuck++
			if stuck > maxStuckIterations {
				p.Fatalf("assoctest: NextTimeout stays at %s (now %s) after HandleTimeout(now): a timer that never clears",
					fmtDur(next.Sub(Epoch)), fmtDur(now.Sub(Epoch)))
			}
			continue
		}
		stuck = 0
		p.Clock.Set(next)
	}
	p.Fatalf("assoctest: RunUntil made %d clock jumps without reaching its limit", maxRunIterations)
	return false
}

// Advance runs the pair for d of virtual time: timers fire and packets
// arrive on the way.
func (p *Pair) Advance(d time.Duration) {
	p.TB.Helper()
	p.RunUntil(func() bool { return false }, d)
}
