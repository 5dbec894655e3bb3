package assoctest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/assoc/assoctest"
)

// The send buffer as package assoc documents it: Send past SendBuffer
// fails with ErrWouldBlock, a Writable event follows once the peer's
// acknowledgements free space, a message that could never fit fails with
// ErrMessageTooBig, and a closed association refuses with ErrClosed.
func TestSendBuffer(t *testing.T) {
	const buf = 8000
	p := assoctest.New(t, assoctest.Options{
		A:  assoc.Config{SendBuffer: buf},
		AZ: assoctest.LinkConfig{Delay: 50 * ms},
		ZA: assoctest.LinkConfig{Delay: 50 * ms},
	})
	connect(t, p)
	if err := p.A.Send(0, 0, make([]byte, buf+1), assoc.SendOptions{}); !errors.Is(err, assoc.ErrMessageTooBig) {
		t.Errorf("Send of %d bytes with a %d-byte buffer: %v, want ErrMessageTooBig", buf+1, buf, err)
	}
	sent := 0
	var err error
	for range 10 {
		if err = p.A.Send(0, 0, make([]byte, 2000), assoc.SendOptions{}); err != nil {
			break
		}
		sent++
	}
	if !errors.Is(err, assoc.ErrWouldBlock) {
		t.Fatalf("after %d sends of 2000 bytes into %d: %v, want ErrWouldBlock", sent, buf, err)
	}
	if sent != buf/2000 {
		t.Errorf("%d messages of 2000 bytes accepted into a %d-byte buffer, want %d", sent, buf, buf/2000)
	}
	writable := func() bool { return len(assoctest.EventsOf[assoc.Writable](p.A)) > 0 }
	if !p.RunUntil(writable, time.Minute) {
		t.Fatal("no Writable event after the peer acknowledged the data")
	}
	if err := p.A.Send(0, 0, make([]byte, 2000), assoc.SendOptions{}); err != nil {
		t.Errorf("Send after Writable: %v", err)
	}
	if !p.RunUntil(func() bool { return len(p.Z.Messages) == sent+1 }, time.Minute) {
		t.Fatalf("Z got %d of %d messages", len(p.Z.Messages), sent+1)
	}
	p.A.Abort("done")
	p.Drive()
	if err := p.A.Send(0, 0, []byte("x"), assoc.SendOptions{}); !errors.Is(err, assoc.ErrClosed) {
		t.Errorf("Send after Abort: %v, want ErrClosed", err)
	}
}
