package pgfront_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/pgsctp/pgsctp/pgfront"
)

// fakeBackend is a stand-in for PostgreSQL that records what each session
// sends and answers with a script.
type fakeBackend struct {
	l       net.Listener
	handler func(c net.Conn)
	wg      sync.WaitGroup
}

func startFakeBackend(t *testing.T, handler func(c net.Conn)) *fakeBackend {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &fakeBackend{l: l, handler: handler}
	b.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			b.wg.Go(func() {
				defer c.Close()
				handler(c)
			})
		}
	})
	t.Cleanup(func() {
		l.Close()
		b.wg.Wait()
	})
	return b
}

// startRelay serves r on a loopback listener until the test ends and
// returns the listener's address.
func startRelay(t testing.TB, r *pgfront.Relay) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String()
}

func startupPacket(t testing.TB, params map[string]string) []byte {
	t.Helper()
	b, err := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: params}).Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readError reads what the relay sent and decodes it as one ErrorResponse.
func readError(t *testing.T, c net.Conn) *pgproto3.ErrorResponse {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	fe := pgproto3.NewFrontend(c, io.Discard)
	msg, err := fe.Receive()
	if err != nil {
		t.Fatalf("reading the relay's answer: %v", err)
	}
	er, ok := msg.(*pgproto3.ErrorResponse)
	if !ok {
		t.Fatalf("relay answered %T, want ErrorResponse", msg)
	}
	return er
}

func TestGarbageStartupRefused(t *testing.T) {
	checkGoroutines(t)
	dialed := make(chan struct{}, 10)
	logs := newLogBook(t)
	addr := startRelay(t, &pgfront.Relay{
		Dial: func(ctx context.Context) (net.Conn, error) {
			dialed <- struct{}{}
			return nil, errors.New("must not be dialed")
		},
		Logger: logs.logger("server"),
	})
	for _, garbage := range []string{
		"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", // length field far too large
		"\x00\x00\x00\x08\x12\x34\x56\x78",          // unknown request code
		"\x00\x00\x00\x02",                          // length below the minimum
		"\x17\x03\x03\x00\x10 TLS application data", // TLS, but not a handshake
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte(garbage)); err != nil {
			t.Fatal(err)
		}
		er := readError(t, c)
		if er.Code != "08P01" || er.Severity != "FATAL" || !strings.Contains(er.Message, "pgsctp: invalid startup packet") {
			t.Errorf("%q: got %+v", garbage, er)
		}
		// Then the relay closes the session.
		if n, err := io.Copy(io.Discard, c); err != nil || n != 0 {
			t.Errorf("%q: after the error: %d bytes, %v", garbage, n, err)
		}
		c.Close()
	}
	if got := len(logs.find("server", "invalid startup packet")); got != 4 {
		t.Errorf("logged %d invalid startup packets, want 4", got)
	}
	if len(dialed) != 0 {
		t.Error("the relay dialed the backend for garbage")
	}
}

// TestTransparentHalfClose: the bytes reach the far side exactly as sent,
// and each side's end of stream reaches the other as a half-close.
func TestTransparentHalfClose(t *testing.T) {
	checkGoroutines(t)
	got := make(chan []byte, 1)
	backend := startFakeBackend(t, func(c net.Conn) {
		b, _ := io.ReadAll(c) // until the client's half-close comes through
		got <- b
		c.Write([]byte("goodbye"))
	})
	addr := startRelay(t, &pgfront.Relay{Dial: pgfront.DialNet("tcp", backend.l.Addr().String()), Logger: newLogBook(t).logger("server")})

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sent := startupPacket(t, map[string]string{"user": "alice", "database": "db"})
	tail := bytes.Repeat([]byte("arbitrary bytes, not parsed\x00\xff"), 10000)
	sent = append(sent, tail...)
	// Write in odd-sized pieces, as a stream transport may deliver them.
	for rest := sent; len(rest) > 0; {
		n := min(len(rest), 7777)
		if _, err := c.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(back) != "goodbye" {
		t.Errorf("client read %q after its half-close", back)
	}
	if b := <-got; !bytes.Equal(b, sent) {
		t.Errorf("backend got %d bytes, client sent %d; equal prefix %d", len(b), len(sent), commonPrefix(b, sent))
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// TestSSLRequestPassesThrough: after an SSLRequest the relay is a plain
// pipe, whatever the two sides then say.
func TestSSLRequestPassesThrough(t *testing.T) {
	checkGoroutines(t)
	sslRequest, _ := (&pgproto3.SSLRequest{}).Encode(nil)
	backend := startFakeBackend(t, func(c net.Conn) {
		buf := make([]byte, len(sslRequest))
		if _, err := io.ReadFull(c, buf); err != nil || !bytes.Equal(buf, sslRequest) {
			return
		}
		c.Write([]byte("S"))
		io.Copy(c, c) // echo what would be TLS records
	})
	logs := newLogBook(t)
	addr := startRelay(t, &pgfront.Relay{Dial: pgfront.DialNet("tcp", backend.l.Addr().String()), Logger: logs.logger("server")})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(sslRequest)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	one := make([]byte, 1)
	if _, err := io.ReadFull(c, one); err != nil || one[0] != 'S' {
		t.Fatalf("answer to SSLRequest: %q %v", one, err)
	}
	hello := []byte("\x16\x03\x01 not really a ClientHello")
	c.Write(hello)
	echo := make([]byte, len(hello))
	if _, err := io.ReadFull(c, echo); err != nil || !bytes.Equal(echo, hello) {
		t.Fatalf("echo: %q %v", echo, err)
	}
	if len(logs.find("server", "session start", "kind", pgfront.KindSSL)) != 1 {
		t.Error("no ssl request session logged")
	}
}

// TestLinger: a client that keeps its side open after the backend has
// ended is let go after Linger.
func TestLinger(t *testing.T) {
	checkGoroutines(t)
	backend := startFakeBackend(t, func(c net.Conn) {
		io.ReadFull(c, make([]byte, 8))
		c.Write([]byte("N")) // refuse SSL and hang up at once
	})
	r := &pgfront.Relay{Dial: pgfront.DialNet("tcp", backend.l.Addr().String()), Linger: 50 * time.Millisecond, Logger: newLogBook(t).logger("server")}
	addr := startRelay(t, r)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sslRequest, _ := (&pgproto3.SSLRequest{}).Encode(nil)
	c.Write(sslRequest)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	b, err := io.ReadAll(c) // the backend's half-close comes through as EOF
	if err != nil || string(b) != "N" {
		t.Fatalf("read %q, %v", b, err)
	}
	// The client never closes; the relay ends the session anyway.
	for deadline := time.Now().Add(20 * time.Second); len(r.Sessions()) > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("session still carried long after Linger")
		}
	}
}

func TestAllowRefuses(t *testing.T) {
	checkGoroutines(t)
	backend := startFakeBackend(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	var seen []pgfront.SessionInfo
	var mu sync.Mutex
	addr := startRelay(t, &pgfront.Relay{
		Dial:   pgfront.DialNet("tcp", backend.l.Addr().String()),
		Logger: newLogBook(t).logger("server"),
		Allow: func(i pgfront.SessionInfo) error {
			mu.Lock()
			seen = append(seen, i)
			mu.Unlock()
			if i.User == "mallory" {
				return errors.New("no sessions for mallory")
			}
			return nil
		},
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(startupPacket(t, map[string]string{"user": "mallory"}))
	if er := readError(t, c); er.Code != "28000" || !strings.Contains(er.Message, "no sessions for mallory") {
		t.Errorf("got %+v", er)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0].Database != "mallory" || len(seen[0].Remote) != 1 ||
		seen[0].Remote[0].String() != c.LocalAddr().String() {
		t.Errorf("Allow saw %+v", seen)
	}
}

// TestServeShutdown: cancelling Serve's context ends live sessions and
// Serve returns only after they are gone.
func TestServeShutdown(t *testing.T) {
	checkGoroutines(t)
	backend := startFakeBackend(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	r := &pgfront.Relay{Dial: pgfront.DialNet("tcp", backend.l.Addr().String()), Logger: newLogBook(t).logger("server")}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, l) }()
	var clients []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(startupPacket(t, map[string]string{"user": "u"}))
		clients = append(clients, c)
	}
	// A session that has not sent its first message yet.
	idle, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	for deadline := time.Now().Add(20 * time.Second); len(r.Sessions()) < 4; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions, want 4", len(r.Sessions()))
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if n := len(r.Sessions()); n != 0 {
		t.Errorf("%d sessions after Serve returned", n)
	}
	for i, c := range append(clients, idle) {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Errorf("client %d: %v, want the relay's close", i, err)
		}
	}
}

func TestListenUnix(t *testing.T) {
	dir := t.TempDir()
	l, err := pgfront.ListenUnix(dir, 6543)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, ".s.PGSQL.6543")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o777 {
		t.Errorf("socket mode %v, want a socket with 0777", fi.Mode())
	}
	// A live socket is not taken over.
	if l2, err := pgfront.ListenUnix(dir, 6543); err == nil {
		l2.Close()
		t.Error("took over a socket that is in use")
	}
	// A stale one (its listener gone, the file left) is replaced.
	l.SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket file not left behind: %v", err)
	}
	l, err = pgfront.ListenUnix(dir, 6543)
	if err != nil {
		t.Fatalf("replacing a stale socket: %v", err)
	}
	l.Close()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after Close: %v", err)
	}
	// A regular file of that name is not removed.
	os.WriteFile(path, []byte("x"), 0o600)
	if l, err := pgfront.ListenUnix(dir, 6543); err == nil {
		l.Close()
		t.Error("replaced a regular file")
	}
}

// TestDirectTLSPassesThrough: a session that opens with a TLS handshake
// (libpq's sslnegotiation=direct) is carried unchanged.
func TestDirectTLSPassesThrough(t *testing.T) {
	checkGoroutines(t)
	backend := startFakeBackend(t, func(c net.Conn) { io.Copy(c, c) })
	logs := newLogBook(t)
	addr := startRelay(t, &pgfront.Relay{Dial: pgfront.DialNet("tcp", backend.l.Addr().String()), Logger: logs.logger("server")})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hello := []byte("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 and the rest of a ClientHello")
	c.Write(hello)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	echo := make([]byte, len(hello))
	if _, err := io.ReadFull(c, echo); err != nil || !bytes.Equal(echo, hello) {
		t.Fatalf("echo: %q %v", echo, err)
	}
	if len(logs.find("server", "session start", "kind", pgfront.KindDirectTLS)) != 1 {
		t.Error("no direct tls session logged")
	}
}

// TestServeGraceful: closing the listener stops new sessions but lets
// running ones go on; Serve returns when the last has ended.
func TestServeGraceful(t *testing.T) {
	checkGoroutines(t)
	backend := startFakeBackend(t, func(c net.Conn) { io.Copy(c, c) })
	r := &pgfront.Relay{Dial: pgfront.DialNet("tcp", backend.l.Addr().String()), Logger: newLogBook(t).logger("server")}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Serve(context.Background(), l) }()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	startup := startupPacket(t, map[string]string{"user": "u"})
	c.Write(startup)
	if _, err := io.ReadFull(c, make([]byte, len(startup))); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := net.Dial("tcp", l.Addr().String()); err == nil {
		t.Error("a new session was accepted after the listener closed")
	}
	c.Write([]byte("still here"))
	got := make([]byte, len("still here"))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "still here" {
		t.Fatalf("running session after the listener closed: %q %v", got, err)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned with a session running: %v", err)
	default:
	}
	c.Close()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
