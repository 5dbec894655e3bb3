package sctp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"testing"
	"time"
)

func TestAddresses(t *testing.T) {
	_, c, s := pair(t, testConfig(t))
	lo := netip.MustParseAddr("127.0.0.1")
	for name, a := range map[string]*Addr{
		"client local": c.LocalAddr().(*Addr), "client remote": c.RemoteAddr().(*Addr),
		"server local": s.LocalAddr().(*Addr), "server remote": s.RemoteAddr().(*Addr),
	} {
		if a.IP != lo || a.Port == 0 || a.UDPPort == 0 {
			t.Errorf("%s = %+v, want 127.0.0.1 with SCTP and UDP ports", name, a)
		}
	}
	if c.LocalAddr().(*Addr).UDPPort != s.RemoteAddr().(*Addr).UDPPort {
		t.Errorf("client UDP port %d, server sees %d", c.LocalAddr().(*Addr).UDPPort, s.RemoteAddr().(*Addr).UDPPort)
	}
	if c.RemoteAddr().String() != "127.0.0.1:5000" || c.RemoteAddr().Network() != "sctp" {
		t.Errorf("client remote %s %s", c.RemoteAddr().Network(), c.RemoteAddr())
	}
}

// exchange sends one message each way.
func exchange(t *testing.T, c, s *Association) {
	t.Helper()
	ctx := testCtx(t)
	if err := c.SendMessage(ctx, 0, 0, []byte("to server"), false); err != nil {
		t.Fatal(err)
	}
	if m, err := s.ReceiveMessage(ctx); err != nil || string(m.Data) != "to server" {
		t.Fatalf("server got %q, %v", m.Data, err)
	}
	if err := s.SendMessage(ctx, 0, 0, []byte("to client"), false); err != nil {
		t.Fatal(err)
	}
	if m, err := c.ReceiveMessage(ctx); err != nil || string(m.Data) != "to client" {
		t.Fatalf("client got %q, %v", m.Data, err)
	}
}

func TestIPv6(t *testing.T) {
	cfg := testConfig(t)
	l, err := Listen(testCtx(t), "[::1]:5000", cfg)
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer l.Close()
	cc := *cfg
	cc.UDPPort, cc.PeerUDPPort = 0, int(l.Addr().(*Addr).UDPPort)
	c, err := Dial(testCtx(t), "[::1]:5000", &cc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Abort("over")
	s, err := l.Accept(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort("over")
	exchange(t, c, s)
	if got := s.RemoteAddr().(*Addr).IP; got != netip.IPv6Loopback() {
		t.Errorf("server sees peer %v", got)
	}
}

// TestDualStackListener: an empty host listens on IPv4 and IPv6 at once.
func TestDualStackListener(t *testing.T) {
	cfg := testConfig(t)
	l, err := Listen(testCtx(t), ":5000", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, host := range []string{"127.0.0.1", "[::1]"} {
		cc := *cfg
		cc.UDPPort, cc.PeerUDPPort = 0, int(l.Addr().(*Addr).UDPPort)
		c, err := Dial(testCtx(t), host+":5000", &cc)
		if err != nil {
			if host == "[::1]" {
				t.Logf("no IPv6: %v", err)
				continue
			}
			t.Fatal(err)
		}
		s, err := l.Accept(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		exchange(t, c, s)
		if got := s.LocalAddr().(*Addr).IP; got.String() != unbracket(host) {
			t.Errorf("server local address %v, want %s", got, host)
		}
		c.Abort("over")
		s.Abort("over")
	}
}

func unbracket(h string) string { return string(bytes.Trim([]byte(h), "[]")) }

// TestConcurrentAssociations runs several associations through one
// listener socket at once; the demultiplexer must keep their data apart.
func TestConcurrentAssociations(t *testing.T) {
	cfg := testConfig(t)
	l := listenT(t, cfg)
	const n = 8
	clients := make([]*Association, n)
	for i := range clients {
		clients[i] = dialT(t, l, cfg)
	}
	servers := map[*Association]bool{}
	for range n {
		s, err := l.Accept(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Abort("over") })
		servers[s] = true
	}
	// Each server echoes.
	for s := range servers {
		go func() {
			for {
				m, err := s.ReceiveMessage(context.Background())
				if err != nil {
					return
				}
				s.SendMessage(context.Background(), m.StreamID, m.PPID, m.Data, false)
			}
		}()
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := testCtx(t)
			for j := range 50 {
				want := fmt.Sprintf("client %d message %d", i, j)
				if err := c.SendMessage(ctx, uint16(j%4), uint32(i), []byte(want), false); err != nil {
					t.Error(err)
					return
				}
				m, err := c.ReceiveMessage(ctx)
				if err != nil || string(m.Data) != want {
					t.Errorf("client %d got %q, %v; want %q", i, m.Data, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestReceiveMessageContext(t *testing.T) {
	_, c, _ := pair(t, testConfig(t))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.ReceiveMessage(ctx)
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("ReceiveMessage after cancel: %v", err)
	}
	if _, err := c.AcceptStream(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("AcceptStream with canceled ctx: %v", err)
	}
}

// TestHalfClose: after CloseWrite the peer reads io.EOF and can still send.
func TestHalfClose(t *testing.T) {
	_, c, s := pair(t, testConfig(t))
	st, _ := c.OpenStream(5)
	st.Write([]byte("request"))
	if err := st.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write([]byte("more")); err == nil {
		t.Error("Write after CloseWrite succeeded")
	}
	pst, err := s.AcceptStream(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	pst.SetDeadline(time.Now().Add(testTimeout))
	req, err := io.ReadAll(pst)
	if err != nil || string(req) != "request" {
		t.Fatalf("server read %q, %v", req, err)
	}
	pst.Write([]byte("response"))
	pst.CloseWrite()
	st.SetDeadline(time.Now().Add(testTimeout))
	resp, err := io.ReadAll(st)
	if err != nil || string(resp) != "response" {
		t.Fatalf("client read %q, %v", resp, err)
	}
}

// TestInvalidStream: the peer accepts 16 inbound streams by default
// (negotiated in INIT/INIT ACK); a higher stream id is refused locally.
func TestInvalidStream(t *testing.T) {
	cfg := testConfig(t)
	cfg.Assoc.MaxInboundStreams = 4
	_, c, _ := pair(t, cfg)
	if _, err := c.OpenStream(4); err == nil {
		t.Error("OpenStream(4) succeeded though the peer accepts 4 streams")
	}
	if err := c.SendMessage(testCtx(t), 9, 0, []byte("x"), false); err == nil {
		t.Error("SendMessage on stream 9 succeeded though the peer accepts 4 streams")
	}
}
