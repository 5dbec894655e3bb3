//go:build linux

package netns

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// NS is a private network namespace holding only the loopback interface
// (up, with 127.0.0.1 and ::1), kept alive by a holder process.
type NS struct {
	holder *exec.Cmd
	pid    int
	done   chan struct{}
}

// New creates a namespace and brings its lo up. Close removes it.
func New(ctx context.Context) (*NS, error) {
	cmd := exec.Command("unshare", "--net", "--", "sh", "-c", "ip link set lo up || exit 1; echo ready; exec sleep 2147483647")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("netns: %w", err)
	}
	cmd.Stderr = os.Stderr
	DieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("netns: start unshare: %w", err)
	}
	n := &NS{holder: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
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
		return nil, fmt.Errorf("netns: %w", err)
	}
	return n, nil
}

// Close ends the holder process; the namespace goes away with the last
// process and socket in it. Programs started in it should be stopped first.
func (n *NS) Close() error {
	select {
	case <-n.done:
		return nil
	default:
	}
	n.holder.Process.Kill()
	<-n.done
	return nil
}

// PID is the holder's process ID: `ip link set DEV netns PID` moves a link
// into the namespace.
func (n *NS) PID() int { return n.pid }

// Path returns the namespace file, e.g. for nsenter --net=PATH.
func (n *NS) Path() string { return "/proc/" + strconv.Itoa(n.pid) + "/ns/net" }

// Wrap prefixes argv so that it runs inside the namespace.
func (n *NS) Wrap(argv []string) []string {
	return append([]string{"nsenter", "--net=" + n.Path(), "--"}, argv...)
}

// Command is exec.CommandContext for a program run inside the namespace;
// it dies with the test process.
func (n *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	argv := n.Wrap(append([]string{name}, args...))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	DieWithParent(cmd)
	return cmd
}

// Run runs a short command (ip, sysctl) inside the namespace and returns
// an error with its output if it fails.
func (n *NS) Run(ctx context.Context, name string, args ...string) error {
	cmd := n.Command(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("netns: %s %v: %w: %s", name, args, err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

// Do runs fn on an OS thread switched into the namespace. Sockets that fn
// creates belong to the namespace for their whole life and may be used from
// any goroutine afterwards.
func (n *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is unlocked only when it is back in its original
		// namespace; otherwise it dies with this goroutine.
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- fmt.Errorf("netns: %w", err)
			return
		}
		defer orig.Close()
		target, err := os.Open(n.Path())
		if err != nil {
			errc <- fmt.Errorf("netns: %w", err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netns: setns: %w", err)
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

// DieWithParent makes the kernel kill cmd when the test process dies, so
// that a test killed by its timeout leaves no program (or namespace
// holder) behind. (The signal follows the death of the OS thread that
// started cmd; Go keeps threads alive except after LockOSThread without
// unlock, which only Do does, and only on a failed restore.)
func DieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
