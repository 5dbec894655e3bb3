package usrsctp

import (
	"context"
	"os/exec"

	"github.com/pgsctp/pgsctp/internal/netns"
)

// Netns is a private network namespace holding only the loopback interface
// (127.0.0.1 and ::1). usrsctp programs started in it, and sockets that Do
// creates in it, can reach each other and nothing else: the usrsctp
// programs bind the wildcard address and announce every local address in
// INIT and INIT ACK, and in the host's namespace that would include the
// machine's non-loopback addresses.
type Netns = netns.NS

// NewNetns creates the namespace (see package netns).
func NewNetns(ctx context.Context) (*Netns, error) { return netns.New(ctx) }

func dieWithParent(cmd *exec.Cmd) { netns.DieWithParent(cmd) }
