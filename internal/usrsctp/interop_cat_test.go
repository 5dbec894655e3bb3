package usrsctp_test

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pgsctp/pgsctp/internal/usrsctp"
)

// TestInteropClientToCatEcho: usrsctp's client talks to the pgsctp binary,
// `pgsctp cat --listen --echo`, built from this tree and run in the
// namespace; its lines come back, it sees COMM UP and then SHUTDOWN
// COMPLETE, and cat exits 0 once the peer has ended the association.
//
// RFC 9260 behaviour checked: as TestInteropClientToListener (handshake,
// peer-initiated SHUTDOWN, section 9.2), through the command line's own
// configuration path.
func TestInteropClientToCatEcho(t *testing.T) {
	e := newEnv(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build cmd/pgsctp: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "pgsctp")
	build := exec.CommandContext(e.ctx, goTool, "build", "-o", bin, "github.com/pgsctp/pgsctp/cmd/pgsctp")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/pgsctp: %v\n%s", err, out)
	}
	var out bytes.Buffer
	cat := exec.CommandContext(e.ctx, "nsenter", "--net="+e.ns.Path(), "--", bin, "cat", "--listen", "--echo",
		"--udp-port", strconv.Itoa(ourUDP), fmt.Sprintf("127.0.0.1:%d", ourPort))
	cat.Stdout, cat.Stderr = &out, &out // stdin: /dev/null, so cat waits for the peer
	if err := cat.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cat.Wait() }()
	t.Cleanup(func() {
		cat.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("pgsctp cat output:\n%s", out.String())
		}
	})
	// cat answers INIT once it listens. (An INIT probe leaves no state:
	// the listener keeps none before COOKIE ECHO, RFC 9260 5.1.3.)
	stop := make(chan struct{})
	if err := usrsctp.WaitINITAck(e.ctx, e.ns, ourUDP, ourPort, stop); err != nil {
		t.Fatal(err)
	}

	cl := e.must(usrsctp.StartClient(e.ctx, usrsctp.ClientOptions{Netns: e.ns, RemoteAddr: "127.0.0.1", RemotePort: ourPort,
		LocalUDPPort: peerUDP, RemoteUDPPort: ourUDP}))
	if _, err := cl.WaitLine(e.ctx, usrsctp.ClientUp); err != nil {
		t.Fatal(err)
	}
	lines := []string{"through pgsctp cat", strings.Repeat("0123456789", 7)}
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
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Errorf("pgsctp cat exit: %v; want 0 after the peer's graceful shutdown", err)
		}
	case <-e.ctx.Done():
		t.Fatal("pgsctp cat still running after the client's shutdown")
	}
	// cat writes what it received to stdout: the lines it echoed.
	for _, s := range lines {
		if !strings.Contains(out.String(), s+"\n") {
			t.Errorf("cat's output lacks %q", s)
		}
	}
}
