//go:build linux

package kernelsctp

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The guest's network: a tap device in the test's network namespace, the
// host end HostAddr, the guest GuestAddr. Nothing is routed elsewhere.
const (
	hostCIDR   = "10.0.2.1/24"
	guestCIDR  = "10.0.2.15/24"
	tapName    = "ksctp0"
	hostCIDR2  = "10.0.3.1/24" // link 1, see SetSecondLink
	guestCIDR2 = "10.0.3.15/24"
	tapName2   = "ksctp1"
	sinkName   = "ksink" // FailLink's sink device
)

// GuestUDPPort is the UDP port the guest kernel's SCTP listens on and sends
// from (net.sctp.udp_port), RFC 6951's default.
const GuestUDPPort = 9899

// Sysctls the guest applies at boot, besides net.sctp.udp_port. The
// kernel's RTO.Initial (3 s) and RTO.Max (60 s) are shortened to keep
// loss tests short; RTO.Min stays at its default of 1 s (the tests' pgsctp
// uses the same three values). The buffer limits let the peer program ask
// for 1 MiB socket buffers, the window pgsctp uses.
var guestSysctls = []string{
	"net.sctp.rto_initial=1000",
	"net.sctp.rto_min=1000",
	"net.sctp.rto_max=3000",
	"net.core.rmem_max=4194304",
	"net.core.wmem_max=4194304",
}

// initScript is the guest's /init: it loads the modules, brings up the
// network, turns SCTP over UDP on and then reads commands from the serial
// console, one per line, answering each with "@@done STATUS" (see
// console.go). Kernel messages stay off the console (loglevel=1).
func initScript(modules []string) string {
	var b strings.Builder
	b.WriteString(`#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
dmesg -n 1
`)
	for _, m := range modules {
		fmt.Fprintf(&b, "insmod /lib/modules/%s || echo \"@@error insmod %s\"\n", filepath.Base(m), filepath.Base(m))
	}
	fmt.Fprintf(&b, `ip link set lo up
ip link set eth0 up || echo "@@error no eth0"
ip addr add %s dev eth0
ip link set eth1 up || echo "@@error no eth1"
sysctl -q -w net.ipv4.conf.all.rp_filter=0
sysctl -q -w net.sctp.udp_port=%d || echo "@@error no SCTP over UDP"
`, guestCIDR, GuestUDPPort)
	for _, s := range guestSysctls {
		fmt.Fprintf(&b, "sysctl -q -w %s || echo \"@@error sysctl %s\"\n", s, s)
	}
	b.WriteString(`stty -echo -onlcr 2>/dev/null || stty -echo
echo "@@ready $(uname -r)"
while IFS= read -r line; do
	eval "$line" </dev/null
	echo "@@done $?"
done
echo "@@console closed"
poweroff -f
`)
	return b.String()
}

// cpioWriter writes a "newc" cpio archive, the format the kernel unpacks
// as its initramfs (Documentation/driver-api/early-userspace). Entries
// are written as they come; every owner is root.
type cpioWriter struct {
	w   *bufio.Writer
	ino int
	err error
}

func (c *cpioWriter) header(name string, mode, size, rdevMajor, rdevMinor int) {
	if c.err != nil {
		return
	}
	c.ino++
	// 13 fields of 8 hex digits: ino, mode, uid, gid, nlink, mtime,
	// filesize, devmajor, devminor, rdevmajor, rdevminor, namesize
	// (with its NUL), check.
	_, c.err = fmt.Fprintf(c.w, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, 1, 0, size, 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	c.write([]byte(name + "\x00"))
	c.pad(110 + len(name) + 1)
}

func (c *cpioWriter) write(b []byte) {
	if c.err == nil {
		_, c.err = c.w.Write(b)
	}
}

// pad aligns to 4 bytes after n bytes.
func (c *cpioWriter) pad(n int) {
	if r := n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

func (c *cpioWriter) dir(name string) { c.header(name, 0o040755, 0, 0, 0) }

func (c *cpioWriter) file(name string, mode int, data []byte) {
	c.header(name, 0o100000|mode, len(data), 0, 0)
	c.write(data)
	c.pad(len(data))
}

func (c *cpioWriter) symlink(name, target string) {
	c.header(name, 0o120777, len(target), 0, 0)
	c.write([]byte(target))
	c.pad(len(target))
}

func (c *cpioWriter) charDev(name string, major, minor int) {
	c.header(name, 0o020600, 0, major, minor)
}

func (c *cpioWriter) close() error {
	c.header("TRAILER!!!", 0, 0, 0, 0)
	if c.err == nil {
		c.err = c.w.Flush()
	}
	return c.err
}

// writeInitramfs writes the guest's root file system to path: busybox,
// /init, the peer program and the modules.
func writeInitramfs(path string, img *image, peer string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("kernelsctp: initramfs: %w", err)
	}
	c := &cpioWriter{w: bufio.NewWriterSize(f, 1<<20)}
	for _, d := range []string{"bin", "dev", "lib", "lib/modules", "proc", "sys", "tmp"} {
		c.dir(d)
	}
	// The kernel opens /dev/console for /init before devtmpfs is mounted.
	c.charDev("dev/console", 5, 1)
	add := func(name, from string, mode int) {
		b, err := os.ReadFile(from)
		if err != nil {
			if c.err == nil {
				c.err = err
			}
			return
		}
		c.file(name, mode, b)
	}
	add("bin/busybox", img.busybox, 0o755)
	c.symlink("bin/sh", "busybox")
	add("peer", peer, 0o755)
	for _, m := range img.modules {
		add("lib/modules/"+filepath.Base(m), m, 0o644)
	}
	c.file("init", 0o755, []byte(initScript(img.modules)))
	err = c.close()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("kernelsctp: initramfs: %w", err)
	}
	return nil
}
