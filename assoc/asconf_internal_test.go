package assoc

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/chunk"
)

// asconfAssoc is an established association with peer addresses p1 and
// p2 (one path each, from l1), for the receiver rules of RFC 5061.
func asconfAssoc(t *testing.T) *Association {
	t.Helper()
	now := time.Unix(0, 0)
	a := newAssociation(Config{}.withDefaults(), &cookieSigner{rotation: time.Hour})
	a.state = StateEstablished
	a.localTag, a.peerTag = 1, 2
	a.cfg.Rand = zeroReader{}
	hs := a.newPath(netip.MustParseAddrPort("192.0.2.1:9899"), netip.MustParseAddr("198.51.100.1"), PathActive, now)
	a.peerAddrs = []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")}
	a.setupPaths(now, hs, 9899)
	if len(a.paths) != 2 {
		t.Fatalf("%d paths", len(a.paths))
	}
	return a
}

func causeOf(c chunk.Cause) chunk.CauseCode {
	if c == nil {
		return 0
	}
	return c.CauseCode()
}

// RFC 5061 section 5.3, F7 and F8, and the checks of added addresses.
func TestAsconfReceiverRules(t *testing.T) {
	now := time.Unix(1, 0)
	p1, p2 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for _, c := range []struct {
		name     string
		op       uint16
		ip, src  netip.Addr
		want     chunk.CauseCode
		addrsNow int
	}{
		// F8: "If a request is received to delete an IP address that is
		// also the source address of the IP packet that contained the
		// ASCONF chunk, the receiver MUST reject this request."
		{"delete the source address", chunk.ParamDeleteIPAddress, p1, p1, chunk.CauseDeleteSourceAddress, 2},
		{"delete another address", chunk.ParamDeleteIPAddress, p2, p1, 0, 1},
		{"delete an unknown address", chunk.ParamDeleteIPAddress, netip.MustParseAddr("192.0.2.9"), p1, 0, 2},
		{"add a loopback address", chunk.ParamAddIPAddress, netip.MustParseAddr("127.0.0.1"), p1, chunk.CauseNoAuthorization, 2},
		{"add a multicast address", chunk.ParamAddIPAddress, netip.MustParseAddr("224.0.0.1"), p1, chunk.CauseNoAuthorization, 2},
		{"add an address", chunk.ParamAddIPAddress, netip.MustParseAddr("192.0.2.3"), p1, 0, 3},
		{"set primary to an unknown address", chunk.ParamSetPrimaryAddress, netip.MustParseAddr("192.0.2.9"), p1, chunk.CauseUnresolvableAddress, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := asconfAssoc(t)
			if got := causeOf(a.applyPeer(now, c.op, c.ip, c.src)); got != c.want {
				t.Errorf("cause %v, want %v", got, c.want)
			}
			if len(a.peerAddrs) != c.addrsNow {
				t.Errorf("peer addresses %v, want %d", a.peerAddrs, c.addrsNow)
			}
			if err := a.Invariants(); err != nil {
				t.Error(err)
			}
		})
	}
	// F7: "If a request is received to delete the last remaining IP
	// address of a peer endpoint, the receiver MUST send an Error Cause
	// TLV with the error cause set to the new error code 'Request to
	// Delete Last Remaining IP Address'."
	a := asconfAssoc(t)
	if got := causeOf(a.applyPeer(now, chunk.ParamDeleteIPAddress, p2, p1)); got != 0 {
		t.Fatalf("deleting %v: %v", p2, got)
	}
	if got := causeOf(a.applyPeer(now, chunk.ParamDeleteIPAddress, p1, p2)); got != chunk.CauseDeleteLastAddress {
		t.Errorf("deleting the last address: %v, want %v", got, chunk.CauseDeleteLastAddress)
	}
}

// An authenticated peer gets at most maxAsconfRate new ASCONFs a second
// processed; the rest go unanswered and are retransmitted.
func TestAsconfRate(t *testing.T) {
	a := asconfAssoc(t)
	a.auth.on = true
	now := time.Unix(5, 0)
	from := netip.MustParseAddrPort("192.0.2.1:9899")
	to := netip.MustParseAddrPort("198.51.100.1:9899")
	applied := 0
	for i := range 2 * maxAsconfRate {
		ac := (&chunk.AsconfChunk{Serial: a.asconf.peerSerial + 1, Address: from.Addr(), Params: []chunk.AsconfParam{
			{Type: chunk.ParamSetPrimaryAddress, CorrelationID: uint32(i), Addr: from.Addr()}}}).Append(nil)
		before := a.asconf.peerSerial
		a.handleAsconf(now, from, to, chunk.Raw{Type: chunk.TypeAsconf, Value: ac[4:], Bytes: ac})
		if a.asconf.peerSerial != before {
			applied++
		}
	}
	if applied > maxAsconfRate+1 || applied == 0 {
		t.Errorf("%d of %d ASCONFs in one instant processed, want at most %d", applied, 2*maxAsconfRate, maxAsconfRate+1)
	}
}

type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) { clear(b); return len(b), nil }
