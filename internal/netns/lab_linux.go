//go:build linux

package netns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// LabConfig shapes a Lab.
type LabConfig struct {
	// ClientLinks and ServerLinks are how many links each end has to the
	// router (at least 1 each): 4 and 1 is a laptop with four links and a
	// server with one.
	ClientLinks, ServerLinks int
	// IPv6 gives every link an IPv6 address too.
	IPv6 bool
}

// Link is one veth link between an end and the router.
type Link struct {
	Dev       string     // the end's interface (in Client or Server)
	RouterDev string     // the router's interface
	Addr      netip.Addr // the end's IPv4 address
	Addr6     netip.Addr // the end's IPv6 address (zero without IPv6)
	router    netip.Addr
	router6   netip.Addr
	end       *NS
	table     string
	failed    []string // the families Fail blocked: "-4", "-6"
}

// Lab is a client and a server, each with its own links to a router
// between them, in three namespaces. Each end routes by source address
// (a routing table per link, chosen by `ip rule from ADDR`), as multihomed
// hosts and MPTCP need, so a packet leaves by the link of its source
// address; the router forwards between all links. Fail drops a link's
// packets in the router both ways, silently: the link stays up, as when a
// switch or an uplink further away dies.
type Lab struct {
	Client, Router, Server *NS
	ClientLinks            []*Link
	ServerLinks            []*Link
	id                     string
}

// NewLab builds the topology. Close removes it (the namespaces also die
// with the test process).
func NewLab(ctx context.Context, cfg LabConfig) (lab *Lab, err error) {
	if cfg.ClientLinks < 1 || cfg.ServerLinks < 1 || cfg.ClientLinks > 200 || cfg.ServerLinks > 200 {
		return nil, fmt.Errorf("netns: lab with %d client and %d server links", cfg.ClientLinks, cfg.ServerLinks)
	}
	var idb [3]byte
	rand.Read(idb[:])
	l := &Lab{id: hex.EncodeToString(idb[:])}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	for _, ns := range []**NS{&l.Client, &l.Router, &l.Server} {
		if *ns, err = New(ctx); err != nil {
			return nil, err
		}
	}
	forward := []string{"-q", "-w", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"}
	if err := l.Router.Run(ctx, "sysctl", forward...); err != nil {
		return nil, err
	}
	for _, ns := range []*NS{l.Client, l.Router, l.Server} {
		// Source routing makes the return path differ from what reverse
		// path filtering expects on the router.
		if err := ns.Run(ctx, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"); err != nil {
			return nil, err
		}
	}
	for i := range cfg.ClientLinks {
		lk, err := l.addLink(ctx, l.Client, "c", i, [2]byte{198, 18}, "2001:db8:c", cfg.IPv6)
		if err != nil {
			return nil, err
		}
		l.ClientLinks = append(l.ClientLinks, lk)
	}
	for i := range cfg.ServerLinks {
		lk, err := l.addLink(ctx, l.Server, "s", i, [2]byte{198, 19}, "2001:db8:5", cfg.IPv6)
		if err != nil {
			return nil, err
		}
		l.ServerLinks = append(l.ServerLinks, lk)
	}
	return l, nil
}

// addLink makes the veth pair of link i of an end: the end gets
// net.i.2/24 (and prefix:i::2/64), the router net.i.1 (prefix:i::1).
func (l *Lab) addLink(ctx context.Context, end *NS, side string, i int, net [2]byte, prefix string, v6 bool) (*Link, error) {
	lk := &Link{
		Dev:       fmt.Sprintf("pg%s%s%d", l.id, side, i),
		RouterDev: fmt.Sprintf("pg%sr%s%d", l.id, side, i),
		Addr:      netip.AddrFrom4([4]byte{net[0], net[1], byte(i), 2}),
		router:    netip.AddrFrom4([4]byte{net[0], net[1], byte(i), 1}),
		end:       end,
		table:     fmt.Sprint(100 + i),
	}
	if v6 {
		lk.Addr6 = netip.MustParseAddr(fmt.Sprintf("%s:%x::2", prefix, i))
		lk.router6 = netip.MustParseAddr(fmt.Sprintf("%s:%x::1", prefix, i))
	}
	host := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "ip", args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("netns: ip %v: %w: %s", args, err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if err := host("link", "add", lk.Dev, "type", "veth", "peer", "name", lk.RouterDev); err != nil {
		return nil, err
	}
	if err := host("link", "set", lk.Dev, "netns", fmt.Sprint(end.PID())); err != nil {
		host("link", "del", lk.Dev)
		return nil, err
	}
	if err := host("link", "set", lk.RouterDev, "netns", fmt.Sprint(l.Router.PID())); err != nil {
		return nil, err
	}
	table := fmt.Sprint(100 + i)
	steps := []struct {
		ns   *NS
		args []string
	}{
		{end, []string{"addr", "add", lk.Addr.String() + "/24", "dev", lk.Dev}},
		{end, []string{"link", "set", lk.Dev, "up"}},
		{l.Router, []string{"addr", "add", lk.router.String() + "/24", "dev", lk.RouterDev}},
		{l.Router, []string{"link", "set", lk.RouterDev, "up"}},
		// The end leaves by the link of the packet's source address.
		{end, []string{"route", "add", "default", "via", lk.router.String(), "dev", lk.Dev, "table", table}},
		{end, []string{"rule", "add", "from", lk.Addr.String(), "table", table}},
	}
	if i == 0 {
		// Packets whose source the host picks leave by the first link.
		steps = append(steps, struct {
			ns   *NS
			args []string
		}{end, []string{"route", "add", "default", "via", lk.router.String(), "dev", lk.Dev}})
	}
	if v6 {
		more := [][]string{
			{"-6", "addr", "add", lk.Addr6.String() + "/64", "dev", lk.Dev, "nodad"},
			{"-6", "route", "add", "default", "via", lk.router6.String(), "dev", lk.Dev, "table", table},
			{"-6", "rule", "add", "from", lk.Addr6.String(), "table", table},
		}
		if i == 0 {
			more = append(more, []string{"-6", "route", "add", "default", "via", lk.router6.String(), "dev", lk.Dev})
		}
		for _, m := range more {
			steps = append(steps, struct {
				ns   *NS
				args []string
			}{end, m})
		}
		steps = append(steps, struct {
			ns   *NS
			args []string
		}{l.Router, []string{"-6", "addr", "add", lk.router6.String() + "/64", "dev", lk.RouterDev, "nodad"}})
	}
	for _, s := range steps {
		if err := s.ns.Run(ctx, "ip", s.args...); err != nil {
			return nil, err
		}
	}
	return lk, nil
}

// Fail drops every packet of link lk in the router, both ways: the link
// stays up and nobody is told (`ip rule ... blackhole`).
func (l *Lab) Fail(ctx context.Context, lk *Link) error {
	fams := []string{"-4"}
	if lk.Addr6.IsValid() {
		fams = append(fams, "-6")
	}
	return l.fail(ctx, lk, fams)
}

// FailIPv4 drops only the IPv4 packets of link lk, as a broken IPv4
// route or NAT would.
func (l *Lab) FailIPv4(ctx context.Context, lk *Link) error { return l.fail(ctx, lk, []string{"-4"}) }

func (l *Lab) fail(ctx context.Context, lk *Link, fams []string) error {
	if lk.failed != nil {
		return fmt.Errorf("netns: link %s failed already", lk.Dev)
	}
	lk.failed = fams
	for _, r := range failRules(lk, fams, "add") {
		if err := l.Router.Run(ctx, "ip", r...); err != nil {
			return err
		}
	}
	return nil
}

// Heal undoes Fail.
func (l *Lab) Heal(ctx context.Context, lk *Link) error {
	var errs []error
	for _, r := range failRules(lk, lk.failed, "del") {
		errs = append(errs, l.Router.Run(ctx, "ip", r...))
	}
	lk.failed = nil
	return errors.Join(errs...)
}

// failRules are the router's rules for a failed link: packets arriving on
// it, and packets to its end's addresses, go to a blackhole.
func failRules(lk *Link, fams []string, op string) [][]string {
	var rs [][]string
	for _, fam := range fams {
		to := lk.Addr
		if fam == "-6" {
			to = lk.Addr6
		}
		for _, sel := range [][]string{{"iif", lk.RouterDev}, {"to", to.String()}} {
			rs = append(rs, append(append([]string{fam, "rule", op}, sel...), "blackhole", "pref", "10"))
		}
	}
	return rs
}

// RemoveAddr takes the IPv4 address of link lk off its end, the link
// staying up, as when a lease ends or a cable moves to another network.
func (l *Lab) RemoveAddr(ctx context.Context, lk *Link) error {
	return lk.end.Run(ctx, "ip", "addr", "del", lk.Addr.String()+"/24", "dev", lk.Dev)
}

// RestoreAddr gives link lk its IPv4 address again, with its routing
// table's default route (which went with the address), as when a new
// link comes up.
func (l *Lab) RestoreAddr(ctx context.Context, lk *Link) error {
	if err := lk.end.Run(ctx, "ip", "addr", "add", lk.Addr.String()+"/24", "dev", lk.Dev); err != nil {
		return err
	}
	return lk.end.Run(ctx, "ip", "route", "replace", "default", "via", lk.router.String(), "dev", lk.Dev, "table", lk.table)
}

// SetDefaultRoute makes link lk its end's default route for packets whose
// source address the host picks.
func (l *Lab) SetDefaultRoute(ctx context.Context, lk *Link) error {
	return lk.end.Run(ctx, "ip", "route", "replace", "default", "via", lk.router.String(), "dev", lk.Dev)
}

// Close removes the links and the namespaces.
func (l *Lab) Close() error {
	for _, ns := range []*NS{l.Client, l.Router, l.Server} {
		if ns != nil {
			ns.Close() // the veths go with their namespaces
		}
	}
	// A veth still in the host's namespace (a failure half-way).
	for _, lk := range append(append([]*Link(nil), l.ClientLinks...), l.ServerLinks...) {
		exec.Command("ip", "link", "del", lk.Dev).Run()
	}
	return nil
}

// Require skips the test when this machine cannot build a Lab: not root,
// or iproute2 or util-linux missing. CI runs as root with them installed
// (scripts/install-deps.sh), so there the tests run.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root; CI runs this as root")
	}
	for _, tool := range []string{"ip", "nsenter", "unshare", "sysctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (scripts/install-deps.sh installs it)", tool)
		}
	}
}

// NewLabT is NewLab for a test: it skips where Require does, fails the
// test on error, and closes the lab at cleanup.
func NewLabT(t testing.TB, cfg LabConfig) *Lab {
	t.Helper()
	Require(t)
	lab, err := NewLab(context.Background(), cfg)
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(func() { lab.Close() })
	return lab
}
