// Command pgsctp carries PostgreSQL over SCTP in user space over UDP.
//
// main only dispatches: each subcommand is a function that takes its
// arguments and standard streams and returns the exit code.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command runs one subcommand. ctx is canceled on SIGINT or SIGTERM.
type command func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int

// commands maps subcommand names to their implementations.
var commands = map[string]command{
	"cat":      runCat,
	"bench":    benchCommand,
	"bench-pg": runBenchPG,
	"server":   runServer,
	"proxy":    runProxy,
	"status":   runStatus,
}

const usage = "usage: pgsctp <server|proxy|status|cat|bench|bench-pg> [flags]  (pgsctp <command> --help for details)"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "pgsctp: unknown command %q\n%s\n", args[0], usage)
		return 2
	}
	return cmd(ctx, args[1:], stdin, stdout, stderr)
}
