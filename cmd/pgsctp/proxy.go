package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pgsctp/pgsctp/internal/config"
	"github.com/pgsctp/pgsctp/pgfront"
	"github.com/pgsctp/pgsctp/sctp"
)

const proxyUsage = `usage: pgsctp proxy [-c FILE] --server HOST[,HOST...]:PORT [--socket-dir DIR] [--port N]
                    [--listen HOST:PORT] [--udp-port N] [--peer-udp-port N] [flags]

A local endpoint for psql, pgbench and every libpq program: it listens where
libpq looks for PostgreSQL (DIR/.s.PGSQL.<port>, so "psql -h DIR -p PORT"
works) and, with --listen, on TCP (libpq uses TLS only over TCP), and carries
each session to a pgsctp server over SCTP. Runs in the foreground until
SIGINT or SIGTERM; SIGHUP rereads the configuration file.

  --server HOST[,HOST...]:PORT  the pgsctp server (SCTP port, default 5432)
  --socket-dir DIR              directory of the Unix socket (default /tmp)
  --port N                      port in the socket name, and of --listen without one
  --listen HOST:PORT            also accept libpq over TCP (loopback advised)
  --multiplex                   carry all sessions as streams of one association
  --udp-port N, --peer-udp-port N  local and server UDP encapsulation ports
`

func runProxy(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	d := &daemon{name: "proxy", set: config.Proxy(), stderr: stderr}
	code, done := d.parseFlags(args, stdout, proxyUsage, func(*flag.FlagSet, *config.Overrides) func() error {
		return func() error { return nil }
	})
	if done {
		return code
	}
	defer signal.Stop(d.hup)
	v := d.values
	log := d.log
	closeCapture, err := d.openCapture(v)
	if err != nil {
		log.Error("cannot open the capture file", "err", err)
		return 1
	}
	defer closeCapture()

	servers, err := serverAddrs(v.List("server"))
	if err != nil {
		fmt.Fprintf(stderr, "pgsctp proxy: server: %v\n", err)
		return 2
	}
	dialer := &pgfront.SCTPDialer{Addrs: servers, Config: proxySCTPConfig(v, d), Multiplex: v.Bool("multiplex"), Logger: log}
	relay := &pgfront.Relay{Dial: dialer.Dial, Target: "pgsctp server at " + strings.Join(servers, ","), Logger: log}

	port := int(v.Int("port"))
	var listeners []net.Listener
	var listening []string
	closeAll := func() {
		for _, l := range listeners {
			l.Close()
		}
	}
	if dir := v.String("socket_dir"); dir != "" {
		l, err := pgfront.ListenUnix(dir, port)
		if err != nil {
			log.Error("cannot listen on the Unix socket", "dir", dir, "err", err)
			return 1
		}
		listeners = append(listeners, l)
		listening = append(listening, l.Addr().String())
	}
	if addr := v.String("listen"); addr != "" {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(addr, strconv.Itoa(port))
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			log.Error("cannot listen on TCP", "address", addr, "err", err)
			closeAll()
			return 1
		}
		listeners = append(listeners, l)
		listening = append(listening, l.Addr().String())
	}

	started := time.Now()
	report := func() pgfront.Report {
		return pgfront.Report{Role: "proxy", PID: os.Getpid(), Started: started, Listen: listening,
			Upstream: strings.Join(dialer.Servers(), ","), Associations: dialer.Status(), Sessions: pgfront.Sessions(relay)}
	}
	actx, stopAdmin := context.WithCancel(context.Background())
	defer stopAdmin()
	admin := adminPath(v, "proxy", int64(port))
	if err := d.serveAdmin(actx, admin, "", report); err != nil {
		log.Error("cannot start the admin interface", "err", err)
		closeAll()
		return 1
	}

	serveCtx, stopServe := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, l := range listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			relay.Serve(serveCtx, l)
		}()
	}
	log.Info("pgsctp proxy ready", "listen", strings.Join(listening, ","), "server", strings.Join(servers, ","),
		"multiplex", v.Bool("multiplex"), "admin_socket", admin)

	d.run(ctx, func(v *config.Values) {
		dialer.SetConfig(proxySCTPConfig(v, d))
		if s, err := serverAddrs(v.List("server")); err != nil {
			log.Error("server setting not applied", "err", err)
		} else {
			dialer.SetServers(s)
		}
	})
	closeAll()
	stopServe()
	wg.Wait()
	dialer.Close()
	return 0
}

func proxySCTPConfig(v *config.Values, d *daemon) *sctp.Config {
	c := d.withCapture(sctpConfig(v, d.log))
	c.UDPPort = int(v.Int("udp_port"))
	c.PeerUDPPort = int(v.Int("peer_udp_port"))
	c.LocalAddrs = localAddrs(v.List("local_addresses"))
	if v.Bool("multiplex") && c.Assoc.OutboundStreams < 1024 {
		// Each stream carries one session at a time.
		c.Assoc.OutboundStreams = 1024
	}
	return c
}

// localAddrs turns local_addresses into sctp.Config.LocalAddrs: '*' (or
// nothing) is nil, every address of the host that can reach the server.
// The setting's check has validated the addresses.
func localAddrs(list []string) []netip.Addr {
	var out []netip.Addr
	for _, s := range list {
		if ip, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
			out = append(out, ip)
		}
	}
	return out
}

// serverAddrs turns the server setting into host:port addresses (SCTP
// port 5432 unless given).
func serverAddrs(list []string) ([]string, error) {
	if len(list) == 0 {
		return nil, fmt.Errorf("no server given (--server HOST:PORT)")
	}
	hosts, port, err := splitHostsPort(list, "5432")
	if err != nil {
		return nil, err
	}
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = net.JoinHostPort(h, port)
	}
	return out, nil
}
