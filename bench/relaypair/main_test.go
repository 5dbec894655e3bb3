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
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	var echoes sync.WaitGroup
	defer echoes.Wait()
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

	o := options{mtu: 1200, window: 8}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() { errs <- runB(ctx, udp, echo.Addr().String(), o) }()
	go func() {
		errs <- runA(ctx, tcp, udp.LocalAddr().(*net.UDPAddr).AddrPort(), o)
	}()

	for session := range 3 {
		c, err := net.Dial("tcp", tcp.Addr().String())
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

	cancel()
	for range 2 {
		select {
		case err := <-errs:
			if err != nil {
				t.Errorf("relay: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a relay did not stop")
		}
	}
	echo.Close()
}
