//go:build linux

package usrsctp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// Netns is a private network namespace holding only the loopback interface
// (127.0.0.1 and ::1), kept alive by a small holder process. usrsctp
// programs started in it, and sockets that Do creates in it, can reach each
// other and nothing else: the usrsctp programs bind the wildcard address and
// announce every local address in INIT and INIT ACK, and in the host's
// namespace that would include the machine's non-loopback addresses.
//
// Creating one needs CAP_SYS_ADMIN (root, as on the developers' machines and
// CI) and the unshare, nsenter and ip programs (util-linux, iproute2).
type Netns struct {
	holder *exec.Cmd
	pid    int
	done   chan struct{}
}

// NewNetns creates the namespace and brings its lo up. Close removes it.
func NewNetns(ctx context.Context) (*Netns, error) {
	cmd := exec.Command("unshare", "--net", "--", "sh", "-c", "ip link set lo up || exit 1; echo ready; exec sleep 2147483647")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("usrsctp: netns: %w", err)
	}
	cmd.Stderr = os.Stderr
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("usrsctp: netns: start unshare: %w", err)
	}
	n := &Netns{holder: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		buf := make([]byte, 6)
		_, err := out.Read(buf)
		if err == nil && string(buf) != "ready\n" {
			err = fmt.Errorf("unexpected holder output %q", buf)
		}
		ready <- err
	}()
	go func() { cmd.Wait(); close(n.done) }()
	select {
	case err = <-ready:
	case <-n.done:
		err = fmt.Errorf("holder exited: %v", cmd.ProcessState)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		n.Close()
		return nil, fmt.Errorf("usrsctp: netns: %w", err)
	}
	return n, nil
}

// Close ends the holder process; the namespace goes away with the last
// process and socket in it. Programs started in it should be stopped first.
func (n *Netns) Close() error {
	select {
	case <-n.done:
		return nil
	default:
	}
	n.holder.Process.Kill()
	<-n.done
	return nil
}

// Path returns the namespace file, e.g. for "ip netns exec"-like tools.
func (n *Netns) Path() string { return "/proc/" + strconv.Itoa(n.pid) + "/ns/net" }

func (n *Netns) wrap(argv []string) []string {
	return append([]string{"nsenter", "--net=" + n.Path(), "--"}, argv...)
}

// Do runs fn on an OS thread switched into the namespace. Sockets that fn
// creates belong to the namespace for their whole life and may be used from
// any goroutine afterwards: this is how a test puts pgsctp's own UDP sockets
// beside a usrsctp program in the namespace.
func (n *Netns) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is unlocked only when it is back in its original
		// namespace; otherwise it dies with this goroutine.
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- fmt.Errorf("usrsctp: netns: %w", err)
			return
		}
		defer orig.Close()
		target, err := os.Open(n.Path())
		if err != nil {
			errc <- fmt.Errorf("usrsctp: netns: %w", err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("usrsctp: netns: setns: %w", err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err == nil {
			runtime.UnlockOSThread()
		}
		errc <- ferr
	}()
	return <-errc
}
