package assoc

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// A minimal in-package pair used to debug the core; the full harness with
// lossy links lives in assoctest.
type smokePair struct {
	t        *testing.T
	now      time.Time
	a, z     *Association
	ep       *Endpoint
	aOOTB    *Endpoint
	aAddr    netip.AddrPort
	zAddr    netip.AddrPort
	aEv, zEv []Event
	loss     float64
	rng      *rand.Rand
	scribble bool // overwrite every packet buffer after it was handled
}

func newSmokePair(t *testing.T, cfg Config, loss float64, seed uint64) *smokePair {
	rng := rand.New(rand.NewPCG(seed, seed))
	cfg.Rand = seededReader{rng}
	p := &smokePair{t: t, now: time.Unix(1_700_000_000, 0), loss: loss, rng: rng,
		aAddr: netip.MustParseAddrPort("127.0.0.1:40000"), zAddr: netip.MustParseAddrPort("127.0.0.2:9899")}
	zc := cfg
	zc.LocalPort = 5432
	var err error
	p.ep, err = NewEndpoint(p.now, zc, true)
	if err != nil {
		t.Fatal(err)
	}
	p.aOOTB, err = NewEndpoint(p.now, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	p.a, err = NewClient(p.now, cfg, []netip.AddrPort{p.zAddr}, 5432)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type seededReader struct{ r *rand.Rand }

func (s seededReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(s.r.Uint32())
	}
	return len(b), nil
}

func (p *smokePair) step() bool {
	moved := false
	buf := make([]byte, 1500)
	for {
		tx, ok := p.a.PollTransmit(p.now, buf)
		if !ok {
			break
		}
		moved = true
		if p.rng.Float64() < p.loss {
			continue
		}
		pkt := append([]byte(nil), tx.Packet...)
		if p.z != nil && p.z.State() != StateClosed {
			p.z.HandlePacket(p.now, p.aAddr, p.zAddr, pkt)
			if p.scribble {
				clear(pkt)
			}
		} else {
			rep, ok, z := p.ep.HandlePacket(p.now, p.aAddr, p.zAddr, pkt, make([]byte, 1500))
			if z != nil {
				p.z = z
			}
			if ok && p.rng.Float64() >= p.loss {
				p.a.HandlePacket(p.now, p.zAddr, p.aAddr, append([]byte(nil), rep.Packet...))
			}
		}
	}
	if p.z != nil {
		for {
			tx, ok := p.z.PollTransmit(p.now, buf)
			if !ok {
				break
			}
			moved = true
			if p.rng.Float64() < p.loss {
				continue
			}
			pkt := append([]byte(nil), tx.Packet...)
			if p.a.State() != StateClosed {
				p.a.HandlePacket(p.now, p.zAddr, p.aAddr, pkt)
				if p.scribble {
					clear(pkt)
				}
				continue
			}
			// A closed association's packets meet the client's
			// out-of-the-blue handling.
			if rep, ok, _ := p.aOOTB.HandlePacket(p.now, p.zAddr, p.aAddr, pkt, make([]byte, 1500)); ok {
				p.z.HandlePacket(p.now, p.aAddr, p.zAddr, append([]byte(nil), rep.Packet...))
			}
		}
	}
	for {
		e, ok := p.a.PollEvent()
		if !ok {
			break
		}
		moved = true
		p.aEv = append(p.aEv, e)
		if m, ok := e.(Message); ok {
			p.a.Release(len(m.Data))
		}
	}
	if p.z != nil {
		for {
			// z takes messages unboxed, as the sctp package does.
			var m Message
			e, ok := p.z.PollEventTo(&m)
			if !ok {
				break
			}
			moved = true
			if _, ok := e.(MessageReady); ok {
				e = m
				p.z.Release(len(m.Data))
			}
			p.zEv = append(p.zEv, e)
		}
	}
	for _, x := range []*Association{p.a, p.z} {
		if x != nil {
			if err := x.Invariants(); err != nil {
				p.t.Fatalf("invariant: %v", err)
			}
		}
	}
	return moved
}

// run steps and advances virtual time to the next deadline until done.
func (p *smokePair) run(done func() bool, limit time.Duration) bool {
	end := p.now.Add(limit)
	stuck := 0
	for i := 0; i < 1_000_000; i++ {
		moved := false
		for p.step() {
			moved = true
		}
		if done() {
			return true
		}
		next := p.a.NextTimeout()
		if p.z != nil {
			next = earliest(next, p.z.NextTimeout())
		}
		if next.IsZero() || next.After(end) {
			return done()
		}
		if next.After(p.now) {
			p.now = next
			stuck = 0
		} else if !moved {
			// A deadline that is due but whose expiry changes nothing
			// would spin the driver: that is a core bug.
			if stuck++; stuck > 100 {
				p.t.Fatalf("timer due at %v keeps firing without effect", next)
			}
		}
		p.a.HandleTimeout(p.now)
		if p.z != nil {
			p.z.HandleTimeout(p.now)
		}
	}
	return false
}

func TestSmokeTransfer(t *testing.T) {
	for _, loss := range []float64{0, 0.1, 0.3} {
		for seed := uint64(1); seed <= 3; seed++ {
			p := newSmokePair(t, Config{}, loss, seed)
			if !p.run(func() bool { return p.z != nil && p.a.State() == StateEstablished && p.z.State() == StateEstablished }, 10*time.Minute) {
				t.Fatalf("loss %v seed %d: no association: a=%v", loss, seed, p.a.State())
			}
			var want bytes.Buffer
			for i := 0; i < 200; i++ {
				msg := bytes.Repeat([]byte{byte(i)}, 1+(i*397)%5000)
				want.Write(msg)
				for p.a.Send(p.now, 0, 0, msg, SendOptions{}) == ErrWouldBlock {
					p.run(func() bool { return false }, 100*time.Millisecond)
				}
			}
			p.a.Shutdown(p.now)
			if !p.run(func() bool { return p.a.State() == StateClosed && p.z.State() == StateClosed }, time.Hour) {
				t.Fatalf("loss %v seed %d: not closed: a=%v z=%v", loss, seed, p.a.State(), p.z.State())
			}
			var got bytes.Buffer
			for _, e := range p.zEv {
				if m, ok := e.(Message); ok {
					got.Write(m.Data)
				}
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("loss %v seed %d: got %d bytes, want %d", loss, seed, got.Len(), want.Len())
			}
			if c, ok := p.zEv[len(p.zEv)-1].(Closed); !ok || c.Err != nil {
				t.Fatalf("loss %v seed %d: last event %v (a: %v)", loss, seed, p.zEv[len(p.zEv)-1], p.a.Err())
			}
			st := p.a.Stats()
			t.Logf("loss %v seed %d: %v, rtx %d fast %d t3 %d", loss, seed, p.now.Sub(time.Unix(1_700_000_000, 0)), st.Retransmissions, st.FastRetransmits, st.T3Expiries)
		}
	}
}

// HandlePacket does not retain the packet: a transfer in which every packet
// buffer is scribbled over right after HandlePacket returns still delivers
// exact bytes (the driver pools its receive buffers on this promise).
func TestPacketBufferNotRetained(t *testing.T) {
	p := newSmokePair(t, Config{}, 0.1, 11)
	p.scribble = true
	if !p.run(func() bool { return p.z != nil && p.a.State() == StateEstablished && p.z.State() == StateEstablished }, time.Minute) {
		t.Fatal("no association")
	}
	var want bytes.Buffer
	for i := range 50 {
		msg := bytes.Repeat([]byte{byte(i + 1)}, 100+i*97)
		want.Write(msg)
		if err := p.a.Send(p.now, uint16(i%4), 0, msg, SendOptions{Unordered: i%3 == 0}); err != nil {
			t.Fatal(err)
		}
	}
	p.run(func() bool {
		n := 0
		for _, e := range p.zEv {
			if m, ok := e.(Message); ok {
				n += len(m.Data)
			}
		}
		return n == want.Len()
	}, time.Hour)
	got := map[byte]int{}
	for _, e := range p.zEv {
		if m, ok := e.(Message); ok {
			for _, c := range m.Data {
				if c != m.Data[0] {
					t.Fatalf("message on stream %d corrupted: %d then %d", m.StreamID, m.Data[0], c)
				}
			}
			got[m.Data[0]] += len(m.Data)
		}
	}
	for i := range 50 {
		if got[byte(i+1)] != 100+i*97 {
			t.Fatalf("message %d: %d bytes delivered, want %d", i, got[byte(i+1)], 100+i*97)
		}
	}
}
