package usrsctp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"testing"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/internal/netrelay"
	"github.com/pgsctp/pgsctp/internal/usrsctp"
	"github.com/pgsctp/pgsctp/sctp"
)

// sent is one message the test sent and expects back.
type sent struct {
	sid       uint16
	ppid      uint32
	unordered bool
	data      []byte
}

// echoer keeps what was sent and checks what comes back: every echo must
// equal a message sent (stream, PPID, unordered flag, bytes), each exactly
// once, and ordered messages of one stream must come back in the order they
// were sent (RFC 9260 section 6.6: "the receiving endpoint MUST deliver the
// DATA chunks to the upper layer according to the order of their SSN").
type echoer struct {
	t       *testing.T
	pending map[string][]int // key: sid/ppid/unordered/data -> indexes into msgs
	msgs    []sent
	next    map[uint16]int // per stream: index into ordered[sid] of the next ordered echo
	ordered map[uint16][]int
	bytes   uint64
}

func newEchoer(t *testing.T) *echoer {
	return &echoer{t: t, pending: map[string][]int{}, next: map[uint16]int{}, ordered: map[uint16][]int{}}
}

func key(sid uint16, ppid uint32, unordered bool, data []byte) string {
	return fmt.Sprintf("%d/%d/%v/%s", sid, ppid, unordered, data)
}

func (e *echoer) send(ctx context.Context, a *sctp.Association, m sent) error {
	i := len(e.msgs)
	e.msgs = append(e.msgs, m)
	k := key(m.sid, m.ppid, m.unordered, m.data)
	e.pending[k] = append(e.pending[k], i)
	if !m.unordered {
		e.ordered[m.sid] = append(e.ordered[m.sid], i)
	}
	e.bytes += uint64(len(m.data))
	return a.SendMessage(ctx, m.sid, m.ppid, m.data, m.unordered)
}

// receive reads n echoes and checks each.
func (e *echoer) receive(ctx context.Context, a *sctp.Association, n int) {
	e.t.Helper()
	for range n {
		m, err := a.ReceiveMessage(ctx)
		if err != nil {
			e.t.Fatalf("ReceiveMessage (%d echoes pending): %v", e.outstanding(), err)
		}
		k := key(m.StreamID, m.PPID, m.Unordered, m.Data)
		idx := e.pending[k]
		if len(idx) == 0 {
			e.t.Fatalf("echo on stream %d, PPID %d, unordered %v, %d bytes matches no message sent (or came twice)", m.StreamID, m.PPID, m.Unordered, len(m.Data))
		}
		i := idx[0]
		e.pending[k] = idx[1:]
		if len(e.pending[k]) == 0 {
			delete(e.pending, k)
		}
		if !m.Unordered {
			want := e.ordered[m.StreamID][e.next[m.StreamID]]
			if !bytes.Equal(e.msgs[want].data, m.Data) {
				e.t.Errorf("stream %d: ordered echo of message %d came before message %d", m.StreamID, i, want)
			}
			e.next[m.StreamID]++
		}
	}
}

func (e *echoer) outstanding() int {
	n := 0
	for _, v := range e.pending {
		n += len(v)
	}
	return n
}

// TestInteropEchoServer: pgsctp dials usrsctp's echo_server and exchanges
// messages of every shape; all echoes are byte-exact.
//
// RFC 9260 behaviour checked against an independent peer: the handshake
// (section 5.1), DATA fragmentation and reassembly (section 6.9: "the
// receiver MUST recognize ... and reassemble" messages larger than the
// path MTU, here both ways: usrsctp fragments at 1424-byte chunks, pgsctp at
// its 1200-byte MTU), streams and PPIDs (section 3.3.1), ordered delivery
// per stream and the U bit (section 6.6), negotiated stream counts
// (section 5.1.1), SACK-driven flow (section 6.2) and graceful shutdown
// (section 9.2: SHUTDOWN, SHUTDOWN ACK, SHUTDOWN COMPLETE).
func TestInteropEchoServer(t *testing.T) {
	e := newEnv(t)
	es := e.must(usrsctp.StartEchoServer(e.ctx, usrsctp.ServerOptions{Netns: e.ns, LocalUDPPort: peerUDP}))
	f := &filter{}
	var mtuErrs []string
	var ladder []string // the chunk types of the shutdown, in order
	f.Seen = func(d netrelay.Direction, p rawPacket, raw []byte) {
		// pgsctp's MTU (default 1200) bounds every SCTP packet it sends
		// (path MTU discovery is off here; TestInteropPathMTU tests it).
		if d == netrelay.ToServer && len(raw) > 1200 {
			mtuErrs = append(mtuErrs, fmt.Sprintf("pgsctp sent a %d-byte SCTP packet: %v", len(raw), p.Chunks))
		}
		for _, c := range p.Chunks {
			switch c.Type {
			case ctShutdown, ctShutdownAck, ctShutdownComplete, ctAbort:
				ladder = append(ladder, fmt.Sprintf("%d:%s", d, c))
			}
		}
	}
	e.relay(peerUDP, f)
	cfg := e.config()
	cfg.Assoc.MaxMTU = -1
	a := e.dial(usrsctp.EchoPort, relayFront, cfg)
	ec := newEchoer(t)
	ctx := e.ctx

	t.Run("small", func(t *testing.T) {
		ec.t = t
		for i, n := range []int{1, 2, 100, 1000, 1100} {
			if err := ec.send(ctx, a, sent{sid: 0, ppid: uint32(i), data: pattern(i, n)}); err != nil {
				t.Fatal(err)
			}
			ec.receive(ctx, a, 1)
		}
	})
	t.Run("fragmented", func(t *testing.T) {
		ec.t = t
		// Just below, at and above one chunk of each side, and
		// echo_server's 10240-byte limit (README.md).
		for i, n := range []int{1172, 1173, 1424, 1425, 3000, 7777, 10239, 10240} {
			if err := ec.send(ctx, a, sent{sid: 1, ppid: 1000 + uint32(i), data: pattern(100+i, n)}); err != nil {
				t.Fatal(err)
			}
			ec.receive(ctx, a, 1)
		}
	})
	t.Run("streams", func(t *testing.T) {
		ec.t = t
		// usrsctp offers 10 outbound streams and pgsctp 16: echo_server
		// can send on 0..9 and receive on 0..15. A message on stream 9
		// comes back on 9, unordered ones unordered.
		for sid := range uint16(10) {
			for j, unordered := range []bool{false, true} {
				if err := ec.send(ctx, a, sent{sid: sid, ppid: 0xABCD0000 + uint32(sid), unordered: unordered, data: pattern(int(sid)*10+j, 50+int(sid)*700)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		ec.receive(ctx, a, 20)
		// Stream 12 exists toward usrsctp (min(16 OS, 2048 MIS)) but not
		// back (usrsctp has 10 outbound streams): echo_server receives
		// the message and its echo fails locally with EINVAL, as RFC
		// 9260 section 5.1.1 forbids sending on a stream the peer did not
		// accept.
		from := len(es.Lines())
		if err := a.SendMessage(ctx, 12, 7, []byte("no way back"), false); err != nil {
			t.Fatal(err)
		}
		if _, err := es.WaitLineAfter(ctx, from, regexp.MustCompile(`^Msg of length 11 received .* on stream 12 with SSN 0 .*PPID 7, .*complete 1\.$`)); err != nil {
			t.Fatal(err)
		}
		if _, err := es.WaitLineAfter(ctx, from, regexp.MustCompile(`^sctp_sendv: Invalid argument$`)); err != nil {
			t.Fatal(err)
		}
		// pgsctp must itself refuse stream 16 and up: the association
		// has 16 outbound streams.
		if err := a.SendMessage(ctx, 16, 0, []byte("x"), false); err == nil {
			t.Error("SendMessage on stream 16 of 16 outbound streams: no error")
		} else {
			t.Logf("stream 16: %v", err)
		}
	})
	t.Run("many", func(t *testing.T) {
		ec.t = t
		// 400 messages, 1 to 4000 bytes, over streams 0..9, a third of
		// them unordered, sent while the echoes are read.
		const n = 400
		msgs := make([]sent, n)
		for i := range msgs {
			msgs[i] = sent{sid: uint16(i % 10), ppid: uint32(i), unordered: i%3 == 0, data: pattern(1000+i, 1+(i*7919)%4000)}
		}
		// Register them all first, so that receive can match any echo.
		errc := make(chan error, 1)
		sendCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			for _, m := range msgs {
				if err := a.SendMessage(sendCtx, m.sid, m.ppid, m.data, m.unordered); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
		for _, m := range msgs {
			i := len(ec.msgs)
			ec.msgs = append(ec.msgs, m)
			k := key(m.sid, m.ppid, m.unordered, m.data)
			ec.pending[k] = append(ec.pending[k], i)
			if !m.unordered {
				ec.ordered[m.sid] = append(ec.ordered[m.sid], i)
			}
			ec.bytes += uint64(len(m.data))
		}
		ec.receive(ctx, a, n)
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	})
	if t.Failed() {
		return
	}

	st := a.Stats()
	t.Logf("before shutdown: %+v", st)
	if st.State != assoc.StateEstablished {
		t.Errorf("state %v; want ESTABLISHED", st.State)
	}
	// BytesSent counts first transmissions of user bytes; the lost echo
	// on stream 12 was still sent by us.
	if want := ec.bytes + uint64(len("no way back")); st.BytesSent != want {
		t.Errorf("Stats.BytesSent = %d; want %d", st.BytesSent, want)
	}
	if st.BytesReceived != ec.bytes {
		t.Errorf("Stats.BytesReceived = %d; want %d", st.BytesReceived, ec.bytes)
	}
	if st.Retransmissions != 0 {
		// Not asserted: a loaded machine may fire a timer.
		t.Logf("note: %d retransmissions on a lossless link (%d T3 expiries, %d fast)", st.Retransmissions, st.T3Expiries, st.FastRetransmits)
	}

	if err := a.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := a.Err(); err != nil {
		t.Errorf("Err after graceful shutdown: %v", err)
	}
	if _, err := a.ReceiveMessage(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("ReceiveMessage after shutdown: %v; want io.EOF", err)
	}
	if n := ec.outstanding(); n != 0 {
		t.Errorf("%d echoes never came", n)
	}
	// Section 9.2: "SHUTDOWN ... SHUTDOWN ACK ... SHUTDOWN COMPLETE". The
	// relay may not have forwarded the last packet yet when Shutdown
	// returns.
	eventually(ctx, func() bool {
		f.Mu.Lock()
		defer f.Mu.Unlock()
		return netrelay.ShutdownDone(ladder, netrelay.ToServer)
	})
	f.Mu.Lock()
	got := slices.Clone(ladder)
	for _, m := range mtuErrs {
		t.Error(m)
	}
	f.Mu.Unlock()
	if note, err := netrelay.CheckShutdown(got, netrelay.ToServer); err != nil {
		t.Error(err)
	} else if note != "" {
		t.Log(note)
	}
	if p := f.Problems(); len(p) > 0 {
		t.Errorf("unparseable datagrams: %v", p)
	}
	t.Logf("after shutdown: %+v", a.Stats())
}
