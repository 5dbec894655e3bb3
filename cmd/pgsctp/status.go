package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/pgsctp/pgsctp/pgfront"
)

const statusUsage = `usage: pgsctp status [--admin-socket PATH] [--json]

Shows a running pgsctp server's or proxy's associations, their paths (state,
RTT, congestion window), bytes and sessions, read from its admin socket.
Without --admin-socket it shows every server and proxy whose socket is in
the default place (%s).
`

func runStatus(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pgsctp status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("admin-socket", "", "admin socket of the server or proxy (its admin_socket setting)")
	asJSON := fs.Bool("json", false, "print the reports as JSON")
	pattern := filepath.Join(os.TempDir(), ".s.PGSCTP.*")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), statusUsage, pattern)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	paths := []string{*path}
	if *path == "" {
		paths, _ = filepath.Glob(pattern)
		if len(paths) == 0 {
			fmt.Fprintf(stderr, "pgsctp status: no running server or proxy found (no %s)\n", pattern)
			return 1
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var reports []pgfront.Report
	failed := 0
	for _, p := range paths {
		r, err := pgfront.ReadAdmin(ctx, p)
		if err != nil {
			if *path != "" {
				fmt.Fprintf(stderr, "pgsctp status: %v\n", err)
				return 1
			}
			failed++ // a stale socket of a process that died
			continue
		}
		reports = append(reports, r)
	}
	if len(reports) == 0 {
		fmt.Fprintf(stderr, "pgsctp status: no running server or proxy answered (%d stale sockets in %s)\n", failed, filepath.Dir(pattern))
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(reports)
		return 0
	}
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		pgfront.WriteReport(stdout, r)
	}
	return 0
}
