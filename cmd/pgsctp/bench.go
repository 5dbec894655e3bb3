package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/pgsctp/pgsctp/bench"
	"github.com/pgsctp/pgsctp/sctp"
)

const benchUsage = `usage: pgsctp bench --server [--listen HOST:PORT] [--udp-port N] [--tcp]
       pgsctp bench [flags] HOST:PORT

Measures SCTP over UDP between two endpoints, like iperf for TCP: a server
on one side, a client on the other. Each run reports throughput (MB/s,
messages/s), round-trip times in latency mode, retransmissions, and CPU
seconds per GB on both sides (the server sends its own figures back).

Server:
  pgsctp bench --server --listen 127.0.0.1:5001
    serves SCTP on SCTP port 5001 over UDP port 9899 (and, with --tcp, plain
    TCP on 127.0.0.1:5001) until interrupted; prints one line per session.

Client:
  pgsctp bench 127.0.0.1:5001                      10 s of 64 KiB messages
  pgsctp bench --mode latency --duration 5s 127.0.0.1:5001
  pgsctp bench --tcp 127.0.0.1:5001                same pattern over TCP
  HOST:PORT is the server's SCTP port (its TCP port with --tcp); the server's
  UDP port is --peer-udp-port.

Flags (- or --):
`

// maxBenchMTU is the largest UDP payload package sctp reads (its
// maxDatagram, unexported): a larger --mtu makes the peer drop every full
// packet, and the run stalls rather than fails.
const maxBenchMTU = 9216

// runBench is `pgsctp bench`: flags to bench.Options, the run, the report.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pgsctp bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchUsage)
		fs.PrintDefaults()
	}
	var (
		server      = fs.Bool("server", false, "run the server (default: run a client against HOST:PORT)")
		listen      = fs.String("listen", ":5001", "server: SCTP `HOST:PORT` to listen on (and TCP with --tcp); an empty host means every address")
		udpPort     = fs.Int("udp-port", 0, "local UDP encapsulation `port` (server default 9899, client default any)")
		peerUDPPort = fs.Int("peer-udp-port", 9899, "client: the server's UDP encapsulation `port`")
		tcp         = fs.Bool("tcp", false, "client: measure plain TCP instead of SCTP, as the reference; server: also serve TCP")
		mode        = fs.String("mode", "throughput", "client: `throughput` (bulk one-way transfer) or latency (request/response ping-pong)")
		size        = fs.Int("size", 0, fmt.Sprintf("client: message size in `bytes` (default %d for throughput, %d for latency; at most %d)", bench.DefaultThroughputSize, bench.DefaultLatencySize, bench.MaxSize))
		streams     = fs.Int("streams", 1, "client: spread messages over `N` streams (at most 1024)")
		duration    = fs.Duration("duration", bench.DefaultDuration, "client: how long to send")
		messages    = fs.Int("messages", 0, "client: send exactly `N` messages (or round trips) instead of for --duration")
		mtu         = fs.Int("mtu", 0, fmt.Sprintf("largest SCTP packet in `bytes` this side sends (default the sctp default, 1200; at most %d, the largest datagram pgsctp receives)", maxBenchMTU))
		maxMTU      = fs.Int("max-mtu", 0, fmt.Sprintf("largest SCTP packet in `bytes` path MTU discovery searches for (default the sctp default: the largest interface MTU less IPv4 and UDP headers, at most %d; -1: no discovery)", maxBenchMTU))
		asJSON      = fs.Bool("json", false, "print one JSON object (server: one per session and line)")
		cpuProfile  = fs.String("cpuprofile", "", "write a CPU profile of this process to `file` (client: the run; server: until it stops)")
	)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "pgsctp bench: "+format+"\n", a...)
		fmt.Fprintln(stderr, "run pgsctp bench --help for usage")
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *mtu < 0 || *mtu > maxBenchMTU {
		return usageErr("--mtu %d out of range 0..%d", *mtu, maxBenchMTU)
	}
	if *maxMTU < -1 || *maxMTU > maxBenchMTU {
		return usageErr("--max-mtu %d out of range -1..%d", *maxMTU, maxBenchMTU)
	}
	cfg := &sctp.Config{}
	cfg.Assoc.MTU = *mtu
	cfg.Assoc.MaxMTU = *maxMTU

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "pgsctp bench: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "pgsctp bench: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}

	if *server {
		if len(pos) != 0 {
			return usageErr("the server takes no HOST:PORT (use --listen)")
		}
		for _, name := range []string{"mode", "size", "streams", "duration", "messages", "peer-udp-port"} {
			if set[name] {
				return usageErr("--%s is a client flag", name)
			}
		}
		return benchServer(ctx, bench.ServerOptions{Listen: *listen, UDPPort: *udpPort, TCP: *tcp, Config: cfg}, *asJSON, stdout, stderr)
	}

	if len(pos) != 1 {
		return usageErr("want one HOST:PORT, got %d arguments", len(pos))
	}
	if set["listen"] {
		return usageErr("--listen is a server flag")
	}
	if *tcp && (set["udp-port"] || set["peer-udp-port"] || set["mtu"]) {
		return usageErr("--udp-port, --peer-udp-port and --mtu do not apply to --tcp")
	}
	o := bench.Options{
		Mode:        bench.Mode(*mode),
		Size:        *size,
		Streams:     *streams,
		Duration:    *duration,
		Messages:    *messages,
		TCP:         *tcp,
		Config:      cfg,
		UDPPort:     *udpPort,
		PeerUDPPort: *peerUDPPort,
	}
	if set["messages"] && !set["duration"] {
		o.Duration = 0
	}
	res, err := bench.Run(ctx, pos[0], o)
	if err != nil {
		fmt.Fprintf(stderr, "pgsctp bench: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(res)
	} else {
		err = res.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "pgsctp bench: %v\n", err)
		return 1
	}
	return 0
}

// benchServer serves until ctx ends (SIGINT, SIGTERM).
func benchServer(ctx context.Context, o bench.ServerOptions, asJSON bool, stdout, stderr io.Writer) int {
	var mu sync.Mutex // sessions end concurrently; lines stay whole
	enc := json.NewEncoder(stdout)
	o.OnSession = func(s bench.ServerSession) {
		mu.Lock()
		defer mu.Unlock()
		if asJSON {
			enc.Encode(s)
		} else {
			s.WriteText(stdout)
		}
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	s, err := bench.Listen(lctx, o)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "pgsctp bench: %v\n", err)
		return 1
	}
	a := s.Addr()
	msg := fmt.Sprintf("pgsctp bench: serving SCTP on %s (UDP port %d)", a, a.UDPPort)
	if t := s.TCPAddr(); t != nil {
		msg += fmt.Sprintf(" and TCP on %s", t)
	}
	fmt.Fprintln(stderr, msg)
	if err := s.Serve(ctx); err != nil {
		fmt.Fprintf(stderr, "pgsctp bench: %v\n", err)
		return 1
	}
	return 0
}

// parseInterspersed parses flags before and after positional arguments
// ("pgsctp bench HOST:PORT --json" works too); "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// benchCommand adapts runBench to the command table (bench reads no stdin).
func benchCommand(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	return runBench(ctx, args, stdout, stderr)
}
