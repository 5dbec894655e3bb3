package main

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

// TestRelayPairCarriesBytes sends more than a window of data through a and
// b to an echo server and back, in both directions at once, with a small
// window so that credit is exercised, then checks that both relays stop
// when asked. A lost or reordered datagram would show as a mismatch.
func TestRelayPairCarriesBytes(t *testing.T) {
	echo := echoServer(t)
	o := options{mtu: 1200, window: 8}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tcp := listenTCP(t)
	errs := make(chan error, 2)
	go func() { errs <- runB(ctx, udp, echo, o) }()
	go func() {
		errs <- runA(ctx, tcp, udp.LocalAddr().(*net.UDPAddr).AddrPort(), o)
	}()
	echoSessions(t, tcp.Addr().String())
	cancel()
	waitStopped(t, errs, 2)
}

// TestTCPPairCarriesBytes: the same through two t relays chained.
func TestTCPPairCarriesBytes(t *testing.T) {
	echo := echoServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, second := listenTCP(t), listenTCP(t)
	errs := make(chan error, 2)
	go func() { errs <- runT(ctx, second, echo) }()
	go func() { errs <- runT(ctx, first, second.Addr().String()) }()
	echoSessions(t, first.Addr().String())
	cancel()
	waitStopped(t, errs, 2)
}

// echoServer returns the address of a TCP server that echoes every
// connection until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	echo := listenTCP(t)
	var echoes sync.WaitGroup
	t.Cleanup(func() {
		echo.Close()
		echoes.Wait()
	})
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			echoes.Go(func() {
				defer c.Close()
				io.Copy(c, c)
			})
		}
	}()
	return echo.Addr().String()
}

func listenTCP(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// echoSessions runs three sessions through the relays at addr, each 1 MiB
// of random bytes sent and half-closed while the echo comes back, which
// must be the same bytes and end.
func echoSessions(t *testing.T, addr string) {
	t.Helper()
	for session := range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		want := make([]byte, 1<<20+123)
		for i := range want {
			want[i] = byte(rand.IntN(256))
		}
		go func() {
			c.Write(want)
			c.(*net.TCPConn).CloseWrite()
		}()
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatalf("session %d: read after %d bytes: %v", session, len(got), err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("session %d: got %d bytes back, sent %d, or they differ", session, len(got), len(want))
		}
	}
}

// waitStopped waits for n relays' results after their context ended.
func waitStopped(t *testing.T, errs <-chan error, n int) {
	t.Helper()
	for range n {
		select {
		case err := <-errs:
			if err != nil {
				t.Errorf("relay: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a relay did not stop")
		}
	}
}
