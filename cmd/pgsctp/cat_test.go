package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// buildPgsctp builds the command into a temporary directory.
func buildPgsctp(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pgsctp")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freeUDPPort finds a UDP port that is free right now on loopback.
func freeUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
}

type proc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan error
}

func start(t *testing.T, ctx context.Context, bin string, stdin []byte, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.CommandContext(ctx, bin, args...), done: make(chan error, 1)}
	p.cmd.Stdin = bytes.NewReader(stdin)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	return p
}

func (p *proc) wait(t *testing.T, name string) int {
	t.Helper()
	err := <-p.done
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v\nstderr: %s", name, err, p.stderr.String())
	}
	return 0
}

func randomData(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(7, 9))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestCatTransfer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildPgsctp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	port := freeUDPPort(t)
	data := randomData(3 << 20)

	l := start(t, ctx, bin, nil, "cat", "--listen", "--udp-port", port, "127.0.0.1:5000")
	c := start(t, ctx, bin, data, "cat", "--peer-udp-port", port, "127.0.0.1:5000")
	if code := c.wait(t, "connect"); code != 0 {
		t.Fatalf("connect exited %d: %s", code, c.stderr.String())
	}
	if code := l.wait(t, "listen"); code != 0 {
		t.Fatalf("listen exited %d: %s", code, l.stderr.String())
	}
	if got := l.stdout.Bytes(); sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("listener wrote %d bytes, want the %d sent", len(got), len(data))
	}
}

func TestCatEcho(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildPgsctp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	port := freeUDPPort(t)
	data := randomData(200 << 10)

	l := start(t, ctx, bin, nil, "cat", "--listen", "--echo", "--udp-port", port, "5000")
	c := start(t, ctx, bin, data, "cat", "--stream", "3", "--peer-udp-port", port, "localhost:5000")
	if code := c.wait(t, "connect"); code != 0 {
		t.Fatalf("connect exited %d: %s", code, c.stderr.String())
	}
	if code := l.wait(t, "listen"); code != 0 {
		t.Fatalf("listen exited %d: %s", code, l.stderr.String())
	}
	if !bytes.Equal(l.stdout.Bytes(), data) {
		t.Errorf("listener wrote %d bytes, want %d", l.stdout.Len(), len(data))
	}
	if !bytes.Equal(c.stdout.Bytes(), data) {
		t.Errorf("echo returned %d bytes, want %d", c.stdout.Len(), len(data))
	}
}

func TestCatIdleTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildPgsctp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	port := freeUDPPort(t)
	l := start(t, ctx, bin, nil, "cat", "--listen", "--echo", "--udp-port", port, "127.0.0.1:5000")
	c := start(t, ctx, bin, []byte("ping\n"), "cat", "--idle-timeout", "300ms", "--peer-udp-port", port, "127.0.0.1:5000")
	if code := c.wait(t, "connect"); code != 0 || c.stdout.String() != "ping\n" {
		t.Fatalf("connect exited %d with %q: %s", code, c.stdout.String(), c.stderr.String())
	}
	if code := l.wait(t, "listen"); code != 0 {
		t.Fatalf("listen exited %d: %s", code, l.stderr.String())
	}
}

// TestCatFailure connects to an SCTP port nobody listens on: the peer's
// endpoint answers the INIT with an ABORT, and cat exits non-zero with one
// line that says why.
func TestCatFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildPgsctp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	port := freeUDPPort(t)
	l := start(t, ctx, bin, nil, "cat", "--listen", "--idle-timeout", "5s", "--udp-port", port, "127.0.0.1:5000")
	defer l.cmd.Process.Kill()
	c := start(t, ctx, bin, []byte("x"), "cat", "--peer-udp-port", port, "127.0.0.1:6000")
	code := c.wait(t, "connect")
	lines := strings.Split(strings.TrimSpace(c.stderr.String()), "\n")
	if code == 0 || len(lines) != 1 || lines[0] == "" {
		t.Fatalf("connect to a closed port: exit %d, stderr %q; want non-zero and one line", code, c.stderr.String())
	}
	t.Logf("exit %d: %s", code, lines[0])
}

func TestCatUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runCat(context.Background(), []string{"--help"}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "--listen") {
		t.Errorf("--help: exit %d, output %q", code, out.String())
	}
	for _, args := range [][]string{{}, {"--echo", "h:1"}, {"a:1", "b:2"}, {"--stream", "70000", "h:1"}, {"--bogus"}} {
		out.Reset()
		errb.Reset()
		if code := runCat(context.Background(), args, nil, &out, &errb); code != 2 || errb.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, code, errb.String())
		}
	}
	if code := dispatch(context.Background(), []string{"nosuch"}, nil, &out, &errb); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
}
