//go:build !linux

package usrsctp

import (
	"context"
	"errors"
)

// Netns is a private network namespace; only Linux has them.
type Netns struct{}

// NewNetns fails on this system.
func NewNetns(ctx context.Context) (*Netns, error) {
	return nil, errors.New("usrsctp: network namespaces need Linux")
}

// Close does nothing.
func (n *Netns) Close() error { return nil }

// Path returns "".
func (n *Netns) Path() string { return "" }

// Do fails on this system.
func (n *Netns) Do(fn func() error) error {
	return errors.New("usrsctp: network namespaces need Linux")
}

func (n *Netns) wrap(argv []string) []string { return argv }
