package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Server returns the settings of pgsctp server, the relay that runs beside
// PostgreSQL.
func Server() *Set {
	s := []*Setting{
		{Name: "listen_addresses", Type: List, Default: "127.0.0.1", Context: Reload, Check: checkListenAddresses,
			Description: "local addresses to accept SCTP on, comma-separated; several make the server multihomed; '*' means all; a reload changes the addresses of running associations too (ASCONF), except to or from '*'"},
		{Name: "port", Type: Int, Default: "5432", Min: 1, Max: 65535, Context: Restart,
			Description: "SCTP port clients connect to"},
		{Name: "udp_port", Type: Int, Default: "9899", Min: 1, Max: 65535, Context: Restart,
			Description: "UDP port SCTP is encapsulated in (RFC 6951; 9899 is the IANA sctp-tunneling port)"},
		{Name: "upstream", Type: String, Default: "/var/run/postgresql", Context: Reload, Check: checkUpstream,
			Description: "PostgreSQL to relay to: a Unix socket directory (absolute path) or host:port; applies to new sessions"},
		{Name: "upstream_port", Type: Int, Default: "5432", Min: 1, Max: 65535, Context: Reload,
			Description: "PostgreSQL port naming the socket .s.PGSQL.<port> when upstream is a directory; applies to new sessions"},
		{Name: "allowed_networks", Type: CIDRList, Default: "", Context: Reload,
			Description: "client address prefixes allowed to associate, comma-separated; empty allows all; applies to new associations"},
		{Name: "max_associations", Type: Int, Default: "100", Min: 1, Max: 1000000, Context: Reload,
			Description: "most concurrent SCTP associations; lowering it ends none, it refuses new ones"},
		{Name: "max_sessions_per_association", Type: Int, Default: "64", Min: 1, Max: 65535, Context: Reload,
			Description: "most concurrent PostgreSQL sessions (streams) in one association; applies to new sessions"},
		{Name: "admin_socket", Type: String, Default: "", Context: Restart, Check: checkPathOrEmpty,
			Description: "Unix socket for the admin interface that pgsctp status reads; empty: .s.PGSCTP.server.<udp_port> in the temporary directory"},
		{Name: "metrics_listen", Type: String, Default: "", Context: Restart, Check: checkHostPortOrEmpty,
			Description: "host:port serving metrics over HTTP; empty: none"},
		logLevel(),
		workerThreads(),
	}
	s = append(s, sctpSettings()...)
	for _, st := range s {
		if st.Name == "sctp_outbound_streams" {
			// The server answers each session on the stream it came in
			// on, so it offers as many streams as a multiplexing proxy
			// opens (pgsctp proxy --multiplex asks for 1024).
			st.Default = "1024"
			st.Description = "outbound streams offered in INIT ACK; sessions are answered on the stream they arrive on, so keep it at least the streams a multiplexing client opens"
		}
	}
	return newSet("server", s)
}

// Proxy returns the settings of pgsctp proxy, the local endpoint that
// libpq programs (psql, pgbench, ...) connect to.
func Proxy() *Set {
	s := []*Setting{
		{Name: "server", Type: List, Default: "", Context: Reload, Check: checkServer,
			Description: "addresses of one pgsctp server, comma-separated host or host:port (port default 5432); several are its multihomed paths; required; applies to new associations"},
		{Name: "socket_dir", Type: String, Default: "/tmp", Context: Restart, Check: checkPathOrEmpty,
			Description: "directory for the Unix socket .s.PGSQL.<port> libpq connects to (psql -h DIR); empty: none"},
		{Name: "port", Type: Int, Default: "5432", Min: 1, Max: 65535, Context: Restart,
			Description: "port in the socket's name .s.PGSQL.<port> (psql -p), and of listen when it has none"},
		{Name: "listen", Type: String, Default: "", Context: Restart, Check: checkListen,
			Description: "TCP address to accept libpq connections on, host or host:port (loopback advised); empty: none"},
		{Name: "udp_port", Type: Int, Default: "0", Min: 0, Max: 65535, Context: Restart,
			Description: "local UDP port for SCTP encapsulation; 0 picks a free one"},
		{Name: "local_addresses", Type: List, Default: "*", Context: Reload, Check: checkLocalAddresses,
			Description: "this host's addresses an association lists and sends from, comma-separated; several make it multihomed; '*' means every address that can reach the server (only loopback for a server on loopback), followed as links come and go; running associations follow changes (ASCONF)"},
		{Name: "peer_udp_port", Type: Int, Default: "9899", Min: 1, Max: 65535, Context: Reload,
			Description: "the server's UDP port (its udp_port); applies to new associations"},
		{Name: "multiplex", Type: Bool, Default: "off", Context: Restart,
			Description: "carry all client sessions in one association, a stream each, instead of one association per session"},
		{Name: "admin_socket", Type: String, Default: "", Context: Restart, Check: checkPathOrEmpty,
			Description: "Unix socket for the admin interface that pgsctp status reads; empty: .s.PGSCTP.proxy.<port> in the temporary directory"},
		logLevel(),
		workerThreads(),
	}
	return newSet("proxy", append(s, sctpSettings()...))
}

// workerThreads is GOMAXPROCS for the daemons. A relay does little work per
// message, and on two CPUs shared with PostgreSQL or the application a
// second thread mostly adds wake-ups (a goroutine made ready on one thread
// is handed to another, which must be woken): one thread, as pgbouncer
// runs, cost 13 to 22% less CPU per transaction and per GB in
// docs/benchmarks.md ("worker_threads").
func workerThreads() *Setting {
	return &Setting{Name: "worker_threads", Type: Int, Default: "1", Min: 0, Max: 1024, Context: Reload,
		Description: "threads running the relay's code at once (Go's GOMAXPROCS); 1, like pgbouncer, costs the least CPU per message; raise it when this process keeps a whole CPU busy; 0: one per CPU (or the GOMAXPROCS environment variable)"}
}

func logLevel() *Setting {
	return &Setting{Name: "log_level", Type: String, Default: "info", Context: Reload, Check: checkLogLevel,
		Description: "least severe messages logged: debug, info, warn or error"}
}

const (
	second = int64(time.Second)
	ms     = int64(time.Millisecond)
	day    = int64(24 * time.Hour)
)

// sctpSettings are the SCTP protocol parameters, shared by both programs.
// The defaults are RFC 9260 section 16 "Suggested SCTP Protocol Parameter
// Values" (RTO.Initial 1 s, RTO.Max 60 s, Max.Burst 4,
// Association.Max.Retrans 10, Max.Init.Retransmits 8, Valid.Cookie.Life
// 60 s) except where failover between the paths of a multihomed
// association needs them shorter: RTO.Min 100 ms, SACK.Delay 20 ms,
// HB.interval 5 s, Path.Max.Retrans 8 (sctp.DefaultRTOMin and the others
// say why and what it costs), and SCTP-PF's PotentiallyFailed.Max.Retrans
// 0 (RFC 7829). All apply on reload to associations set up afterwards;
// the timers and retransmission limits (context "live") to running
// associations too.
func sctpSettings() []*Setting {
	return []*Setting{
		{Name: "sctp_rto_initial", Type: Duration, Unit: "ms", Default: "1s", Min: ms, Max: day, Context: Live,
			Description: "RTO.Initial: retransmission timeout before any RTT is measured"},
		{Name: "sctp_rto_min", Type: Duration, Unit: "ms", Default: "100ms", Min: ms, Max: day, Context: Live,
			Description: "RTO.Min: lower bound of the retransmission timeout, and so about the failover time of a busy path (RFC 9260 suggests 1s)"},
		{Name: "sctp_rto_max", Type: Duration, Unit: "ms", Default: "60s", Min: ms, Max: day, Context: Live,
			Description: "RTO.Max: upper bound of the retransmission timeout"},
		{Name: "sctp_max_burst", Type: Int, Default: "4", Min: 1, Max: 1000, Context: Live,
			Description: "Max.Burst: most new packets sent at once on one SACK"},
		{Name: "sctp_association_max_retrans", Type: Int, Default: "10", Min: 1, Max: 1000, Context: Live,
			Description: "Association.Max.Retrans: consecutive retransmissions before the association is declared lost"},
		{Name: "sctp_path_max_retrans", Type: Int, Default: "8", Min: 1, Max: 1000, Context: Live,
			Description: "Path.Max.Retrans: consecutive errors before a path is marked inactive (RFC 9260 suggests 5, with a 10 times longer RTO.Min)"},
		{Name: "capture_file", Type: String, Default: "", Context: Restart, Check: checkPathOrEmpty,
			Description: "write every SCTP packet sent and received to this pcap file (one packet per record, in its UDP datagram, as Wireshark decodes it; use -d udp.port==N,sctp off port 9899); for debugging, it grows without bound; empty: none"},
		{Name: "sctp_asconf", Type: Bool, Default: "on", Context: Reload,
			Description: "offer dynamic addresses (ASCONF, RFC 5061, authenticated with AUTH, RFC 4895) so addresses can change while sessions run; off for peers whose addresses must not change; applies to new associations"},
		{Name: "sctp_pf_retrans", Type: Int, Default: "0", Min: 0, Max: 1000, Context: Live,
			Description: "PotentiallyFailed.Max.Retrans (RFC 7829): errors a path may have before data moves to another path; 0 moves at the first timeout; sctp_path_max_retrans or more turns SCTP-PF off"},
		{Name: "sctp_max_init_retransmits", Type: Int, Default: "8", Min: 0, Max: 1000, Context: Reload,
			Description: "Max.Init.Retransmits: INIT and COOKIE ECHO retransmissions before giving up"},
		{Name: "sctp_heartbeat_interval", Type: Duration, Unit: "ms", Default: "5s", Min: 0, Max: day, Context: Live,
			Description: "HB.interval: idle time between heartbeats on a path (plus its RTO and jitter); 0 turns heartbeats off (RFC 9260 suggests 30s)"},
		{Name: "sctp_valid_cookie_life", Type: Duration, Unit: "ms", Default: "60s", Min: second, Max: day, Context: Reload,
			Description: "Valid.Cookie.Life: how long a State Cookie from INIT ACK stays valid"},
		// RFC 9260 section 6.2: "An implementation MUST NOT allow the
		// maximum delay (protocol parameter 'SACK.Delay') to be configured
		// to be more than 500 ms."
		{Name: "sctp_delayed_ack", Type: Duration, Unit: "ms", Default: "20ms", Min: 0, Max: 500 * ms, Context: Live,
			Description: "SACK.Delay: longest wait before acknowledging DATA; 0 acknowledges every packet; keep it well below sctp_rto_min (RFC 9260 suggests 200ms)"},
		{Name: "sctp_outbound_streams", Type: Int, Default: "16", Min: 1, Max: 65535, Context: Reload,
			Description: "outbound streams requested in INIT/INIT ACK"},
		{Name: "sctp_max_inbound_streams", Type: Int, Default: "65535", Min: 1, Max: 65535, Context: Reload,
			Description: "most inbound streams accepted from the peer"},
		// RFC 9260 section 3.3.2: a_rwnd in INIT is the "dedicated buffer
		// space, in number of bytes"; 1500 keeps at least one full packet.
		{Name: "sctp_receive_window", Type: Int, Unit: "B", Default: "1MB", Min: 1500, Max: 1 << 30, Context: Reload,
			Description: "receive buffer per association, advertised as a_rwnd"},
		{Name: "sctp_send_buffer", Type: Int, Unit: "B", Default: "1MB", Min: 1500, Max: 1 << 30, Context: Reload,
			Description: "most user data queued for sending per association before writes block"},
		{Name: "sctp_mtu", Type: Int, Unit: "B", Default: "1200", Min: 512, Max: 9216, Context: Reload,
			Description: "SCTP packet size (UDP payload) every path starts at; 1200 fits the IPv6 minimum MTU with IP and UDP headers; path MTU discovery (sctp_max_mtu) lets packets grow, and messages are cut to fill them"},
		// RFC 8899: each path searches from sctp_mtu up to this; DATA
		// is cut for the path's PLPMTU when first sent.
		{Name: "sctp_max_mtu", Type: Int, Unit: "B", Default: "0", Min: -1, Max: 9216, Context: Reload,
			Description: "largest SCTP packet path MTU discovery searches for; 0: on Linux the largest local interface MTU less IPv4 and UDP headers (at most 9216), elsewhere no discovery; -1: no discovery, sctp_mtu only"},
		// RFC 9260 section 5.1.3 (paraphrased) wants the cookie's secret
		// key changed reasonably often, and lets the cookie's timestamp
		// pick the key that checks it. One hour keeps a stolen key useful
		// for at most two hours (current plus previous period) at the cost
		// of one 32-byte key per period; Validate insists the period is not
		// shorter than Valid.Cookie.Life, so a live cookie is always
		// checkable with the current or the previous key.
		{Name: "sctp_cookie_secret_rotation", Type: Duration, Unit: "s", Default: "1h", Min: second, Max: 30 * day, Context: Reload,
			Description: "how often the State Cookie secret changes; the previous one stays valid one more period"},
	}
}

// Validate checks the rules that involve several settings, after the file
// and the command line are applied.
func (v *Values) Validate() error {
	var errs []error
	has := func(n string) bool { _, ok := v.set.Lookup(n); return ok }
	if has("sctp_rto_min") {
		lo, ini, hi := v.Duration("sctp_rto_min"), v.Duration("sctp_rto_initial"), v.Duration("sctp_rto_max")
		if !(lo <= ini && ini <= hi) {
			errs = append(errs, fmt.Errorf("sctp_rto_min (%v) <= sctp_rto_initial (%v) <= sctp_rto_max (%v) does not hold", lo, ini, hi))
		}
		// A cookie must be checkable with the current or the previous
		// secret for its whole life.
		if rot, life := v.Duration("sctp_cookie_secret_rotation"), v.Duration("sctp_valid_cookie_life"); rot < life {
			errs = append(errs, fmt.Errorf("sctp_cookie_secret_rotation (%v) must be at least sctp_valid_cookie_life (%v)", rot, life))
		}
	}
	if v.set.program == "proxy" {
		if len(v.List("server")) == 0 {
			errs = append(errs, errors.New("server must name the pgsctp server (e.g. server = '192.0.2.10')"))
		}
		if v.String("socket_dir") == "" && v.String("listen") == "" {
			errs = append(errs, errors.New("socket_dir and listen are both empty: the proxy would accept nothing"))
		}
	}
	return errors.Join(errs...)
}

func checkLocalAddresses(x any) error {
	l := x.([]string)
	for _, a := range l {
		if a == "*" {
			if len(l) > 1 {
				return errors.New("'*' stands alone")
			}
			continue
		}
		if _, err := netip.ParseAddr(strings.Trim(a, "[]")); err != nil {
			return fmt.Errorf("%q is not an IP address or '*'", a)
		}
	}
	return nil
}

func checkListenAddresses(x any) error {
	for _, a := range x.([]string) {
		if a == "*" {
			continue
		}
		if _, err := netip.ParseAddr(a); err == nil {
			continue
		}
		if !validHostname(a) {
			return fmt.Errorf("%q is not an IP address, a host name or '*'", a)
		}
	}
	return nil
}

func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func checkHostPort(hp string) error {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", hp, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: bad port %q", hp, port)
	}
	if _, err := netip.ParseAddr(host); err != nil && !validHostname(host) {
		return fmt.Errorf("%q: bad host %q", hp, host)
	}
	return nil
}

func checkUpstream(x any) error {
	s := x.(string)
	if s == "" {
		return errors.New("empty: give a socket directory or host:port")
	}
	if strings.HasPrefix(s, "/") || filepath.IsAbs(s) {
		return nil
	}
	if err := checkHostPort(s); err != nil {
		return fmt.Errorf("%w (a socket directory must be an absolute path)", err)
	}
	return nil
}

func checkPathOrEmpty(x any) error {
	if s := x.(string); s != "" && !strings.HasPrefix(s, "/") && !filepath.IsAbs(s) {
		return fmt.Errorf("%q is not an absolute path", s)
	}
	return nil
}

func checkHostPortOrEmpty(x any) error {
	if s := x.(string); s != "" {
		return checkHostPort(s)
	}
	return nil
}

func checkListen(x any) error {
	s := x.(string)
	if s == "" {
		return nil
	}
	if _, err := netip.ParseAddr(s); err == nil || validHostname(s) {
		return nil
	}
	return checkHostPort(s)
}

// checkServer accepts host or host:port items. They are the addresses of
// one multihomed server, so they share one SCTP port.
func checkServer(x any) error {
	port := ""
	for _, a := range x.([]string) {
		p := "5432"
		if _, err := netip.ParseAddr(a); err != nil && !validHostname(a) {
			if err := checkHostPort(a); err != nil {
				return err
			}
			_, p, _ = net.SplitHostPort(a)
		}
		if port != "" && p != port {
			return fmt.Errorf("%q: all addresses of the server must use one SCTP port (%s and %s given)", a, port, p)
		}
		port = p
	}
	return nil
}

func checkLogLevel(x any) error {
	switch strings.ToLower(x.(string)) {
	case "debug", "info", "warn", "error":
		return nil
	}
	return fmt.Errorf("%q is not a log level (debug, info, warn, error)", x)
}
