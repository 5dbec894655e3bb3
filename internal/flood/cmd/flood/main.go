// Command flood sends one bounded flood of SCTP-over-UDP packets at a
// loopback target (package internal/flood) and prints what it did, with
// the drops the kernel counted at the target's UDP port, for benchmarks
// by hand:
//
//	go run ./internal/flood/cmd/flood -target 127.0.0.1:9899 -kind init -count 5000000 -duration 15s -sources 16 -ports 4
//
// Kinds: init, forged-cookie, expired-cookie (harvests -harvest cookies
// first and waits -wait for them to expire), ootb, garbage. It refuses
// targets outside loopback.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"time"

	"github.com/pgsctp/pgsctp/internal/flood"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	target := flag.String("target", "127.0.0.1:9899", "UDP address of the SCTP endpoint (loopback only)")
	port := flag.Uint("port", 5432, "SCTP destination port")
	kindName := flag.String("kind", "init", "init, forged-cookie, expired-cookie, ootb or garbage")
	count := flag.Int("count", 1_000_000, "packets to send at most")
	duration := flag.Duration("duration", 10*time.Second, "time to send for at most")
	sources := flag.Int("sources", 16, "source addresses (127.1.0.1 onwards)")
	ports := flag.Int("ports", 4, "source UDP ports per address")
	localhost := flag.Bool("localhost", false, "send from 127.0.0.1 first, the address local clients use")
	harvest := flag.Int("harvest", 1000, "expired-cookie: cookies to harvest")
	wait := flag.Duration("wait", 61*time.Second, "expired-cookie: time to wait for the cookies to expire")
	flag.Parse()

	to, err := netip.ParseAddrPort(*target)
	if err != nil {
		return fmt.Errorf("flood: -target: %w", err)
	}
	kind, err := flood.ParseKind(*kindName)
	if err != nil {
		return err
	}
	if *port == 0 || *port > 65535 {
		return fmt.Errorf("flood: -port %d out of range", *port)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := flood.Config{Target: to, DstPort: uint16(*port), Kind: kind, Count: *count, Duration: *duration,
		Sources: *sources, Ports: *ports, FromLocalhost: *localhost}
	if kind == flood.ExpiredCookie {
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		cfg.Cookies, err = flood.Harvest(hctx, to, cfg.DstPort, *harvest)
		cancel()
		if err != nil {
			return err
		}
		fmt.Printf("harvested %d cookies; waiting %v for them to expire\n", len(cfg.Cookies), *wait)
		select {
		case <-time.After(*wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	drops0, derr := flood.SocketDrops(to.Port())
	res, err := flood.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("%v: %d packets (%d bytes) in %v from %d sockets on %d addresses: %.0f packets/s, %d write errors\n",
		kind, res.Sent, res.Bytes, res.Elapsed.Round(time.Millisecond), res.Sockets, len(res.Sources), res.Rate(), res.Errors)
	if derr == nil {
		if drops, err := flood.SocketDrops(to.Port()); err == nil {
			fmt.Printf("UDP port %d: %d datagrams dropped by the kernel during the flood (%.1f%% of those sent)\n",
				to.Port(), drops-drops0, 100*float64(drops-drops0)/float64(max(res.Sent, 1)))
		}
	}
	return nil
}
