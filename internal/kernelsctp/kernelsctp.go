//go:build linux

// Package kernelsctp runs the Linux kernel's SCTP stack as an interop peer
// for pgsctp's tests: a Debian kernel booted under qemu (TCG emulation, 1
// vCPU, 512 MB), whose SCTP speaks over UDP (RFC 6951; Linux 5.11 and
// later) to pgsctp in a network namespace the test creates.
//
// Nothing is installed on the host but qemu, gcc and the C library's
// static parts: Boot fetches Debian's cloud kernel package and
// busybox-static with apt-get download into a cache directory (reused
// between runs; see cacheDir), takes the kernel, the sctp module and its
// dependencies out of the package, compiles a small static C program
// (cpeer/peer.c: echo and send modes over kernel SCTP sockets) and boots
// all of it as an initramfs. The guest is driven through its serial
// console; peer programs run in the background there.
//
// The network is a tap device inside a private network namespace (see
// usrsctp.Netns): the host end has HostAddr, the guest GuestAddr, and no
// route leads anywhere else. A second tap and guest NIC make a second
// link for multihoming, with addresses (HostAddr2, GuestAddr2) only while
// a test wants them (SetSecondLink); FailLink makes a link lose its
// packets silently. pgsctp's sockets must be made inside the namespace
// (Netns().Do). Close ends qemu and the namespace, with the taps.
//
// Boot costs 5 to 20 seconds on a shared 2-core machine; boot once per
// test binary (TestMain or sync.Once). The package builds on Linux only
// (namespaces, taps, Pdeathsig); elsewhere it is empty.
package kernelsctp

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pgsctp/pgsctp/internal/usrsctp"
)

//go:embed cpeer/peer.c
var peerSource []byte

// Addresses of the guest network: link 0 is always up; link 1 (a second
// tap and the guest's eth1) has addresses only between SetSecondLink(true)
// and SetSecondLink(false), so that single-path tests see a single-homed
// guest (the kernel lists every address in its INIT otherwise).
var (
	HostAddr   = netip.MustParseAddr("10.0.2.1")  // the tap in the namespace
	GuestAddr  = netip.MustParseAddr("10.0.2.15") // the guest's eth0
	HostAddr2  = netip.MustParseAddr("10.0.3.1")  // the second tap
	GuestAddr2 = netip.MustParseAddr("10.0.3.15") // the guest's eth1
)

// Options configure Boot; the zero value is fine.
type Options struct {
	// Logf, if set, receives progress messages (downloads, boot time).
	Logf func(format string, args ...any)
}

// Guest is a booted qemu guest with kernel SCTP. Its methods are safe for
// concurrent use; console commands run one at a time.
type Guest struct {
	// Constant after Boot.
	ns       *usrsctp.Netns
	qemu     *exec.Cmd
	stdin    io.WriteCloser
	exited   chan struct{} // closed when qemu has exited
	work     string        // temporary directory with the initramfs
	kernel   string        // uname -r of the guest
	bootTime time.Duration

	lines      chan string   // console lines, from the reader goroutine
	readerDone chan struct{} // closed when the console reader has ended
	quit       chan struct{} // closed by Close: the reader stops delivering lines
	closeOnce  sync.Once

	mu     sync.Mutex // serializes console commands; guards below
	broken error      // set when the console lost step; later commands fail
	nextID int

	tailMu sync.Mutex // guards tail, apart from mu so Tail never waits for a command
	tail   []string   // last console lines, for diagnostics
}

// Available reports what is missing to run a guest on this machine, or nil.
func Available() error {
	var errs []error
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		errs = append(errs, fmt.Errorf("needs linux/amd64, not %s/%s", runtime.GOOS, runtime.GOARCH))
	}
	for _, p := range []string{"qemu-system-x86_64", "gcc", "apt-get", "apt-cache", "dpkg-deb", "nsenter", "unshare", "ip"} {
		if _, err := exec.LookPath(p); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		errs = append(errs, err)
	}
	if os.Geteuid() != 0 {
		errs = append(errs, errors.New("needs root for the network namespace and tap"))
	}
	return errors.Join(errs...)
}

// Require skips the test when Available reports a problem, except on CI
// (the environment variable CI is set, as .ci/run does), where the test
// fails: a green CI must mean the kernel interop tests ran.
func Require(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("kernel SCTP peer cannot run on CI (scripts/install-deps.sh installs qemu-system-x86, gcc, libc6-dev): %v", err)
		}
		t.Skipf("kernel SCTP peer cannot run here (apt-get install qemu-system-x86 gcc libc6-dev; root): %v", err)
	}
}

// Boot prepares the image (downloading on first use), boots the guest and
// waits until its console answers. ctx bounds the whole boot. The caller
// must Close the guest.
func Boot(ctx context.Context, o Options) (_ *Guest, err error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := Available(); err != nil {
		return nil, fmt.Errorf("kernelsctp: %w", err)
	}
	dir, err := cacheDir()
	if err != nil {
		return nil, err
	}
	img, err := prepareImage(ctx, dir, logf)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "kernelsctp-")
	if err != nil {
		return nil, fmt.Errorf("kernelsctp: %w", err)
	}
	g := &Guest{work: work, exited: make(chan struct{}), quit: make(chan struct{}), lines: make(chan string, 4096)}
	defer func() {
		if err != nil {
			g.Close()
		}
	}()
	peer, err := buildPeer(ctx, work)
	if err != nil {
		return nil, err
	}
	initrd := filepath.Join(work, "initramfs.cpio")
	if err := writeInitramfs(initrd, img, peer); err != nil {
		return nil, err
	}
	if g.ns, err = usrsctp.NewNetns(ctx); err != nil {
		return nil, fmt.Errorf("kernelsctp: %w", err)
	}
	// The taps exist before qemu opens them, so the first one's address
	// is set and both come up as soon as qemu attaches.
	for _, args := range [][]string{
		{"ip", "tuntap", "add", "dev", tapName, "mode", "tap"},
		{"ip", "addr", "add", hostCIDR, "dev", tapName},
		{"ip", "link", "set", tapName, "up"},
		{"ip", "tuntap", "add", "dev", tapName2, "mode", "tap"},
		{"ip", "link", "set", tapName2, "up"},
		// FailLink's sink: a veth whose other end stays down has no
		// carrier and drops what it is given (no ARP: it is never
		// resolved), so a failed link swallows pgsctp's packets
		// without the send error (EINVAL, EHOSTUNREACH) a blackhole or
		// unreachable route would return. (A dummy device would do, but
		// the host's kernel may not have it; veth the lab needs anyway.)
		{"ip", "link", "add", sinkName, "type", "veth", "peer", "name", sinkName + "p"},
		{"ip", "link", "set", sinkName, "arp", "off"},
		{"ip", "link", "set", sinkName, "up"},
		// FailLink's blackhole rules must come before the lookup of
		// local addresses (rule 0), or packets to the host's own
		// addresses would be delivered whatever link they came by.
		{"ip", "rule", "add", "pref", "100", "lookup", "local"},
		{"ip", "rule", "del", "pref", "0"},
		// Cross paths (from one link's address to the other's) arrive
		// on the other tap.
		{"sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"},
	} {
		if err := g.hostRun(ctx, args...); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	if err := g.startQemu(img, initrd); err != nil {
		return nil, err
	}
	if err := g.waitReady(ctx); err != nil {
		return nil, err
	}
	g.bootTime = time.Since(start)
	logf("kernelsctp: guest %s up in %v (kernel package %s)", g.kernel, g.bootTime.Round(time.Millisecond), img.kernelPkg)
	return g, nil
}

func (g *Guest) startQemu(img *image, initrd string) error {
	args := []string{
		"--net=" + g.ns.Path(), "--",
		"qemu-system-x86_64",
		"-accel", "tcg", "-m", "512", "-smp", "1",
		"-nographic", "-monitor", "none", "-serial", "stdio", "-no-reboot",
		"-kernel", img.vmlinuz, "-initrd", initrd,
		"-append", "console=ttyS0 quiet loglevel=1 panic=-1 rdinit=/init",
		"-netdev", "tap,id=n0,ifname=" + tapName + ",script=no,downscript=no",
		// romfile= skips iPXE's option ROM (a second of TCG at boot).
		// csum=off: with checksum offload on, the guest's 6.1 kernel
		// dropped about 10% of its own SCTP-over-UDP packets on transmit
		// (eth0 tx_dropped 25 of 259 in one echo test; the lost ones came
		// back by T3, 1 s later); without it, none (README.md).
		"-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56,romfile=,csum=off",
		// The second link, for multihoming (eth1 in the guest).
		"-netdev", "tap,id=n1,ifname=" + tapName2 + ",script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=n1,mac=52:54:00:12:34:57,romfile=,csum=off",
	}
	cmd := exec.Command("nsenter", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // no qemu outlives a killed test
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("kernelsctp: qemu: %w", err)
	}
	// A pipe of our own rather than StdoutPipe: cmd.Wait closes that
	// one, while the reader may not be done with it.
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("kernelsctp: qemu: %w", err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return fmt.Errorf("kernelsctp: start qemu: %w", err)
	}
	pw.Close() // qemu holds its own copy; EOF when it exits
	g.qemu, g.stdin = cmd, stdin
	g.readerDone = make(chan struct{})
	go func() {
		defer close(g.readerDone)
		defer pr.Close()
		defer close(g.lines)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			l := strings.TrimRight(sc.Text(), "\r")
			// The firmware and the kernel reset the terminal with
			// escape sequences that end up before the next line.
			if i := strings.Index(l, "@@"); i > 0 {
				l = l[i:]
			}
			select {
			case g.lines <- l:
			case <-g.quit: // Close: nobody reads any more
				return
			}
		}
	}()
	go func() { cmd.Wait(); close(g.exited) }()
	return nil
}

// waitReady reads the boot output until /init says "@@ready".
func (g *Guest) waitReady(ctx context.Context) error {
	var errs []string
	for {
		select {
		case l, ok := <-g.lines:
			if !ok {
				return fmt.Errorf("kernelsctp: qemu exited during boot; console:\n%s", g.Tail())
			}
			g.keep(l)
			if rest, ok := strings.CutPrefix(l, "@@error "); ok {
				errs = append(errs, rest)
			}
			if rest, ok := strings.CutPrefix(l, "@@ready "); ok {
				if len(errs) > 0 {
					return fmt.Errorf("kernelsctp: guest boot: %s; console:\n%s", strings.Join(errs, "; "), g.Tail())
				}
				g.kernel = rest
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("kernelsctp: waiting for the guest to boot: %w; console:\n%s", ctx.Err(), g.Tail())
		}
	}
}

func (g *Guest) keep(l string) {
	g.tailMu.Lock()
	defer g.tailMu.Unlock()
	g.tail = append(g.tail, l)
	if len(g.tail) > 200 {
		g.tail = g.tail[len(g.tail)-200:]
	}
}

// Tail returns the last console lines (at most 200).
func (g *Guest) Tail() string {
	g.tailMu.Lock()
	defer g.tailMu.Unlock()
	return strings.Join(g.tail, "\n")
}

// BootTime is how long the guest took from starting qemu to a console
// that answers.
func (g *Guest) BootTime() time.Duration { return g.bootTime }

// Kernel is the guest's kernel release (uname -r).
func (g *Guest) Kernel() string { return g.kernel }

// Netns is the network namespace of the host end of the guest's network.
func (g *Guest) Netns() *usrsctp.Netns { return g.ns }

// Close ends qemu, removes the namespace (with the tap) and the temporary
// files. It is harmless to call twice.
func (g *Guest) Close() error {
	g.closeOnce.Do(func() { close(g.quit) })
	if g.qemu != nil && g.qemu.Process != nil {
		g.stdin.Close()
		g.qemu.Process.Kill()
		<-g.exited
		<-g.readerDone
	}
	if g.ns != nil {
		g.ns.Close()
	}
	if g.work != "" {
		os.RemoveAll(g.work)
	}
	return nil
}

// hostRun runs a command (ip, sysctl) in the host end's namespace.
func (g *Guest) hostRun(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + g.ns.Path(), "--"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kernelsctp: %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// SetSecondLink gives link 1 its addresses, HostAddr2 on the host end and
// GuestAddr2 on the guest's eth1 (on true), or takes them away (false).
// A test that turns it on must turn it off before the next one starts,
// also when it fails, and stop its peers first: sockets bound to the
// wildcard then list the address.
func (g *Guest) SetSecondLink(ctx context.Context, on bool) error {
	op := "del"
	if on {
		op = "add"
	}
	err := g.hostRun(ctx, "ip", "addr", op, hostCIDR2, "dev", tapName2)
	if _, gerr := g.Run(ctx, fmt.Sprintf("ip addr %s %s dev eth1", op, guestCIDR2)); gerr != nil {
		err = errors.Join(err, gerr)
	}
	return err
}

// linkAddrs returns link i's tap and guest address.
func linkAddrs(i int) (string, netip.Addr, error) {
	switch i {
	case 0:
		return tapName, GuestAddr, nil
	case 1:
		return tapName2, GuestAddr2, nil
	}
	return "", netip.Addr{}, fmt.Errorf("kernelsctp: no link %d", i)
}

// FailLink makes link i (0 or 1) lose every packet both ways, silently:
// the links stay up and nobody gets an error. Packets from the host to
// the guest's address on that link go to a sink device, which discards
// them; packets arriving on its tap meet a blackhole rule. Packets from
// one link's host address to the other link's guest address still pass:
// they travel on the other link. HealLink undoes it.
func (g *Guest) FailLink(ctx context.Context, i int) error {
	tap, guest, err := linkAddrs(i)
	if err != nil {
		return err
	}
	if err := g.hostRun(ctx, "ip", "route", "add", guest.String()+"/32", "dev", sinkName); err != nil {
		return err
	}
	return g.hostRun(ctx, "ip", "rule", "add", "pref", "10", "iif", tap, "blackhole")
}

// HealLink undoes FailLink.
func (g *Guest) HealLink(ctx context.Context, i int) error {
	tap, guest, err := linkAddrs(i)
	if err != nil {
		return err
	}
	return errors.Join(
		g.hostRun(ctx, "ip", "route", "del", guest.String()+"/32", "dev", sinkName),
		g.hostRun(ctx, "ip", "rule", "del", "pref", "10", "iif", tap, "blackhole"))
}

var statusRE = regexp.MustCompile(`^@@done (\d+)$`)

// Run runs a shell command line in the guest (busybox sh, stdin
// /dev/null) and returns its output. A non-zero exit status is an error
// that carries the output. If ctx ends first, the console is out of step
// and the guest unusable for further commands.
func (g *Guest) Run(ctx context.Context, cmdline string) (string, error) {
	if strings.ContainsAny(cmdline, "\n\r") {
		return "", errors.New("kernelsctp: a command is one line")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.broken != nil {
		return "", g.broken
	}
	if _, err := io.WriteString(g.stdin, cmdline+"\n"); err != nil {
		g.broken = fmt.Errorf("kernelsctp: console: %w", err)
		return "", g.broken
	}
	var out []string
	for {
		select {
		case l, ok := <-g.lines:
			if !ok {
				g.broken = fmt.Errorf("kernelsctp: qemu exited; console:\n%s", g.Tail())
				return strings.Join(out, "\n"), g.broken
			}
			g.keep(l)
			if m := statusRE.FindStringSubmatch(l); m != nil {
				s := strings.Join(out, "\n")
				if m[1] != "0" {
					return s, fmt.Errorf("kernelsctp: guest: %q: exit status %s: %s", cmdline, m[1], s)
				}
				return s, nil
			}
			out = append(out, l)
		case <-ctx.Done():
			g.broken = fmt.Errorf("kernelsctp: console lost step after %q timed out: %w", cmdline, ctx.Err())
			return strings.Join(out, "\n"), g.broken
		}
	}
}

// SNMP returns the guest kernel's SCTP counters (/proc/net/sctp/snmp),
// such as SctpFastRetransmits and SctpT3Retransmits.
func (g *Guest) SNMP(ctx context.Context) (map[string]int64, error) {
	out, err := g.Run(ctx, "cat /proc/net/sctp/snmp")
	if err != nil {
		return nil, err
	}
	m := map[string]int64{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 2 {
			if v, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				m[f[0]] = v
			}
		}
	}
	return m, nil
}

// buildPeer compiles cpeer/peer.c statically into dir.
func buildPeer(ctx context.Context, dir string) (string, error) {
	src := filepath.Join(dir, "peer.c")
	if err := os.WriteFile(src, peerSource, 0o644); err != nil {
		return "", fmt.Errorf("kernelsctp: %w", err)
	}
	bin := filepath.Join(dir, "peer")
	cmd := exec.CommandContext(ctx, "gcc", "-static", "-O2", "-Wall", "-Werror", "-pthread", "-o", bin, src)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("kernelsctp: gcc -static peer.c: %w\n%s", err, out)
	}
	return bin, nil
}
