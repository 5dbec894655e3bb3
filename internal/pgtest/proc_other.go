//go:build !unix

package pgtest

import (
	"os"
	"os/exec"
)

func (r runAs) apply(cmd *exec.Cmd) {}

func shutdownSignals() []os.Signal { return []os.Signal{os.Interrupt} }
