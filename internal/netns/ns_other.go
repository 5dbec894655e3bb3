//go:build !linux

package netns

import (
	"context"
	"errors"
	"os/exec"
)

var errNoNetns = errors.New("netns: network namespaces need Linux")

// NS is a private network namespace; only Linux has them.
type NS struct{}

// New fails on this system.
func New(ctx context.Context) (*NS, error) { return nil, errNoNetns }

// Close does nothing.
func (n *NS) Close() error { return nil }

// PID returns 0.
func (n *NS) PID() int { return 0 }

// Path returns "".
func (n *NS) Path() string { return "" }

// Wrap returns argv.
func (n *NS) Wrap(argv []string) []string { return argv }

// Command runs the program where the caller is.
func (n *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, name, args...)
}

// Run fails on this system.
func (n *NS) Run(ctx context.Context, name string, args ...string) error { return errNoNetns }

// Do fails on this system.
func (n *NS) Do(fn func() error) error { return errNoNetns }

// DieWithParent does nothing on this system.
func DieWithParent(cmd *exec.Cmd) {}
