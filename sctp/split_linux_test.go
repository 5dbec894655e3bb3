package sctp

import (
	"errors"
	"net"
	"testing"

	"github.com/pgsctp/pgsctp/udpencap"
)

// TestListenerSplit checks that a listener on Linux reads INITs on a
// socket of their own (udpencap.ListenSplit), that the handshake works
// across the two readers (the INIT on one, the COOKIE ECHO on the other)
// and that closing the listener and its last association closes both.
func TestListenerSplit(t *testing.T) {
	l, c, s := pair(t, testConfig(t))
	sock := l.sock
	if sock.inits == nil {
		t.Fatal("the listener has no INIT socket: the kernel refused to steer, or Listen no longer asks")
	}
	ctx := testCtx(t)
	if err := c.SendMessage(ctx, 0, 42, []byte("ping"), false); err != nil {
		t.Fatal(err)
	}
	if m, err := s.ReceiveMessage(ctx); err != nil || string(m.Data) != "ping" {
		t.Fatalf("server got %+v, %v", m, err)
	}
	l.Close()
	c.Abort("test over")
	s.Abort("test over")
	sock.readers.Wait() // ReadBatch has one caller at a time
	msgs := []udpencap.Message{{Buf: make([]byte, 64)}}
	for name, conn := range map[string]*udpencap.Conn{"main": sock.conn, "inits": sock.inits} {
		if _, err := conn.ReadBatch(msgs); !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s socket after the listener and its association closed: %v, want net.ErrClosed", name, err)
		}
	}
}
