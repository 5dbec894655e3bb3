//go:build linux

package usrsctp_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/internal/netns"
	"github.com/pgsctp/pgsctp/internal/usrsctp"
	"github.com/pgsctp/pgsctp/sctp"
)

// usrsctp as a multihomed peer. Its example programs bind the wildcard
// address and list every address of their namespace in INIT and INIT ACK,
// so in a lab (client, router and server namespaces, two links each) they
// are multihomed without being told. The tests send while one link dies
// silently in the router; both stacks must move to the other one, so data
// survives the loss of a path in both directions. usrsctp keeps RFC 9260's
// RTO.Min of 1 s, so its side fails over in about a second.

// multihomeTimeout bounds each test; not a timing assertion.
const multihomeTimeout = 90 * time.Second

func newMultihomeLab(t *testing.T) (*netns.Lab, context.Context) {
	t.Helper()
	usrsctp.Require(t)
	lab := netns.NewLabT(t, netns.LabConfig{ClientLinks: 2, ServerLinks: 2})
	ctx, cancel := context.WithTimeout(context.Background(), multihomeTimeout)
	t.Cleanup(cancel)
	return lab, ctx
}

// echoThrough sends n numbered messages on a and checks their echoes:
// the first third one at a time, then it fails link lk and sends the rest
// at once. (usrsctp has no SCTP-PF: it keeps sending new data to its
// primary until the path is inactive, about a minute, and only
// retransmits elsewhere, one doubling RTO per message sent alone.)
func echoThrough(t *testing.T, ctx context.Context, lab *netns.Lab, a *sctp.Association, lk *netns.Link, n int) {
	t.Helper()
	check := func(i int) {
		m, err := a.ReceiveMessage(ctx)
		if err != nil {
			t.Fatalf("echo of message %d: %v (paths %+v)", i, err, a.Stats().Paths)
		}
		if want := fmt.Sprintf("message %d", i); string(m.Data) != want {
			t.Fatalf("echo %q, want %q", m.Data, want)
		}
	}
	send := func(i int) {
		if err := a.SendMessage(ctx, 0, 0, fmt.Appendf(nil, "message %d", i), false); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	for i := range n / 3 {
		send(i)
		check(i)
	}
	if err := lab.Fail(ctx, lk); err != nil {
		t.Fatal(err)
	}
	for i := n / 3; i < n; i++ {
		send(i)
	}
	for i := n / 3; i < n; i++ {
		check(i)
	}
}

// pgsctp (two client links) with usrsctp's echo_server (two server
// links): the client's first link dies.
func TestMultihomedUsrsctpServer(t *testing.T) {
	lab, ctx := newMultihomeLab(t)
	srv, err := usrsctp.StartEchoServer(ctx, usrsctp.ServerOptions{Netns: lab.Server, LocalUDPPort: peerUDP})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	var a *sctp.Association
	cfg := &sctp.Config{PeerUDPPort: peerUDP}
	if err := lab.Client.Do(func() (err error) {
		a, err = sctp.Dial(ctx, fmt.Sprintf("%v:%d", lab.ServerLinks[0].Addr, usrsctp.EchoPort), cfg)
		return err
	}); err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { a.Abort("test over") })
	start := time.Now()
	waitAllActive(t, ctx, a, 4)
	t.Logf("paths confirmed after %v", time.Since(start))
	echoThrough(t, ctx, lab, a, lab.ClientLinks[0], 30)
	t.Logf("echoes done after %v", time.Since(start))
	checkDeadPath(t, a, lab.ClientLinks[0])
}

// usrsctp's client (two client links) with a pgsctp listener on two
// server addresses: the server's first link dies.
func TestMultihomedUsrsctpClient(t *testing.T) {
	lab, ctx := newMultihomeLab(t)
	laddr := fmt.Sprintf("%v,%v:%d", lab.ServerLinks[0].Addr, lab.ServerLinks[1].Addr, ourPort)
	var l *sctp.Listener
	if err := lab.Server.Do(func() (err error) {
		l, err = sctp.Listen(ctx, laddr, &sctp.Config{UDPPort: ourUDP})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	cl, err := usrsctp.StartClient(ctx, usrsctp.ClientOptions{Netns: lab.Client, RemoteAddr: lab.ServerLinks[0].Addr.String(),
		RemotePort: ourPort, LocalUDPPort: peerUDP, RemoteUDPPort: ourUDP})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Stop() })
	a, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Abort("test over") })
	waitAllActive(t, ctx, a, 4)
	// The client program sends each stdin line as a message and prints
	// what it receives: echo its messages back, and count them.
	go func() {
		for {
			m, err := a.ReceiveMessage(ctx)
			if err != nil {
				return
			}
			a.SendMessage(ctx, m.StreamID, m.PPID, m.Data, m.Unordered)
		}
	}()
	// As in echoThrough: lines one at a time, then the failure, then a
	// burst, whose last echo ends the test.
	for i := range 30 {
		if i == 10 {
			if err := lab.Fail(ctx, lab.ServerLinks[0]); err != nil {
				t.Fatal(err)
			}
		}
		line := fmt.Sprintf("line-%d;", i)
		if _, err := cl.Write([]byte(line + "\n")); err != nil {
			t.Fatal(err)
		}
		if i >= 10 && i < 29 {
			continue
		}
		if _, err := cl.WaitFor(ctx, line); err != nil {
			t.Fatalf("echo of %s through usrsctp's client: %v (paths %+v)\n%s", line, err, a.Stats().Paths, cl.Output())
		}
	}
	for i := 10; i < 30; i++ {
		if line := fmt.Sprintf("line-%d;", i); !strings.Contains(cl.Output(), line) {
			t.Errorf("no echo of %s", line)
		}
	}
	checkDeadPath(t, a, lab.ServerLinks[0])
	if strings.Contains(cl.Output(), "SCTP_COMM_LOST") {
		t.Errorf("usrsctp lost the association:\n%s", cl.Output())
	}
}

// waitAllActive waits until a has n paths, all confirmed and active.
func waitAllActive(t *testing.T, ctx context.Context, a *sctp.Association, n int) {
	t.Helper()
	for {
		ps := a.Stats().Paths
		active := 0
		for _, p := range ps {
			if p.State == assoc.PathActive {
				active++
			}
		}
		if len(ps) == n && active == n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("paths %+v, want %d active", ps, n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// checkDeadPath checks that data no longer goes over the failed link.
func checkDeadPath(t *testing.T, a *sctp.Association, lk *netns.Link) {
	t.Helper()
	for _, p := range a.Stats().Paths {
		if p.Data && (p.Local == lk.Addr || p.Addr.Addr() == lk.Addr) {
			t.Errorf("data still goes over the dead link: %+v", p)
		}
	}
}
