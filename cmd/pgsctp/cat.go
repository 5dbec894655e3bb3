package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/sctp"
)

const catUsage = `usage:
  pgsctp cat [flags] HOST[,HOST...]:PORT              connect; stdin -> stream, stream -> stdout
  pgsctp cat --listen [flags] [ADDR[,ADDR...]:]PORT   accept one association; same copying

PORT is the SCTP port; SCTP packets travel in UDP datagrams (RFC 6951).
Several hosts are the addresses of one multihomed peer; several listen
addresses make the listener multihomed. A connecting cat lists and sends
from --local-addresses (default '*': every address of this host that can
reach the peer).
Each read from stdin is sent as one message on the outgoing stream. Every
message received, on any stream, is written to stdout.

At stdin EOF (without --idle-timeout) the association is shut down
gracefully once everything sent is acknowledged and the peer has been
quiet for --linger; what the peer sent is still written out, then cat
exits 0. With --listen, an empty stdin (such as
/dev/null) does not shut down: cat then runs until the peer ends the
association. When the association fails, cat exits 1 with the reason on
stderr; usage errors exit 2.

flags:
`

// catFlags are the parsed command line of pgsctp cat.
type catFlags struct {
	listen      bool
	echo        bool
	udpPort     int
	peerUDPPort int
	idle        time.Duration
	linger      time.Duration
	stream      uint
	ppid        uint
	verbose     bool
	addr        string
	local       []netip.Addr // nil: '*'
}

func parseCatFlags(args []string, stdout, stderr io.Writer) (*catFlags, int, bool) {
	f := &catFlags{}
	fs := flag.NewFlagSet("pgsctp cat", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&f.listen, "listen", false, "accept one association instead of connecting")
	fs.BoolVar(&f.listen, "l", false, "short for --listen")
	fs.BoolVar(&f.echo, "echo", false, "with --listen: send each received message back on its stream (same PPID, unordered flag)")
	f.udpPort = -1 // unset
	fs.Var((*portFlag)(&f.udpPort), "udp-port", "local UDP encapsulation `port` (default: listen 9899; connect 0 = any)")
	fs.IntVar(&f.peerUDPPort, "peer-udp-port", 9899, "the peer's UDP encapsulation `port`")
	fs.DurationVar(&f.idle, "idle-timeout", 0, "shut down gracefully after this `duration` with no traffic either way (e.g. 2s)")
	fs.DurationVar(&f.linger, "linger", 300*time.Millisecond, "at stdin EOF, once all sent data is acknowledged, wait until the peer has been quiet this long before shutting down (answers in flight, e.g. echoes, still arrive)")
	fs.UintVar(&f.stream, "stream", 0, "outgoing stream `id`")
	fs.UintVar(&f.ppid, "ppid", 0, "payload protocol identifier of the messages sent")
	fs.BoolVar(&f.verbose, "v", false, "debug logs on stderr")
	localFlag := fs.String("local-addresses", "*", "`ADDR[,ADDR...]` to list and send from when connecting, or '*' for every address that can reach the peer")
	printUsage := func(w io.Writer) {
		fmt.Fprint(w, catUsage)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	// Flags may come before or after the address.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage(stdout)
				return nil, 0, false
			}
			fmt.Fprintf(stderr, "pgsctp cat: %v\n", err)
			printUsage(stderr)
			return nil, 2, false
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case len(pos) != 1:
		fmt.Fprintf(stderr, "pgsctp cat: want one address, got %d\n", len(pos))
		printUsage(stderr)
		return nil, 2, false
	case f.echo && !f.listen:
		fmt.Fprintln(stderr, "pgsctp cat: --echo needs --listen")
		return nil, 2, false
	case f.stream > 65535:
		fmt.Fprintf(stderr, "pgsctp cat: --stream %d out of range\n", f.stream)
		return nil, 2, false
	case f.ppid > 1<<32-1:
		fmt.Fprintf(stderr, "pgsctp cat: --ppid %d out of range\n", f.ppid)
		return nil, 2, false
	case f.peerUDPPort < 1 || f.peerUDPPort > 65535:
		fmt.Fprintf(stderr, "pgsctp cat: --peer-udp-port %d out of range\n", f.peerUDPPort)
		return nil, 2, false
	case f.udpPort > 65535:
		fmt.Fprintf(stderr, "pgsctp cat: --udp-port %d out of range\n", f.udpPort)
		return nil, 2, false
	}
	if *localFlag != "*" {
		for _, s := range strings.Split(*localFlag, ",") {
			ip, err := netip.ParseAddr(strings.Trim(strings.TrimSpace(s), "[]"))
			if err != nil {
				fmt.Fprintf(stderr, "pgsctp cat: --local-addresses: %q is not an IP address\n", s)
				return nil, 2, false
			}
			f.local = append(f.local, ip)
		}
	}
	f.addr = pos[0]
	if f.listen && !strings.Contains(f.addr, ":") {
		f.addr = ":" + f.addr
	}
	return f, 0, true
}

// linger waits until everything sent is acknowledged and then until no
// message has arrived for d. The peer's SACK of our last message can
// precede its answer to it (an --echo listener queues the echo only after
// the message is delivered), and once our SHUTDOWN arrives the peer
// accepts no new data (RFC 9260 section 9.2: "Upon reception of the
// SHUTDOWN, the peer endpoint shall enter the SHUTDOWN-RECEIVED state,
// stop accepting new data from its SCTP user"); lingering lets such
// answers through.
func linger(ctx context.Context, a *sctp.Association, d time.Duration, lastRecv *atomic.Int64) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var acked time.Time
	for {
		if acked.IsZero() && a.Buffered() == 0 {
			acked = time.Now()
		}
		if !acked.IsZero() {
			quiet := time.Since(time.Unix(0, lastRecv.Load()))
			if time.Since(acked) >= d && quiet >= d || d <= 0 {
				return
			}
		}
		select {
		case <-tick.C:
		case <-a.Done():
			return
		case <-ctx.Done():
			return
		}
	}
}

// portFlag is an int flag whose unset value (-1) prints as no default.
type portFlag int

func (p *portFlag) String() string {
	if p == nil || *p <= 0 {
		return "" // also the zero value: flag prints no default
	}
	return strconv.Itoa(int(*p))
}

func (p *portFlag) Set(s string) error {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return fmt.Errorf("bad port %q", s)
	}
	*p = portFlag(n)
	return nil
}

// runCat is pgsctp cat: a netcat for SCTP over UDP.
func runCat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f, code, ok := parseCatFlags(args, stdout, stderr)
	if !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "pgsctp cat: "+format+"\n", a...)
		return 1
	}
	cfg := &sctp.Config{PeerUDPPort: f.peerUDPPort, LocalAddrs: f.local, Assoc: assoc.Config{}}
	if f.verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	// An outgoing stream above the default 16 needs that many streams.
	cfg.Assoc.OutboundStreams = uint16(max(16, f.stream+1))
	var a *sctp.Association
	if f.listen {
		cfg.UDPPort = f.udpPort
		switch f.udpPort {
		case -1:
			cfg.UDPPort = 0 // default 9899
		case 0:
			cfg.UDPPort = -1 // any
		}
		l, err := sctp.Listen(ctx, f.addr, cfg)
		if err != nil {
			return fail("%v", err)
		}
		a, err = l.Accept(ctx)
		l.Close()
		if err != nil {
			return fail("%v", err)
		}
	} else {
		cfg.UDPPort = max(f.udpPort, 0)
		var err error
		a, err = sctp.Dial(ctx, f.addr, cfg)
		if err != nil {
			return fail("%v", err)
		}
	}
	defer a.Abort("pgsctp cat exiting")

	var last atomic.Int64     // time of the last traffic, UnixNano
	var lastRecv atomic.Int64 // time of the last message received, UnixNano
	touch := func() { last.Store(time.Now().UnixNano()) }
	touch()
	lastRecv.Store(time.Now().UnixNano())
	var shutdownOnce sync.Once
	shutdown := func() {
		shutdownOnce.Do(func() { go a.Shutdown(ctx) })
	}

	// stdin -> stream
	go func() {
		buf := make([]byte, 64<<10)
		sent := false
		for {
			n, err := stdin.Read(buf)
			if n > 0 {
				if serr := a.SendMessage(ctx, uint16(f.stream), uint32(f.ppid), buf[:n], false); serr != nil {
					return // the receiving side reports the association's end
				}
				sent = true
				touch()
			}
			if err != nil {
				if f.idle == 0 && (sent || !f.listen) {
					linger(ctx, a, f.linger, &lastRecv)
					shutdown()
				}
				return
			}
		}
	}()

	// idle timeout
	if f.idle > 0 {
		go func() {
			tick := time.NewTicker(max(f.idle/8, 10*time.Millisecond))
			defer tick.Stop()
			for {
				select {
				case <-tick.C:
					if time.Since(time.Unix(0, last.Load())) >= f.idle {
						shutdown()
						return
					}
				case <-a.Done():
					return
				}
			}
		}()
	}

	// stream -> stdout (and back, with --echo)
	for {
		m, err := a.ReceiveMessage(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0
			}
			if ctx.Err() != nil {
				return fail("interrupted")
			}
			if aerr := a.Err(); aerr != nil {
				return fail("association failed: %v", aerr)
			}
			return fail("%v", err)
		}
		touch()
		lastRecv.Store(time.Now().UnixNano())
		if _, err := stdout.Write(m.Data); err != nil {
			return fail("writing stdout: %v", err)
		}
		if f.echo {
			// After the peer's SHUTDOWN no new data is accepted (RFC
			// 9260 section 9.2); such an echo is dropped, not fatal.
			if err := a.SendMessage(ctx, m.StreamID, m.PPID, m.Data, m.Unordered); err == nil {
				touch()
			}
		}
	}
}
