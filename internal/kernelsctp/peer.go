//go:build linux

package kernelsctp

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// SendSizes are the message sizes of the peer's send mode, cycled by
// message index (the list in cpeer/peer.c): around pgsctp's and the
// kernel's fragmentation points, and up to 65,000 bytes.
var SendSizes = []int{1, 2, 100, 1000, 1199, 1200, 1452, 3000, 9000, 20000, 65000}

// SendStreams is how many streams the send mode spreads messages over
// (message i on stream i % SendStreams); every third (i % 3 == 2) is
// unordered; the PPID is i.
const SendStreams = 5

// Pattern returns the contents of message seed: n bytes that differ
// between messages and along each message, the seed in the first four
// bytes. cpeer/peer.c computes the same bytes.
func Pattern(seed uint32, n int) []byte {
	b := make([]byte, n)
	x := seed*2654435761 + 12345
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	if n >= 4 {
		binary.BigEndian.PutUint32(b, seed)
	}
	return b
}

// Peer is one run of the peer program in the guest, in the background.
type Peer struct {
	g    *Guest
	pid  int
	log  string
	args []string
	rc   *int   // exit status once reaped
	fifo string // control mode: the named pipe commands go to
	cmds int    // control mode: the last command's ID
}

var pidRE = regexp.MustCompile(`(?m)^@@pid (\d+)$`)

// StartPeer starts the peer program with args ("echo PORT ENCAP [HB_MS]"
// or "send ADDR PORT ENCAP COUNT SEED", see cpeer/peer.c) in the
// background. If ready is not empty it waits until the program prints a
// line starting with it ("listening", "connected"), or exits.
func (g *Guest) StartPeer(ctx context.Context, ready string, args ...string) (*Peer, error) {
	for _, a := range args {
		if strings.ContainsAny(a, " \t'\"$;&|<>\\`") {
			return nil, fmt.Errorf("kernelsctp: peer argument %q needs quoting", a)
		}
	}
	g.mu.Lock()
	g.nextID++
	log := fmt.Sprintf("/tmp/peer%d.log", g.nextID)
	g.mu.Unlock()
	out, err := g.Run(ctx, fmt.Sprintf("/peer %s >%s 2>&1 & echo @@pid $!", strings.Join(args, " "), log))
	if err != nil {
		return nil, err
	}
	m := pidRE.FindStringSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("kernelsctp: starting peer %v: no pid in %q", args, out)
	}
	pid, _ := strconv.Atoi(m[1])
	p := &Peer{g: g, pid: pid, log: log, args: args}
	if ready == "" {
		return p, nil
	}
	for {
		out, err := g.Run(ctx, fmt.Sprintf("grep -q '^%s' %s && echo @@ready; kill -0 %d 2>/dev/null || echo @@exited", ready, log, pid))
		if err != nil {
			return p, err
		}
		switch {
		case strings.Contains(out, "@@ready"):
			return p, nil
		case strings.Contains(out, "@@exited"):
			o, _ := p.Output(ctx)
			return p, fmt.Errorf("kernelsctp: peer %v exited before %q:\n%s", args, ready, o)
		}
		select {
		case <-ctx.Done():
			return p, fmt.Errorf("kernelsctp: waiting for peer %v to say %q: %w", args, ready, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Output returns what the program printed so far.
func (p *Peer) Output(ctx context.Context) (string, error) {
	return p.g.Run(ctx, "cat "+p.log)
}

// Wait waits until the program exits (polling the guest, so the console
// stays free meanwhile) and returns its output; a non-zero exit status is
// an error.
func (p *Peer) Wait(ctx context.Context) (string, error) {
	for p.rc == nil {
		out, err := p.g.Run(ctx, fmt.Sprintf("if kill -0 %d 2>/dev/null; then echo @@running; fi", p.pid))
		if err != nil {
			return "", err
		}
		if !strings.Contains(out, "@@running") {
			out, _ := p.g.Run(ctx, fmt.Sprintf("wait %d; echo @@rc $?", p.pid))
			rc := -1
			if i := strings.LastIndex(out, "@@rc "); i >= 0 {
				rc, _ = strconv.Atoi(strings.TrimSpace(out[i+5:]))
			}
			p.rc = &rc
			break
		}
		select {
		case <-ctx.Done():
			o, _ := p.Output(context.Background())
			return o, fmt.Errorf("kernelsctp: waiting for peer %v to exit: %w", p.args, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	out, err := p.Output(ctx)
	if err != nil {
		return out, err
	}
	if *p.rc != 0 {
		return out, fmt.Errorf("kernelsctp: peer %v: exit status %d:\n%s", p.args, *p.rc, out)
	}
	return out, nil
}

// Kill ends the program if it still runs (SIGKILL: the kernel then aborts
// its associations) and reaps it.
func (p *Peer) Kill(ctx context.Context) {
	if p.rc != nil {
		return
	}
	p.g.Run(ctx, fmt.Sprintf("kill -9 %d 2>/dev/null; wait %d", p.pid, p.pid))
	rc := -9
	p.rc = &rc
}

// StartCtl starts the peer program's control mode (see cpeer/peer.c): it
// binds to laddrs and accepts one association on SCTP port port
// (paddrs empty), or connects to port at paddrs, sending to UDP port
// encap; every message is echoed but ticks, and Command drives it
// meanwhile. It returns once the program listens or has connected.
func (g *Guest) StartCtl(ctx context.Context, port, encap int, laddrs, paddrs []netip.Addr) (*Peer, error) {
	g.mu.Lock()
	g.nextID++
	fifo := fmt.Sprintf("/tmp/ctl%d.fifo", g.nextID)
	g.mu.Unlock()
	if _, err := g.Run(ctx, "mkfifo "+fifo); err != nil {
		return nil, err
	}
	args := []string{"ctl", "listen", strconv.Itoa(port), strconv.Itoa(encap), addrList(laddrs), fifo}
	ready := "listening"
	if len(paddrs) > 0 {
		args[1], ready = "connect", "connected"
		args = append(args, addrList(paddrs))
	}
	p, err := g.StartPeer(ctx, ready, args...)
	if p != nil {
		p.fifo = fifo
	}
	return p, err
}

func addrList(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

// Command sends one command to a control-mode peer ("paths", "laddrs",
// "add ADDR", "rem ADDR", "tick N MS", "gaps FROM") and returns its answer
// lines, without the "rID " prefix and the final "done". An "error"
// answer is an error. Commands to one peer must come from one goroutine
// (the IDs are counted without a lock).
func (p *Peer) Command(ctx context.Context, cmd string) ([]string, error) {
	if p.fifo == "" {
		return nil, fmt.Errorf("kernelsctp: peer %v is not in control mode", p.args)
	}
	if strings.ContainsAny(cmd, "'\"$;&|<>\\`\n") {
		return nil, fmt.Errorf("kernelsctp: peer command %q needs quoting", cmd)
	}
	p.cmds++
	id := "r" + strconv.Itoa(p.cmds)
	if _, err := p.g.Run(ctx, fmt.Sprintf("echo '%d %s' >%s", p.cmds, cmd, p.fifo)); err != nil {
		return nil, err
	}
	for {
		out, err := p.g.Run(ctx, fmt.Sprintf("grep '^%s ' %s; kill -0 %d 2>/dev/null || echo @@exited", id, p.log, p.pid))
		if err != nil {
			return nil, err
		}
		var lines []string
		for _, l := range strings.Split(out, "\n") {
			rest, ok := strings.CutPrefix(l, id+" ")
			switch {
			case !ok:
			case rest == "done":
				return lines, nil
			case strings.HasPrefix(rest, "error"):
				return lines, fmt.Errorf("kernelsctp: peer command %q: %s", cmd, rest)
			default:
				lines = append(lines, rest)
			}
		}
		if strings.Contains(out, "@@exited") {
			o, _ := p.Output(ctx)
			return nil, fmt.Errorf("kernelsctp: peer %v exited before answering %q:\n%s", p.args, cmd, o)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("kernelsctp: waiting for the answer to %q: %w", cmd, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Paths asks a control-mode peer for its peer addresses: address to state
// ("active", "potentially-failed", "inactive", "unconfirmed"), with
// "+primary" appended to the primary's state.
func (p *Peer) Paths(ctx context.Context) (map[netip.Addr]string, error) {
	lines, err := p.Command(ctx, "paths")
	if err != nil {
		return nil, err
	}
	m := map[netip.Addr]string{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 3 || f[0] != "path" {
			return nil, fmt.Errorf("kernelsctp: paths: bad line %q", l)
		}
		a, err := netip.ParseAddr(f[1])
		if err != nil {
			return nil, fmt.Errorf("kernelsctp: paths: %w", err)
		}
		m[a] = f[2]
		if len(f) > 3 && f[3] == "primary" {
			m[a] += "+primary"
		}
	}
	return m, nil
}
