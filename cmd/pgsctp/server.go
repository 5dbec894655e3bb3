package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pgsctp/pgsctp/internal/config"
	"github.com/pgsctp/pgsctp/pgfront"
)

const serverUsage = `usage: pgsctp server [-c FILE] [--listen ADDR[,ADDR...]:PORT] [--upstream DIR|HOST:PORT] [--udp-port N] [flags]

Runs beside PostgreSQL: accepts SCTP associations (over UDP, RFC 6951) and
relays every PostgreSQL session they carry to PostgreSQL, byte for byte, so
TLS, SCRAM, COPY, LISTEN/NOTIFY and replication work unchanged. Runs in the
foreground until SIGINT or SIGTERM, then shuts associations down gracefully
and exits 0; SIGHUP rereads the configuration file.

  --listen ADDR[,ADDR...]:PORT  local addresses and SCTP port (listen_addresses, port)
  --upstream DIR|HOST:PORT      PostgreSQL: a Unix socket directory or a TCP address
  --udp-port N                  UDP encapsulation port (default 9899)
  -c FILE                       pgsctp.conf (postgresql.conf syntax); -c name=value sets one setting
  --describe-config             list every setting
`

func runServer(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	d := &daemon{name: "server", set: config.Server(), stderr: stderr}
	code, done := d.parseFlags(args, stdout, serverUsage, func(fs *flag.FlagSet, o *config.Overrides) func() error {
		listen := fs.String("listen", "", "ADDR[,ADDR...]:PORT: local addresses and SCTP port (sets listen_addresses and port)")
		return func() error {
			if *listen == "" {
				return nil
			}
			hosts, port, err := splitHostsPort(strings.Split(*listen, ","), "")
			if err != nil {
				return fmt.Errorf("--listen: %w", err)
			}
			if err := o.Add("listen_addresses", strings.Join(hosts, ",")); err != nil {
				return err
			}
			if port != "" {
				return o.Add("port", port)
			}
			return nil
		}
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

	sl := pgfront.NewSessionListener(limits(v), log)
	cfg := d.withCapture(sctpConfig(v, log))
	cfg.Assoc.Admit = sl.Admit
	cfg.Assoc.AdmitAddr = sl.AdmitAddr
	cfg.UDPPort = int(v.Int("udp_port"))
	port := strconv.FormatInt(v.Int("port"), 10)
	// One listener for every address: each association is multihomed
	// over all of them. '*' listens everywhere, each association on the
	// address its client reached.
	laddr := listenAddr(v.List("listen_addresses"), port)
	if _, err := sl.Listen(ctx, laddr, cfg); err != nil {
		log.Error("cannot listen", "address", laddr, "err", err)
		sl.Close()
		return 1
	}
	var listening atomic.Pointer[[]string]
	addrs := sl.Addrs()
	listening.Store(&addrs)

	var upstream atomic.Pointer[[2]string]
	setUpstream := func(v *config.Values) string {
		network, address := upstreamAddr(v.String("upstream"), int(v.Int("upstream_port")))
		upstream.Store(&[2]string{network, address})
		return address
	}
	target := setUpstream(v)
	if upstream.Load()[0] == "unix" {
		log.Warn("relaying to PostgreSQL's Unix socket: every SCTP client then matches pg_hba.conf 'local' lines "+
			"(peer or trust there would let remote clients in); use a TCP upstream unless those lines ask for a password",
			"upstream", target)
	}
	relay := &pgfront.Relay{
		Dial: func(ctx context.Context) (net.Conn, error) {
			u := upstream.Load()
			var dl net.Dialer
			return dl.DialContext(ctx, u[0], u[1])
		},
		Target:      "PostgreSQL at " + target,
		MaxSessions: int(v.Int("max_associations") * v.Int("max_sessions_per_association")),
		Logger:      log,
	}
	started := time.Now()
	report := func() pgfront.Report {
		return pgfront.Report{Role: "server", PID: os.Getpid(), Started: started, Listen: *listening.Load(),
			Upstream: upstream.Load()[1], Associations: sl.Status(), Sessions: pgfront.Sessions(relay)}
	}
	actx, stopAdmin := context.WithCancel(context.Background())
	defer stopAdmin()
	admin := adminPath(v, "server", v.Int("udp_port"))
	if err := d.serveAdmin(actx, admin, v.String("metrics_listen"), report); err != nil {
		log.Error("cannot start the admin interface", "err", err)
		sl.Close()
		return 1
	}

	serveCtx, stopServe := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		relay.Serve(serveCtx, sl)
	}()
	log.Info("pgsctp server ready", "listen", strings.Join(addrs, ","), "upstream", target, "admin_socket", admin)

	d.run(ctx, func(v *config.Values) {
		sl.SetLimits(limits(v))
		c := d.withCapture(sctpConfig(v, log))
		c.Assoc.Admit = sl.Admit
		c.Assoc.AdmitAddr = sl.AdmitAddr
		sl.SetConfig(c)
		setUpstream(v)
		// listen_addresses: running associations follow (ASCONF).
		if next := listenAddr(v.List("listen_addresses"), port); next != laddr {
			if err := setListenAddrs(sl, v.List("listen_addresses")); err != nil {
				log.Error("listen_addresses not applied", "err", err)
				return
			}
			laddr = next
			addrs := sl.Addrs()
			listening.Store(&addrs)
			log.Info("listen addresses changed", "listen", strings.Join(addrs, ","))
		}
	})
	sl.Close() // graceful SHUTDOWN of every association
	stopServe()
	<-served
	return 0
}

// listenAddr is the sctp.Listen address of listen_addresses: every
// address with the port, or the empty host for '*'.
func listenAddr(hosts []string, port string) string {
	var hs []string
	for _, host := range hosts {
		if host == "*" {
			return ":" + port
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		hs = append(hs, host)
	}
	return strings.Join(hs, ",") + ":" + port
}

// setListenAddrs applies a new listen_addresses to the running listener.
func setListenAddrs(sl *pgfront.SessionListener, hosts []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ips []netip.Addr
	for _, h := range hosts {
		if h == "*" {
			return errors.New("switching to or from '*' needs a restart")
		}
		ip, err := netip.ParseAddr(strings.Trim(h, "[]"))
		if err != nil {
			found, err := net.DefaultResolver.LookupNetIP(ctx, "ip", h)
			if err != nil || len(found) == 0 {
				return fmt.Errorf("address %q: %v", h, err)
			}
			ip = found[0]
		}
		ips = append(ips, ip.Unmap())
	}
	return sl.SetLocalAddrs(ctx, ips)
}

func limits(v *config.Values) pgfront.Limits {
	return pgfront.Limits{
		AllowedNetworks:           v.Prefixes("allowed_networks"),
		MaxAssociations:           int(v.Int("max_associations")),
		MaxSessionsPerAssociation: int(v.Int("max_sessions_per_association")),
	}
}

// upstreamAddr names PostgreSQL: an absolute directory holds its Unix
// socket .s.PGSQL.<port>, "host:port" is TCP, a bare host uses port.
func upstreamAddr(upstream string, port int) (network, address string) {
	if !strings.HasPrefix(upstream, "/") {
		if h, p, err := net.SplitHostPort(upstream); err == nil {
			if n, err := strconv.Atoi(p); err == nil {
				return pgfront.PostgresAddr(h, n)
			}
		}
	}
	return pgfront.PostgresAddr(upstream, port)
}
