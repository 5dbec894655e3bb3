package usrsctp_test

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/pgsctp/pgsctp/internal/netrelay"
	"github.com/pgsctp/pgsctp/internal/usrsctp"
	"github.com/pgsctp/pgsctp/sctp"
)

// TestInteropDiscardBulk: pgsctp sends 4 MiB to usrsctp's discard_server
// and shuts down; the server saw every byte, message by message.
//
// RFC 9260 behaviour checked: flow control against a real receiver window
// (section 6.1 rule B: "The sender MUST NOT transmit new data to a given
// transport address if it has cwnd + (PMTU - 1) or more bytes of data
// outstanding"; usrsctp advertises 128 KiB) with congestion control (section
// 7.2) over many round trips, and the shutdown that waits for all
// outstanding data (section 9.2: "the endpoint ... MUST NOT send a SHUTDOWN
// chunk until all outstanding DATA chunks have been acknowledged").
func TestInteropDiscardBulk(t *testing.T) {
	e := newEnv(t)
	ds := e.must(usrsctp.StartDiscardServer(e.ctx, usrsctp.ServerOptions{Netns: e.ns, LocalUDPPort: peerUDP}))
	a := e.dial(usrsctp.DiscardPort, peerUDP, e.config())

	// 512 messages of 8 KiB: below discard_server's 10240-byte read
	// buffer, so each message is one read and one "complete 1" line.
	const n, size = 512, 8192
	for i := range n {
		if err := a.SendMessage(e.ctx, uint16(i%4), 0, pattern(i, size), false); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if err := a.Shutdown(e.ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := a.Err(); err != nil {
		t.Errorf("Err after graceful shutdown: %v", err)
	}
	st := a.Stats()
	if st.BytesSent != n*size {
		t.Errorf("Stats.BytesSent = %d; want %d", st.BytesSent, n*size)
	}
	t.Logf("stats: %+v; UDP receive buffer drops in the namespace: %d", st, e.udpRcvbufErrors())

	// The server's lines, in order: n messages of size bytes, SSNs 0, 1,
	// ... on each of the 4 streams.
	msg := regexp.MustCompile(`^Msg of length (\d+) received from \S+ on stream (\d+) with SSN (\d+) and TSN \d+, PPID 0, context \d+, complete (\d)\.$`)
	last := regexp.MustCompile(`^Msg of length 8192 received from \S+ on stream 3 with SSN 127 `)
	if _, err := ds.WaitLine(e.ctx, last); err != nil {
		t.Fatal(err)
	}
	var total, complete int
	ssn := make([]int, 4)
	for _, l := range ds.Lines() {
		m := msg.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		length, _ := strconv.Atoi(m[1])
		sid, _ := strconv.Atoi(m[2])
		s, _ := strconv.Atoi(m[3])
		total += length
		if m[4] == "1" {
			complete++
			if sid < 0 || sid >= 4 || s != ssn[sid] {
				t.Errorf("message on stream %d with SSN %d; want SSN %v", sid, s, ssn)
			} else {
				ssn[sid]++
			}
		}
	}
	if total != n*size || complete != n {
		t.Errorf("discard_server read %d bytes in %d complete messages; want %d in %d", total, complete, n*size, n)
	}
}

// TestInteropDaytime: usrsctp's daytime_server sends one message and closes;
// pgsctp delivers it and then reports the graceful end.
//
// RFC 9260 behaviour checked: DATA from the peer right after COOKIE ACK,
// the PPID (section 3.3.1: "This value is passed to SCTP by its upper
// layer and sent to its peer"), and the peer-initiated graceful shutdown
// (section 9.2: "Upon reception of the SHUTDOWN chunk, the peer endpoint
// MUST enter the SHUTDOWN-RECEIVED state ... MUST respond ... with a
// SHUTDOWN ACK chunk").
func TestInteropDaytime(t *testing.T) {
	e := newEnv(t)
	e.must(usrsctp.StartDaytimeServer(e.ctx, usrsctp.ServerOptions{Netns: e.ns, LocalUDPPort: peerUDP}))
	f := &filter{}
	var ladder []string
	f.Seen = func(d netrelay.Direction, p rawPacket, raw []byte) {
		for _, c := range p.Chunks {
			switch c.Type {
			case ctShutdown, ctShutdownAck, ctShutdownComplete, ctAbort:
				ladder = append(ladder, strconv.Itoa(int(d))+":"+c.String())
			}
		}
	}
	e.relay(peerUDP, f)
	a := e.dial(usrsctp.DaytimePort, relayFront, e.config())
	m, err := a.ReceiveMessage(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// ctime(3): "Tue Nov 24 20:25:10 2026\n"
	if !regexp.MustCompile(`^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\n$`).Match(m.Data) {
		t.Errorf("daytime message %q is not a ctime(3) line", m.Data)
	}
	if m.StreamID != 0 || m.PPID != usrsctp.DaytimePPID || m.Unordered {
		t.Errorf("daytime message on stream %d, PPID %d, unordered %v; want 0, %d, false", m.StreamID, m.PPID, m.Unordered, usrsctp.DaytimePPID)
	}
	if _, err := a.ReceiveMessage(e.ctx); !errors.Is(err, io.EOF) {
		t.Errorf("second ReceiveMessage: %v; want io.EOF after the server's SHUTDOWN", err)
	}
	select {
	case <-a.Done():
	case <-e.ctx.Done():
		t.Fatal("association did not end after the server's SHUTDOWN")
	}
	if err := a.Err(); err != nil {
		t.Errorf("Err after the peer's graceful shutdown: %v", err)
	}
	eventually(e.ctx, func() bool {
		f.Mu.Lock()
		defer f.Mu.Unlock()
		return netrelay.ShutdownDone(ladder, netrelay.ToClient)
	})
	f.Mu.Lock()
	got := slices.Clone(ladder)
	f.Mu.Unlock()
	if note, err := netrelay.CheckShutdown(got, netrelay.ToClient); err != nil {
		t.Error(err)
	} else if note != "" {
		t.Log(note)
	}
	t.Logf("%q, stats %+v", m.Data, a.Stats())
}

// TestInteropEchoIPv6: pgsctp dials echo_server over ::1 (usrsctp binds
// its UDP port on [::] too); a fragmented message comes back exact.
//
// RFC 6951 section 5: UDP encapsulation works the same over IPv6; RFC 9260
// section 5.1.2: the association's peer address is the INIT ACK's source
// (::1) whatever address parameters usrsctp lists.
func TestInteropEchoIPv6(t *testing.T) {
	e := newEnv(t)
	e.must(usrsctp.StartEchoServer(e.ctx, usrsctp.ServerOptions{Netns: e.ns, LocalUDPPort: peerUDP}))
	c := *e.config()
	c.UDPPort, c.PeerUDPPort = ourUDP, peerUDP
	var a *sctp.Association
	if err := e.ns.Do(func() (err error) {
		a, err = sctp.Dial(e.ctx, "[::1]:7", &c)
		return err
	}); err != nil {
		t.Fatalf("Dial [::1]:7: %v", err)
	}
	t.Cleanup(func() { a.Abort("test over") })
	msg := pattern(6, 5000)
	if err := a.SendMessage(e.ctx, 2, 66, msg, false); err != nil {
		t.Fatal(err)
	}
	m, err := a.ReceiveMessage(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.StreamID != 2 || m.PPID != 66 || !bytes.Equal(m.Data, msg) {
		t.Errorf("echo on stream %d, PPID %d, %d bytes; want 2, 66, the 5000 bytes sent", m.StreamID, m.PPID, len(m.Data))
	}
	if err := a.Shutdown(e.ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	t.Logf("remote %v, stats %+v", a.RemoteAddr(), a.Stats())
}
