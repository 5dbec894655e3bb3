//go:build linux

package kernelsctp

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
)

// The Debian packages the guest is made of. The cloud kernel is the
// smallest 6.1 amd64 image (27 MB) that has SCTP (CONFIG_IP_SCTP=m) and
// virtio-net; UDP encapsulation of SCTP needs Linux 5.11 or later.
const (
	kernelMetaPackage = "linux-image-cloud-amd64"
	busyboxPackage    = "busybox-static"
)

// guestModules are the modules the guest loads, with their dependencies
// resolved from the modules' own .modinfo: SCTP (with libcrc32c,
// udp_tunnel, ip6_udp_tunnel) and the virtio network card.
var guestModules = []string{"virtio_pci", "virtio_net", "sctp"}

// cacheDir is where downloaded and extracted packages are kept between
// runs: $PGSCTP_KERNELSCTP_CACHE, else $XDG_CACHE_HOME/pgsctp-kernelsctp,
// else /var/cache/pgsctp-kernelsctp for root and the user cache directory
// for others.
func cacheDir() (string, error) {
	if d := os.Getenv("PGSCTP_KERNELSCTP_CACHE"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "pgsctp-kernelsctp"), nil
	}
	if os.Geteuid() == 0 {
		return "/var/cache/pgsctp-kernelsctp", nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("kernelsctp: cache directory: %w", err)
	}
	return filepath.Join(d, "pgsctp-kernelsctp"), nil
}

// image is what the guest is booted from, all in the cache.
type image struct {
	kernelPkg string   // e.g. linux-image-6.1.0-57-cloud-amd64
	vmlinuz   string   // path of the kernel
	busybox   string   // path of the static busybox
	modules   []string // paths of the .ko files, in load order
}

// prepareImage returns the kernel, modules and busybox, downloading and
// extracting the Debian packages into dir the first time. It holds an
// exclusive lock on the cache while it works, so concurrent test binaries
// do not download twice.
func prepareImage(ctx context.Context, dir string, logf func(string, ...any)) (*image, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("kernelsctp: cache: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("kernelsctp: cache lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, fmt.Errorf("kernelsctp: cache lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	pkg, err := kernelPackage(ctx)
	if err != nil {
		// Offline, or apt does not know the package: reuse what is cached.
		cached, _ := filepath.Glob(filepath.Join(dir, "linux-image-*", "ready"))
		if len(cached) == 0 {
			return nil, err
		}
		slices.Sort(cached)
		pkg = filepath.Base(filepath.Dir(cached[len(cached)-1]))
		logf("kernelsctp: %v; using the cached %s", err, pkg)
	}
	kdir := filepath.Join(dir, pkg)
	if _, err := os.Stat(filepath.Join(kdir, "ready")); err != nil {
		if err := fetchKernel(ctx, dir, pkg, logf); err != nil {
			return nil, err
		}
	}
	bbdir := filepath.Join(dir, busyboxPackage)
	if _, err := os.Stat(filepath.Join(bbdir, "ready")); err != nil {
		if err := fetchBusybox(ctx, dir, logf); err != nil {
			return nil, err
		}
	}
	order, err := os.ReadFile(filepath.Join(kdir, "modules.order"))
	if err != nil {
		return nil, fmt.Errorf("kernelsctp: %w", err)
	}
	img := &image{kernelPkg: pkg, vmlinuz: filepath.Join(kdir, "vmlinuz"), busybox: filepath.Join(bbdir, "busybox")}
	for _, m := range strings.Fields(string(order)) {
		img.modules = append(img.modules, filepath.Join(kdir, m+".ko"))
	}
	return img, nil
}

var dependsRE = regexp.MustCompile(`(?m)^\s*Depends: (linux-image-\S+)$`)

// kernelPackage asks apt (its local package lists, no network) which
// versioned kernel package the meta package points to today.
func kernelPackage(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "depends", "--important", kernelMetaPackage).Output()
	if err != nil {
		return "", fmt.Errorf("kernelsctp: apt-cache depends %s: %w (run apt-get update?)", kernelMetaPackage, err)
	}
	m := dependsRE.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("kernelsctp: apt-cache depends %s names no linux-image package:\n%s", kernelMetaPackage, out)
	}
	return string(m[1]), nil
}

// download runs apt-get download for pkg in a fresh directory under dir
// and returns the .deb's path.
func download(ctx context.Context, dir, pkg string, logf func(string, ...any)) (string, error) {
	tmp, err := os.MkdirTemp(dir, "download-")
	if err != nil {
		return "", fmt.Errorf("kernelsctp: %w", err)
	}
	// As root, apt-get warns that the download runs unsandboxed (its _apt
	// user cannot write here); harmless, and better than a directory
	// everyone may write to.
	logf("kernelsctp: apt-get download %s", pkg)
	cmd := exec.CommandContext(ctx, "apt-get", "download", "-q", pkg)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("kernelsctp: apt-get download %s: %w\n%s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("kernelsctp: apt-get download %s left %d .deb files", pkg, len(debs))
	}
	return debs[0], nil
}

// extract unpacks a .deb into a new directory under dir.
func extract(ctx context.Context, dir, deb string) (string, error) {
	out, err := os.MkdirTemp(dir, "extract-")
	if err != nil {
		return "", fmt.Errorf("kernelsctp: %w", err)
	}
	if b, err := exec.CommandContext(ctx, "dpkg-deb", "-x", deb, out).CombinedOutput(); err != nil {
		os.RemoveAll(out)
		return "", fmt.Errorf("kernelsctp: dpkg-deb -x %s: %w\n%s", filepath.Base(deb), err, b)
	}
	return out, nil
}

// fetchKernel downloads pkg and keeps, in dir/pkg, only what the guest
// needs: vmlinuz, the modules of guestModules and their dependencies, and
// modules.order (load order, dependencies first). The .deb and the rest of
// the package are removed; "ready" is written last.
func fetchKernel(ctx context.Context, dir, pkg string, logf func(string, ...any)) error {
	deb, err := download(ctx, dir, pkg, logf)
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(deb))
	root, err := extract(ctx, dir, deb)
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	kernels, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(kernels) != 1 {
		return fmt.Errorf("kernelsctp: %s holds %d kernels", pkg, len(kernels))
	}
	mods, err := findModules(root)
	if err != nil {
		return fmt.Errorf("kernelsctp: %s: %w", pkg, err)
	}
	order, err := loadOrder(mods, guestModules)
	if err != nil {
		return fmt.Errorf("kernelsctp: %s: %w", pkg, err)
	}
	kdir := filepath.Join(dir, pkg)
	os.RemoveAll(kdir)
	if err := os.MkdirAll(kdir, 0o755); err != nil {
		return fmt.Errorf("kernelsctp: %w", err)
	}
	if err := copyFile(kernels[0], filepath.Join(kdir, "vmlinuz")); err != nil {
		return err
	}
	for _, m := range order {
		if err := copyFile(mods[m], filepath.Join(kdir, m+".ko")); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(kdir, "modules.order"), []byte(strings.Join(order, "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("kernelsctp: %w", err)
	}
	logf("kernelsctp: cached %s (modules %s) in %s", pkg, strings.Join(order, " "), kdir)
	return os.WriteFile(filepath.Join(kdir, "ready"), nil, 0o644)
}

func fetchBusybox(ctx context.Context, dir string, logf func(string, ...any)) error {
	deb, err := download(ctx, dir, busyboxPackage, logf)
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(deb))
	root, err := extract(ctx, dir, deb)
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	bbdir := filepath.Join(dir, busyboxPackage)
	if err := os.MkdirAll(bbdir, 0o755); err != nil {
		return fmt.Errorf("kernelsctp: %w", err)
	}
	if err := copyFile(filepath.Join(root, "bin", "busybox"), filepath.Join(bbdir, "busybox")); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(bbdir, "ready"), nil, 0o644)
}

// findModules maps module names (with '_', as modinfo's depends= lists
// them) to their .ko files under root/lib/modules.
func findModules(root string) (map[string]string, error) {
	mods := map[string]string{}
	err := filepath.WalkDir(filepath.Join(root, "lib", "modules"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		switch {
		case strings.HasSuffix(name, ".ko"):
			mods[strings.ReplaceAll(strings.TrimSuffix(name, ".ko"), "-", "_")] = p
		case strings.HasSuffix(name, ".ko.xz"), strings.HasSuffix(name, ".ko.zst"), strings.HasSuffix(name, ".ko.gz"):
			// Later Debian kernels compress modules; busybox insmod
			// and this resolver would need to decompress them.
			return fmt.Errorf("compressed module %s is not supported", name)
		}
		return nil
	})
	return mods, err
}

// loadOrder returns want and everything they depend on, each after its
// dependencies, reading the dependencies from each module's .modinfo
// section ("depends=a,b"), as modprobe --show-depends would from
// modules.dep (which the package does not ship: depmod makes it).
func loadOrder(mods map[string]string, want []string) ([]string, error) {
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) error
	visit = func(m string) error {
		switch state[m] {
		case 1:
			return fmt.Errorf("module dependency cycle at %s", m)
		case 2:
			return nil
		}
		state[m] = 1
		p, ok := mods[m]
		if !ok {
			return fmt.Errorf("module %s not in the package (built in?)", m)
		}
		deps, err := modDepends(p)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d); err != nil {
				return fmt.Errorf("%s: %w", m, err)
			}
		}
		state[m] = 2
		order = append(order, m)
		return nil
	}
	for _, m := range want {
		if err := visit(m); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// modDepends reads "depends=" from a module's .modinfo section.
func modDepends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	s := f.Section(".modinfo")
	if s == nil {
		return nil, fmt.Errorf("module %s has no .modinfo", filepath.Base(path))
	}
	b, err := s.Data()
	if err != nil {
		return nil, fmt.Errorf("module %s: .modinfo: %w", filepath.Base(path), err)
	}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			var deps []string
			for _, d := range strings.Split(string(v), ",") {
				if d != "" {
					deps = append(deps, strings.ReplaceAll(d, "-", "_"))
				}
			}
			return deps, nil
		}
	}
	return nil, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("kernelsctp: %w", err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return fmt.Errorf("kernelsctp: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("kernelsctp: copy %s: %w", filepath.Base(from), err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("kernelsctp: copy %s: %w", filepath.Base(from), err)
	}
	return nil
}
