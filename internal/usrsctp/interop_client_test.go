package usrsctp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/pgsctp/pgsctp/internal/usrsctp"
	"github.com/pgsctp/pgsctp/sctp"
)

// echoAll sends every message it receives on a back on the same stream,
// with the same PPID and unordered flag, until the association ends; the
// returned channel gets the number of messages echoed and the error that
// ended the loop (io.EOF after a graceful shutdown).
func echoAll(ctx context.Context, a *sctp.Association) <-chan echoResult {
	done := make(chan echoResult, 1)
	go func() {
		var r echoResult
		for {
			m, err := a.ReceiveMessage(ctx)
			if err != nil {
				r.err = err
				done <- r
				return
			}
			r.msgs++
			r.bytes += len(m.Data)
			if err := a.SendMessage(ctx, m.StreamID, m.PPID, m.Data, m.Unordered); err != nil {
				r.err = fmt.Errorf("echo: %w", err)
				done <- r
				return
			}
		}
	}()
	return done
}

type echoResult struct {
	msgs, bytes int
	err         error
}

// clientCommUp is the line client prints when the association is up, e.g.
// "Association change SCTP_COMM_UP, streams (in/out) = (16/10), supports
// MULTIBUF.".
var clientCommUp = regexp.MustCompile(`^Association change SCTP_COMM_UP, streams \(in/out\) = \((\d+)/(\d+)\), supports(.*)\.$`)

// TestInteropClientToListener: usrsctp's client connects to a pgsctp
// listener that echoes; its lines come back, and both ends see the
// association up and then shut down gracefully.
//
// RFC 9260 behaviour checked: the server side of the handshake with a
// stateless State Cookie (section 5.1.3), the negotiated stream counts
// ("(in/out) = (16/10)": pgsctp offers 16 outbound streams, usrsctp 10;
// section 5.1.1), that pgsctp's INIT ACK claims no extension it lacks
// (usrsctp then reports no PR, AUTH, ASCONF or RE-CONFIG support), and the
// peer-initiated SHUTDOWN (section 9.2).
func TestInteropClientToListener(t *testing.T) {
	e := newEnv(t)
	l := e.listen(e.config())
	cl := e.must(usrsctp.StartClient(e.ctx, usrsctp.ClientOptions{Netns: e.ns, RemoteAddr: "127.0.0.1", RemotePort: ourPort,
		LocalUDPPort: peerUDP, RemoteUDPPort: ourUDP}))
	a, err := l.Accept(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	echoed := echoAll(e.ctx, a)

	up, err := cl.WaitLine(e.ctx, clientCommUp)
	if err != nil {
		t.Fatal(err)
	}
	m := clientCommUp.FindStringSubmatch(up)
	if m[1] != "16" || m[2] != "10" {
		t.Errorf("usrsctp reports streams (in/out) = (%s/%s); want (16/10)", m[1], m[2])
	}
	for _, ext := range []string{"PR", "RE-CONFIG"} {
		if strings.Contains(" "+m[3]+" ", " "+ext+" ") {
			t.Errorf("usrsctp believes pgsctp supports %s: %q", ext, up)
		}
	}
	for _, ext := range []string{"AUTH", "ASCONF"} {
		if !strings.Contains(" "+m[3]+" ", " "+ext+" ") {
			t.Errorf("usrsctp does not see pgsctp's %s: %q", ext, up)
		}
	}
	t.Logf("client: %s", up)

	lines := []string{"hello usrsctp", "a second line", strings.Repeat("x", 78)}
	for _, s := range lines {
		from := len(cl.Lines())
		if _, err := fmt.Fprintf(cl, "%s\n", s); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.WaitLineAfter(e.ctx, from, regexp.MustCompile("^"+regexp.QuoteMeta(s)+"$")); err != nil {
			t.Fatal(err)
		}
	}
	cl.CloseStdin()
	if _, err := cl.WaitLine(e.ctx, usrsctp.ClientShutdownDone); err != nil {
		t.Fatal(err)
	}
	if err := cl.Wait(e.ctx); err != nil {
		t.Errorf("client exit: %v", err)
	}
	// The client's SHUTDOWN ends our association gracefully: the inbox
	// reports io.EOF and Err is nil.
	r := <-echoed
	if !errors.Is(r.err, io.EOF) {
		t.Errorf("echo loop ended with %v; want io.EOF", r.err)
	}
	if r.msgs != len(lines) {
		t.Errorf("echoed %d messages; want %d", r.msgs, len(lines))
	}
	select {
	case <-a.Done():
	case <-e.ctx.Done():
		t.Fatal("association still running after the client's shutdown")
	}
	if err := a.Err(); err != nil {
		t.Errorf("Err: %v; want nil after a graceful shutdown", err)
	}
	// "Number of packets (sent/received): (S/R)." comes last.
	if _, err := cl.WaitLine(e.ctx, regexp.MustCompile(`^Number of packets \(sent/received\): \(\d+/\d+\)\.$`)); err != nil {
		t.Error(err)
	}
	t.Logf("stats %+v", a.Stats())
}
