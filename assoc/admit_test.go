package assoc

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// Access control: Config.Admit is asked with every address the peer
// presents, and a refusal is an ABORT with a User-Initiated Abort cause
// that says why (RFC 9260 8.4 rule 3: the ABORT answering an INIT carries
// the INIT's Initiate Tag and T clear).
func TestAdmitRefusesWithCause(t *testing.T) {
	var asked [][]netip.Addr
	cfg := Config{Admit: func(addrs []netip.Addr) error {
		asked = append(asked, addrs)
		return fmt.Errorf("address %v not in allowed_networks", addrs[0])
	}}
	p := newSmokePair(t, cfg, 0, 3)
	p.run(func() bool { return p.a.State() == StateClosed }, time.Minute)
	if p.z != nil {
		t.Fatal("refused peer got an association")
	}
	err := p.a.Err()
	if !errors.Is(err, ErrAborted) || !strings.Contains(err.Error(), "not in allowed_networks") {
		t.Fatalf("client closed with %v, want an abort carrying the reason", err)
	}
	if len(asked) == 0 || asked[0][0] != p.aAddr.Addr() {
		t.Fatalf("Admit asked with %v, want the INIT's source first", asked)
	}
}

func TestAdmitAcceptsAndRecordsAddresses(t *testing.T) {
	n := 0
	cfg := Config{Admit: func(addrs []netip.Addr) error { n++; return nil }}
	p := newSmokePair(t, cfg, 0, 4)
	if !p.run(func() bool { return p.z != nil && p.a.State() == StateEstablished }, time.Minute) {
		t.Fatal("no association")
	}
	if n != 2 {
		t.Errorf("Admit asked %d times, want 2 (INIT and COOKIE ECHO)", n)
	}
	if got := p.z.PeerAddresses(); len(got) != 1 || got[0] != p.aAddr.Addr() {
		t.Errorf("server sees peer addresses %v, want [%v]", got, p.aAddr.Addr())
	}
	if got := p.a.PeerAddresses(); len(got) != 1 || got[0] != p.zAddr.Addr() {
		t.Errorf("client sees peer addresses %v, want [%v]", got, p.zAddr.Addr())
	}
}

// RFC 9260 5.2.6: a COOKIE ECHO that arrives after the cookie's lifetime
// is answered with an ERROR (Stale Cookie); the client starts over with a
// new INIT asking for a longer life (Cookie Preservative) and gets in.
func TestStaleCookieRetry(t *testing.T) {
	p := newSmokePair(t, Config{ValidCookieLife: time.Second}, 0, 5)
	// Deliver INIT and INIT ACK, then let the cookie age before the COOKIE
	// ECHO goes out.
	buf := make([]byte, 1500)
	tx, _ := p.a.PollTransmit(p.now, buf)
	rep, ok, _ := p.ep.HandlePacket(p.now, p.aAddr, p.zAddr, append([]byte(nil), tx.Packet...), make([]byte, 1500))
	if !ok {
		t.Fatal("no INIT ACK")
	}
	p.now = p.now.Add(3 * time.Second)
	p.a.HandlePacket(p.now, p.zAddr, p.aAddr, append([]byte(nil), rep.Packet...))
	if !p.run(func() bool { return p.z != nil && p.a.State() == StateEstablished }, time.Minute) {
		t.Fatalf("no association after a stale cookie: client %v, %v", p.a.State(), p.a.Err())
	}
	if p.a.preserve == 0 {
		t.Error("the new INIT asked for no Cookie Preservative")
	}
}
