//go:build unix

package pgtest

import (
	"os"
	"os/exec"
	"syscall"
)

// apply makes cmd run as the server's user. Setting the credential needs
// root, which is exactly the case where it is used.
func (r runAs) apply(cmd *exec.Cmd) {
	if !r.asOther {
		return
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(r.uid), Gid: uint32(r.gid)},
	}
	// HOME of root is not readable by postgres; nothing needs it, but
	// some tools complain when they cannot stat it.
	cmd.Env = append(cmd.Env, "HOME="+os.TempDir())
}

// shutdownSignals are PostgreSQL's "fast" and "immediate" shutdown requests.
func shutdownSignals() []os.Signal { return []os.Signal{syscall.SIGINT, syscall.SIGQUIT} }
