//go:build unix

package conform

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts the uploader in its own process group, so that a
// wrapper script and the tool it runs can be killed together.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killProcessGroup kills the uploader's whole process group.
func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
