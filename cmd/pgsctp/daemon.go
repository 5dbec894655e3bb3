package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pgsctp/pgsctp/internal/config"
	"github.com/pgsctp/pgsctp/internal/pcapwriter"
	"github.com/pgsctp/pgsctp/pgfront"
	"github.com/pgsctp/pgsctp/sctp"
)

// daemon is what pgsctp server and pgsctp proxy share: configuration from
// pgsctp.conf and flags, logging, the admin socket and metrics, SIGHUP
// reloads, and a graceful stop on SIGINT or SIGTERM.
type daemon struct {
	name   string // "server" or "proxy"
	set    *config.Set
	values *config.Values
	file   string
	level  slog.LevelVar
	log    *slog.Logger
	stderr io.Writer
	hup    chan os.Signal // SIGHUP, registered before the program says it is ready
	// capture writes capture_file, if set (openCapture); nil: none.
	capture *pcapwriter.Writer
}

// openCapture opens capture_file; the caller runs close at exit.
func (d *daemon) openCapture(v *config.Values) (close func(), err error) {
	name := v.String("capture_file")
	if name == "" {
		return func() {}, nil
	}
	w, err := pcapwriter.Create(name)
	if err != nil {
		return nil, fmt.Errorf("capture_file: %w", err)
	}
	d.capture = w
	d.log.Warn("writing every SCTP packet to a capture file; it grows without bound", "capture_file", name)
	return func() { w.Close() }, nil
}

// withCapture points c's Capture at the capture file, if there is one.
func (d *daemon) withCapture(c *sctp.Config) *sctp.Config {
	if w := d.capture; w != nil {
		c.Capture = func(at time.Time, src, dst netip.AddrPort, pkt []byte) { w.WritePacket(at, src, dst, pkt) }
	}
	return c
}

// parseFlags reads the flags and the configuration file. extra may define
// more flags and returns a function run after parsing, to turn them into
// overrides. done reports that the program should exit with code.
func (d *daemon) parseFlags(args []string, stdout io.Writer, usage string,
	extra func(fs *flag.FlagSet, o *config.Overrides) func() error) (code int, done bool) {
	fs := flag.NewFlagSet("pgsctp "+d.name, flag.ContinueOnError)
	fs.SetOutput(d.stderr)
	o := d.set.AddFlags(fs)
	describe := fs.Bool("describe-config", false, "list every setting with its default, unit and whether a reload applies it, and exit")
	sample := fs.Bool("sample-config", false, "print a commented pgsctp.conf with every setting at its default, and exit")
	after := extra(fs, o)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fmt.Fprintln(fs.Output(), "\nFlags (each setting of pgsctp.conf is also a flag; flags override the file):")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, true
		}
		return 2, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(d.stderr, "pgsctp %s: unexpected argument %q\n", d.name, fs.Arg(0))
		return 2, true
	}
	if *describe {
		d.set.Describe(stdout)
		return 0, true
	}
	if *sample {
		d.set.Sample(stdout)
		return 0, true
	}
	if err := after(); err != nil {
		fmt.Fprintf(d.stderr, "pgsctp %s: %v\n", d.name, err)
		return 2, true
	}
	d.file = o.File()
	v, err := d.set.Load(d.file, o)
	if err != nil {
		fmt.Fprintf(d.stderr, "pgsctp %s: %v\n", d.name, err)
		return 2, true
	}
	d.values = v
	// Register for SIGHUP now, before the program logs that it is ready:
	// a SIGHUP without a handler would end the process.
	d.hup = make(chan os.Signal, 1)
	signal.Notify(d.hup, syscall.SIGHUP)
	d.log = slog.New(slog.NewTextHandler(d.stderr, &slog.HandlerOptions{Level: &d.level}))
	d.applyProcess(v)
	return 0, false
}

// applyProcess applies the settings that belong to the whole process, at
// start and on every reload: log_level, and worker_threads (how many
// threads run Go code at once).
func (d *daemon) applyProcess(v *config.Values) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(v.String("log_level"))); err != nil {
		d.log.Warn("unknown log_level; using info", "log_level", v.String("log_level"))
		l = slog.LevelInfo
	}
	d.level.Set(l)
	if n := int(v.Int("worker_threads")); n > 0 {
		runtime.GOMAXPROCS(n)
	} else {
		runtime.SetDefaultGOMAXPROCS()
	}
}

// sctpConfig turns the sctp_* settings into the stack's configuration.
func sctpConfig(v *config.Values, log *slog.Logger) *sctp.Config {
	c := &sctp.Config{Logger: log}
	a := &c.Assoc
	a.RTOInitial = v.Duration("sctp_rto_initial")
	a.RTOMin = v.Duration("sctp_rto_min")
	a.RTOMax = v.Duration("sctp_rto_max")
	a.MaxBurst = int(v.Int("sctp_max_burst"))
	a.AssocMaxRetrans = int(v.Int("sctp_association_max_retrans"))
	a.PathMaxRetrans = int(v.Int("sctp_path_max_retrans"))
	a.PFMaxRetrans = int(v.Int("sctp_pf_retrans"))
	a.NoASCONF = !v.Bool("sctp_asconf")
	a.MaxInitRetransmits = int(v.Int("sctp_max_init_retransmits"))
	a.HBInterval = v.Duration("sctp_heartbeat_interval")
	if a.HBInterval == 0 {
		a.HBInterval = -1 // 0 in pgsctp.conf turns heartbeats off
	}
	a.ValidCookieLife = v.Duration("sctp_valid_cookie_life")
	a.DelayedAckTime = v.Duration("sctp_delayed_ack")
	if a.DelayedAckTime == 0 {
		a.DelayedAckTime = time.Nanosecond // acknowledge at once
	}
	a.CookieSecretRotation = v.Duration("sctp_cookie_secret_rotation")
	a.OutboundStreams = uint16(v.Int("sctp_outbound_streams"))
	a.MaxInboundStreams = uint16(v.Int("sctp_max_inbound_streams"))
	a.RecvWindow = uint32(v.Int("sctp_receive_window"))
	a.SendBuffer = int(v.Int("sctp_send_buffer"))
	a.MTU = int(v.Int("sctp_mtu"))
	a.MaxMTU = int(v.Int("sctp_max_mtu"))
	a.Logger = log.With("component", "sctp")
	return c
}

// adminPath is where the admin socket of this process lives: the setting,
// or a per-port default in the temporary directory that `pgsctp status`
// finds by itself.
func adminPath(v *config.Values, role string, port int64) string {
	if p := v.String("admin_socket"); p != "" {
		return p
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf(".s.PGSCTP.%s.%d", role, port))
}

// serveAdmin starts the admin socket and the metrics listener.
func (d *daemon) serveAdmin(ctx context.Context, path, metrics string, report func() pgfront.Report) error {
	errc := make(chan error, 1)
	go func() { errc <- pgfront.ServeAdmin(ctx, path, report) }()
	select {
	case err := <-errc:
		if err != nil {
			return err
		}
	case <-time.After(50 * time.Millisecond):
	}
	if metrics != "" {
		l, err := net.Listen("tcp", metrics)
		if err != nil {
			return fmt.Errorf("metrics_listen %s: %w", metrics, err)
		}
		l.Close()
		go func() {
			if err := pgfront.ServeMetrics(ctx, metrics, report); err != nil {
				d.log.Error("metrics listener stopped", "err", err)
			}
		}()
	}
	return nil
}

// run waits for a stop signal, reloading on SIGHUP with apply.
func (d *daemon) run(ctx context.Context, apply func(v *config.Values)) {
	hup := d.hup
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			d.log.Info("stopping: closing associations gracefully")
			return
		case <-hup:
			next, applied, restart, err := d.values.Reload(d.file)
			if err != nil {
				d.log.Error("reload failed; keeping the running configuration", "err", err)
				continue
			}
			for _, name := range restart {
				d.log.Warn("setting changed; it takes effect only after a restart", "setting", name)
			}
			d.values = next
			d.applyProcess(next)
			apply(next)
			d.log.Info("configuration reloaded", "file", d.file, "applied", strings.Join(applied, ","))
		}
	}
}

// splitHostsPort reads "HOST[,HOST...]:PORT" (the port given once, at the
// end, for all) or hosts each with or without a port; IPv6 addresses with a
// port go in brackets. Every address of one multihomed endpoint shares one
// port; defPort is used when none is given (it may be empty).
func splitHostsPort(entries []string, defPort string) (hosts []string, port string, err error) {
	port = defPort
	if _, p, err := net.SplitHostPort(strings.TrimSpace(entries[len(entries)-1])); err == nil {
		port = p
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, "", fmt.Errorf("bad port %q", port)
		}
	}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		h, p, err := net.SplitHostPort(e)
		if err != nil {
			h, p = strings.Trim(e, "[]"), port
		}
		if h == "" {
			return nil, "", fmt.Errorf("empty host in %q", strings.Join(entries, ","))
		}
		if p != port {
			return nil, "", fmt.Errorf("%q: all addresses share one port (%s)", e, port)
		}
		hosts = append(hosts, h)
	}
	return hosts, port, nil
}
