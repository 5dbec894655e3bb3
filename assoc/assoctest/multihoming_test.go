package assoctest_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/chunk"
)

// Documentation addresses (RFC 5737, RFC 3849): the harness is virtual,
// nothing is sent anywhere.
var (
	a1 = netip.MustParseAddr("192.0.2.1")
	a2 = netip.MustParseAddr("192.0.2.2")
	a3 = netip.MustParseAddr("192.0.2.3")
	z1 = netip.MustParseAddr("198.51.100.1")
	z2 = netip.MustParseAddr("198.51.100.2")
	a6 = netip.MustParseAddr("2001:db8::a")
	z6 = netip.MustParseAddr("2001:db8::2")
)

// mhConfig is pgsctp's configuration for databases: RTO.Min 100ms and a
// 20ms delayed SACK (so RTT samples of lone requests stay near the round
// trip), HB.interval 5s.
func mhConfig() assoc.Config {
	return assoc.Config{RTOMin: 100 * ms, RTOInitial: time.Second, HBInterval: 5 * time.Second, PathMaxRetrans: 4, DelayedAckTime: 20 * ms}
}

// pathsOf returns a peer's paths keyed by "local>peer".
func pathsOf(p *assoctest.Peer) map[string]assoc.PathStats {
	m := map[string]assoc.PathStats{}
	for _, ps := range p.Stats().Paths {
		m[ps.Local.String()+">"+ps.Addr.Addr().String()] = ps
	}
	return m
}

func allActive(p *assoctest.Peer) bool {
	for _, ps := range p.Stats().Paths {
		if ps.State != assoc.PathActive {
			return false
		}
	}
	return true
}

// sentOver lists the packets carrying t that were sent from src to dst.
func sentOver(p *assoctest.Pair, t chunk.Type, src, dst netip.Addr) []assoctest.Entry {
	var out []assoctest.Entry
	for _, e := range p.Ladder.Entries {
		if e.Kind == assoctest.KindPacket && e.Src.Addr() == src && e.Dst.Addr() == dst && e.Has(t) {
			out = append(out, e)
		}
	}
	return out
}

// RFC 9260 section 5.4: "each transport address provided by the peer in
// the INIT or INIT ACK chunk is considered UNCONFIRMED", "An endpoint MUST
// NOT send any chunks to an unconfirmed address, with the following
// exceptions: HEARTBEAT ...", and the HEARTBEAT carries "a 64-bit random
// nonce". A 2x2 association: each end has one path confirmed by the
// handshake and three pairs to confirm; they are confirmed one round trip
// after the association is up, and nothing but HEARTBEATs and their ACKs
// went over them before.
func TestMultihomingPathConfirmation(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{
		A: mhConfig(), Z: mhConfig(),
		AAddrs: []netip.Addr{a1, a2}, ZAddrs: []netip.Addr{z1, z2},
		AZ: assoctest.LinkConfig{Delay: 10 * ms}, ZA: assoctest.LinkConfig{Delay: 10 * ms},
	})
	connect(t, p)
	// A is up at 40ms (INIT, INIT ACK, COOKIE ECHO, COOKIE ACK of 10ms
	// each), Z at 30ms.
	if got := p.A.Events[len(p.A.Events)-1].At.Sub(assoctest.Epoch); got != 40*ms {
		t.Fatalf("A connected at %v, want 40ms", got)
	}
	for _, s := range []*assoctest.Peer{p.A, p.Z} {
		ps := s.Stats().Paths
		if len(ps) != 4 {
			t.Fatalf("%s has %d paths, want 4 (every local and peer address pair): %+v", s.Name, len(ps), ps)
		}
		if !ps[0].Primary || ps[0].State != assoc.PathActive {
			t.Errorf("%s: the handshake path is not the active primary: %+v", s.Name, ps[0])
		}
		for _, q := range ps[1:] {
			if q.State != assoc.PathUnconfirmed {
				t.Errorf("%s: path %v>%v is %v at Connected, want unconfirmed", s.Name, q.Local, q.Addr, q.State)
			}
		}
	}
	// The INIT listed A's two addresses, the INIT ACK Z's two.
	if !p.RunUntil(func() bool { return allActive(p.A) && allActive(p.Z) }, time.Second) {
		t.Fatalf("paths not confirmed: A %+v Z %+v", p.A.Stats().Paths, p.Z.Stats().Paths)
	}
	// Each confirmation is one HEARTBEAT round trip after Connected: A's
	// at 40+20ms, Z's at 30+20ms.
	for _, c := range assoctest.EventsOf[assoc.PathChange](p.A) {
		if c.State != assoc.PathActive || c.Old != assoc.PathUnconfirmed {
			t.Errorf("A: unexpected %+v", c)
		}
	}
	for _, e := range p.A.Events {
		if c, ok := e.Event.(assoc.PathChange); ok && e.At.Sub(assoctest.Epoch) != 60*ms {
			t.Errorf("A: path %v>%v confirmed at %v, want 60ms", c.Local, c.Addr, e.At.Sub(assoctest.Epoch))
		}
	}
	for _, e := range p.Z.Events {
		if c, ok := e.Event.(assoc.PathChange); ok && e.At.Sub(assoctest.Epoch) != 50*ms {
			t.Errorf("Z: path %v>%v confirmed at %v, want 50ms", c.Local, c.Addr, e.At.Sub(assoctest.Epoch))
		}
	}
	if n := len(assoctest.EventsOf[assoc.PathChange](p.A)); n != 3 {
		t.Errorf("A reported %d path changes, want 3", n)
	}
	for _, e := range p.Ladder.Entries {
		if e.Kind != assoctest.KindPacket || e.At.Sub(assoctest.Epoch) > 60*ms {
			continue
		}
		hs := (e.Src.Addr() == a1 && e.Dst.Addr() == z1) || (e.Src.Addr() == z1 && e.Dst.Addr() == a1)
		for _, ty := range e.Types() {
			if !hs && ty != chunk.TypeHeartbeat && ty != chunk.TypeHeartbeatAck {
				t.Errorf("%s sent over a path before it was confirmed", e.String())
			}
		}
	}
}

// RFC 9260 section 8.3: "An endpoint SHOULD send a HEARTBEAT chunk to
// each of its idle destination transport addresses" (here, every idle
// path), "once per RTO of that destination address plus the protocol
// parameter 'HB.interval', with jittering of +/- 50% of the RTO value".
// A quiet minute with 5s HB.interval: every path of both ends is probed,
// each between 60s/(5s+1.5 RTO) and 60s/(5s+0.5 RTO) times.
func TestMultihomingHeartbeatsEveryPath(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{
		A: mhConfig(), Z: mhConfig(),
		AAddrs: []netip.Addr{a1, a2}, ZAddrs: []netip.Addr{z1, z2},
		AZ: assoctest.LinkConfig{Delay: 10 * ms}, ZA: assoctest.LinkConfig{Delay: 10 * ms},
	})
	connect(t, p)
	p.Advance(time.Second)
	start := len(p.Ladder.Entries)
	p.Advance(time.Minute)
	count := map[[2]netip.Addr]int{}
	for _, e := range p.Ladder.Entries[start:] {
		if e.Kind == assoctest.KindPacket && e.Has(chunk.TypeHeartbeat) {
			count[[2]netip.Addr{e.Src.Addr(), e.Dst.Addr()}]++
		}
	}
	for _, pair := range [][2]netip.Addr{{a1, z1}, {a1, z2}, {a2, z1}, {a2, z2}, {z1, a1}, {z1, a2}, {z2, a1}, {z2, a2}} {
		// RTO is 100ms (RTO.Min) on these quick links.
		if n := count[pair]; n < 11 || n > 12 {
			t.Errorf("%v>%v: %d HEARTBEATs in a minute, want 11 or 12", pair[0], pair[1], n)
		}
	}
	if !allActive(p.A) || !allActive(p.Z) {
		t.Errorf("paths not all active: %+v %+v", p.A.Stats().Paths, p.Z.Stats().Paths)
	}
}

// failover sets up the asymmetric case of the issue: A (a client) with two
// addresses, Z (a server) with one; every path confirmed and idle.
func failover(t *testing.T) *assoctest.Pair {
	p := assoctest.New(t, assoctest.Options{
		A: mhConfig(), Z: mhConfig(),
		AAddrs: []netip.Addr{a1, a2}, ZAddrs: []netip.Addr{z1},
		AZ: assoctest.LinkConfig{Delay: 5 * ms}, ZA: assoctest.LinkConfig{Delay: 5 * ms},
	})
	connect(t, p)
	if !p.RunUntil(func() bool { return allActive(p.A) && allActive(p.Z) }, time.Second) {
		t.Fatalf("paths not confirmed")
	}
	// One request and answer so both primaries have an RTT measurement.
	p.A.Enqueue(0, 0, []byte("select 1"), assoc.SendOptions{})
	p.Advance(500 * ms)
	p.Z.Enqueue(0, 0, []byte("1"), assoc.SendOptions{})
	p.Advance(500 * ms)
	return p
}

// RFC 7829 section 3: "The sender SHOULD avoid data transmission to PF
// destinations", a destination moves to PF when "the error counter ...
// exceeds PFMR" (0 by default: at the first timeout), and RFC 9260 6.4:
// "the endpoint SHOULD try to retransmit a chunk that timed out to an
// active destination transport address that is different from the last
// destination address to which the DATA chunk was sent". Link a1 dies
// silently; a request sent just then is retransmitted over a2 exactly one
// RTO later, Z answers over a2 (the way the request came), and the
// session goes on. When the link comes back, the PF path answers its
// HEARTBEAT and new data returns to the primary (RFC 7829 section 5).
func TestMultihomingFailoverOnT3AndBack(t *testing.T) {
	p := failover(t)
	rto := pathsOf(p.A)[a1.String()+">"+z1.String()].RTO
	if rto != 100*ms {
		t.Fatalf("primary RTO %v, want RTO.Min 100ms on a 10ms round trip with 20ms delayed SACKs", rto)
	}
	p.Link(a1, z1).Down, p.Link(z1, a1).Down = true, true
	sent := p.Now()
	p.A.Enqueue(0, 0, []byte("select 2"), assoc.SendOptions{})
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == 2 }, 10*time.Second) {
		t.Fatalf("request not delivered after the link died")
	}
	var pf assoctest.Event
	for _, e := range p.A.Events {
		if c, ok := e.Event.(assoc.PathChange); ok && c.State == assoc.PathPF {
			pf = e
			break
		}
	}
	c, _ := pf.Event.(assoc.PathChange)
	if c.Local != a1 || c.Addr.Addr() != z1 || pf.At.Sub(sent) != rto {
		t.Fatalf("PF transition %+v at %v after the send, want path %v>%v after one RTO (%v)", c, pf.At.Sub(sent), a1, z1, rto)
	}
	rtx := sentOver(p, chunk.TypeData, a2, z1)
	if len(rtx) == 0 || rtx[len(rtx)-1].At.Sub(sent) != rto {
		t.Fatalf("retransmission over %v>%v: %v, want one at +%v", a2, z1, rtx, rto)
	}
	// The answer follows the request to a2.
	p.Z.Enqueue(0, 0, []byte("2"), assoc.SendOptions{})
	if !p.RunUntil(func() bool { return len(p.A.Messages) == 2 }, time.Second) {
		t.Fatalf("answer not delivered")
	}
	if got := sentOver(p, chunk.TypeData, z1, a2); len(got) != 1 {
		t.Errorf("Z sent %d DATA packets to %v, want the answer", len(got), a2)
	}
	if got := p.Z.Stats().Retransmissions; got != 0 {
		t.Errorf("Z retransmitted %d chunks: it should have followed A to a2 at once", got)
	}
	// Heal the link: the HEARTBEAT to the PF path is answered, the path is
	// active again, and new data goes back to the primary.
	p.Link(a1, z1).Down, p.Link(z1, a1).Down = false, false
	if !p.RunUntil(func() bool { return allActive(p.A) }, 30*time.Second) {
		t.Fatalf("primary not back: %+v", p.A.Stats().Paths)
	}
	before := len(sentOver(p, chunk.TypeData, a1, z1))
	p.A.Enqueue(0, 0, []byte("select 3"), assoc.SendOptions{})
	p.Advance(time.Second)
	if got := len(sentOver(p, chunk.TypeData, a1, z1)); got != before+1 {
		t.Errorf("after recovery %d new DATA packets on the primary, want 1", got-before)
	}
	if !p.Connected() {
		t.Error("association lost")
	}
}

// An idle session: the link dies with nothing in flight, then the client
// sends. The first query gets through one RTO after it was sent, and a
// path that failed only one way (A's packets to Z lost, Z's to A
// delivered) is handled the same.
func TestMultihomingIdleFirstQueryOneWayLoss(t *testing.T) {
	p := failover(t)
	p.Advance(3 * time.Second)
	p.Link(a1, z1).Down = true
	sent := p.Now()
	p.A.Enqueue(0, 0, []byte("select after idle"), assoc.SendOptions{})
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == 2 }, 10*time.Second) {
		t.Fatalf("query not delivered")
	}
	p.Z.Enqueue(0, 0, []byte("answer"), assoc.SendOptions{})
	if !p.RunUntil(func() bool { return len(p.A.Messages) == 2 }, 10*time.Second) {
		t.Fatalf("answer not delivered")
	}
	// The RTO then 5ms to Z and 5ms back.
	if got := p.A.Events[len(p.A.Events)-1].At.Sub(sent); got != 100*ms+10*ms {
		t.Errorf("first answer %v after the query, want 110ms (one RTO and a round trip)", got)
	}
}

// RFC 9260 section 8.2: a path goes inactive after Path.Max.Retrans;
// section 8.1 with RFC 7829: the association fails only when every path
// is out of use and Association.Max.Retrans is exceeded. One path dead of
// two: the association lives on for minutes; both dead: it ends with
// ErrTimeout.
func TestMultihomingAllPathsDead(t *testing.T) {
	p := failover(t)
	p.Link(a1, z1).Down, p.Link(z1, a1).Down = true, true
	p.A.Enqueue(0, 0, []byte("x"), assoc.SendOptions{})
	p.Advance(5 * time.Minute)
	if !p.Connected() {
		t.Fatalf("association lost with one path of two alive: %v", p.A.Stats().Paths)
	}
	if st := pathsOf(p.A)[a1.String()+">"+z1.String()].State; st != assoc.PathInactive {
		t.Errorf("dead path is %v after 5 minutes, want inactive", st)
	}
	p.AZ.Down, p.ZA.Down = true, true
	p.Link(a2, z1).Down, p.Link(z1, a2).Down = true, true
	p.A.Enqueue(0, 0, []byte("y"), assoc.SendOptions{})
	if !p.RunUntil(func() bool { return p.A.IsClosed() }, 30*time.Minute) {
		t.Fatalf("association not failed with every path dead: %+v", p.A.Stats().Paths)
	}
	cl, _ := p.A.Closed()
	if !errors.Is(cl.Err, assoc.ErrTimeout) {
		t.Errorf("closed with %v, want ErrTimeout", cl.Err)
	}
	for _, ps := range p.A.Stats().Paths {
		if ps.State != assoc.PathInactive {
			t.Errorf("path %v>%v %v at failure, want inactive", ps.Local, ps.Addr, ps.State)
		}
	}
}

// RFC 9260 sections 5.2.1 and 5.2.2: an INIT that "indicates that a new
// address has been added to the association" is discarded, "NO changes
// should be made to the existing association", and "An ABORT SHOULD be
// sent in response that MAY include the error 'Restart of an association
// with new addresses'". A restarts with a third address: Z refuses and
// keeps its association.
func TestMultihomingRestartWithNewAddress(t *testing.T) {
	p := failover(t)
	zTag := p.Z.Assoc.LocalTag()
	p.A.Crash()
	p.A.Addrs = append(p.A.Addrs, a3)
	p.A.Config.LocalAddrs = []netip.Addr{a1, a2, a3}
	p.A.Connect()
	p.Advance(100 * ms)
	aborts := p.Ladder.Packets(assoctest.ZtoA, chunk.TypeAbort)
	if len(aborts) != 1 || !assoctest.HasCause(aborts[0].Data, chunk.TypeAbort, chunk.CauseRestartWithNewAddresses) {
		t.Fatalf("Z's answer to the INIT: %v, want one ABORT with Restart of an Association with New Addresses", aborts)
	}
	v, _ := assoctest.Chunks(aborts[0].Data)
	cause := assoctest.Causes(v[0].Value)[0]
	if want := []byte{0, 5, 0, 8, 192, 0, 2, 3}; !bytes.Equal(cause.Value, want) {
		t.Errorf("the cause lists % x, want the new address % x", cause.Value, want)
	}
	if p.Z.State() != assoc.StateEstablished || p.Z.Assoc.LocalTag() != zTag || p.Z.Gen() != 1 {
		t.Errorf("Z's association changed: %v, tag %#x (was %#x), generation %d", p.Z.State(), p.Z.Assoc.LocalTag(), zTag, p.Z.Gen())
	}
	if !p.A.IsClosed() {
		t.Errorf("A's new association is %v, want closed by the ABORT", p.A.State())
	}
}

// The same rule for an INIT from an address that is not in the
// association at all (an attacker who knows the ports): refused, no
// change.
func TestMultihomingInitFromUnknownAddress(t *testing.T) {
	p := failover(t)
	p.A.Addrs = append(p.A.Addrs, a3) // where Z's answer goes
	zTag := p.Z.Assoc.LocalTag()
	in := (&chunk.InitChunk{InitiateTag: 0x1234, AdvRecvWindow: 1 << 16, OutboundStreams: 1, InboundStreams: 1, InitialTSN: 7}).Append(nil)
	pkt := assoctest.BuildPacket(p.A.Config.LocalPort, p.Z.Config.LocalPort, 0, assoctest.RawChunk{Type: chunk.TypeInit, Value: in[4:]})
	p.Z.InjectFrom(pkt, netip.AddrPortFrom(a3, p.A.Addr.Port()), p.Z.Addr)
	p.Drive()
	aborts := p.Ladder.Packets(assoctest.ZtoA, chunk.TypeAbort)
	if len(aborts) != 1 || !assoctest.HasCause(aborts[0].Data, chunk.TypeAbort, chunk.CauseRestartWithNewAddresses) {
		t.Fatalf("answer: %v, want ABORT with Restart of an Association with New Addresses", aborts)
	}
	if tag := assoctest.Header(aborts[0].Data).VerificationTag; tag != 0x1234 {
		t.Errorf("ABORT tag %#x, want the INIT's Initiate Tag", tag)
	}
	if p.Z.State() != assoc.StateEstablished || p.Z.Assoc.LocalTag() != zTag || len(p.Z.Stats().Paths) != 2 {
		t.Errorf("Z changed: %v tag %#x paths %+v", p.Z.State(), p.Z.Assoc.LocalTag(), p.Z.Stats().Paths)
	}
}

// IPv4 and IPv6 in one association (RFC 9260 section 5.1.2 lets an INIT
// list both): paths pair addresses of one family only, and when the IPv4
// link dies the data goes on over IPv6.
func TestMultihomingMixedFamilies(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{
		A: mhConfig(), Z: mhConfig(),
		AAddrs: []netip.Addr{a1, a6}, ZAddrs: []netip.Addr{z1, z6},
	})
	connect(t, p)
	if !p.RunUntil(func() bool { return allActive(p.A) && allActive(p.Z) }, time.Second) {
		t.Fatalf("paths not confirmed")
	}
	for _, s := range []*assoctest.Peer{p.A, p.Z} {
		ps := s.Stats().Paths
		if len(ps) != 2 {
			t.Fatalf("%s: %d paths, want 2 (one IPv4, one IPv6): %+v", s.Name, len(ps), ps)
		}
		for _, q := range ps {
			if q.Local.Is4() != q.Addr.Addr().Is4() {
				t.Errorf("%s: path %v>%v mixes families", s.Name, q.Local, q.Addr)
			}
		}
	}
	p.Link(a1, z1).Down, p.Link(z1, a1).Down = true, true
	msgs := makeMessages(newRand(p.Seed), 20, 2, []int{100, 3000}, 0)
	enqueue(p.A, msgs)
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == len(msgs) }, time.Minute) {
		t.Fatalf("%d of %d messages over IPv6", len(p.Z.Messages), len(msgs))
	}
	verifyDelivery(t, msgs, p.Z.Messages)
	if len(sentOver(p, chunk.TypeData, a6, z6)) == 0 {
		t.Error("no DATA over IPv6")
	}
}

// addrParams appends IPv4 and IPv6 Address parameters.
func addrParams(b []byte, ips ...netip.Addr) []byte {
	for _, ip := range ips {
		if ip.Is4() {
			v := ip.As4()
			b = append(append(b, 0, 5, 0, 8), v[:]...)
		} else {
			v := ip.As16()
			b = append(append(b, 0, 6, 0, 20), v[:]...)
		}
	}
	return b
}

// RFC 9260 section 5.1.2 and the bad input: an INIT listing
// broadcast, multicast, unspecified and loopback addresses (from a peer
// that is not on loopback) and a thousand others: the association comes
// up, paths go only to usable addresses, and the table stays bounded.
func TestMultihomingBadAddressLists(t *testing.T) {
	bad := addrParams(nil,
		netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("224.0.0.1"),
		netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("127.0.0.1"),
		netip.MustParseAddr("ff02::1"), netip.MustParseAddr("::"), netip.MustParseAddr("::1"),
		netip.MustParseAddr("fe80::1"), a2)
	for i := range 1000 {
		bad = addrParams(bad, netip.AddrFrom4([4]byte{203, 0, byte(113 + i/250), byte(i % 250)}))
	}
	p := assoctest.New(t, assoctest.Options{
		A: mhConfig(), Z: mhConfig(),
		AAddrs: []netip.Addr{a1, a2}, ZAddrs: []netip.Addr{z1},
		AZ: assoctest.LinkConfig{Hooks: []assoctest.Hook{assoctest.Rewrite(chunk.TypeInit, 1, func(c *assoctest.RawChunk) {
			for len(c.Value)%4 != 0 {
				c.Value = append(c.Value, 0) // the last parameter's padding
			}
			c.Value = append(c.Value, bad...)
		})}},
	})
	connect(t, p)
	ps := p.Z.Stats().Paths
	var peers []netip.Addr
	for _, q := range ps {
		peers = append(peers, q.Addr.Addr())
	}
	if !slices.Contains(peers, a1) || !slices.Contains(peers, a2) {
		t.Errorf("Z's paths %v lack the usable addresses %v and %v", peers, a1, a2)
	}
	for _, ip := range peers {
		if !ip.IsGlobalUnicast() || ip.IsLoopback() {
			t.Errorf("Z has a path to %v", ip)
		}
	}
	if len(ps) > 16 {
		t.Errorf("Z has %d paths for one local address: the peer's addresses are not bounded", len(ps))
	}
}

// The issue's bad input: "a HEARTBEAT ACK whose information the peer
// altered gives no RTT sample and confirms no path". A peer that echoes a
// changed nonce leaves the other paths unconfirmed.
func TestMultihomingAlteredHeartbeatAck(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{
		A: mhConfig(), Z: mhConfig(),
		AAddrs: []netip.Addr{a1}, ZAddrs: []netip.Addr{z1, z2},
		ZA: assoctest.LinkConfig{Hooks: []assoctest.Hook{assoctest.Rewrite(chunk.TypeHeartbeatAck, -1, func(c *assoctest.RawChunk) {
			info, ok := assoctest.Param(c.Value, 1)
			if ok && len(info) == 16 {
				binary.BigEndian.PutUint64(info[:8], binary.BigEndian.Uint64(info[:8])+1)
			}
		})}},
	})
	connect(t, p)
	p.Advance(10 * time.Second)
	st := pathsOf(p.A)[a1.String()+">"+z2.String()]
	if st.State != assoc.PathUnconfirmed || st.SRTT != 0 {
		t.Errorf("path to %v: %v, SRTT %v; an altered HEARTBEAT ACK must neither confirm nor time it", z2, st.State, st.SRTT)
	}
	if !p.Connected() {
		t.Error("association lost")
	}
}

// RFC 9260 section 6.4 asks for "an active destination transport address
// that is different from the last"; with paths as address pairs, the one
// that shares no address with the failed path is the likeliest to work. A
// 2x2 association whose first client link dies: the retransmission goes
// straight to (a2, z2), not to (a1, z2), which crosses the same dead link.
func TestMultihomingAlternateSharesNoAddress(t *testing.T) {
	p := assoctest.New(t, assoctest.Options{
		A: mhConfig(), Z: mhConfig(),
		AAddrs: []netip.Addr{a1, a2}, ZAddrs: []netip.Addr{z1, z2},
		AZ: assoctest.LinkConfig{Delay: 5 * ms}, ZA: assoctest.LinkConfig{Delay: 5 * ms},
	})
	connect(t, p)
	if !p.RunUntil(func() bool { return allActive(p.A) && allActive(p.Z) }, time.Second) {
		t.Fatalf("paths not confirmed")
	}
	for _, z := range []netip.Addr{z1, z2} {
		p.Link(a1, z).Down, p.Link(z, a1).Down = true, true
	}
	sent := p.Now()
	p.A.Enqueue(0, 0, []byte("select 1"), assoc.SendOptions{})
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == 1 }, 10*time.Second) {
		t.Fatalf("not delivered")
	}
	rto := time.Second // RTO.Initial: the primary has no RTT sample yet
	for _, pair := range [][2]netip.Addr{{a1, z2}, {a2, z1}} {
		if n := len(sentOver(p, chunk.TypeData, pair[0], pair[1])); n != 0 {
			t.Errorf("%d DATA packets over %v>%v, which shares an address with the failed path", n, pair[0], pair[1])
		}
	}
	got := sentOver(p, chunk.TypeData, a2, z2)
	if len(got) != 1 || got[0].At.Sub(sent) != rto {
		t.Errorf("retransmissions over %v>%v: %v, want one at +%v", a2, z2, got, rto)
	}
}

// SuspectPath: another association of this host saw the path between the
// same two addresses time out. The path is potentially failed at once, the
// request outstanding on it goes out again over the other path at that
// instant (not one RTO later), no error is counted, and the path comes
// back when its HEARTBEAT is answered one RTO later.
func TestMultihomingSuspectPath(t *testing.T) {
	p := failover(t)
	p.Link(a1, z1).Down, p.Link(z1, a1).Down = true, true
	p.A.Enqueue(0, 0, []byte("select 2"), assoc.SendOptions{})
	p.Drive()
	at := p.Now()
	if !p.A.Assoc.SuspectPath(at, a1, z1) {
		t.Fatal("SuspectPath changed nothing")
	}
	p.Drive()
	c := assoctest.EventsOf[assoc.PathChange](p.A)
	if len(c) == 0 || c[len(c)-1].State != assoc.PathPF || c[len(c)-1].Reason != assoc.ReasonSharedFate {
		t.Fatalf("path changes %+v, want PF for the shared fate", c)
	}
	got := sentOver(p, chunk.TypeData, a2, z1)
	if len(got) != 1 || !got[0].At.Equal(at) {
		t.Fatalf("DATA over %v>%v: %v, want the request again at once", a2, z1, got)
	}
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == 2 }, time.Second) {
		t.Fatal("request not delivered")
	}
	st := pathsOf(p.A)[a1.String()+">"+z1.String()]
	if p.A.Stats().T3Expiries != 0 || st.State != assoc.PathPF {
		t.Errorf("T3 expiries %d, path %v: the hint should have done it all", p.A.Stats().T3Expiries, st.State)
	}
	if p.A.Assoc.SuspectPath(p.Now(), a1, z1) {
		t.Error("a second hint for a PF path changed something")
	}
	p.Link(a1, z1).Down, p.Link(z1, a1).Down = false, false
	if !p.RunUntil(func() bool { return allActive(p.A) }, time.Second) {
		t.Fatalf("path not back after the link healed: %+v", p.A.Stats().Paths)
	}
}

// A configuration reload reaches a running association (UpdateTimers):
// RTO.Min raised from 100ms to 300ms, the next timeout comes 300ms after
// the send, and the path goes PF then.
func TestUpdateTimersRunning(t *testing.T) {
	p := failover(t)
	c := mhConfig()
	c.RTOMin = 300 * ms
	p.A.Assoc.UpdateTimers(c)
	if rto := pathsOf(p.A)[a1.String()+">"+z1.String()].RTO; rto != 300*ms {
		t.Fatalf("RTO %v after the reload, want the new RTO.Min 300ms", rto)
	}
	p.Link(a1, z1).Down, p.Link(z1, a1).Down = true, true
	sent := p.Now()
	p.A.Enqueue(0, 0, []byte("x"), assoc.SendOptions{})
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == 2 }, 5*time.Second) {
		t.Fatal("not delivered")
	}
	for _, e := range p.A.Events {
		if c, ok := e.Event.(assoc.PathChange); ok && c.State == assoc.PathPF {
			if d := e.At.Sub(sent); d != 300*ms {
				t.Errorf("PF %v after the send, want 300ms", d)
			}
			return
		}
	}
	t.Error("no PF transition")
}
