package usrsctp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Output limits. The programs built with SCTP_DEBUG (tsctp, discard_server)
// print a line for nearly every event inside the stack: about 15 lines per
// message sent. The capture keeps the program's own lines up to a bound and
// only the last debug lines, so a long run cannot exhaust memory.
const (
	maxLines      = 10000 // program lines kept; later ones are counted and dropped
	maxDebugLines = 200   // last stack debug lines kept
	maxLineBytes  = 64 << 10
	stopGrace     = 2 * time.Second
)

// debugLine matches the prefix of usrsctp's stack debug output as the
// programs print it, e.g. "[S][0.012] Calling chunk OUTPUT".
var debugLine = regexp.MustCompile(`^\[[A-Z]\]\[[0-9]+\.[0-9]+\] `)

// unterminatedDebug matches a stack debug message that usrsctp prints
// without a newline (user_recv_thread.c: "%s: Received %d bytes."), and
// what follows it on the same line. The program's own printf output lands
// there when it comes next, e.g. "[S][0.172] recv_function_udp: Received
// 1188 bytes.Msg of length 8192 received from ...", so the rest is split
// off as a line of its own (seen with discard_server under load).
var unterminatedDebug = regexp.MustCompile(`^(\[[A-Z]\]\[[0-9]+\.[0-9]+\] recv_function_udp6?: Received [0-9]+ bytes\.)(.+)$`)

// Process is one running usrsctp program. Its standard output and standard
// error are captured together, line by line, in the order the program wrote
// them (stdout is switched to line buffering with stdbuf when available, so
// printf lines are not held back until exit).
//
// All methods are safe for concurrent use.
type Process struct {
	Name string // program name, e.g. "echo_server"
	Args []string

	cmd   *exec.Cmd
	stdin io.WriteCloser // nil unless the program reads stdin
	done  chan struct{}  // closed when the program has exited and output is drained
	err   error          // exit status; valid after done is closed

	mu         sync.Mutex // guards the fields below
	lines      []string
	dropped    int
	debug      []string // ring of the last maxDebugLines debug lines
	debugNext  int
	debugCount int
	changed    chan struct{} // closed and replaced on every new line and at exit
}

// start runs program with args, optionally inside ns, and begins capturing
// its output. The process is killed when ctx is done.
func start(ctx context.Context, ns *Netns, program string, args []string, withStdin bool) (*Process, error) {
	argv := append([]string{Path(program)}, args...)
	if sb, err := exec.LookPath("stdbuf"); err == nil {
		argv = append([]string{sb, "-oL", "-eL"}, argv...)
	}
	if ns != nil {
		argv = ns.Wrap(argv)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// On cancellation ask politely first (SIGTERM), then kill after a grace.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	dieWithParent(cmd)
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("usrsctp: start %s: %w", program, err)
	}
	cmd.Stdout = pw
	cmd.Stderr = pw
	p := &Process{Name: program, Args: args, cmd: cmd, done: make(chan struct{}), changed: make(chan struct{})}
	if withStdin {
		if p.stdin, err = cmd.StdinPipe(); err != nil {
			pr.Close()
			pw.Close()
			return nil, fmt.Errorf("usrsctp: start %s: %w", program, err)
		}
	}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("usrsctp: start %s: %w", program, err)
	}
	pw.Close() // the child holds its own copy
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		p.capture(pr)
		pr.Close()
	}()
	go func() {
		err := cmd.Wait()
		<-readDone
		p.mu.Lock()
		p.err = err
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

func (p *Process) capture(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if len(line) > maxLineBytes {
			line = line[:maxLineBytes]
		}
		if line != "" {
			p.add(strings.TrimRight(line, "\r\n"))
		}
		if err != nil {
			return
		}
	}
}

func (p *Process) add(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		m := unterminatedDebug.FindStringSubmatch(line)
		if m == nil {
			break
		}
		p.addLocked(m[1])
		line = m[2]
	}
	p.addLocked(line)
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Process) addLocked(line string) {
	if debugLine.MatchString(line) {
		p.debugCount++
		if len(p.debug) < maxDebugLines {
			p.debug = append(p.debug, line)
		} else {
			p.debug[p.debugNext] = line
			p.debugNext = (p.debugNext + 1) % maxDebugLines
		}
	} else if len(p.lines) < maxLines {
		p.lines = append(p.lines, line)
	} else {
		p.dropped++
	}
}

// Lines returns a copy of the program's own output lines so far (stack debug
// lines excluded), in order.
func (p *Process) Lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// Output returns Lines joined with newlines, followed by a note of dropped
// lines, if any.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := strings.Join(p.lines, "\n")
	if p.dropped > 0 {
		s += fmt.Sprintf("\n[... %d more lines dropped]", p.dropped)
	}
	return s
}

// DebugTail returns the last stack debug lines (at most 200) and how many
// debug lines the program printed in all.
func (p *Process) DebugTail() (tail []string, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	tail = append(tail, p.debug[p.debugNext:]...)
	tail = append(tail, p.debug[:p.debugNext]...)
	return tail, p.debugCount
}

// WaitLine waits until some output line matches re and returns it. It fails
// when ctx ends or the program exits first.
func (p *Process) WaitLine(ctx context.Context, re *regexp.Regexp) (string, error) {
	return p.waitLineFrom(ctx, 0, re)
}

// WaitFor is WaitLine for a plain substring.
func (p *Process) WaitFor(ctx context.Context, substr string) (string, error) {
	return p.WaitLine(ctx, regexp.MustCompile(regexp.QuoteMeta(substr)))
}

// WaitLineAfter is WaitLine that only considers lines with an index of at
// least from (len(Lines()) taken before an action makes "the next line that
// matches" easy to wait for).
func (p *Process) WaitLineAfter(ctx context.Context, from int, re *regexp.Regexp) (string, error) {
	return p.waitLineFrom(ctx, from, re)
}

func (p *Process) waitLineFrom(ctx context.Context, from int, re *regexp.Regexp) (string, error) {
	for {
		p.mu.Lock()
		for i := from; i < len(p.lines); i++ {
			if re.MatchString(p.lines[i]) {
				l := p.lines[i]
				p.mu.Unlock()
				return l, nil
			}
		}
		if len(p.lines) > from {
			from = len(p.lines)
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-p.done:
			// Exited: check the lines once more, then give up.
			p.mu.Lock()
			for i := from; i < len(p.lines); i++ {
				if re.MatchString(p.lines[i]) {
					l := p.lines[i]
					p.mu.Unlock()
					return l, nil
				}
			}
			p.mu.Unlock()
			return "", fmt.Errorf("usrsctp: %s exited (%v) before printing a line matching %q; output:\n%s", p.Name, p.ExitErr(), re, p.Output())
		case <-ctx.Done():
			return "", fmt.Errorf("usrsctp: waiting for %s to print a line matching %q: %w; output so far:\n%s", p.Name, re, ctx.Err(), p.Output())
		case <-ch:
		}
	}
}

// Write writes to the program's standard input (only programs that read it,
// such as client).
func (p *Process) Write(b []byte) (int, error) {
	if p.stdin == nil {
		return 0, fmt.Errorf("usrsctp: %s does not read standard input", p.Name)
	}
	return p.stdin.Write(b)
}

// CloseStdin closes the program's standard input; client answers EOF by
// shutting the association down (SHUTDOWN) and exiting when it completes.
func (p *Process) CloseStdin() error {
	if p.stdin == nil {
		return nil
	}
	return p.stdin.Close()
}

// Pid returns the process id (of the program itself: stdbuf and nsenter
// exec it without forking).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the program has exited and its output is read.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitErr returns the program's exit status (nil for exit 0) once it has
// exited, and nil before.
func (p *Process) ExitErr() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Wait waits for the program to exit by itself and returns its exit status.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return fmt.Errorf("usrsctp: waiting for %s to exit: %w", p.Name, ctx.Err())
	}
}

// Stop ends the program: SIGTERM, then SIGKILL after a grace of two
// seconds. It returns nil when the program exited or was ended by the
// signal, and is harmless after the program has exited.
func (p *Process) Stop() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	p.CloseStdin()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.cmd.Process.Kill()
	}
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		p.cmd.Process.Kill()
		<-p.done
	}
	return nil
}
