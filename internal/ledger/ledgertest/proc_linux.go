package ledgertest

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts the server in its own process group, so that Close can
// stop the whole group, and has the kernel kill it if the test binary dies
// without closing it (a panic, a test timeout).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
