package usrsctp_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"testing"

	"github.com/pgsctp/pgsctp/internal/usrsctp"
)

// tsctpResult matches the receiver's result line (see ParseTsctpReceiver).
var tsctpResult = regexp.MustCompile(`^\d+, \d+, `)

// TestInteropTsctpToListener: usrsctp's tsctp sends N messages to a pgsctp
// listener that reads them all; the counts agree on both sides.
//
// RFC 9260 behaviour checked: reception at full speed from a real sender
// (SACK generation, section 6.2; the receive window, section 6.2.1),
// reassembly of messages larger than usrsctp's 1424-byte chunks (section
// 6.9), unordered delivery with the U bit (section 6.6), and a SHUTDOWN
// that follows the last DATA at once (tsctp sends the last message with
// SCTP_EOF; section 9.2: the receiver "MUST ... verify, by checking the
// Cumulative TSN Ack field of the chunk, that all its outstanding DATA
// chunks have been received").
func TestInteropTsctpToListener(t *testing.T) {
	for _, tc := range []struct {
		n, length  int
		unordered  bool
		recvWindow uint32 // pgsctp's a_rwnd; 0: default
	}{
		{n: 1000, length: 1000},
		{n: 300, length: 5000, unordered: true},
		// A window of 3 messages: usrsctp must stop at pgsctp's
		// a_rwnd (6.1 rule A) and pgsctp must announce the window
		// again as the application reads.
		{n: 200, length: 5000, recvWindow: 16384},
	} {
		t.Run(fmt.Sprintf("%dx%d,unordered=%v,rwnd=%d", tc.n, tc.length, tc.unordered, tc.recvWindow), func(t *testing.T) {
			e := newEnv(t)
			cfg := e.config()
			cfg.Assoc.RecvWindow = tc.recvWindow
			l := e.listen(cfg)
			snd := e.must(usrsctp.StartTsctpClient(e.ctx, usrsctp.TsctpClientOptions{Netns: e.ns, RemoteAddr: "127.0.0.1",
				Port: ourPort, LocalUDPPort: peerUDP, RemoteUDPPort: ourUDP,
				Messages: tc.n, Length: tc.length, Unordered: tc.unordered}))
			a, err := l.Accept(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := bytes.Repeat([]byte("b"), tc.length)
			var msgs, total int
			for {
				m, err := a.ReceiveMessage(e.ctx)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("after %d messages: %v", msgs, err)
				}
				if m.StreamID != 0 || m.PPID != 0 || m.Unordered != tc.unordered || !bytes.Equal(m.Data, want) {
					t.Fatalf("message %d: stream %d, PPID %d, unordered %v, %d bytes; want stream 0, PPID 0, unordered %v, %d bytes of 'b'",
						msgs, m.StreamID, m.PPID, m.Unordered, len(m.Data), tc.unordered, tc.length)
				}
				msgs++
				total += len(m.Data)
			}
			if err := snd.Wait(e.ctx); err != nil {
				t.Fatalf("tsctp sender: %v", err)
			}
			sr, err := usrsctp.ParseTsctpSender(snd.Lines())
			if err != nil {
				t.Fatal(err)
			}
			if sr.Messages != tc.n || sr.Length != tc.length {
				t.Errorf("tsctp sent %d messages of %d bytes; want %d of %d", sr.Messages, sr.Length, tc.n, tc.length)
			}
			if msgs != tc.n || total != tc.n*tc.length {
				t.Errorf("pgsctp received %d messages, %d bytes; want %d, %d", msgs, total, tc.n, tc.n*tc.length)
			}
			<-a.Done()
			if err := a.Err(); err != nil {
				t.Errorf("Err: %v; want nil after tsctp's SHUTDOWN", err)
			}
			st := a.Stats()
			if st.BytesReceived != uint64(tc.n*tc.length) {
				t.Errorf("Stats.BytesReceived = %d; want %d", st.BytesReceived, tc.n*tc.length)
			}
			// Section 6.2: "an acknowledgement SHOULD be generated for at
			// least every second packet (not every second DATA chunk)
			// received". pgsctp only receives here: apart from INIT ACK,
			// COOKIE ACK and SHUTDOWN ACK every packet it sends is a SACK,
			// and apart from INIT, COOKIE ECHO, SHUTDOWN and SHUTDOWN
			// COMPLETE every packet it receives holds DATA (a little slack
			// for bundling).
			if 2*(st.PacketsSent+8) < st.PacketsReceived {
				t.Errorf("pgsctp sent %d packets for %d received: fewer SACKs than one per two DATA packets", st.PacketsSent, st.PacketsReceived)
			}
			t.Logf("tsctp sender %+v; pgsctp stats %+v", sr, st)
		})
	}
}

// TestInteropDialTsctp: pgsctp sends N messages to a tsctp receiver and
// shuts down; tsctp counts the same messages and bytes.
//
// RFC 9260 behaviour checked: sending at full speed into a real receiver
// window (sections 6.1 and 7.2), fragmentation of messages above pgsctp's
// 1200-byte MTU (section 6.9), and a graceful shutdown after the last
// acknowledgement (section 9.2).
func TestInteropDialTsctp(t *testing.T) {
	for _, tc := range []struct {
		n, length int
		unordered bool
		rcvbuf    int // tsctp -R: its SO_RCVBUF, hence its a_rwnd; 0: default
	}{
		{n: 1000, length: 1000},
		{n: 300, length: 5000, unordered: true},
		// A small receive buffer: pgsctp must respect usrsctp's a_rwnd,
		// including a closed window (6.1 rule A: "the data sender can
		// always have one DATA chunk in flight to the receiver if
		// allowed by cwnd").
		{n: 200, length: 5000, rcvbuf: 16384},
	} {
		t.Run(fmt.Sprintf("%dx%d,unordered=%v,rcvbuf=%d", tc.n, tc.length, tc.unordered, tc.rcvbuf), func(t *testing.T) {
			e := newEnv(t)
			rcv := e.must(usrsctp.StartTsctpServer(e.ctx, usrsctp.TsctpServerOptions{Netns: e.ns, LocalUDPPort: peerUDP, RecvBuffer: tc.rcvbuf}))
			a := e.dial(usrsctp.TsctpDefaultPort, peerUDP, e.config())
			msg := bytes.Repeat([]byte("b"), tc.length)
			for i := range tc.n {
				if err := a.SendMessage(e.ctx, 0, 0, msg, tc.unordered); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			if err := a.Shutdown(e.ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if _, err := rcv.WaitLine(e.ctx, tsctpResult); err != nil {
				t.Fatal(err)
			}
			rr := usrsctp.ParseTsctpReceiver(rcv.Lines())
			if len(rr) != 1 {
				t.Fatalf("tsctp results %+v; want one", rr)
			}
			r := rr[0]
			if r.Messages != uint64(tc.n) || r.Bytes != uint64(tc.n*tc.length) || r.FirstLength != uint64(tc.length) {
				t.Errorf("tsctp received %d messages, %d bytes, first of %d; want %d, %d, %d",
					r.Messages, r.Bytes, r.FirstLength, tc.n, tc.n*tc.length, tc.length)
			}
			st := a.Stats()
			if st.BytesSent != uint64(tc.n*tc.length) {
				t.Errorf("Stats.BytesSent = %d; want %d", st.BytesSent, tc.n*tc.length)
			}
			t.Logf("tsctp receiver %+v; pgsctp stats %+v; UDP receive buffer drops in the namespace: %d", r, st, e.udpRcvbufErrors())
		})
	}
}
