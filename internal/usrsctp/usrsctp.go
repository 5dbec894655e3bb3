// Package usrsctp runs the example programs of usrsctp (Debian package
// libusrsctp-examples, installed in /usr/lib/usrsctp) as subprocesses, so
// that tests can use an independent SCTP implementation as the peer of
// pgsctp's stack.
//
// The machine has no kernel SCTP, so every program is used in UDP
// encapsulation mode (RFC 6951): each usrsctp process binds one local UDP
// port (its "local encapsulation port") and sends to the peer's UDP port
// (the "remote encapsulation port"). Always pass both explicitly: the
// programs default to 9899, which collides between tests, and a remote port
// of 0 makes usrsctp send raw IP packets (protocol 132) instead of UDP when
// it runs as root.
//
// README.md in this directory records, for each program, its exact
// arguments, what it sends and prints, and the quirks an interop test must
// know (echo_server echoes only the last 10240-byte piece of a larger
// message, client exits 0 whatever happened, tsctp prints a debug trace of
// the whole stack, ...).
//
// usrsctp programs bind to the wildcard address and announce every address
// of the host in INIT and INIT ACK. To keep all traffic on loopback, run
// them inside a private network namespace that has only lo (see Netns).
package usrsctp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Dir is where Debian's libusrsctp-examples installs the programs.
const Dir = "/usr/lib/usrsctp"

// The programs this package knows how to drive.
const (
	EchoServerProgram    = "echo_server"
	DiscardServerProgram = "discard_server"
	DaytimeServerProgram = "daytime_server"
	ClientProgram        = "client"
	TsctpProgram         = "tsctp"
)

// Programs lists the programs Available checks for.
var programs = []string{EchoServerProgram, DiscardServerProgram, DaytimeServerProgram, ClientProgram, TsctpProgram}

// Path returns the absolute path of the named program in Dir.
func Path(program string) string { return filepath.Join(Dir, program) }

// Available reports whether all programs this package drives are installed
// and executable.
func Available() bool { return missing() == nil }

func missing() error {
	var errs []error
	for _, p := range programs {
		fi, err := os.Stat(Path(p))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			errs = append(errs, fmt.Errorf("%s is not an executable file", Path(p)))
		}
	}
	return errors.Join(errs...)
}

// Require skips the test when the programs are missing, except on CI (the
// environment variable CI is set, as .ci/run does), where a missing program
// is a broken install step and the test fails instead: a green CI must mean
// that the interop tests ran.
func Require(t testing.TB) {
	t.Helper()
	requireIn(t, missing())
}

func requireIn(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("usrsctp example programs missing on CI (scripts/install-deps.sh installs libusrsctp-examples): %v", err)
	}
	t.Skipf("usrsctp example programs not installed (apt-get install libusrsctp-examples): %v", err)
}

// TestNetns creates a Netns for the test and removes it at cleanup. Like
// Require, it skips when namespaces cannot be made (not root, not Linux),
// except on CI, where it fails.
func TestNetns(t testing.TB) *Netns {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := NewNetns(ctx)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("cannot create a network namespace on CI: %v", err)
		}
		t.Skipf("cannot create a network namespace: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}
