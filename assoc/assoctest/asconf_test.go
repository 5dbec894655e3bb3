package assoctest_test

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
	"github.com/pgsctp/pgsctp/chunk"
)

// asconfPair is an association between A (a1) and Z (z1), both offering
// AUTH and ASCONF (the default), with 5ms links and idle.
func asconfPair(t *testing.T, o assoctest.Options) *assoctest.Pair {
	o.A.RTOMin, o.Z.RTOMin = 100*ms, 100*ms
	o.A.DelayedAckTime, o.Z.DelayedAckTime = 20*ms, 20*ms
	if o.AAddrs == nil {
		o.AAddrs = []netip.Addr{a1}
	}
	if o.ZAddrs == nil {
		o.ZAddrs = []netip.Addr{z1}
	}
	o.AZ.Delay, o.ZA.Delay = 5*ms, 5*ms
	p := assoctest.New(t, o)
	connect(t, p)
	p.Advance(100 * ms)
	return p
}

// hasAuthFirst reports whether a packet carries an AUTH chunk before its
// other chunks, as RFC 4895 section 6.2 places it.
func hasAuthFirst(e assoctest.Entry) bool {
	ts := e.Types()
	return len(ts) > 1 && ts[0] == chunk.TypeAuth
}

func changesOf(s *assoctest.Peer) []assoc.AddressChange {
	return assoctest.EventsOf[assoc.AddressChange](s)
}

// RFC 5061 section 4.2.1 (Add IP Address) and 5.3: A gets a second link at
// run time. Its ASCONF goes out authenticated (RFC 4895: "the AUTH chunk
// MUST be placed before any chunk that needs to be authenticated"), Z
// acknowledges it authenticated too, both ends get paths for the new
// address, confirmed by HEARTBEAT, and when the old link dies the session
// carries on over the new one.
func TestAsconfAddAddress(t *testing.T) {
	p := asconfPair(t, assoctest.Options{})
	p.A.Addrs = append(p.A.Addrs, a2)
	if err := p.A.Assoc.SetLocalAddrs(p.Now(), []netip.Addr{a1, a2}); err != nil {
		t.Fatal(err)
	}
	if !p.RunUntil(func() bool {
		return len(changesOf(p.A)) == 1 && allActive(p.A) && allActive(p.Z) && len(p.A.Stats().Paths) == 2
	}, time.Second) {
		t.Fatalf("address not added: changes %+v, A paths %+v, Z paths %+v", changesOf(p.A), p.A.Stats().Paths, p.Z.Stats().Paths)
	}
	if c := changesOf(p.A)[0]; !c.Local || c.Op != "add" || c.Addr != a2 || !c.OK {
		t.Errorf("A's change %+v", c)
	}
	if c := changesOf(p.Z); len(c) != 1 || c[0].Local || c[0].Op != "add" || c[0].Addr != a2 || !c[0].OK {
		t.Errorf("Z's changes %+v", c)
	}
	asconfs := p.Ladder.Packets(assoctest.AtoZ, chunk.TypeAsconf)
	acks := p.Ladder.Packets(assoctest.ZtoA, chunk.TypeAsconfAck)
	if len(asconfs) != 1 || !hasAuthFirst(asconfs[0]) || len(acks) != 1 || !hasAuthFirst(acks[0]) {
		t.Fatalf("ASCONF %v, ASCONF-ACK %v: want one each, AUTH first", asconfs, acks)
	}
	if got := slices.Collect(func(yield func(netip.Addr) bool) {
		for _, ps := range p.Z.Stats().Paths {
			yield(ps.Addr.Addr())
		}
	}); !slices.Contains(got, a2) {
		t.Errorf("Z's paths lead to %v, want %v among them", got, a2)
	}
	p.Link(a1, z1).Down, p.Link(z1, a1).Down = true, true
	msgs := makeMessages(newRand(p.Seed), 20, 1, []int{100, 2000}, 0)
	enqueue(p.A, msgs)
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == len(msgs) }, 10*time.Second) {
		t.Fatalf("%d of %d messages over the new address", len(p.Z.Messages), len(msgs))
	}
	verifyDelivery(t, msgs, p.Z.Messages)
}

// Moving house: an association whose only address is replaced. The new
// address is added first; the old one is deleted (section 4.2.2) from the
// new one once a HEARTBEAT has confirmed it (the ASCONF's source must not
// be an address it deletes, section 5.1), and no path of the old address
// is left at either end.
func TestAsconfReplaceOnlyAddress(t *testing.T) {
	p := asconfPair(t, assoctest.Options{})
	p.A.Addrs = append(p.A.Addrs, a2)
	if err := p.A.Assoc.SetLocalAddrs(p.Now(), []netip.Addr{a2}); err != nil {
		t.Fatal(err)
	}
	done := func() bool {
		ch := changesOf(p.A)
		return len(ch) == 2 && len(p.A.Stats().Paths) == 1 && len(p.Z.Stats().Paths) == 1
	}
	if !p.RunUntil(done, 2*time.Second) {
		t.Fatalf("changes %+v, A paths %+v, Z paths %+v", changesOf(p.A), p.A.Stats().Paths, p.Z.Stats().Paths)
	}
	ch := changesOf(p.A)
	if ch[0].Op != "add" || ch[0].Addr != a2 || !ch[0].OK || ch[1].Op != "delete" || ch[1].Addr != a1 || !ch[1].OK {
		t.Errorf("changes %+v, want add %v then delete %v", ch, a2, a1)
	}
	if ps := p.Z.Stats().Paths[0]; ps.Addr.Addr() != a2 || ps.State != assoc.PathActive {
		t.Errorf("Z's path %+v, want the one to %v, active", ps, a2)
	}
	if got := p.A.Assoc.LocalAddrs(); !slices.Equal(got, []netip.Addr{a2}) {
		t.Errorf("A's addresses %v", got)
	}
	// The old link may be gone: nothing needs it.
	p.Link(a1, z1).Down, p.Link(z1, a1).Down = true, true
	p.A.Enqueue(0, 0, []byte("after the move"), assoc.SendOptions{})
	p.Z.Enqueue(0, 0, []byte("and back"), assoc.SendOptions{})
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == 1 && len(p.A.Messages) == 1 }, time.Second) {
		t.Fatal("data after the move")
	}
	if n := p.A.Stats().T3Expiries + p.Z.Stats().T3Expiries; n != 0 {
		t.Errorf("%d timeouts: the move should lose nothing", n)
	}
}

// Section 4.2.4, Set Primary Address: A asks Z to send to its second
// address, and Z's next data goes there.
func TestAsconfSetPrimary(t *testing.T) {
	p := asconfPair(t, assoctest.Options{AAddrs: []netip.Addr{a1, a2}})
	if !p.RunUntil(func() bool { return allActive(p.A) && allActive(p.Z) }, time.Second) {
		t.Fatal("paths not confirmed")
	}
	if err := p.A.Assoc.SetPeerPrimary(p.Now(), a2); err != nil {
		t.Fatal(err)
	}
	if !p.RunUntil(func() bool { return len(changesOf(p.Z)) == 1 }, time.Second) {
		t.Fatal("no Set Primary at Z")
	}
	before := len(sentOver(p, chunk.TypeData, z1, a2))
	p.Z.Enqueue(0, 0, []byte("to the new primary"), assoc.SendOptions{})
	p.Advance(100 * ms)
	if got := len(sentOver(p, chunk.TypeData, z1, a2)); got != before+1 {
		t.Errorf("Z sent %d DATA packets to %v after Set Primary, want 1", got-before, a2)
	}
}

// Section 5.1 (A4, B1-B5): a lost ASCONF is sent again when T4-RTO expires,
// one RTO after it went out; Z applies it once.
func TestAsconfLost(t *testing.T) {
	p := asconfPair(t, assoctest.Options{AZ: assoctest.LinkConfig{Hooks: []assoctest.Hook{assoctest.DropFirst(chunk.TypeAsconf, 1)}}})
	p.A.Addrs = append(p.A.Addrs, a2)
	rto := p.A.Stats().Paths[0].RTO
	sent := p.Now()
	if err := p.A.Assoc.SetLocalAddrs(sent, []netip.Addr{a1, a2}); err != nil {
		t.Fatal(err)
	}
	if !p.RunUntil(func() bool { return len(changesOf(p.A)) == 1 }, 5*time.Second) {
		t.Fatal("not acknowledged")
	}
	asconfs := p.Ladder.Packets(assoctest.AtoZ, chunk.TypeAsconf)
	if len(asconfs) != 2 || asconfs[1].At.Sub(sent) != rto {
		t.Fatalf("ASCONFs %v, want the retransmission at +%v", asconfs, rto)
	}
	if n := len(changesOf(p.Z)); n != 1 {
		t.Errorf("Z applied the request %d times", n)
	}
}

// Section 5.2 E2: "If the value found in the Sequence Number is less than
// the ('Peer-Sequence-Number' + 1), simply skip to the next ASCONF, and
// include in the outbound response packet any previously cached ASCONF-ACK
// response that was sent and saved that matches the Sequence Number". The
// ASCONF-ACK is lost; the retransmitted ASCONF gets the cached answer and
// is not applied twice.
func TestAsconfAckLost(t *testing.T) {
	p := asconfPair(t, assoctest.Options{ZA: assoctest.LinkConfig{Hooks: []assoctest.Hook{assoctest.DropFirst(chunk.TypeAsconfAck, 1)}}})
	p.A.Addrs = append(p.A.Addrs, a2)
	if err := p.A.Assoc.SetLocalAddrs(p.Now(), []netip.Addr{a1, a2}); err != nil {
		t.Fatal(err)
	}
	if !p.RunUntil(func() bool { return len(changesOf(p.A)) == 1 }, 5*time.Second) {
		t.Fatal("not acknowledged")
	}
	if n := p.Ladder.Count(assoctest.ZtoA, chunk.TypeAsconfAck); n != 2 {
		t.Errorf("%d ASCONF-ACKs, want the lost one and the cached one", n)
	}
	if n := len(changesOf(p.Z)); n != 1 {
		t.Errorf("Z applied the request %d times: %+v", n, changesOf(p.Z))
	}
}

// RFC 4895 section 6.3: "If the calculated HMAC and the received HMAC are
// not the same, the receiver MUST silently discard the AUTH chunk and all
// chunks following the AUTH chunk in the packet"; and a wrong Shared Key
// Identifier discards the packet. An ASCONF whose HMAC (or key identifier)
// was altered on the way is dropped and counted; the retransmission, sent
// intact, is applied.
func TestAsconfWrongHMACAndKey(t *testing.T) {
	for name, f := range map[string]func(c *assoctest.RawChunk){
		"hmac":   func(c *assoctest.RawChunk) { c.Value[len(c.Value)-1] ^= 1 },
		"key id": func(c *assoctest.RawChunk) { c.Value[1] = 1 },
	} {
		t.Run(name, func(t *testing.T) {
			p := asconfPair(t, assoctest.Options{AZ: assoctest.LinkConfig{Hooks: []assoctest.Hook{assoctest.Rewrite(chunk.TypeAuth, 1, f)}}})
			p.A.Addrs = append(p.A.Addrs, a2)
			if err := p.A.Assoc.SetLocalAddrs(p.Now(), []netip.Addr{a1, a2}); err != nil {
				t.Fatal(err)
			}
			if !p.RunUntil(func() bool { return len(changesOf(p.A)) == 1 }, 5*time.Second) {
				t.Fatal("not acknowledged")
			}
			if st := p.Z.Stats(); st.AuthDropped != 1 {
				t.Errorf("Z dropped %d chunks for AUTH, want the altered ASCONF", st.AuthDropped)
			}
			if n := p.Ladder.Count(assoctest.AtoZ, chunk.TypeAsconf); n != 2 {
				t.Errorf("%d ASCONFs, want the altered one and its retransmission", n)
			}
		})
	}
}

// RFC 5061 section 6: ASCONF "MUST be sent in an authenticated way". An
// ASCONF without AUTH, as an attacker who knows the tags could send, is
// dropped without an answer.
func TestAsconfUnauthenticated(t *testing.T) {
	p := asconfPair(t, assoctest.Options{})
	as := (&chunk.AsconfChunk{Serial: p.A.Assoc.Stats().LocalTag, Address: a1, Params: []chunk.AsconfParam{
		{Type: chunk.ParamAddIPAddress, CorrelationID: 1, Addr: a3}}}).Append(nil)
	for serial := range 3 {
		as[4+3] = byte(serial) // a few Sequence Numbers, one of them the next
		pkt := assoctest.BuildPacket(p.A.Config.LocalPort, p.Z.Config.LocalPort, p.Z.Assoc.LocalTag(),
			assoctest.RawChunk{Type: chunk.TypeAsconf, Value: as[4:]})
		p.Z.Inject(pkt)
	}
	p.Drive()
	if n := p.Ladder.Count(assoctest.ZtoA, chunk.TypeAsconfAck); n != 0 {
		t.Errorf("%d ASCONF-ACKs to an unauthenticated ASCONF", n)
	}
	if st := p.Z.Stats(); st.AuthDropped != 3 || len(changesOf(p.Z)) != 0 || len(st.Paths) != 1 {
		t.Errorf("AUTH drops %d, changes %+v, paths %+v", st.AuthDropped, changesOf(p.Z), st.Paths)
	}
}

// The security rule: an address the peer adds is checked against
// allowed_networks before any packet goes to it (Config.AdmitAddr), and
// refused with "Request Refused - No Authorization" otherwise.
func TestAsconfAddRefused(t *testing.T) {
	refuse := func(ip netip.Addr) error {
		if ip == a2 {
			return errors.New("not in allowed_networks")
		}
		return nil
	}
	p := asconfPair(t, assoctest.Options{Z: assoc.Config{AdmitAddr: refuse}})
	p.A.Addrs = append(p.A.Addrs, a2)
	if err := p.A.Assoc.SetLocalAddrs(p.Now(), []netip.Addr{a1, a2}); err != nil {
		t.Fatal(err)
	}
	if !p.RunUntil(func() bool { return len(changesOf(p.A)) == 1 }, time.Second) {
		t.Fatal("no answer")
	}
	if c := changesOf(p.A)[0]; c.OK || c.Reason != chunk.CauseNoAuthorization.String() {
		t.Errorf("A's change %+v, want refused with %q", c, chunk.CauseNoAuthorization)
	}
	p.Advance(10 * time.Second)
	if n := len(p.A.Stats().Paths) + len(p.Z.Stats().Paths); n != 2 {
		t.Errorf("%d paths in all, want the original two", n)
	}
	for _, e := range p.Ladder.Entries {
		if e.Kind == assoctest.KindPacket && (e.Dst.Addr() == a2 || e.Src.Addr() == a2) {
			t.Fatalf("a packet went to or from the refused address: %s", e.String())
		}
	}
}

// An association with a peer that does not offer ASCONF cannot change its
// addresses, and says so.
func TestAsconfNotNegotiated(t *testing.T) {
	p := asconfPair(t, assoctest.Options{Z: assoc.Config{NoASCONF: true}})
	if err := p.A.Assoc.SetLocalAddrs(p.Now(), []netip.Addr{a1, a2}); !errors.Is(err, assoc.ErrNoASCONF) {
		t.Errorf("SetLocalAddrs: %v, want ErrNoASCONF", err)
	}
	for _, e := range p.Ladder.Entries {
		if e.Kind == assoctest.KindPacket && (e.Has(chunk.TypeAuth) || e.Has(chunk.TypeAsconf)) {
			t.Errorf("%s", e.String())
		}
	}
}
