//go:build linux

package usrsctp_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/internal/netns"
	"github.com/pgsctp/pgsctp/internal/usrsctp"
	"github.com/pgsctp/pgsctp/sctp"
)

// ASCONF (RFC 5061) against usrsctp, both ways, in a lab with two client
// links: addresses added and deleted during an association, then the old
// link dies and data goes on.

// buildBindx compiles bindx/bindx.c, a usrsctp client that changes its
// addresses with usrsctp_bindx, against Debian's libusrsctp-dev.
func buildBindx(t *testing.T) string {
	t.Helper()
	_, gccErr := exec.LookPath("gcc")
	_, hdrErr := os.Stat("/usr/include/usrsctp.h")
	if gccErr != nil || hdrErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("gcc or libusrsctp-dev missing on CI (scripts/install-deps.sh installs them): %v %v", gccErr, hdrErr)
		}
		t.Skipf("gcc or libusrsctp-dev not installed: %v %v", gccErr, hdrErr)
	}
	bin := filepath.Join(t.TempDir(), "bindx")
	if out, err := exec.Command("gcc", "-O1", "-o", bin, "bindx/bindx.c", "-lusrsctp", "-lpthread").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return bin
}

// lineProc is a program in a namespace driven line by line.
type lineProc struct {
	in    io.WriteCloser
	mu    sync.Mutex
	lines []string
	more  chan struct{}
}

func startLines(t *testing.T, ctx context.Context, ns *netns.NS, bin string, args ...string) *lineProc {
	t.Helper()
	cmd := ns.Command(ctx, bin, args...)
	p := &lineProc{more: make(chan struct{}, 1)}
	var err error
	if p.in, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.more <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		p.in.Close()
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			p.mu.Lock()
			t.Logf("bindx output:\n%s", strings.Join(p.lines, "\n"))
			p.mu.Unlock()
		}
	})
	return p
}

// do sends a command and waits for the line that answers it.
func (p *lineProc) do(t *testing.T, ctx context.Context, cmd, want string) {
	t.Helper()
	if cmd != "" {
		fmt.Fprintln(p.in, cmd)
	}
	for {
		p.mu.Lock()
		for _, l := range p.lines {
			if l == want {
				p.mu.Unlock()
				return
			}
			if strings.HasPrefix(l, "error") {
				p.mu.Unlock()
				t.Fatalf("bindx: %s (waiting for %q)", l, want)
			}
		}
		p.mu.Unlock()
		select {
		case <-p.more:
		case <-ctx.Done():
			t.Fatalf("bindx: no %q", want)
		}
	}
}

// waitPeerPaths waits until a's paths lead to exactly the peer addresses
// want, every one active.
func waitPeerPaths(t *testing.T, ctx context.Context, a *sctp.Association, want ...netip.Addr) {
	t.Helper()
	for {
		ps := a.Stats().Paths
		ok := len(ps) == len(want)
		for _, p := range ps {
			found := false
			for _, w := range want {
				found = found || p.Addr.Addr() == w
			}
			ok = ok && found && p.State == assoc.PathActive
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("paths %+v, want one active path to each of %v", ps, want)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// usrsctp's client moves from its first address to its second
// (usrsctp_bindx add, then remove) while connected to a pgsctp listener;
// pgsctp applies both ASCONFs, and after the old link dies the echo goes
// on over the new one.
func TestAsconfUsrsctpChangesAddresses(t *testing.T) {
	usrsctp.Require(t)
	bin := buildBindx(t)
	lab, ctx := newMultihomeLab(t)
	c0, c1, s0 := lab.ClientLinks[0].Addr, lab.ClientLinks[1].Addr, lab.ServerLinks[0].Addr
	var l *sctp.Listener
	if err := lab.Server.Do(func() (err error) {
		l, err = sctp.Listen(ctx, fmt.Sprintf("%v:%d", s0, ourPort), &sctp.Config{UDPPort: ourUDP})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	cl := startLines(t, ctx, lab.Client, bin, strconv.Itoa(peerUDP), strconv.Itoa(ourUDP), s0.String(), strconv.Itoa(ourPort), c0.String(), c1.String())
	a, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Abort("test over") })
	go func() {
		for {
			m, err := a.ReceiveMessage(ctx)
			if err != nil {
				return
			}
			a.SendMessage(ctx, m.StreamID, m.PPID, m.Data, m.Unordered)
		}
	}()
	cl.do(t, ctx, "", "connected")
	cl.do(t, ctx, "send before", "echo before")
	waitPeerPaths(t, ctx, a, c0)
	cl.do(t, ctx, "add "+c1.String(), "ok add "+c1.String())
	waitPeerPaths(t, ctx, a, c0, c1)
	// usrsctp in user space sends its UDP datagrams from whatever source
	// the host's routing picks, whatever address it means to send from:
	// its Delete of c0 would come from c0, which RFC 5061 F8 has us
	// refuse (and usrsctp then aborts). Moving the host's default route to
	// the new link first, as DHCP would, makes it come from c1.
	if err := lab.SetDefaultRoute(ctx, lab.ClientLinks[1]); err != nil {
		t.Fatal(err)
	}
	cl.do(t, ctx, "rem "+c0.String(), "ok rem "+c0.String())
	waitPeerPaths(t, ctx, a, c1)
	if err := lab.Fail(ctx, lab.ClientLinks[0]); err != nil {
		t.Fatal(err)
	}
	cl.do(t, ctx, "send after", "echo after")
}

// pgsctp moves from its first address to its second (SetLocalAddrs) while
// associated with usrsctp's echo_server: usrsctp acknowledges both
// ASCONFs, and echoes over the two addresses in between. (No data after
// the delete: usrsctp confirms an address added by ASCONF with its first
// HEARTBEAT, after its 30 s HB.interval, and sends nothing there before;
// the moving-house lab test covers a link dying between two pgsctp ends.)
func TestAsconfPgsctpChangesAddresses(t *testing.T) {
	lab, ctx := newMultihomeLab(t)
	c0, c1 := lab.ClientLinks[0].Addr, lab.ClientLinks[1].Addr
	srv, err := usrsctp.StartEchoServer(ctx, usrsctp.ServerOptions{Netns: lab.Server, LocalUDPPort: peerUDP})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	var a *sctp.Association
	cfg := &sctp.Config{PeerUDPPort: peerUDP, LocalAddrs: []netip.Addr{c0}}
	if err := lab.Client.Do(func() (err error) {
		a, err = sctp.Dial(ctx, fmt.Sprintf("%v:%d", lab.ServerLinks[0].Addr, usrsctp.EchoPort), cfg)
		return err
	}); err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { a.Abort("test over") })
	echo := func(msg string) {
		t.Helper()
		if err := a.SendMessage(ctx, 0, 0, []byte(msg), false); err != nil {
			t.Fatal(err)
		}
		m, err := a.ReceiveMessage(ctx)
		if err != nil || string(m.Data) != msg {
			t.Fatalf("echo %q: %q %v", msg, m.Data, err)
		}
	}
	echo("before")
	locals := func(want ...netip.Addr) {
		t.Helper()
		for {
			got := a.LocalAddrs()
			if len(got) == len(want) && (len(want) == 1 && got[0] == want[0] || len(want) == 2) {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("local addresses %v, want %v", got, want)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	if err := a.SetLocalAddrs(ctx, []netip.Addr{c0, c1}); err != nil {
		t.Fatal(err)
	}
	locals(c0, c1)
	echo("added")
	if err := a.SetLocalAddrs(ctx, []netip.Addr{c1}); err != nil {
		t.Fatal(err)
	}
	locals(c1)
	for _, p := range a.Stats().Paths {
		if p.Local == c0 {
			t.Errorf("a path from the deleted address is left: %+v", p)
		}
	}
}
