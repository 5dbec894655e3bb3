//go:build !linux

package usrsctp

import "os/exec"

func dieWithParent(cmd *exec.Cmd) {}
