//go:build linux

package sctp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/internal/netns"
)

// labPair listens in the lab's server namespace on every server address
// and dials from the client namespace with every client address ('*').
func labPair(t *testing.T, lab *netns.Lab, listen string, cfg *Config) (client, server *Association) {
	t.Helper()
	ctx := testCtx(t)
	var l *Listener
	if err := lab.Server.Do(func() (err error) {
		l, err = Listen(ctx, listen, cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	accepted := make(chan *Association, 1)
	go func() {
		a, err := l.Accept(ctx)
		if err == nil {
			accepted <- a
		}
		close(accepted)
	}()
	if err := lab.Client.Do(func() (err error) {
		client, err = Dial(ctx, listen, cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Abort("test over") })
	server = <-accepted
	if server == nil {
		t.Fatal("no association accepted")
	}
	t.Cleanup(func() { server.Abort("test over") })
	return client, server
}

// waitPaths waits until a has n paths, all active.
func waitPaths(t *testing.T, a *Association, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
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
		if time.Now().After(deadline) {
			t.Fatalf("paths %+v, want %d active", ps, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// echoStream echoes the first stream the peer opens on a.
func echoStream(t *testing.T, a *Association) {
	go func() {
		s, err := a.AcceptStream(context.Background())
		if err != nil {
			return
		}
		io.Copy(s, s)
		s.CloseWrite()
	}()
}

// The asymmetric case over real sockets in namespaces: a client with two
// links, a server with one. Every path is confirmed; a stream keeps
// echoing while the client's primary link dies silently, with every byte
// back in order, and the dead path is seen as failed.
func TestLabFailoverAsymmetric(t *testing.T) {
	lab := netns.NewLabT(t, netns.LabConfig{ClientLinks: 2, ServerLinks: 1})
	srv := lab.ServerLinks[0].Addr
	client, server := labPair(t, lab, srv.String()+":5432", nil)
	waitPaths(t, client, 2)
	waitPaths(t, server, 2)
	echoStream(t, server)
	st, err := client.OpenStream(0)
	if err != nil {
		t.Fatal(err)
	}
	var sent, got bytes.Buffer
	buf := make([]byte, 1000)
	for i := range 300 {
		if i == 100 {
			if err := lab.Fail(testCtx(t), lab.ClientLinks[0]); err != nil {
				t.Fatal(err)
			}
		}
		msg := fmt.Appendf(nil, "message %d;", i)
		sent.Write(msg)
		if _, err := st.Write(msg); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		st.SetReadDeadline(time.Now().Add(10 * time.Second))
		for got.Len() < sent.Len() {
			n, err := st.Read(buf)
			if err != nil {
				t.Fatalf("read after message %d: %v (paths %+v)", i, err, client.Stats().Paths)
			}
			got.Write(buf[:n])
		}
	}
	if !bytes.Equal(sent.Bytes(), got.Bytes()) {
		t.Fatalf("echo differs")
	}
	dead := netip.AddrPortFrom(lab.ClientLinks[0].Addr, 0)
	for _, p := range client.Stats().Paths {
		if p.Local == dead.Addr() && p.State == assoc.PathActive {
			t.Errorf("path from the dead link is still active: %+v", p)
		}
		if p.Local != dead.Addr() && p.State != assoc.PathActive {
			t.Errorf("live path %+v", p)
		}
	}
}

// Two associations from one client to one server, sharing a PathHealth:
// when the first sees the client's primary link time out, the second,
// idle, moves off it at once, before a timeout of its own, and its next
// message goes over the other link.
func TestLabSharedPathFate(t *testing.T) {
	lab := netns.NewLabT(t, netns.LabConfig{ClientLinks: 2, ServerLinks: 1})
	cfg := &Config{PathHealth: &PathHealth{}}
	addr := lab.ServerLinks[0].Addr.String() + ":5432"
	first, server := labPair(t, lab, addr, cfg)
	var second *Association
	if err := lab.Client.Do(func() (err error) {
		second, err = Dial(testCtx(t), addr, cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Abort("test over") })
	waitPaths(t, first, 2)
	waitPaths(t, second, 2)
	dead := lab.ClientLinks[0].Addr
	if err := lab.Fail(testCtx(t), lab.ClientLinks[0]); err != nil {
		t.Fatal(err)
	}
	if err := first.SendMessage(testCtx(t), 0, 0, []byte("into the dead link"), false); err != nil {
		t.Fatal(err)
	}
	if _, err := server.ReceiveMessage(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st assoc.PathState
		for _, p := range second.Stats().Paths {
			if p.Local == dead {
				st = p.State
			}
		}
		if st == assoc.PathPF {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second association's path over the dead link is %v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := second.Stats().T3Expiries; n != 0 {
		t.Errorf("the second association had %d timeouts of its own", n)
	}
	for _, p := range second.Stats().Paths {
		if p.Data && p.Local == dead {
			t.Errorf("the second association's data still goes over the dead link: %+v", p)
		}
	}
}

// startEcho has server echo a stream and client write sent on it in the
// background; it returns the client's stream, to read the echo from
// within timeout.
func startEcho(t *testing.T, client, server *Association, sent []byte, timeout time.Duration) *Stream {
	t.Helper()
	echoStream(t, server)
	st, err := client.OpenStream(0)
	if err != nil {
		t.Fatal(err)
	}
	go st.Write(sent)
	st.SetReadDeadline(time.Now().Add(timeout))
	return st
}

// nsDev is a network device in a namespace.
type nsDev struct {
	ns   *netns.NS
	name string
}

// setMTU sets the MTU of devs.
func setMTU(t *testing.T, mtu int, devs ...nsDev) {
	t.Helper()
	for _, d := range devs {
		if err := d.ns.Run(testCtx(t), "ip", "link", "set", "dev", d.name, "mtu", fmt.Sprint(mtu)); err != nil {
			t.Fatal(err)
		}
	}
}

// waitPLPMTU waits until both ends' path MTU settles within 16 bytes
// below want, the end of a search.
func waitPLPMTU(t *testing.T, client, server *Association, want int) {
	t.Helper()
	settled := func(a *Association) bool {
		m := a.Stats().Paths[0].MTU
		return m > want-16 && m <= want
	}
	deadline := time.Now().Add(60 * time.Second)
	for !settled(client) || !settled(server) {
		if time.Now().After(deadline) {
			t.Fatalf("PLPMTU: client %+v, server %+v; want within 16 bytes below %d", client.Stats().Paths, server.Stats().Paths, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("PLPMTU: client %d, server %d", client.Stats().Paths[0].MTU, server.Stats().Paths[0].MTU)
}

// Path MTU discovery (RFC 8899) over real kernels: the client's link
// carries 9000-byte frames, the server's 4000. Both ends search from the
// 1200-byte base; the client's probes above 4000 are dropped by the
// router (they carry DF), the server's fail at its own interface
// (EMSGSIZE), and each end settles within 16 bytes below 3972, the UDP
// payload of a 4000-byte IPv4 packet, with no path error. A 1 MiB echo
// then crosses intact.
func TestLabPathMTU(t *testing.T) {
	lab := netns.NewLabT(t, netns.LabConfig{ClientLinks: 1, ServerLinks: 1})
	cl, sl := lab.ClientLinks[0], lab.ServerLinks[0]
	setMTU(t, 9000, nsDev{lab.Client, cl.Dev}, nsDev{lab.Router, cl.RouterDev})
	setMTU(t, 4000, nsDev{lab.Server, sl.Dev}, nsDev{lab.Router, sl.RouterDev})
	client, server := labPair(t, lab, sl.Addr.String()+":5432", nil)
	waitPLPMTU(t, client, server, 4000-20-8)
	for name, a := range map[string]*Association{"client": client, "server": server} {
		if p := a.Stats().Paths[0]; p.State != assoc.PathActive || p.Errors != 0 {
			t.Errorf("%s's path after the search: %+v, want active with no error", name, p)
		}
	}
	sent := bytes.Repeat([]byte("path mtu "), 1<<20/9)
	st := startEcho(t, client, server, sent, 30*time.Second)
	got := make([]byte, len(sent))
	if _, err := io.ReadFull(st, got); err != nil {
		t.Fatalf("echo: %v", err)
	}
	if !bytes.Equal(sent, got) {
		t.Fatal("echo differs")
	}
}

// TestLabPathMTUBlackHole: RFC 8899's black hole over real kernels. Both
// ends discover a 9000-byte path and cut DATA for it; mid-transfer the
// server's link drops to 1500 bytes, and nothing tells our user-space
// stack (the router's ICMP goes to a socket that ignores it). After two
// T3-rtx expiries each end falls back to the 1200-byte base; the chunks
// cut for 9000 go again with DF clear (Transmit.Fragment), the router or
// the host fragments them, and every byte of the echo comes back intact.
func TestLabPathMTUBlackHole(t *testing.T) {
	lab := netns.NewLabT(t, netns.LabConfig{ClientLinks: 1, ServerLinks: 1})
	cl, sl := lab.ClientLinks[0], lab.ServerLinks[0]
	setMTU(t, 9000, nsDev{lab.Client, cl.Dev}, nsDev{lab.Router, cl.RouterDev}, nsDev{lab.Server, sl.Dev}, nsDev{lab.Router, sl.RouterDev})
	client, server := labPair(t, lab, sl.Addr.String()+":5432", nil)
	waitPLPMTU(t, client, server, 9000-20-8)
	sent := bytes.Repeat([]byte("black hole "), 8<<20/11)
	st := startEcho(t, client, server, sent, 60*time.Second)
	got := make([]byte, len(sent))
	half := len(sent) / 4
	if _, err := io.ReadFull(st, got[:half]); err != nil {
		t.Fatalf("echo before the black hole: %v", err)
	}
	setMTU(t, 1500, nsDev{lab.Router, sl.RouterDev}, nsDev{lab.Server, sl.Dev})
	if _, err := io.ReadFull(st, got[half:]); err != nil {
		t.Fatalf("echo through the black hole: %v (client %+v, server %+v)", err, client.Stats().Paths, server.Stats().Paths)
	}
	if !bytes.Equal(sent, got) {
		t.Fatal("echo differs")
	}
	for name, a := range map[string]*Association{"client": client, "server": server} {
		s := a.Stats()
		t.Logf("%s: %d black holes, PLPMTU %d, %d retransmissions", name, s.PMTUBlackHoles, s.Paths[0].MTU, s.Retransmissions)
		if s.State != assoc.StateEstablished {
			t.Errorf("%s: association %v after the black hole", name, s.State)
		}
	}
	if client.Stats().PMTUBlackHoles == 0 && server.Stats().PMTUBlackHoles == 0 {
		t.Error("no end saw a black hole: the transfer never sent a packet larger than 1500 after the change")
	}
}
