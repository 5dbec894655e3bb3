//go:build linux

package usrsctp

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill cmd when the test process dies, so
// that a test killed by its timeout leaves no usrsctp program (or
// namespace holder) behind. (The signal follows the death of the OS thread
// that started cmd; Go keeps threads alive except after LockOSThread
// without unlock, which only Netns.Do does, and only on a failed restore.)
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
