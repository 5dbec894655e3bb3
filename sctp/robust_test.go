package sctp

import (
	"errors"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
)

// TestGarbageDatagrams throws random datagrams (short, long, with and
// without a plausible common header) at a listener; it must keep working.
func TestGarbageDatagrams(t *testing.T) {
	cfg := testConfig(t)
	l := listenT(t, cfg)
	// An association established before the garbage must survive it.
	c0 := dialT(t, l, cfg)
	s0, err := l.Accept(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s0.Abort("over")
	u, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(l.Addr().(*Addr).UDPPort)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 2000 {
		b := make([]byte, r.IntN(1500))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		if len(b) >= 12 && i%2 == 0 {
			b[2], b[3] = 0x13, 0x88 // destination SCTP port 5000
			if i%4 == 0 {
				copy(b[4:8], []byte{0, 0, 0, 0}) // a zero tag, as an INIT has
			}
		}
		u.Write(b)
	}
	exchange(t, c0, s0)
	c := dialT(t, l, cfg)
	s, err := l.Accept(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort("over")
	exchange(t, c, s)
}

// TestAcceptBacklog: with a full backlog a new association is aborted.
func TestAcceptBacklog(t *testing.T) {
	cfg := testConfig(t)
	cfg.AcceptBacklog = 1
	l := listenT(t, cfg)
	first := dialT(t, l, cfg)
	c := *cfg
	c.UDPPort, c.PeerUDPPort = 0, int(l.Addr().(*Addr).UDPPort)
	second, err := Dial(testCtx(t), "127.0.0.1:5000", &c)
	if err == nil { // the handshake may complete before the listener aborts it
		select {
		case <-second.Done():
		case <-time.After(testTimeout):
			t.Fatal("second association not aborted")
		}
		err = second.Err()
	}
	if !errors.Is(err, assoc.ErrAborted) {
		t.Fatalf("second association: %v, want ErrAborted", err)
	}
	s, err := l.Accept(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort("over")
	exchange(t, first, s)
}
